"""The PostgreSQL writer against a real PostgreSQL (and the sink on the real broker).

The server is the session's (``postgres_dsn``: embedded, or NEWSWIRE_TEST_POSTGRES_DSN);
every test has a database of its own. The database-down test runs a server of its
own that it stops and starts.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import orjson
import pytest
from aiokafka.structs import TopicPartition

from newswire.common.broker import free_port
from newswire.common.embedded_postgres import EmbeddedPostgres
from newswire.common.kafka import committed_offsets
from newswire.common.settings import Settings
from newswire.sink import loop, service
from newswire.sink.metrics import HttpOptions, SinkMetrics
from newswire.sink.migrations import load_migrations
from newswire.sink.writers import JsonLinesWriter, RecordRejected, Writer
from newswire.sink.writers.postgres import MigrationError, PostgresWriter, migrate
from tests.integration.conftest import eventually
from tests.integration.postgres import create_database
from tests.integration.test_sink import read_dead_letters
from tests.integration.test_sink_crash import Placement, produce_placed
from tests.sink.helpers import (
    as_messages,
    enriched_record,
    keys,
    output_lines,
    produce,
    running_sink,
    sink_caught_up,
    updated,
)
from tests.sink.memory import P0, Harness


@contextlib.asynccontextmanager
async def connected(dsn: str) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(dsn)
    try:
        yield connection
    finally:
        await connection.close()


@contextlib.asynccontextmanager
async def opened(dsn: str) -> AsyncIterator[PostgresWriter]:
    writer = PostgresWriter(dsn=dsn)
    try:
        yield writer
    finally:
        await writer.close()


async def write(writer: PostgresWriter, *records: dict[str, Any]):
    for offset, record in enumerate(records):
        await writer.add(record, orjson.dumps(record), "enriched", 0, offset)
    return await writer.flush()


async def rows(dsn: str) -> dict[str, asyncpg.Record]:
    async with connected(dsn) as connection:
        return {row["id"]: row for row in await connection.fetch("SELECT * FROM articles")}


# -- schema ----------------------------------------------------------------------------


async def test_migrations_apply_once_however_often_and_concurrently_they_run(
    postgres_db_dsn: str,
) -> None:
    async with connected(postgres_db_dsn) as connection:
        assert await migrate(connection) == [m.version for m in load_migrations()]
        assert await migrate(connection) == []

    # Fresh database, several writers starting at once: the advisory lock queues them.
    fresh = await create_database(postgres_db_dsn)
    writers = [PostgresWriter(dsn=fresh) for _ in range(4)]
    try:
        await asyncio.gather(*(writer.start() for writer in writers))
    finally:
        await asyncio.gather(*(writer.close() for writer in writers))
    async with connected(fresh) as connection:
        history = await connection.fetch("SELECT version, name FROM schema_migrations ORDER BY 1")
        indexes = {
            row["indexname"]: row["indexdef"]
            for row in await connection.fetch(
                "SELECT * FROM pg_indexes WHERE tablename = 'articles'"
            )
        }
    assert [(r["version"], r["name"]) for r in history] == [
        (m.version, m.name) for m in load_migrations()
    ]
    assert "USING gin (topics)" in indexes["articles_topics_idx"]
    assert "USING hash (url)" in indexes["articles_url_idx"]


async def test_an_edited_migration_is_refused(postgres_db_dsn: str) -> None:
    migrations = load_migrations()
    async with connected(postgres_db_dsn) as connection:
        await migrate(connection, migrations)
        edited = [dataclasses.replace(migrations[0], sql=migrations[0].sql + "\n-- edited")]
        with pytest.raises(MigrationError, match="changed after it was applied"):
            await migrate(connection, edited + migrations[1:])


# -- upserts ---------------------------------------------------------------------------


async def test_upserts_insert_new_replace_updates_and_ignore_redeliveries(
    postgres_db_dsn: str,
) -> None:
    first, second = enriched_record(), enriched_record()
    async with opened(postgres_db_dsn) as writer:
        result = await write(writer, first, second)
        assert (result.written, result.duplicates) == (2, 0)
        before = await rows(postgres_db_dsn)

        # The same (id, content_hash) again: no row added, none changed (not even updated_at).
        result = await write(writer, first, second)
        assert (result.written, result.duplicates) == (0, 2)
        assert await rows(postgres_db_dsn) == before

        # An update replaces the row.
        newer = updated(first, text="The corrected body of the first article.")
        result = await write(writer, newer)
        assert (result.written, result.duplicates) == (1, 0)
        after = await rows(postgres_db_dsn)
        assert set(after) == {first["id"], second["id"]}
        row = after[first["id"]]
        assert row["content_hash"] == newer["dedupe"]["content_hash"]
        assert row["dedupe_status"] == "update"
        assert orjson.loads(row["record"]) == newer
        assert row["updated_at"] > before[first["id"]]["updated_at"]
        assert after[second["id"]] == before[second["id"]]


async def test_a_duplicate_is_its_own_row_pointing_at_the_original(postgres_db_dsn: str) -> None:
    original = enriched_record(text="Parliament passed the budget on Tuesday.")
    copy = enriched_record(
        text="Parliament passed the budget on Tuesday.", url="https://mirror.example.net/budget"
    )
    copy["dedupe"] |= {
        "status": "duplicate",
        "duplicate_of": original["id"],
        "cluster_id": original["id"],
        "similarity": 1.0,
    }
    assert copy["id"] != original["id"]
    async with opened(postgres_db_dsn) as writer:
        await write(writer, original, copy)

    stored = await rows(postgres_db_dsn)
    assert set(stored) == {original["id"], copy["id"]}
    assert stored[copy["id"]]["dedupe_status"] == "duplicate"
    assert stored[copy["id"]]["duplicate_of"] == original["id"]
    assert stored[copy["id"]]["cluster_id"] == original["id"]
    assert stored[original["id"]]["duplicate_of"] is None
    async with connected(postgres_db_dsn) as connection:
        story = await connection.fetch(
            "SELECT id FROM articles WHERE cluster_id = $1 ORDER BY id", original["id"]
        )
    assert {r["id"] for r in story} == {original["id"], copy["id"]}


async def test_a_late_original_and_a_merge_are_queryable_from_the_record(
    postgres_db_dsn: str,
) -> None:
    """Since 1.2 the cluster fields live in the jsonb record: a consumer finds the head
    and the absorbed clusters with plain jsonb operators."""
    lead, tail, original = enriched_record(), enriched_record(), enriched_record()
    original["dedupe"] |= {
        "cluster_id": lead["id"],
        "head_id": original["id"],
        "merged_clusters": [tail["id"]],
        "similarity": 0.7,
    }
    async with opened(postgres_db_dsn) as writer:
        await write(writer, lead, tail, original)
    async with connected(postgres_db_dsn) as connection:
        group = await connection.fetch(
            "SELECT id FROM articles WHERE cluster_id = $1 OR cluster_id IN ("
            "  SELECT jsonb_array_elements_text(record->'dedupe'->'merged_clusters')"
            "  FROM articles WHERE cluster_id = $1)",
            lead["id"],
        )
        head = await connection.fetchval(
            "SELECT id FROM articles WHERE cluster_id = $1 AND record->'dedupe'->>'role' = 'head'"
            " ORDER BY coalesce(published_at, fetched_at), id LIMIT 1",
            lead["id"],
        )
    assert {r["id"] for r in group} == {lead["id"], tail["id"], original["id"]}
    assert head == min(lead["id"], original["id"])  # same published time: the smaller id


async def test_two_versions_in_one_batch_keep_the_later(postgres_db_dsn: str) -> None:
    first = enriched_record()
    newer = updated(first, text="Second version of the body.")
    async with opened(postgres_db_dsn) as writer:
        result = await write(writer, first, newer)
    assert (result.written, result.duplicates) == (1, 1)
    [row] = (await rows(postgres_db_dsn)).values()
    assert row["content_hash"] == newer["dedupe"]["content_hash"]


async def test_columns_hold_what_consumers_query(postgres_db_dsn: str) -> None:
    record = enriched_record(url="https://news.example.org/columns")
    record["topics"] = [
        {"id": "iraq", "score": 0.9, "evidence": ["Baghdad"]},
        {"id": "economy", "score": 0.5, "evidence": ["prices"]},
    ]
    record["published_at"] = "2025-01-31T09:00:00+03:00"
    async with opened(postgres_db_dsn) as writer:
        await write(writer, record)
    async with connected(postgres_db_dsn) as connection:
        row = await connection.fetchrow(
            "SELECT *, published_at AT TIME ZONE 'UTC' AS published_utc FROM articles "
            "WHERE topics @> ARRAY['iraq'] AND url = $1",
            record["url"],
        )
    assert row is not None
    assert row["topics"] == ["iraq", "economy"]
    assert (row["source_kind"], row["source_id"]) == ("feed", "example")
    assert row["language_code"] == "en"
    assert row["published_utc"].isoformat() == "2025-01-31T06:00:00"
    assert row["schema_version"] == record["schema_version"]


async def test_nul_characters_are_refused_before_any_io() -> None:
    record = enriched_record(text="before\x00after")
    writer = PostgresWriter(dsn="postgresql://nobody@127.0.0.1:9/none")  # never connects
    with pytest.raises(RecordRejected, match=r"\$\.text contains a NUL"):
        await writer.add(record, b"", "enriched", 0, 0)
    assert writer.buffered == 0
    await writer.close()


# -- through the sink ------------------------------------------------------------------


async def test_nul_byte_record_is_dead_lettered_and_the_rest_lands(
    settings: Settings, postgres_db_dsn: str
) -> None:
    good = [enriched_record(), enriched_record()]
    poisoned = enriched_record(text="A body with a NUL \x00 in it.")
    await produce(settings, as_messages([good[0], poisoned, good[1]]))
    writers: list[Writer] = [
        JsonLinesWriter(out_dir=settings.sink.out_dir),
        PostgresWriter(dsn=postgres_db_dsn),
    ]

    async with running_sink(settings, writers=writers):
        await eventually(lambda: sink_caught_up(settings))

    assert set(await rows(postgres_db_dsn)) == {r["id"] for r in good}
    # JSON can carry U+0000 (as \\u0000), so the JSON Lines writer keeps all three.
    assert keys(output_lines(settings.sink.out_dir)) == keys([*good, poisoned])
    [letter] = await read_dead_letters(settings, expected=1)
    assert letter["kind"] == "rejected"
    assert "postgres: $.text contains a NUL" in letter["reason"]
    assert orjson.loads(base64.b64decode(letter["payload_b64"])) == poisoned


async def test_a_row_postgresql_refuses_is_dead_lettered_and_the_rest_lands(
    settings: Settings, postgres_db_dsn: str
) -> None:
    """A rule only the database knows (a CHECK constraint an operator added): the
    flush fails for the batch; the sink finds the one record, dead-letters it as
    rejected, writes the records around it and moves the offsets past all of them."""
    writer = PostgresWriter(dsn=postgres_db_dsn)
    await writer.start()  # creates the table, so the constraint can be added
    async with connected(postgres_db_dsn) as connection:
        await connection.execute(
            "ALTER TABLE articles ADD CONSTRAINT no_withdrawn CHECK (url NOT LIKE '%/withdrawn/%')"
        )
    good = [enriched_record() for _ in range(6)]
    refused = enriched_record(url="https://news.example.org/withdrawn/1")
    await produce(settings, as_messages([*good[:3], refused, *good[3:]]))
    metrics = SinkMetrics()
    writers: list[Writer] = [JsonLinesWriter(out_dir=settings.sink.out_dir), writer]

    async with running_sink(settings, writers=writers, metrics=metrics):
        await eventually(lambda: sink_caught_up(settings))

    assert set(await rows(postgres_db_dsn)) == {r["id"] for r in good}
    assert keys(output_lines(settings.sink.out_dir)) == keys([*good, refused])
    [letter] = await read_dead_letters(settings, expected=1)
    assert letter["kind"] == "rejected"
    assert letter["reason"].startswith("rejected: postgres: PostgreSQL refused the row")
    assert "CheckViolationError [23514]" in letter["reason"]
    assert orjson.loads(base64.b64decode(letter["payload_b64"]))["id"] == refused["id"]
    assert base64.b64decode(letter["origin"]["key_b64"]) == refused["id"].encode()
    assert sample(metrics, "newswire_sink_dead_letters_total", kind="rejected") == 1
    assert sample(metrics, "newswire_sink_records_rejected_total", writer="postgres") == 1
    assert sample(metrics, "newswire_sink_records_written_total", writer="postgres") == len(good)


async def http_get(port: int, path: str) -> tuple[int, str]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{port}{path}") as response,
    ):
        return response.status, await response.text()


def sample(metrics: SinkMetrics, name: str, **labels: str) -> float:
    return metrics.registry.get_sample_value(name, labels) or 0.0


async def test_database_down_is_retried_without_commit_until_it_is_back(
    settings: Settings,
    stoppable_postgres: EmbeddedPostgres,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Down from the start (never migrated), then down again under a live connection:
    the sink keeps its batch, commits nothing, says not ready; when the database
    is back, the batch lands and the offsets are committed."""
    monkeypatch.setattr(service, "BACKOFF_INITIAL_S", 0.05)
    monkeypatch.setattr(service, "BACKOFF_MAX_S", 0.5)
    monkeypatch.setattr(service, "MONITOR_INTERVAL_S", 0.5)
    server = stoppable_postgres
    dsn = await create_database(server.admin_dsn)
    server.stop()
    writer = PostgresWriter(dsn=dsn, connect_timeout_s=2.0)
    metrics = SinkMetrics()
    port = free_port()
    first = [enriched_record() for _ in range(5)]
    second = [enriched_record() for _ in range(3)]
    await produce(settings, as_messages(first))

    async def flush_retries_reach(count: float) -> bool:
        return sample(metrics, "newswire_sink_retries_total", operation="flush") >= count

    async def not_ready() -> bool:
        status, body = await http_get(port, "/readyz")
        return status == 503 and "postgres" in body and '"ok":false' in body.replace(" ", "")

    async def ready() -> bool:
        return (await http_get(port, "/readyz"))[0] == 200

    async with running_sink(
        settings, writers=[writer], metrics=metrics, http=HttpOptions("127.0.0.1", port)
    ):
        await eventually(lambda: flush_retries_reach(3))
        assert writer.buffered == len(first)
        assert not await sink_caught_up(settings)
        await eventually(not_ready)
        assert (await http_get(port, "/healthz"))[0] == 200

        server.start()
        await eventually(lambda: sink_caught_up(settings))
        assert set(await rows(dsn)) == {r["id"] for r in first}
        await eventually(ready)

        # Down again, now under an open connection.
        server.stop()
        retries = sample(metrics, "newswire_sink_retries_total", operation="flush")
        await produce(settings, as_messages(second))
        await eventually(lambda: flush_retries_reach(retries + 3))
        assert not await sink_caught_up(settings)
        server.start()
        await eventually(lambda: sink_caught_up(settings))
        _, page = await http_get(port, "/metrics")

    assert set(await rows(dsn)) == {r["id"] for r in first + second}
    assert sample(metrics, "newswire_sink_records_written_total", writer="postgres") == 8
    assert (
        sample(metrics, "newswire_sink_flush_seconds_count", writer="postgres", outcome="error") > 0
    )
    assert 'newswire_sink_records_written_total{writer="postgres"} 8.0' in page
    assert "newswire_sink_consumer_lag" in page


# -- a rebalance while a checkpoint is stuck ----------------------------------------------


async def sessions_waiting_on_a_lock(connection: asyncpg.Connection) -> int:
    """The sink's statements that wait for a lock someone else holds."""
    return int(
        await connection.fetchval(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE application_name = 'newswire-sink' AND wait_event_type = 'Lock'"
        )
    )


async def partitions_done(settings: Settings, placement: Placement) -> set[TopicPartition]:
    """The partitions whose offsets the sinks' group committed to their end."""
    committed = await committed_offsets(settings.kafka, settings.sink.group_id, placement)
    return {tp for tp, offsets in placement.items() if committed[tp] > max(offsets)}


async def test_a_revocation_calls_off_a_checkpoint_stuck_on_a_table_lock(
    settings: Settings, postgres_db_dsn: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Sink A's background checkpoint waits for a lock another connection holds on
    ``articles`` (its statement timeout far away). Sink B joins the group: A's
    revocation may wait for that checkpoint only until its deadline, then calls it
    off, commits nothing, and the rebalance goes on: B reads the partitions it got
    from the start and commits them, while the lock is still held. Once the lock
    goes, A writes the rest; every record is in exactly one of the two outputs."""
    monkeypatch.setattr(loop, "REVOKE_FLUSH_BUDGET_S", 1.0)
    records = [enriched_record() for _ in range(24)]
    placement = await produce_placed(settings, records)
    writer = PostgresWriter(dsn=postgres_db_dsn, command_timeout_s=600.0)
    await writer.start()  # creates the table, so it can be locked
    second = settings.model_copy(
        update={"sink": settings.sink.model_copy(update={"out_dir": tmp_path / "second"})}
    )

    async with connected(postgres_db_dsn) as locker, running_sink(settings, writers=[writer]):
        lock = locker.transaction()
        await lock.start()
        await locker.execute("LOCK TABLE articles IN ACCESS EXCLUSIVE MODE")
        await eventually(lambda: sessions_waiting_on_a_lock(locker))
        async with running_sink(second):
            theirs = await eventually(lambda: partitions_done(second, placement))
        await lock.rollback()  # held until here: B's commits did not wait for it
        await eventually(lambda: sink_caught_up(settings))

    read_again = {placement[tp][offset] for tp in theirs for offset in placement[tp]}
    in_second = [line["id"] for line in output_lines(second.sink.out_dir)]
    assert read_again <= set(in_second)  # what A did not commit came again, to B
    in_table = set(await rows(postgres_db_dsn))
    assert sorted([*in_table, *in_second]) == sorted(r["id"] for r in records)


async def test_a_revocations_own_flush_stuck_on_a_table_lock_gives_up_at_its_deadline(
    postgres_db_dsn: str,
) -> None:
    """No background checkpoint is under way: the revocation's checkpoint flushes the
    revoked partition itself, and that statement waits for a lock another connection
    holds on ``articles`` (its command timeout far away). The flush is called off at
    the revocation's deadline, nothing is committed, the writer drops the partition's
    records; the partition's next owner reads them again and writes them all."""
    writer = PostgresWriter(dsn=postgres_db_dsn, command_timeout_s=600.0)
    await writer.start()  # creates the table, so it can be locked
    sink = Harness(others=[writer])
    records = [enriched_record() for _ in range(3)]
    for offset, record in enumerate(records):
        await writer.add(record, orjson.dumps(record), P0.topic, P0.partition, offset)
        sink.checkpoint.track(P0, offset, record["id"].encode(), 100)
    try:
        async with connected(postgres_db_dsn) as locker:
            lock = locker.transaction()
            await lock.start()
            await locker.execute("LOCK TABLE articles IN ACCESS EXCLUSIVE MODE")
            flushing = asyncio.create_task(
                sink.checkpoint.commit({P0}, deadline=time.monotonic() + 1.0)
            )
            await eventually(lambda: sessions_waiting_on_a_lock(locker))
            # Only a guard against hanging (the command timeout is ten minutes away).
            committed = await asyncio.wait_for(flushing, timeout=120.0)
            sink.checkpoint.forget({P0})
            assert not await sessions_waiting_on_a_lock(locker), "the statement was cancelled"
            await lock.rollback()
    finally:
        await writer.close()
    assert committed is False
    assert sink.consumer.commits == [] and writer.buffered == 0
    assert await rows(postgres_db_dsn) == {}

    new_owner = PostgresWriter(dsn=postgres_db_dsn)
    await new_owner.start()
    try:
        for offset, record in enumerate(records):
            await new_owner.add(record, orjson.dumps(record), P0.topic, P0.partition, offset)
        assert (await new_owner.flush([P0])).written == len(records)
    finally:
        await new_owner.close()
    assert set(await rows(postgres_db_dsn)) == {r["id"] for r in records}
