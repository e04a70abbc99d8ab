"""The crash test: ``newswire sink`` SIGKILLed at random moments, restarted, and in the
end every article is written exactly once to both JSON Lines and PostgreSQL.

2,000 distinct enriched articles are put on the enriched topic; the sink runs as a
child process configured through the environment like a deployment (both writers,
batches of 100 so there are many flushes to land in). It is killed four times: each
time once that run has added a randomly chosen number of rows to PostgreSQL
(seeded), plus a random few milliseconds, so the kill falls wherever the sink
happens to be: inside a file write, between (or inside) the two writers' flushes,
between flush and commit, or between batches. The numbers are small enough that
every kill comes before the topic is done. Whatever was flushed but not committed
is delivered again to the next sink, which must not write it twice. A last run
finishes the topic and stops with SIGTERM.

At every kill the test also checks the sink's safety rule: the article of every
committed offset is already in both the files and the table (offsets are committed
only after every writer's flush).

Nothing here waits for a fixed time to pass: every wait is for a condition (rows in
the table, offsets committed), with a deadline only as a failure guard.
"""

from __future__ import annotations

import asyncio
import random
import re
import signal
import time
from collections import Counter
from dataclasses import dataclass

import asyncpg
import orjson
from aiokafka import TopicPartition

from newswire.common.kafka import committed_offsets, end_offsets, new_producer
from newswire.common.settings import Settings
from tests.integration.conftest import ServiceProcess
from tests.sink.helpers import enriched_record, output_lines, sink_caught_up

SEED = 20251129
ARTICLES = 2_000
KILLS = 4
BATCH = 100
DEADLINE_S = 60.0
VISIBLE_FILE = re.compile(r"^date=\d{4}-\d{2}-\d{2}/enriched-[^/]+\.jsonl$")


#: Where each article landed: partition -> offset -> article id (from the acks).
Placement = dict[TopicPartition, dict[int, str]]


@dataclass(frozen=True)
class KillSnapshot:
    """What was on disk, in the table and committed right after a SIGKILL."""

    threshold: int  # rows the table had to reach before the kill
    temp_files: int  # .tmp files: the kill fell inside a JSON Lines file write
    jsonl_lines: int
    pg_rows: int
    committed: int
    uncommitted_durable: int  # flushed somewhere but not committed: delivered again

    @property
    def moment(self) -> str:
        if self.temp_files:
            return "inside a JSON Lines flush"
        if self.jsonl_lines != self.pg_rows:
            return "mid-flush: JSON Lines written, PostgreSQL not (yet)"
        if self.pg_rows > self.committed:
            return "after the flushes, before the commit"
        return "between batches"


async def table_count_if_any(connection: asyncpg.Connection) -> int:
    """Rows in ``articles``; 0 before the first sink has created it."""
    exists = await connection.fetchval("SELECT to_regclass('articles') IS NOT NULL")
    return int(await connection.fetchval("SELECT count(*) FROM articles")) if exists else 0


async def produce_placed(settings: Settings, records: list[dict]) -> Placement:
    """Put the records on the enriched topic; where each one landed, from the acks."""
    producer = new_producer(settings.kafka)
    await producer.start()
    try:
        futures = [
            await producer.send(settings.topics.enriched, orjson.dumps(r), key=r["id"].encode())
            for r in records
        ]
        acks = await asyncio.gather(*futures)
    finally:
        await producer.stop()
    placement: Placement = {}
    for record, ack in zip(records, acks, strict=True):
        tp = TopicPartition(ack.topic, ack.partition)
        placement.setdefault(tp, {})[ack.offset] = record["id"]
    return placement


async def committed_ids(settings: Settings, placement: Placement) -> set[str]:
    committed = await committed_offsets(settings.kafka, settings.sink.group_id, placement)
    return {
        article
        for tp, offsets in placement.items()
        for offset, article in offsets.items()
        if offset < committed[tp]
    }


async def snapshot(
    settings: Settings, connection: asyncpg.Connection, placement: Placement, threshold: int
) -> KillSnapshot:
    """The state after a kill, and the safety rule: committed implies durable in both."""
    out = settings.sink.out_dir
    in_files = {line["id"] for line in output_lines(out)}  # also: no torn line, ever
    in_table = {row["id"] for row in await connection.fetch("SELECT id FROM articles")}
    committed = await committed_ids(settings, placement)
    assert committed <= in_files, f"committed but not in the files: {len(committed - in_files)}"
    assert committed <= in_table, f"committed but not in the table: {len(committed - in_table)}"
    return KillSnapshot(
        threshold=threshold,
        temp_files=len(list((out / ".tmp").iterdir())),
        jsonl_lines=len(in_files),
        pg_rows=len(in_table),
        committed=len(committed),
        uncommitted_durable=len((in_files | in_table) - committed),
    )


async def wait_for_rows(
    connection: asyncpg.Connection, sink: ServiceProcess, at_least: int
) -> None:
    """Until the table holds ``at_least`` rows; polled tightly so the kill lands soon after."""
    deadline = time.monotonic() + DEADLINE_S
    while await table_count_if_any(connection) < at_least:
        sink.assert_running()
        assert time.monotonic() < deadline, (
            f"sink did not reach {at_least} rows:\n{sink.log_tail()}"
        )
        await asyncio.sleep(0.005)


async def test_sigkilled_sink_writes_every_article_exactly_once(
    settings: Settings,
    postgres_db_dsn: str,
    spawn,
) -> None:
    # The children get these through the environment (ServiceProcess picks a free HTTP port).
    settings.sink.batch_max_records = BATCH
    settings.sink.writers = "jsonl,postgres"
    settings.sink.postgres_dsn = postgres_db_dsn
    out = settings.sink.out_dir
    records = [enriched_record() for _ in range(ARTICLES)]
    assert len({r["id"] for r in records}) == ARTICLES
    placement = await produce_placed(settings, records)

    rng = random.Random(SEED)
    snapshots: list[KillSnapshot] = []
    connection = await asyncpg.connect(postgres_db_dsn)
    try:
        for _ in range(KILLS):
            # At most ~2 batches of new rows, then at most ~2 more batches' worth of
            # time (a batch takes ~10 ms here): four kills stay well short of the end.
            threshold = await table_count_if_any(connection) + rng.randint(1, 2 * BATCH)
            sink = spawn("sink", settings)
            await wait_for_rows(connection, sink, threshold)
            await asyncio.sleep(rng.uniform(0.0, 0.02))
            sink.stop(signal.SIGKILL)
            snapshots.append(await snapshot(settings, connection, placement, threshold))

        last = spawn("sink", settings)
        deadline = time.monotonic() + DEADLINE_S
        while not await sink_caught_up(settings):
            last.assert_running()
            assert time.monotonic() < deadline, f"sink did not catch up:\n{last.log_tail()}"
            await asyncio.sleep(0.2)
        assert last.stop(signal.SIGTERM) == 0, last.log_tail()
        stored = [row["id"] for row in await connection.fetch("SELECT id FROM articles")]
    finally:
        await connection.close()

    report(snapshots)
    assert all(s.committed < ARTICLES for s in snapshots), "a kill came after the sink finished"

    expected = {r["id"] for r in records}
    lines = output_lines(out)  # fails on a torn line or a file not ending in a newline
    per_id = Counter(line["id"] for line in lines)
    assert len(lines) == ARTICLES, f"{len(lines)} lines, most repeated: {per_id.most_common(3)}"
    assert set(per_id) == expected and max(per_id.values()) == 1

    assert len(stored) == ARTICLES and set(stored) == expected

    assert list((out / ".tmp").iterdir()) == []
    visible = sorted(
        str(p.relative_to(out)) for p in out.rglob("*") if p.is_file() and ".tmp" not in p.parts
    )
    assert [name for name in visible if name != ".lock" and not VISIBLE_FILE.match(name)] == []

    dlq = await end_offsets(settings.kafka, settings.topics.dlq)
    assert sum(dlq.values()) == 0, "no article should have been dead-lettered"


def report(snapshots: list[KillSnapshot]) -> None:
    """Printed for ``pytest -s`` and failure reports: where the kills landed."""
    for number, snap in enumerate(snapshots, 1):
        print(
            f"kill {number} (after {snap.threshold} rows): {snap.moment}; "
            f"jsonl={snap.jsonl_lines} postgres={snap.pg_rows} committed={snap.committed} "
            f"temp_files={snap.temp_files} redelivered_next={snap.uncommitted_durable}"
        )
    moments = Counter(s.moment for s in snapshots)
    print("kill moments:", dict(moments))
