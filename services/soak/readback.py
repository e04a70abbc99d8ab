"""Reading a soak run's results back: news.enriched, news.dlq and the sink's outputs.

Once the services are stopped, :func:`read_back` reads both topics whole and every
output (the JSON Lines files, the PostgreSQL table) into a :class:`Count`;
:meth:`Count.tally` then gives each acknowledged record of the :class:`Ledger` its
outcome by id (emitted) or by position (a dead letter's origin). Kept apart from
the runner so that the counting can be read, and changed, on its own.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from newswire.common.kafka import end_offsets, new_consumer, topic_partitions
from newswire.common.settings import Settings
from newswire.soak.ledger import Ledger, Sent
from newswire.soak.traffic import Kind


async def read_whole_topic(settings: Settings, topic: str) -> list[Any]:
    """Every message of TOPIC from offset 0 to its end offsets (taken first)."""
    ends = await end_offsets(settings.kafka, topic)
    wanted = {tp: end for tp, end in ends.items() if end > 0}
    if not wanted:
        return []
    consumer = new_consumer(settings.kafka, group_id=None)
    await consumer.start()
    try:
        await topic_partitions(consumer, topic)
        consumer.assign(list(wanted))
        await consumer.seek_to_beginning(*wanted)
        messages: list[Any] = []
        while [tp for tp, end in wanted.items() if await consumer.position(tp) < end]:
            for tp, batch in (await consumer.getmany(timeout_ms=1000)).items():
                messages.extend(m for m in batch if m.offset < wanted[tp])
        return messages
    finally:
        await consumer.stop()


def _enriched_identity(value: bytes | None) -> tuple[str | None, str | None]:
    try:
        record = orjson.loads(value or b"")
        return record.get("id"), (record.get("dedupe") or {}).get("content_hash")
    except (orjson.JSONDecodeError, AttributeError):
        return None, None


@dataclass
class Output:
    unit: str
    ids: Counter[str] = field(default_factory=Counter)
    torn: int = 0


def read_jsonl_output(out_dir: Path) -> Output:
    """Ids of every line of every visible file (``date=*/*.jsonl``); a line that does
    not parse, or a file that does not end in a newline, counts as torn."""
    output = Output("lines")
    for path in sorted(out_dir.glob("date=*/*.jsonl")):
        data = path.read_bytes()
        if data and not data.endswith(b"\n"):
            output.torn += 1
        for line in data.splitlines():
            try:
                output.ids[orjson.loads(line)["id"]] += 1
            except (orjson.JSONDecodeError, KeyError, TypeError):
                output.torn += 1
    return output


async def read_postgres_output(dsn: str) -> Output:
    import asyncpg

    output = Output("rows")
    connection = await asyncpg.connect(dsn)
    try:
        exists = await connection.fetchval("SELECT to_regclass('articles') IS NOT NULL")
        if exists:
            for row in await connection.fetch("SELECT id FROM articles"):
                output.ids[row["id"]] += 1
    finally:
        await connection.close()
    return output


@dataclass
class Tally:
    """Each acknowledged record's outcome, from :meth:`Count.tally`."""

    lost: list[Sent]
    letter_of: dict[int, tuple[str, str]]  # ledger index -> (kind, reason)
    dead_lettered: int
    duplicate_emissions: int
    poison_emitted: list[Sent]


@dataclass
class Count:
    """What was read back: news.enriched's (partition, offset, id, content hash),
    news.dlq's (origin topic, partition, offset, kind, reason, service), the outputs."""

    enriched: list[tuple[int, int, str | None, str | None]] = field(default_factory=list)
    letters: list[tuple[str, int, int, str, str, str]] = field(default_factory=list)
    unreadable_letters: int = 0
    jsonl: Output = field(default_factory=lambda: Output("lines"))
    postgres: Output | None = None

    def tally(self, ledger: Ledger) -> Tally:
        """The count by id: each sent record's outcome from its id (news.enriched) or
        its position (a dead letter's origin)."""
        emitted = Counter(article_id for _, _, article_id, _ in self.enriched if article_id)
        by_origin = {
            (partition, offset): (kind, reason)
            for topic, partition, offset, kind, reason, _service in self.letters
            if topic == ledger.topic
        }
        letter_of = {
            s.index: by_origin[(s.partition, s.offset)]
            for s in ledger.sent
            if (s.partition, s.offset) in by_origin
        }
        lost = [s for s in ledger.sent if s.index not in letter_of and s.article_id not in emitted]
        poison_emitted = [
            s
            for s in ledger.poison
            if s.kind in (Kind.KEY_MISMATCH, Kind.NO_KEY) and s.article_id in emitted
        ]
        return Tally(
            lost=lost,
            letter_of=letter_of,
            dead_lettered=len(letter_of),
            duplicate_emissions=sum(n - 1 for n in emitted.values()),
            poison_emitted=poison_emitted,
        )


async def read_back(settings: Settings, out_dir: Path, postgres_dsn: str | None) -> Count:
    """news.enriched and news.dlq of SETTINGS read whole, the JSON Lines under
    OUT_DIR, and the PostgreSQL table when a DSN is given."""
    count = Count()
    topics = settings.topics
    for message in await read_whole_topic(settings, topics.enriched):
        article_id, content_hash = _enriched_identity(message.value)
        count.enriched.append((message.partition, message.offset, article_id, content_hash))
    for message in await read_whole_topic(settings, topics.dlq):
        try:
            letter = orjson.loads(message.value)
            origin = letter["origin"]
            count.letters.append(
                (
                    origin["topic"],
                    origin["partition"],
                    origin["offset"],
                    letter["kind"],
                    letter["reason"],
                    letter["service"],
                )
            )
        except (orjson.JSONDecodeError, KeyError, TypeError):
            count.unreadable_letters += 1
    count.jsonl = read_jsonl_output(out_dir)
    if postgres_dsn:
        count.postgres = await read_postgres_output(postgres_dsn)
    return count
