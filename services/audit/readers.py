"""Where the audit's observations come from: the three topics and the sink's outputs.

Every reader turns each message, line or row into a small observation
(:mod:`newswire.audit.model`) at once and hands it to a callback, so no text is
kept. Topics are read with a group-less consumer assigned every partition, from
the first offset still on the broker to the end offsets taken when that topic's
read starts: the read ends even if producers keep going, and nothing is committed.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from newswire.audit.model import (
    DeadLetter,
    EnrichedRecord,
    Observation,
    OutputRecord,
    RawRecord,
    TornLine,
)
from newswire.common.errors import InvalidRecord, NewswireError
from newswire.common.ids import content_hash
from newswire.common.progress import Progress
from newswire.common.schemas import SchemaName, decode_json_object
from newswire.common.settings import KafkaSettings

JSONL_WRITER = "jsonl"
POSTGRES_WRITER = "postgres"
#: Longest a topic read may go without advancing before the audit gives up on it.
STALL_TIMEOUT_S = 60.0

Handle = Callable[[Observation], None]


class AuditInputError(NewswireError):
    """A source cannot be read (unreachable, missing, stuck); the message says which."""


# -- bytes -> observations -------------------------------------------------------------


def record_digest(record: Any) -> bytes:
    """A stable 16-byte hash of a decoded record: key order and the JSON spelling of
    the writer (orjson line, PostgreSQL jsonb) do not change it, any value does."""
    return hashlib.blake2b(
        orjson.dumps(record, option=orjson.OPT_SORT_KEYS), digest_size=16
    ).digest()


def _key_text(key: bytes | None) -> str | None:
    return None if key is None else key.decode("utf-8", "replace")


def raw_observation(
    partition: int, offset: int, key: bytes | None, value: bytes | None
) -> RawRecord:
    """Decide validity exactly as the enricher does: schema-valid and keyed by its id;
    the content hash is the enricher's ``content_hash(title, text)``."""
    try:
        raw = decode_json_object(value, SchemaName.RAW)
    except InvalidRecord as error:
        return RawRecord(partition, offset, _key_text(key), None, str(error))
    if key is None or key != raw["id"].encode():
        return RawRecord(
            partition, offset, raw["id"], None, f"key {_key_text(key)!r} is not the id"
        )
    return RawRecord(partition, offset, raw["id"], content_hash(raw["title"], raw["text"]))


def _version(record: Any) -> tuple[str, str] | None:
    """(id, dedupe.content_hash) of an enriched record, or None if it has no such pair."""
    if not isinstance(record, dict):
        return None
    ident, dedupe = record.get("id"), record.get("dedupe")
    content = dedupe.get("content_hash") if isinstance(dedupe, dict) else None
    if isinstance(ident, str) and ident and isinstance(content, str) and content:
        return ident, content
    return None


def enriched_observation(partition: int, offset: int, value: bytes | None) -> EnrichedRecord:
    try:
        record = orjson.loads(value or b"")
    except orjson.JSONDecodeError:
        return EnrichedRecord(partition, offset, None, None, problem="not JSON")
    version = _version(record)
    if version is None:
        return EnrichedRecord(partition, offset, None, None, problem="no id or dedupe.content_hash")
    return EnrichedRecord(partition, offset, *version, digest=record_digest(record))


def letter_observation(value: bytes | None) -> DeadLetter:
    try:
        letter = orjson.loads(value or b"")
        origin = letter["origin"]
        partition, offset = origin.get("partition"), origin.get("offset")
        return DeadLetter(
            origin.get("topic"),
            partition if isinstance(partition, int) else None,
            offset if isinstance(offset, int) else None,
            str(letter.get("service")),
            str(letter.get("kind")),
            str(letter.get("reason", "")),
        )
    except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError):
        return DeadLetter(None, None, None, "unknown", "unreadable")


def output_observation(
    writer: str, text: bytes | str, where: str, line: int = 0
) -> OutputRecord | TornLine:
    """An output record (a JSON line, a row's jsonb) as an observation."""
    try:
        record = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        return TornLine(writer, f"{where}:{line}" if line else where, f"not JSON: {exc}")
    version = _version(record)
    if version is None:
        reason = "not an enriched record (no id or dedupe.content_hash)"
        return TornLine(writer, f"{where}:{line}" if line else where, reason)
    return OutputRecord(writer, *version, record_digest(record), where, line)


# -- Kafka -----------------------------------------------------------------------------


@dataclass
class TopicScan:
    """What was read of one topic: partitions, records, and whether it exists at all."""

    topic: str
    exists: bool = True
    partitions: int = 0
    records: int = 0
    first: dict[int, int] = field(default_factory=dict)
    end: dict[int, int] = field(default_factory=dict)


async def scan_topic(
    kafka: KafkaSettings,
    topic: str,
    handle: Callable[[int, int, bytes | None, bytes | None], None],
    progress: Progress,
    *,
    stall_timeout_s: float = STALL_TIMEOUT_S,
) -> TopicScan:
    """Call HANDLE(partition, offset, key, value) for every message of TOPIC."""
    from newswire.common.kafka import new_consumer, topic_partitions

    # new_consumer already sizes fetches to hold a record at the message limit
    consumer = new_consumer(kafka, group_id=None, auto_offset_reset="earliest")
    await consumer.start()
    try:
        tps = await topic_partitions(consumer, topic)
        scan = TopicScan(topic, exists=bool(tps), partitions=len(tps))
        if not tps:
            return scan
        consumer.assign(tps)
        first, end = await consumer.beginning_offsets(tps), await consumer.end_offsets(tps)
        scan.first = {tp.partition: first[tp] for tp in tps}
        scan.end = {tp.partition: end[tp] for tp in tps}
        for tp in tps:
            consumer.seek(tp, first[tp])
        progress.begin(topic, sum(end[tp] - first[tp] for tp in tps))
        pending = {tp for tp in tps if end[tp] > first[tp]}
        done, last_done, last_move = 0, -1, time.monotonic()
        while pending:
            batch = await consumer.getmany(*pending, timeout_ms=500, max_records=2000)
            for tp, messages in batch.items():
                for message in messages:
                    if message.offset < end[tp]:
                        handle(tp.partition, message.offset, message.key, message.value)
                        scan.records += 1
            positions = {tp: min(await consumer.position(tp), end[tp]) for tp in tps}
            pending = {tp for tp in pending if positions[tp] < end[tp]}
            done = sum(positions[tp] - first[tp] for tp in tps)
            progress.update(done)
            if done != last_done:
                last_done, last_move = done, time.monotonic()
            elif time.monotonic() - last_move > stall_timeout_s:
                where = ", ".join(
                    f"{tp.partition}@{positions[tp]}/{end[tp]}" for tp in sorted(pending)
                )
                raise AuditInputError(
                    f"reading {topic} stalled for {stall_timeout_s:g}s at {where}"
                )
        progress.end()
        return scan
    finally:
        await consumer.stop()


# -- sink outputs ----------------------------------------------------------------------


def jsonl_files(out_dir: Path) -> list[Path]:
    """The sink's finished files: ``date=*/*.jsonl`` (never ``.tmp/``), in write order."""
    return sorted(p for p in out_dir.glob("date=*/*.jsonl") if p.is_file())


def scan_jsonl(out_dir: Path, handle: Handle, progress: Progress) -> int:
    """Every line of every output file; a line without its newline is torn (cut off)."""
    files = jsonl_files(out_dir)
    progress.begin(f"{out_dir} (files)", len(files))
    lines = 0
    for done, path in enumerate(files, 1):
        name = str(path.relative_to(out_dir))
        with path.open("rb") as stream:
            for number, line in enumerate(stream, 1):
                lines += 1
                if not line.endswith(b"\n"):
                    handle(TornLine(JSONL_WRITER, f"{name}:{number}", "no newline: cut off"))
                elif not line.strip():
                    handle(TornLine(JSONL_WRITER, f"{name}:{number}", "empty line"))
                else:
                    handle(output_observation(JSONL_WRITER, line, name, number))
        progress.update(done)
    progress.end()
    return lines


async def _connect_postgres(dsn: str, timeout_s: float) -> Any:
    import asyncpg

    from newswire.sink.writers.postgres import DATABASE_ERRORS, describe, redacted

    errors: tuple[type[BaseException], ...] = (*DATABASE_ERRORS, ValueError)  # ValueError: bad DSN
    try:
        return await asyncpg.connect(dsn, timeout=timeout_s)
    except errors as exc:
        raise AuditInputError(
            f"PostgreSQL at {redacted(dsn)} did not answer: {describe(exc)}"
        ) from exc


async def check_postgres(dsn: str, *, timeout_s: float) -> None:
    """Reachable, with an ``articles`` table? Asked first, so a wrong DSN fails in
    seconds instead of after the topics were read."""
    from newswire.sink.writers.postgres import TABLE, redacted

    connection = await _connect_postgres(dsn, timeout_s)
    try:
        exists = await connection.fetchval("SELECT to_regclass($1) IS NOT NULL", TABLE)
    finally:
        await connection.close()
    if not exists:
        raise AuditInputError(
            f"PostgreSQL at {redacted(dsn)} has no {TABLE} table (not the sink's database?)"
        )


async def scan_postgres(dsn: str, handle: Handle, progress: Progress, *, timeout_s: float) -> int:
    """Every row of ``articles``, in one read-only snapshot; unreachable -> AuditInputError."""
    import asyncpg

    from newswire.sink.writers.postgres import DATABASE_ERRORS, TABLE, describe, redacted

    where = redacted(dsn)
    connection = await _connect_postgres(dsn, timeout_s)
    rows = 0
    try:
        async with connection.transaction(isolation="repeatable_read", readonly=True):
            total = await connection.fetchval(f"SELECT count(*) FROM {TABLE}")
            progress.begin(f"postgres {where}", int(total))
            query = f"SELECT id, content_hash, record::text AS record FROM {TABLE}"
            async for row in connection.cursor(query, prefetch=500):
                rows += 1
                _handle_row(row["id"], row["content_hash"], row["record"], handle)
                if rows % 500 == 0:
                    progress.update(rows)
        progress.update(rows)
        progress.end()
    except asyncpg.UndefinedTableError as exc:
        raise AuditInputError(f"PostgreSQL at {where} has no {TABLE} table") from exc
    except DATABASE_ERRORS as exc:
        raise AuditInputError(f"reading {TABLE} at {where} failed: {describe(exc)}") from exc
    finally:
        await connection.close()
    return rows


def _handle_row(ident: str, content: str, document: str, handle: Handle) -> None:
    """A row is its record; its key columns must agree with the record they index."""
    where = f"articles id={ident}"
    seen = output_observation(POSTGRES_WRITER, document, where)
    if isinstance(seen, TornLine):
        handle(seen)
        return
    if (seen.article_id, seen.content_hash) != (ident, content):
        said = f"({seen.article_id}, {seen.content_hash})"
        reason = f"columns (id, content_hash) = ({ident}, {content}) but the record says {said}"
        handle(TornLine(POSTGRES_WRITER, where, reason))
    handle(OutputRecord(POSTGRES_WRITER, ident, content, seen.digest, "articles"))
