"""The audit's accounting, without Kafka: observations in, one report out.

Why pure: the rules (what is lost, a redelivery, a duplicate emission, a missing or
differing output) are the part that must be right, so they are unit- and
property-tested alone; the readers only turn bytes into the small observations of
:mod:`newswire.audit.model`.

Observations may arrive in any order: :meth:`Ledger.report` sorts what it needs.
The ledger keeps ids, content hashes, (partition, offset) pairs and 16-byte record
digests, never texts, and shares each id and hash string between its tables.
"""

from __future__ import annotations

import itertools
from collections import Counter

from newswire.audit.alignment import Outcome, align
from newswire.audit.model import (
    ALL_WRITERS,
    AuditReport,
    DeadLetter,
    EnrichedRecord,
    Observation,
    OutputMode,
    OutputRecord,
    OutputReport,
    Pair,
    Position,
    RawRecord,
    TornLine,
    Unaccounted,
)

#: What the ledger keeps of an output record besides its pair: digest, where, line.
Held = tuple[bytes, str, int]
#: The digests of one version's emissions: one, or (after a duplicate emission) several.
Digests = bytes | set[bytes]


def _matches(digests: Digests, digest: bytes) -> bool:
    return digest == digests if isinstance(digests, bytes) else digest in digests


class Ledger:
    """Collects observations; :meth:`report` applies the accounting rules.

    Per raw record at (partition, offset): accounted when the dead-letter topic has a
    letter from that position, or when it is a valid raw record whose (id, content
    hash) is on the enriched topic; the first such record of a pair counts as
    enriched, later ones as redeliveries. Anything else is lost, or, with the
    enricher's drop-duplicates on, "unaccounted" (it may have been dropped).
    """

    def __init__(
        self,
        *,
        raw_topic: str,
        enriched_topic: str,
        drop_duplicates: bool = False,
        allow_dropped: bool = False,
        watch: frozenset[str] = frozenset(),
    ) -> None:
        self.raw_topic = raw_topic
        self.enriched_topic = enriched_topic
        self._drop_duplicates = drop_duplicates
        self._allow_dropped = allow_dropped
        self._watch = watch
        self._strings: dict[str, str] = {}
        self._raw: list[tuple[int, int, str | None, str | None]] = []
        self._raw_problems: dict[Position, str] = {}
        self._enriched: list[tuple[int, int, str, str]] = []
        self._digests: dict[Pair, Digests] = {}
        self._enriched_invalid = 0
        self._dead_raw: set[Position] = set()
        self._dead_enriched: dict[Position, set[str]] = {}
        self._letters: Counter[str] = Counter()
        self._letters_elsewhere = 0
        self._modes: dict[str, OutputMode] = {}
        self._held: dict[str, dict[Pair, Held]] = {}
        self._extra: dict[str, list[OutputRecord]] = {}
        self._torn: dict[str, list[tuple[str, str]]] = {}

    def expect_output(self, writer: str, mode: OutputMode) -> None:
        """Audit WRITER's output (even if it turns out empty)."""
        self._modes[writer] = mode
        self._held.setdefault(writer, {})
        self._extra.setdefault(writer, [])
        self._torn.setdefault(writer, [])

    def add(self, seen: Observation) -> None:
        match seen:
            case RawRecord():
                self._add_raw(seen)
            case EnrichedRecord():
                self._add_enriched(seen)
            case DeadLetter():
                self._add_letter(seen)
            case OutputRecord():
                self._add_output(seen)
            case TornLine():
                self._torn[seen.writer].append((seen.where, seen.reason))

    def _s(self, value: str | None) -> str | None:
        return None if value is None else self._strings.setdefault(value, value)

    def _add_raw(self, seen: RawRecord) -> None:
        valid = (
            seen.problem is None and seen.article_id is not None and seen.content_hash is not None
        )
        content = self._s(seen.content_hash) if valid else None
        self._raw.append((seen.partition, seen.offset, self._s(seen.article_id), content))
        if not valid:
            self._raw_problems[(seen.partition, seen.offset)] = seen.problem or "no id or content"

    def _add_enriched(self, seen: EnrichedRecord) -> None:
        if seen.article_id is None or seen.content_hash is None or seen.digest is None:
            self._enriched_invalid += 1
            return
        pair = (self._s(seen.article_id) or "", self._s(seen.content_hash) or "")
        self._enriched.append((seen.partition, seen.offset, *pair))
        known = self._digests.get(pair)
        if known is None:
            self._digests[pair] = seen.digest  # the usual case: one emission, no set
        elif isinstance(known, bytes):
            self._digests[pair] = {known, seen.digest}
        else:
            known.add(seen.digest)

    def _add_letter(self, letter: DeadLetter) -> None:
        self._letters[f"{letter.service}/{letter.kind}"] += 1
        if letter.partition is None or letter.offset is None:
            self._letters_elsewhere += 1
        elif letter.topic == self.raw_topic:
            self._dead_raw.add((letter.partition, letter.offset))
        elif letter.topic == self.enriched_topic:
            where = (letter.partition, letter.offset)
            self._dead_enriched.setdefault(where, set()).add(letter.excused_writer())
        else:
            self._letters_elsewhere += 1

    def _add_output(self, seen: OutputRecord) -> None:
        pair = (self._s(seen.article_id) or "", self._s(seen.content_hash) or "")
        held = self._held[seen.writer]
        if pair in held:
            self._extra[seen.writer].append(seen)
        else:
            held[pair] = (seen.digest, seen.where, seen.line)  # its strings are the ledger's

    # -- the rules -------------------------------------------------------------------

    def report(self) -> AuditReport:
        report = AuditReport(
            drop_duplicates=self._drop_duplicates,
            allow_dropped=self._allow_dropped,
            enriched_records=len(self._enriched) + self._enriched_invalid,
            enriched_invalid=self._enriched_invalid,
            enriched_versions=len(self._digests),
            letters=self._letters,
            letters_elsewhere=self._letters_elsewhere,
            trails={ident: [] for ident in sorted(self._watch)},
        )
        self._enriched.sort()
        expected = self._account_raw(report)
        self._count_duplicates(report, expected)
        report.outputs = [self._check_output(writer, report) for writer in self._modes]
        return report

    def _account_raw(self, report: AuditReport) -> Counter[Pair]:
        """Classify every raw record; return the emissions the raw history explains (the
        enricher emits when an id's content hash differs from its previous one)."""
        self._raw.sort(key=lambda entry: (entry[0], entry[1]))
        outcomes = self._align_by_id()
        expected: Counter[Pair] = Counter()
        ids: set[str] = set()
        for partition, offset, ident, content in self._raw:
            report.raw_records += 1
            if (partition, offset) in self._dead_raw:
                report.dead_lettered += 1
                outcome = "dead-lettered"
            elif ident is None or content is None:
                problem = self._raw_problems[(partition, offset)]
                report.lost.append(
                    Unaccounted(ident, partition, offset, f"invalid, no dead letter: {problem}")
                )
                outcome = "LOST (invalid, no dead letter)"
            else:
                ids.add(ident)
                match outcomes[(partition, offset)]:
                    case Outcome.ENRICHED:
                        expected[(ident, content)] += 1
                        report.enriched += 1
                        outcome = "enriched"
                    case Outcome.REDELIVERY:
                        report.redelivered += 1
                        outcome = "redelivery"
                    case Outcome.LOST:
                        expected[(ident, content)] += 1
                        outcome = self._unexplained(
                            report, Unaccounted(ident, partition, offset, "no enriched record")
                        )
            if ident in self._watch:
                report.trails[ident].append(
                    f"raw {self.raw_topic}[{partition}]@{offset} {content}: {outcome}"
                )
        report.raw_ids = len(ids)
        report.enriched_without_raw = sum(1 for pair in self._digests if pair not in expected)
        return expected

    def _align_by_id(self) -> dict[Position, Outcome]:
        """Per id, which raw records its emissions stand for (see alignment.py); both
        lists are in offset order (raw sorted by the caller, enriched by report())."""
        raws: dict[str, list[tuple[Position, str]]] = {}
        for partition, offset, ident, content in self._raw:
            if ident is not None and content is not None:
                if (partition, offset) not in self._dead_raw:
                    raws.setdefault(ident, []).append(((partition, offset), content))
        emitted: dict[str, list[str]] = {}
        for *_, ident, content in self._enriched:
            emitted.setdefault(ident, []).append(content)
        outcomes: dict[Position, Outcome] = {}
        for ident, records in raws.items():
            contents = [content for _, content in records]
            for (where, _), outcome in zip(
                records, align(contents, emitted.get(ident, [])), strict=True
            ):
                outcomes[where] = outcome
        return outcomes

    def _unexplained(self, report: AuditReport, record: Unaccounted) -> str:
        if self._drop_duplicates:
            report.unaccounted_dropped.append(record)
            return "unaccounted (drop-duplicates on)"
        report.lost.append(record)
        return "LOST (no enriched record)"

    def _count_duplicates(self, report: AuditReport, expected: Counter[Pair]) -> None:
        """Emissions of a version beyond those its raw history explains (at least one)."""
        emissions: Counter[Pair] = Counter()
        by_partition: Counter[int] = Counter()
        duplicate_ids: set[str] = set()
        for partition, offset, ident, content in self._enriched:
            pair = (ident, content)
            emissions[pair] += 1
            if emissions[pair] > max(expected[pair], 1):
                report.duplicate_emissions += 1
                by_partition[partition] += 1
                duplicate_ids.add(ident)
            if ident in self._watch:
                letters = self._dead_enriched.get((partition, offset))
                note = f" (sink dead letter: {', '.join(sorted(letters))})" if letters else ""
                report.trails[ident].append(
                    f"enriched {self.enriched_topic}[{partition}]@{offset} {content}{note}"
                )
        report.duplicate_ids = sorted(duplicate_ids)
        report.duplicates_by_partition = dict(sorted(by_partition.items()))

    def _check_output(self, writer: str, report: AuditReport) -> OutputReport:
        mode = self._modes[writer]
        held, extra = self._held[writer], self._extra[writer]
        result = OutputReport(writer, mode, torn=list(self._torn[writer]), repeated=len(extra))
        result.records = len(held) + len(extra)
        result.distinct_ids = len({ident for ident, _ in held})
        expected: set[Pair] = set()
        latest: dict[str, str] = {}
        excused: set[Pair] = set()
        for partition, offset, ident, content in self._enriched:
            letters = self._dead_enriched.get((partition, offset), ())
            if ALL_WRITERS in letters or writer in letters:
                excused.add((ident, content))
            elif mode is OutputMode.LATEST:
                latest[ident] = content  # in offset order: the last one stays
            else:
                expected.add((ident, content))
        expected.update(latest.items())
        result.excused = len(excused - expected)
        result.missing = sorted(expected - held.keys())
        unpacked = (
            OutputRecord(writer, ident, content, digest, where, line)
            for (ident, content), (digest, where, line) in held.items()
        )
        for seen in itertools.chain(unpacked, extra):
            digests = self._digests.get((seen.article_id, seen.content_hash))
            entry = (seen.article_id, seen.content_hash, seen.location)
            if digests is None:
                result.not_on_topic.append(entry)
                state = "not on the topic"
            elif not _matches(digests, seen.digest):
                result.differs.append(entry)
                state = "DIFFERS from the topic"
            else:
                state = "ok"
            if seen.article_id in self._watch:
                line = f"{writer} {seen.content_hash} at {seen.location}: {state}"
                report.trails[seen.article_id].append(line)
        for ident, content in result.missing:
            if ident in self._watch:
                report.trails[ident].append(f"{writer} {content}: MISSING")
        result.differs.sort()
        result.not_on_topic.sort()
        return result
