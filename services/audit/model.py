"""What the audit talks about: observations in, results out.

Plain dataclasses shared by the ledger (which consumes observations and
produces the results), the readers (which produce observations from bytes) and the
report (which renders results), so none of those depends on another's internals.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum

#: A sink dead letter of kind decode/schema/processing excuses every writer.
ALL_WRITERS = "*"

Pair = tuple[str, str]  # (article id, content hash)
Position = tuple[int, int]  # (partition, offset)


class OutputMode(StrEnum):
    """What a writer is expected to hold, which decides what "missing" means."""

    VERSIONS = "versions"  # every (id, content_hash) emitted: JSON Lines keeps them all
    LATEST = "latest"  # one row per id with its latest content: PostgreSQL upserts


@dataclass(frozen=True, slots=True)
class RawRecord:
    """A raw-topic message: its id and content hash, or ``problem`` when it is not a
    valid raw record (then ``article_id`` is whatever could be read, maybe the key)."""

    partition: int
    offset: int
    article_id: str | None
    content_hash: str | None
    problem: str | None = None


@dataclass(frozen=True, slots=True)
class EnrichedRecord:
    """An enriched-topic message; ``digest`` is a stable hash of the whole record."""

    partition: int
    offset: int
    article_id: str | None
    content_hash: str | None
    digest: bytes | None = None
    problem: str | None = None


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """Where the failed record was (its origin), which service gave up, and why."""

    topic: str | None
    partition: int | None
    offset: int | None
    service: str
    kind: str
    reason: str = ""

    def excused_writer(self) -> str:
        """The writer a sink letter excuses: ``rejected`` reasons start with its name."""
        return self.reason.split(":", 1)[0].strip() if self.kind == "rejected" else ALL_WRITERS


@dataclass(frozen=True, slots=True)
class OutputRecord:
    """One record a writer holds (a JSON line, a table row). ``where`` is shared by all
    the lines of a file and ``line`` tells them apart: one string per file, not per line."""

    writer: str
    article_id: str
    content_hash: str
    digest: bytes
    where: str
    line: int = 0

    @property
    def location(self) -> str:
        return f"{self.where}:{self.line}" if self.line else self.where


@dataclass(frozen=True, slots=True)
class TornLine:
    """Output that is not a whole record: a cut or undecodable line, an inconsistent row."""

    writer: str
    where: str
    reason: str


Observation = RawRecord | EnrichedRecord | DeadLetter | OutputRecord | TornLine


@dataclass(frozen=True, slots=True)
class Unaccounted:
    article_id: str | None
    partition: int
    offset: int
    reason: str


@dataclass
class OutputReport:
    writer: str
    mode: OutputMode
    records: int = 0
    distinct_ids: int = 0
    missing: list[Pair] = field(default_factory=list)
    differs: list[tuple[str, str, str]] = field(default_factory=list)  # id, hash, where
    torn: list[tuple[str, str]] = field(default_factory=list)  # where, reason
    not_on_topic: list[tuple[str, str, str]] = field(default_factory=list)  # id, hash, where
    repeated: int = 0  # records holding an (id, hash) the writer already holds
    excused: int = 0  # expected versions the sink dead-lettered for this writer

    @property
    def ok(self) -> bool:
        return not (self.missing or self.differs or self.torn)


@dataclass
class AuditReport:
    raw_records: int = 0
    enriched: int = 0
    redelivered: int = 0
    dead_lettered: int = 0
    lost: list[Unaccounted] = field(default_factory=list)
    unaccounted_dropped: list[Unaccounted] = field(default_factory=list)
    drop_duplicates: bool = False
    allow_dropped: bool = False
    raw_ids: int = 0
    enriched_records: int = 0
    enriched_invalid: int = 0
    enriched_versions: int = 0  # distinct (id, content_hash) on the enriched topic
    enriched_without_raw: int = 0
    duplicate_emissions: int = 0
    duplicate_ids: list[str] = field(default_factory=list)
    duplicates_by_partition: dict[int, int] = field(default_factory=dict)
    letters: Counter[str] = field(default_factory=Counter)  # "service/kind" -> count
    letters_elsewhere: int = 0  # letters about neither audited topic (files, other topics)
    outputs: list[OutputReport] = field(default_factory=list)
    trails: dict[str, list[str]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Nothing lost, every output complete and equal to the topic."""
        dropped_ok = self.allow_dropped or not self.unaccounted_dropped
        return not self.lost and dropped_ok and all(o.ok for o in self.outputs)
