"""Re-driving dead letters: put the original bytes back on the topic they came from.

After the cause is fixed (a schema bug, a taxonomy error, a database that refused a
row), operators replay the dead letters. The original key and bytes are restored
exactly. Letters that cannot be sent back from the letter alone are skipped, each
with advice that fits where it came from (:func:`skip_advice`): a cut payload (too
large to carry) whose original stays on its topic, a replayed file's line, or a
fetched item that never reached a topic.

The re-drive runs as its own consumer group and commits after each batch is acked,
so running it again continues where it stopped instead of sending twice; and it
stops at the end offsets it saw when it started, so it terminates even if the same
records fail again and land back on the dead-letter topic.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import orjson

from newswire.common.kafka import new_consumer, new_producer, topic_partitions
from newswire.common.progress import NoProgress, Progress
from newswire.common.settings import Settings

log = logging.getLogger(__name__)

REDRIVE_GROUP = "newswire-dlq-redrive"


@dataclass(frozen=True, slots=True)
class LetterFilter:
    service: str | None = None
    kind: str | None = None

    def accepts(self, letter: dict[str, Any]) -> bool:
        return (self.service is None or letter.get("service") == self.service) and (
            self.kind is None or letter.get("kind") == self.kind
        )


#: Advice lines ``describe`` prints; the counts cover the rest.
ADVICE_SHOWN = 20


@dataclass
class RedriveReport:
    redriven: Counter[str] = field(default_factory=Counter)  # by destination topic
    skipped_filtered: int = 0
    skipped_truncated: list[str] = field(default_factory=list)  # advice, one per letter
    skipped_no_topic: int = 0  # a replayed file's line or a fetched item
    unreadable: int = 0
    #: What to do about each skipped letter, in reading order (see skip_advice).
    advice: list[str] = field(default_factory=list)


def origin_text(origin: dict[str, Any]) -> str:
    """Where the failed record came from, in one column: a topic position, a replayed
    file's line, or (the fetcher's, which never reached a topic) its source and URL."""
    if "topic" in origin:
        return f"{origin['topic']}:{origin.get('partition')}:{origin.get('offset')}"
    if "file" in origin:
        return f"{origin['file']}:{origin.get('line')}"
    if "source_id" in origin:
        where = origin.get("url") or origin.get("guid") or origin.get("item_id")
        return f"{origin['source_id']} {where}" if where else str(origin["source_id"])
    return "?"


def skip_advice(origin: dict[str, Any], *, truncated: bool) -> str:
    """What an operator can actually do about a letter ``dlq replay`` does not send.

    Each kind of origin has its own remedy: a topic's record is still on that topic
    (for its retention) and only its position helps; a replayed file's line is
    replayed again from the file; a fetched item never reached a topic, and the
    fetcher saved it as seen, so no poll brings it back by itself."""
    cut = " (truncated)" if truncated else ""
    if origin.get("topic"):
        topic, partition, offset = origin["topic"], origin.get("partition"), origin.get("offset")
        return (
            f"{origin_text(origin)}{cut}: the original stays on {topic}, partition "
            f"{partition}, offset {offset} (for its retention); this letter carries only its "
            "first bytes: newswire dlq replay --by-offset sends the original from there"
        )
    if "file" in origin:
        return (
            f"{origin_text(origin)}{cut}: a replayed file's line; fix the line (or raise "
            f"KAFKA_MAX_MESSAGE_BYTES) and run newswire replay {origin['file']} again"
        )
    if "source_id" in origin:
        return (
            f"source {origin_text(origin)}{cut}: fetched, never on a topic; the "
            "fetcher saved it as seen and will not fetch it again by itself (no newswire "
            "command forgets one item); raising KAFKA_MAX_MESSAGE_BYTES and the topics' "
            "max.message.bytes lets later items of this size through"
        )
    return f"{cut.strip() or 'skipped'}: the letter names no origin; see newswire dlq show"


#: A record to send again: (topic, key, value).
Planned = tuple[str, bytes | None, bytes]


@dataclass(frozen=True, slots=True)
class ByOffset:
    """A cut letter's original, to be read at its topic position and sent again
    (``--by-offset``): only if it is still there and is the record the letter cut."""

    topic: str
    partition: int
    offset: int
    sha256: str
    advice: str  # what to say if it cannot be read


def plan_redrive(
    letter: dict[str, Any], report: RedriveReport, only: LetterFilter, *, by_offset: bool = False
) -> Planned | ByOffset | None:
    """(topic, key, value) to send again, a cut letter's original to read first (with
    BY_OFFSET), or None with the reason counted in REPORT."""
    if not only.accepts(letter):
        report.skipped_filtered += 1
        return None
    origin = letter.get("origin")
    origin = origin if isinstance(origin, dict) else {}
    truncated = bool(letter.get("payload_truncated"))
    topic = origin.get("topic")
    partition, offset = origin.get("partition"), origin.get("offset")
    if by_offset and truncated and topic and isinstance(partition, int) and isinstance(offset, int):
        sha256 = str(letter.get("payload_sha256") or "")
        return ByOffset(topic, partition, offset, sha256, skip_advice(origin, truncated=True))
    if truncated or not topic:
        advice = skip_advice(origin, truncated=truncated)
        report.advice.append(advice)
        if truncated:
            report.skipped_truncated.append(advice)
        else:  # a replayed file's line or a fetched item: there is no topic to send to
            report.skipped_no_topic += 1
        return None
    key_b64 = origin.get("key_b64")
    key = base64.b64decode(key_b64) if key_b64 else None
    return topic, key, base64.b64decode(letter["payload_b64"])


async def read_record_at(consumer: Any, tp: Any, offset: int, *, what: str = "record") -> Any:
    """The record at OFFSET of TP (a ConsumerRecord), or a sentence saying why there is
    none, naming it WHAT: past the end, or gone with the topic's retention. CONSUMER
    has no group."""
    consumer.assign([tp])
    start = (await consumer.beginning_offsets([tp]))[tp]
    end = (await consumer.end_offsets([tp]))[tp]
    where = f"{tp.topic}[{tp.partition}]"
    if offset >= end:
        return f"no {what} at offset {offset} of {where}: it ends at {end}"
    if offset < start:
        return (
            f"the {what} at offset {offset} of {where} is gone (retention); "
            f"the earliest kept is at {start}"
        )
    consumer.seek(tp, offset)
    batch = await consumer.getmany(tp, timeout_ms=5000, max_records=1)
    for record in batch.get(tp, []):
        if record.offset == offset:
            return record
    return f"no {what} at offset {offset} of {where}"


class Originals:
    """Reads cut letters' originals at their topic positions, with one group-less
    consumer started on first use (a run without ``--by-offset`` never starts it)."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._consumer: Any = None

    async def resolve(self, wanted: ByOffset, report: RedriveReport) -> Planned | None:
        """The original to send again, or None with why counted in REPORT: a record that
        is gone, or is not the one the letter cut (its SHA-256 differs), is not sent."""
        from aiokafka import TopicPartition

        if self._consumer is None:
            self._consumer = new_consumer(
                self._settings.kafka, group_id=None, enable_auto_commit=False
            )
            await self._consumer.start()
        tp = TopicPartition(wanted.topic, wanted.partition)
        try:
            found = await read_record_at(self._consumer, tp, wanted.offset)
        except (KeyError, ValueError, AssertionError):  # no such topic or partition
            found = f"{wanted.topic} has no partition {wanted.partition}"
        if not isinstance(found, str):
            if hashlib.sha256(found.value or b"").hexdigest() == wanted.sha256:
                return wanted.topic, found.key, found.value
            found = "the record there is not the one this letter cut (its SHA-256 differs)"
        advice = f"{wanted.advice}; by offset: {found}"
        report.advice.append(advice)
        report.skipped_truncated.append(advice)
        return None

    async def close(self) -> None:
        if self._consumer is not None:
            await self._consumer.stop()


async def redrive(
    settings: Settings,
    *,
    only: LetterFilter,
    dry_run: bool = False,
    by_offset: bool = False,
    progress: Progress | None = None,
) -> RedriveReport:
    """Send every dead letter that ONLY accepts back to its origin topic, once; with
    BY_OFFSET also the cut ones whose original is still on its topic (read from there).

    ``progress`` counts the dead letters read, out of those the run will read."""
    report = RedriveReport()
    shown = progress or NoProgress()
    consumer = new_consumer(settings.kafka, group_id=REDRIVE_GROUP, auto_offset_reset="earliest")
    producer = new_producer(settings.kafka)
    originals = Originals(settings)
    try:  # every client is stopped whatever happens, also when a start fails
        await consumer.start()
        await producer.start()
        await _resume_where_last_run_stopped(consumer, settings.topics.dlq)
        stop_at = await consumer.end_offsets(list(consumer.assignment()))
        starts = {tp: await consumer.position(tp) for tp in stop_at}
        shown.begin("dead letters read", sum(max(0, stop_at[tp] - starts[tp]) for tp in stop_at))
        read = 0
        while [tp for tp, end in stop_at.items() if await consumer.position(tp) < end]:
            batch = await consumer.getmany(timeout_ms=1000, max_records=500)
            sends = []
            for tp, messages in batch.items():
                for message in messages:
                    if message.offset >= stop_at.get(tp, 0):
                        continue
                    read += 1
                    planned = _plan(message.value, report, only, by_offset=by_offset)
                    if isinstance(planned, ByOffset):
                        planned = await originals.resolve(planned, report)
                    if planned is None:
                        continue
                    topic, key, value = planned
                    report.redriven[topic] += 1
                    if not dry_run:
                        sends.append(await producer.send(topic, value, key=key))
            await asyncio.gather(*sends)
            if not dry_run:
                await consumer.commit()
            shown.update(read)
        shown.end()
    finally:
        await consumer.stop()
        await producer.stop()
        await originals.close()
    return report


def _plan(
    value: bytes | None, report: RedriveReport, only: LetterFilter, *, by_offset: bool
) -> Planned | ByOffset | None:
    try:
        letter = orjson.loads(value or b"")
    except orjson.JSONDecodeError:
        report.unreadable += 1
        return None
    if not isinstance(letter, dict):
        report.unreadable += 1
        return None
    return plan_redrive(letter, report, only, by_offset=by_offset)


async def _resume_where_last_run_stopped(consumer: Any, topic: str) -> None:
    """Assign every partition by hand (no group join, no rebalance) and start from the
    re-drive group's committed offsets, or from the beginning on a first run."""
    tps = await topic_partitions(consumer, topic)
    consumer.assign(tps)
    for tp in tps:
        committed = await consumer.committed(tp)
        if committed is None:
            await consumer.seek_to_beginning(tp)
        else:
            consumer.seek(tp, committed)


def describe(report: RedriveReport, *, dry_run: bool) -> list[str]:
    verb = "would re-drive" if dry_run else "re-drove"
    lines = [f"{verb} {sum(report.redriven.values())} dead letters"]
    lines += [f"  -> {topic}: {count}" for topic, count in sorted(report.redriven.items())]
    lines.append(
        f"skipped: {report.skipped_filtered} filtered out, "
        f"{len(report.skipped_truncated)} truncated, "
        f"{report.skipped_no_topic} with no topic, {report.unreadable} unreadable"
    )
    lines += [f"  {advice}" for advice in report.advice[:ADVICE_SHOWN]]
    if len(report.advice) > ADVICE_SHOWN:
        lines.append(f"  ... and {len(report.advice) - ADVICE_SHOWN} more (newswire dlq list)")
    return lines
