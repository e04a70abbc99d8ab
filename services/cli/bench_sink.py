"""``newswire bench sink``: each sink writer against a bare loop with its durability.

Over the same N enriched records on a fresh topic, for each writer, side by side:

(a) the real sink (:func:`newswire.sink.service.run_sink` with that writer only, its
    own consumer group): decode, validate, batch, flush, commit, as deployed;
(b) a bare aiokafka loop over the same records that writes each polled batch with
    the same durability and commits: JSON Lines = the batch into a temp file, fsync,
    rename into place, fsync the directory; PostgreSQL = ``COPY`` of the rows in one
    transaction (into a bench table shaped like ``articles``).

Both are timed from the first record consumed to the last commit (group join is not
counted); each side sees its own last commit in-process (the bare loop when its
``commit`` returns, the sink through :attr:`SinkMetrics.commit_seen`), so neither is
measured through extra broker requests. R = a / b says what the sink costs over the
bare write. The bare loop makes each polled batch durable (what aiokafka hands out,
~1,000 records here); the sink makes batches by its settings
(``SINK_BATCH_MAX_RECORDS``, ``_BYTES``, ``_AGE_S``, ``_CAUGHT_UP_RECORDS``) and
flushes one in the background while it handles the next, so R can exceed 1.00: the
flush and batch counts printed next to the rates show how each side got there.
The records are seed-sized synthetic articles run through the enrichment stages
(in-process, no Kafka), so they are what the enricher would send.

Each side lasts a second or two at 20,000 records, so one pair is at the mercy of
whatever else the machine does in those seconds (one session's quiet runs of the
same code gave 0.61 and, the next day, 1.18). The records are enriched once and the
pair is measured ROUNDS times, (a) then (b) each round, on fresh output folders and
consumer groups; every round's ratio is printed and the last line gives the median.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from statistics import median
from typing import Any, Protocol

import asyncpg
import orjson
from aiokafka import ConsumerRecord, TopicPartition

from newswire.cli.bench import (
    bench_settings,
    broker_for_bench,
    create_topics,
    produce_all,
    seed_words,
    synthetic_articles,
)
from newswire.common.kafka import caught_up, end_offsets, new_consumer, wait_for_broker
from newswire.common.records import encode
from newswire.common.settings import Settings
from newswire.enricher.app import build_pipeline
from newswire.enricher.dedupe import SeenEntry
from newswire.enricher.pipeline import Emit, Redelivered, final_record
from newswire.sink.metrics import SinkMetrics
from newswire.sink.service import run_sink
from newswire.sink.writers.base import Writer
from newswire.sink.writers.factory import WriterOptions, build_writers
from newswire.sink.writers.jsonl import fsync_dir
from newswire.sink.writers.postgres import TABLE
from newswire.sink.writers.postgres_rows import COLUMNS, article_row, send_jsonb_as_bytes

#: Longest wait for the sink's next commit before the bench checks that the sink is
#: still running and within its timeout (not a resolution: a commit ends the wait).
COMMIT_WAIT_S = 0.5

#: A side shorter than this is mostly start and end effects: its ratio is noise.
SHORT_SIDE_S = 1.0


@dataclass(frozen=True, slots=True)
class WriterFigures:
    """Records/s of the real sink (a) and the bare loop (b) for one writer."""

    writer: str
    sink: float
    bare: float
    sink_flushes: int = 0  # flush attempts of the writer in (a)
    bare_writes: int = 0  # batches written (and committed) in (b)

    @property
    def ratio(self) -> float:
        return self.sink / self.bare


@dataclass(frozen=True, slots=True)
class WriterRounds:
    """One writer's rounds; its ratio is their median, as one round is noise-prone."""

    writer: str
    rounds: tuple[WriterFigures, ...]

    @property
    def ratio(self) -> float:
        return median(figures.ratio for figures in self.rounds)


class HasRatio(Protocol):
    @property
    def ratio(self) -> float: ...


@dataclass(frozen=True, slots=True)
class SinkBenchResult:
    records: int
    payload_bytes: int
    jsonl: WriterRounds
    postgres: WriterRounds | None  # None: no DSN given, skipped


def ratio_line(jsonl: HasRatio, postgres: HasRatio | None) -> str:
    """The last line: ``jsonl=R postgres=R`` (R = sink / bare, the median of the
    rounds), or ``postgres=skipped``."""
    pg = "skipped" if postgres is None else f"{postgres.ratio:.2f}"
    return f"jsonl={jsonl.ratio:.2f} postgres={pg}"


def enriched_payloads(
    settings: Settings, n: int, words: list[str], size: int, *, seed: int
) -> list[tuple[bytes, bytes]]:
    """N seed-sized articles through every enrichment stage, in-process (a dict stands
    in for the dedupe table), validated: the records the enricher would send."""
    pipeline = build_pipeline(settings)
    seen: dict[str, SeenEntry] = {}
    out: list[tuple[bytes, bytes]] = []
    for key, value in synthetic_articles(n, words, size_chars=size, seed=seed):
        outcome = pipeline.process(value, key, seen.get)
        if isinstance(outcome, Emit):
            out.append((outcome.article_id.encode(), encode(final_record(outcome, None))))
        if isinstance(outcome, Emit | Redelivered):
            seen[outcome.article_id] = outcome.entry
    return out


# -- (b) the bare loop -------------------------------------------------------------------

Batch = Sequence[ConsumerRecord]


class Source(Protocol):
    """The part of an aiokafka consumer the bare loop uses."""

    async def getmany(
        self, *partitions: TopicPartition, timeout_ms: int = 0, max_records: int | None = None
    ) -> dict[TopicPartition, list[ConsumerRecord]]: ...

    async def commit(self) -> None: ...


async def drain(
    source: Source,
    expected: int,
    write: Callable[[Batch], Awaitable[None]],
    *,
    max_records: int,
    timeout_s: float,
) -> float:
    """Poll, write each polled batch, commit, until EXPECTED records are committed;
    records/s from the first record polled to the last commit."""
    done = 0
    first: float | None = None
    deadline = time.monotonic() + timeout_s
    while done < expected:
        if time.monotonic() > deadline:
            raise TimeoutError(f"the bare loop got {done} of {expected} records in {timeout_s}s")
        polled = await source.getmany(timeout_ms=500, max_records=max_records)
        batch = [record for records in polled.values() for record in records]
        if not batch:
            continue
        if first is None:
            first = time.perf_counter()
        await write(batch)
        await source.commit()
        done += len(batch)
    assert first is not None
    return expected / (time.perf_counter() - first)


class BareJsonLines:
    """Each batch: one file in ``.tmp/``, fsync, rename into OUT_DIR, fsync OUT_DIR."""

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir
        self._tmp = out_dir / ".tmp"
        self._tmp.mkdir(parents=True, exist_ok=True)
        self._seq = 0

    async def __call__(self, batch: Batch) -> None:
        self._seq += 1
        lines = [bytes(record.value or b"").strip() + b"\n" for record in batch]
        await asyncio.to_thread(self._write, f"bare-{self._seq:06d}.jsonl", lines)

    def _write(self, name: str, lines: list[bytes]) -> None:
        temp = self._tmp / name
        with temp.open("xb") as handle:
            handle.writelines(lines)
            handle.flush()
            os.fsync(handle.fileno())
        os.rename(temp, self.out_dir / name)
        fsync_dir(self.out_dir)


class BarePostgres:
    """Each batch: decode, the writer's rows (its document the bytes as read, as the
    writer's), ``COPY`` into TABLE in one transaction."""

    def __init__(self, connection: asyncpg.Connection, table: str) -> None:
        self._connection = connection
        self._table = table

    async def __call__(self, batch: Batch) -> None:
        rows = [article_row(orjson.loads(raw), raw) for raw in (r.value or b"" for r in batch)]
        async with self._connection.transaction():
            await self._connection.copy_records_to_table(self._table, records=rows, columns=COLUMNS)


class Counted:
    """A bare loop's write, counting the batches it wrote."""

    def __init__(self, write: Callable[[Batch], Awaitable[None]]) -> None:
        self._write = write
        self.batches = 0

    async def __call__(self, batch: Batch) -> None:
        await self._write(batch)
        self.batches += 1


async def measure_bare(
    settings: Settings, expected: int, write: Callable[[Batch], Awaitable[None]], timeout_s: float
) -> float:
    consumer = new_consumer(
        settings.kafka,
        settings.topics.enriched,
        group_id=f"bench-bare-{uuid.uuid4().hex[:6]}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        return await drain(
            consumer,
            expected,
            write,
            max_records=settings.sink.batch_max_records,
            timeout_s=timeout_s,
        )
    finally:
        await consumer.stop()


async def measure_bare_postgres(
    settings: Settings, dsn: str, ids: list[str], timeout_s: float
) -> tuple[float, Counted]:
    """(b) for PostgreSQL, into a table like ``articles`` (made by the sink's migration
    in (a)), dropped afterwards; and the rows (a) wrote into ``articles`` (IDS)
    deleted again, so no synthetic article stays behind in a real database."""
    table = f"newswire_bench_{uuid.uuid4().hex[:8]}"
    connection = await asyncpg.connect(dsn)
    try:
        await send_jsonb_as_bytes(connection)  # the writer's encoding, so (b) is as lean
        await connection.execute(f"CREATE TABLE {table} (LIKE {TABLE} INCLUDING ALL)")
        try:
            write = Counted(BarePostgres(connection, table))
            return await measure_bare(settings, len(ids), write, timeout_s), write
        finally:
            await connection.execute(f"DROP TABLE IF EXISTS {table}")
            await connection.execute(f"DELETE FROM {TABLE} WHERE id = ANY($1::text[])", ids)
    finally:
        await connection.close()


# -- (a) the real sink -------------------------------------------------------------------


async def measure_sink(
    settings: Settings, writers: list[Writer], expected: int, timeout_s: float
) -> tuple[float, int]:
    """(a): ``run_sink`` with WRITERS (one), until its group's committed offsets reach the
    topic's end; records/s from the first record handed to the writer to that commit.

    The commit is seen in-process, the moment the sink's commit returns
    (:attr:`SinkMetrics.commit_seen`), as the bare loop sees its own: not by asking
    the broker for the group's offsets every few milliseconds, which loaded the
    broker and the sink's event loop while they were being measured."""
    first: list[float] = []
    (writer,) = writers
    add = writer.add

    async def timed_add(*args: Any, **kwargs: Any) -> None:
        if not first:
            first.append(time.perf_counter())
        await add(*args, **kwargs)

    setattr(writer, "add", timed_add)  # noqa: B010 - on the instance, for this run only
    targets = await end_offsets(settings.kafka, settings.topics.enriched)
    metrics = SinkMetrics()
    stop = asyncio.Event()
    sink = asyncio.create_task(run_sink(settings, writers=writers, stop=stop, metrics=metrics))
    try:
        last = await _until_committed(sink, metrics, targets, expected, timeout_s)
    finally:
        stop.set()
        await sink
    flushes = sum(metrics.counts().flushes.values())
    return expected / (last - first[0]), flushes


async def _until_committed(
    sink: asyncio.Task[None],
    metrics: SinkMetrics,
    targets: dict[TopicPartition, int],
    expected: int,
    timeout_s: float,
) -> float:
    """``perf_counter`` at the commit that took the sink's offsets to ``targets``."""
    deadline = time.monotonic() + timeout_s
    while True:
        metrics.commit_seen.clear()  # before the check: a commit after it wakes the wait
        if caught_up(metrics.committed, targets):
            break
        if sink.done():
            await sink  # raises what stopped it
            raise RuntimeError("the sink stopped before it caught up")
        if time.monotonic() > deadline:
            raise TimeoutError(f"the sink did not commit {expected} records in {timeout_s}s")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(metrics.commit_seen.wait(), COMMIT_WAIT_S)
    return time.perf_counter()


async def _writer_rounds(
    settings: Settings,
    name: str,
    dsn: str | None,
    ids: list[str],
    *,
    rounds: int,
    out_dir: Path,
    timeout_s: float,
) -> WriterRounds:
    """ROUNDS pairs for writer NAME, each on its own output folder and consumer groups
    (a reused folder or group would find the records already written or committed)."""
    figures = []
    for index in range(1, rounds + 1):
        _step(f"{name}: round {index} of {rounds}: (a) the sink, then (b) the bare loop")
        round_settings = _for_writer(settings, name, out_dir / f"round-{index}")
        figures.append(await _writer_figures(round_settings, name, dsn, ids, timeout_s))
    return WriterRounds(name, tuple(figures))


def _for_writer(settings: Settings, writer: str, out_dir: Path) -> Settings:
    sink = settings.sink.model_copy(
        update={"group_id": f"bench-sink-{writer}-{uuid.uuid4().hex[:6]}", "out_dir": out_dir}
    )
    return settings.model_copy(update={"sink": sink})


async def _writer_figures(
    settings: Settings, name: str, dsn: str | None, ids: list[str], timeout_s: float
) -> WriterFigures:
    """(a) then (b) for writer NAME, opened as the sink opens it (connected and
    migrated before the clock runs)."""
    out = settings.sink.out_dir
    options = WriterOptions(writers=(name,), out_dir=out / "sink", postgres_dsn=dsn)
    sink, flushes = await measure_sink(settings, await build_writers(options), len(ids), timeout_s)
    if dsn is None:
        write = Counted(BareJsonLines(out / "bare"))
        bare = await measure_bare(settings, len(ids), write, timeout_s)
    else:
        bare, write = await measure_bare_postgres(settings, dsn, ids, timeout_s)
    return WriterFigures(name, sink, bare, flushes, write.batches)


def _step(what: str) -> None:
    print(f"bench sink: {what} ...", file=sys.stderr, flush=True)


def run_bench_sink(
    settings: Settings,
    *,
    records: int,
    seeds: Path,
    postgres_dsn: str | None,
    timeout_s: float,
    rounds: int = 3,
) -> SinkBenchResult:
    words, size = seed_words(seeds)
    with broker_for_bench(settings) as bootstrap, tempfile.TemporaryDirectory() as state:
        bench = bench_settings(settings, bootstrap, Path(state))
        _step(f"enriching {records} seed-sized articles in-process")
        # A new seed each run: new ids, so a reused database gets new rows, not no-ops.
        payloads = enriched_payloads(bench, records, words, size, seed=random.randrange(2**32))
        ids = [key.decode() for key, _ in payloads]
        expected = len(ids)
        asyncio.run(wait_for_broker(bench.kafka))
        asyncio.run(create_topics(bench, bench.topics.enriched, bench.topics.dlq))
        asyncio.run(produce_all(bench, bench.topics.enriched, payloads))
        _step(f"jsonl over {expected} records, {rounds} round(s)")
        jsonl = asyncio.run(
            _writer_rounds(
                bench,
                "jsonl",
                None,
                ids,
                rounds=rounds,
                out_dir=Path(state) / "out",
                timeout_s=timeout_s,
            )
        )
        pg: WriterRounds | None = None
        if postgres_dsn:
            _step(f"postgres over {expected} records, {rounds} round(s)")
            pg = asyncio.run(
                _writer_rounds(
                    bench,
                    "postgres",
                    postgres_dsn,
                    ids,
                    rounds=rounds,
                    out_dir=Path(state) / "pg",
                    timeout_s=timeout_s,
                )
            )
        else:
            _step("postgres skipped: no DSN (--postgres or SINK_POSTGRES_DSN)")
    return SinkBenchResult(expected, sum(len(v) for _, v in payloads) // expected, jsonl, pg)


def print_bench_sink(result: SinkBenchResult, settings: Settings) -> None:
    print(
        f"records={result.records} payload_bytes~{result.payload_bytes} "
        f"partitions={settings.topics.partitions} "
        f"batch_max_records={settings.sink.batch_max_records} "
        f"batch_max_bytes={settings.sink.batch_max_bytes} "
        f"profile={settings.kafka.effective_profile.value}"
    )
    for rounds in (result.jsonl, result.postgres):
        if rounds is None:
            print("postgres: skipped (no DSN: --postgres or SINK_POSTGRES_DSN)")
            continue
        for index, figures in enumerate(rounds.rounds, start=1):
            _print_round(index, figures, result.records)
        ratios = " ".join(f"{figures.ratio:.2f}" for figures in rounds.rounds)
        print(f"{rounds.writer:<8} ratio by round: {ratios} (median {rounds.ratio:.2f})")
    print(ratio_line(result.jsonl, result.postgres))


def _print_round(index: int, figures: WriterFigures, records: int) -> None:
    name = f"{figures.writer:<8} #{index}"
    print(
        f"{name} (a) sink      : {figures.sink:10.1f} records/s  ({figures.sink_flushes} flushes)"
    )
    print(f"{name} (b) bare loop : {figures.bare:10.1f} records/s  ({figures.bare_writes} batches)")
    fastest = max(figures.sink, figures.bare)  # the side that lasted least
    if fastest > 0 and records / fastest < SHORT_SIDE_S:
        print(
            f"{name} note: a side lasted under {SHORT_SIDE_S:g} s, too short "
            "for a steady ratio; use --records 20000 or more"
        )
