"""Exact dedupe by article id: the verdict for a record given what was seen before.

Kept pure (no Faust) so the rules are unit- and property-tested; the worker stores
:class:`SeenEntry` values in a changelogged table keyed by article id.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from newswire.common.times import parse_rfc3339


class Verdict(StrEnum):
    NEW = "new"  # first time this id is seen
    UPDATE = "update"  # same id, changed title or text
    REDELIVERY = "redelivery"  # same id, same content: a replay, re-poll or retry


@dataclass(frozen=True, slots=True)
class SeenEntry:
    """What the table remembers about one article id."""

    content_hash: str
    first_seen_at: str
    last_seen_at: str
    revisions: int = 1
    redeliveries: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "h": self.content_hash,
            "f": self.first_seen_at,
            "l": self.last_seen_at,
            "r": self.revisions,
            "d": self.redeliveries,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SeenEntry:
        return cls(data["h"], data["f"], data["l"], data.get("r", 1), data.get("d", 0))


@dataclass(frozen=True, slots=True)
class Decision:
    verdict: Verdict
    entry: SeenEntry  # the table's new value for this id


def decide(previous: SeenEntry | None, content_hash: str, now: str) -> Decision:
    """Classify a record against the id's history and say what the table should hold."""
    if previous is None:
        return Decision(Verdict.NEW, SeenEntry(content_hash, now, now))
    if previous.content_hash == content_hash:
        return Decision(
            Verdict.REDELIVERY,
            replace(previous, last_seen_at=now, redeliveries=previous.redeliveries + 1),
        )
    return Decision(
        Verdict.UPDATE,
        replace(
            previous, content_hash=content_hash, last_seen_at=now, revisions=previous.revisions + 1
        ),
    )


def seen_entry_expired(stored: dict[str, Any], now: float, *, window_s: float) -> bool:
    """A table value is expired once its id has not been seen for a whole window."""
    return last_seen_expired(stored["l"], now, window_s=window_s)


def last_seen_expired(last_seen_at: str, now: float, *, window_s: float) -> bool:
    """Not seen for a whole window: the one expiry rule of the table's values and of
    the entries in them."""
    return now - parse_rfc3339(last_seen_at).timestamp() > window_s
