"""What a ``newswire run`` came to: read back from the cluster and OUT, judged, printed.

Kept apart from run.py, which starts the cluster and the services, replays and waits:
this module only reads what came out (the enriched and dead-letter topics between two
offset snapshots, the JSON Lines files under OUT) and says what it means (the summary
and the exit status of :meth:`Outcome.verdict`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import orjson
from aiokafka import TopicPartition

from newswire.cli.exits import EXIT_INCOMPLETE, EXIT_OK
from newswire.common.kafka import end_offsets, new_consumer
from newswire.common.settings import Settings
from newswire.common.text import excerpt
from newswire.replay.command import shortfall
from newswire.replay.dlq_view import origin_text
from newswire.replay.service import ReplayReport

Key = tuple[str, str]  # (article id, content hash): what the JSON Lines writer keeps once


@dataclass
class Summary:
    enriched: int = 0
    languages: Counter[str] = field(default_factory=Counter)
    topics: Counter[str] = field(default_factory=Counter)
    statuses: Counter[str] = field(default_factory=Counter)
    dead_letters: Counter[str] = field(default_factory=Counter)
    #: ``service/kind origin: reason`` of each dead letter, origin as ``dlq list`` gives it.
    reasons: list[str] = field(default_factory=list)
    keys: list[Key] = field(default_factory=list)  # of the enriched records, in order


@dataclass
class Outcome:
    """A finished run: what was replayed, what came out, and what OUT held before/after
    (None when the JSON Lines writer is off)."""

    report: ReplayReport
    summary: Summary
    out_before: set[Key] | None = None
    out_after: set[Key] | None = None
    #: The enricher started with no memory (a broker of this run's own), so every
    #: replayed article must come out once: a gap is a loss, not a redelivery.
    fresh_cluster: bool = False
    drop_duplicates: bool = False

    @property
    def absorbed(self) -> int:
        """Replayed records that repeat an article of this replay (``--loop``): the
        enricher counts them as redeliveries and emits nothing for them."""
        return self.report.produced - len(self.report.article_ids)

    @property
    def unaccounted(self) -> int:
        """Replayed records neither emitted, dead-lettered nor absorbed. On a fresh
        cluster that is a loss, unless ENRICHER_DROP_DUPLICATES may have dropped them."""
        enricher_letters = sum(
            n for name, n in self.summary.dead_letters.items() if name.startswith("enricher/")
        )
        gap = self.report.produced - self.summary.enriched - enricher_letters - self.absorbed
        return max(0, gap)

    def out_counts(self) -> tuple[int, int, int] | None:
        """(new under OUT, already there before, missing from OUT) for this run's records."""
        if self.out_before is None or self.out_after is None:
            return None
        keys = set(self.summary.keys)
        already = len(keys & self.out_before)
        new = len((keys - self.out_before) & self.out_after)
        return new, already, len(keys) - already - new

    def verdict(self) -> tuple[int, str | None]:
        """(exit status, why it is not 0)."""
        report = self.report
        # The embedded broker run started is stopped by now: its dead letters are read
        # in the summary's list, not with 'dlq list' (which would find no broker).
        missing = (
            shortfall(report, dead_letters_at="the dead letters listed above")
            if self.fresh_cluster
            else shortfall(report)
        )
        if not report.produced:
            return EXIT_INCOMPLETE, f"nothing replayed: {missing or 'no records'}"
        if missing:
            return EXIT_INCOMPLETE, f"incomplete: {missing}"
        if self.fresh_cluster and not self.drop_duplicates and self.unaccounted:
            return EXIT_INCOMPLETE, (
                f"incomplete: {self.unaccounted} replayed records were neither enriched nor "
                "dead-lettered (see .newswire/logs/enricher.log)"
            )
        counts = self.out_counts()
        if counts and counts[2]:
            return EXIT_INCOMPLETE, (
                f"incomplete: {counts[2]} enriched records are not under the output directory "
                "(see the dead letters and .newswire/logs/sink.log)"
            )
        return EXIT_OK, None


def out_keys(out: Path) -> set[Key]:
    """(id, content hash) of every line the JSON Lines writer has under OUT - the pairs
    it skips when they come again."""
    from newswire.sink.writers.base import RecordRejected
    from newswire.sink.writers.jsonl import DATE_DIR_PREFIX, SUFFIX, record_key

    keys: set[Key] = set()
    for path in out.glob(f"{DATE_DIR_PREFIX}*/enriched-*{SUFFIX}"):
        try:
            lines = path.read_bytes().splitlines()
        except OSError:
            continue
        for line in lines:
            try:
                keys.add(record_key(orjson.loads(line)))
            except (orjson.JSONDecodeError, RecordRejected, AttributeError):
                continue
    return keys


async def _read_range(
    settings: Settings,
    topic: str,
    start: Mapping[TopicPartition, int],
    end: Mapping[TopicPartition, int],
) -> list[bytes]:
    """Every value of TOPIC between two offset snapshots."""
    wanted = {tp: (start.get(tp, 0), stop) for tp, stop in end.items() if stop > start.get(tp, 0)}
    if not wanted:
        return []
    consumer = new_consumer(settings.kafka, group_id=None)
    await consumer.start()
    try:
        consumer.assign(list(wanted))
        for tp, (first, _) in wanted.items():
            consumer.seek(tp, first)
        values: list[bytes] = []
        while [tp for tp, (_, stop) in wanted.items() if await consumer.position(tp) < stop]:
            batches = await consumer.getmany(timeout_ms=1000)
            for tp, messages in batches.items():
                values.extend(
                    m.value for m in messages if m.offset < wanted[tp][1] and m.value is not None
                )
        return values
    finally:
        await consumer.stop()


async def summarise(
    settings: Settings,
    start_enriched: Mapping[TopicPartition, int],
    end_enriched: Mapping[TopicPartition, int],
    start_dlq: Mapping[TopicPartition, int],
) -> Summary:
    summary = Summary()
    for value in await _read_range(
        settings, settings.topics.enriched, start_enriched, end_enriched
    ):
        record = orjson.loads(value)
        summary.enriched += 1
        summary.keys.append((record["id"], record["dedupe"]["content_hash"]))
        summary.languages[record["language"]["code"]] += 1
        summary.statuses[record["dedupe"]["status"]] += 1
        summary.topics.update(topic["id"] for topic in record["topics"])
    end_dlq = await end_offsets(settings.kafka, settings.topics.dlq)
    for value in await _read_range(settings, settings.topics.dlq, start_dlq, end_dlq):
        letter = orjson.loads(value)
        summary.dead_letters[f"{letter['service']}/{letter['kind']}"] += 1
        origin = origin_text(letter.get("origin") or {})
        summary.reasons.append(f"{letter['service']}/{letter['kind']} {origin}: {letter['reason']}")
    return summary


#: Dead letters listed one per line in run's summary (the rest are counted).
SHOWN_DEAD_LETTERS = 5


def print_summary(outcome: Outcome, out: Path) -> None:
    def fmt(counter: Counter[str]) -> str:
        return ", ".join(f"{k}={v}" for k, v in sorted(counter.items())) or "none"

    report, summary = outcome.report, outcome.summary
    articles = plural(len(report.article_ids), "article")
    print(
        f"replayed: {plural(report.produced, 'record')} ({articles}) "
        f"from {plural(report.files, 'file')}, {len(report.file_errors)} could not be replayed, "
        f"{plural(report.dead_letters, 'record')} dead-lettered"
        + (
            f", {plural(len(report.ignored), 'file')} ignored (not .txt/.jsonl)"
            if report.ignored
            else ""
        )
    )
    counts = outcome.out_counts()
    if counts is None:
        print(f"enriched: {summary.enriched} (JSON Lines writer off: not written under {out}/)")
    else:
        new, already, missing = counts
        lost = f", {missing} missing" if missing else ""
        print(
            f"enriched: {summary.enriched} (under {out}/: {new} new, {already} already there{lost})"
        )
    print(f"  absorbed:  {outcome.absorbed} (the same article again: not emitted twice)")
    print(f"  dedupe:    {fmt(summary.statuses)}")
    print(f"  languages: {fmt(summary.languages)}")
    print(f"  topics:    {fmt(summary.topics)}")
    print(f"dead letters: {sum(summary.dead_letters.values())} ({fmt(summary.dead_letters)})")
    for reason in summary.reasons[:SHOWN_DEAD_LETTERS]:
        print(f"  - {excerpt(reason, 200)}")
    if len(summary.reasons) > SHOWN_DEAD_LETTERS:
        print(f"  - … and {len(summary.reasons) - SHOWN_DEAD_LETTERS} more")


def plural(count: int, noun: str) -> str:
    """COUNT NOUN, with an s unless COUNT is 1."""
    return f"{count} {noun}{'' if count == 1 else 's'}"
