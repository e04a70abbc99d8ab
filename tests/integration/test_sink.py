"""The sink against the real embedded broker: files, dead letters, commits, restarts."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiokafka import TopicPartition

from newswire.common.kafka import (
    caught_up,
    committed_offsets,
    end_offsets,
    new_consumer,
    new_producer,
)
from newswire.common.settings import Settings, as_environment
from newswire.sink import service
from newswire.sink.service import run_sink
from newswire.sink.writers import FlushResult, JsonLinesWriter, RecordRejected, Writer, WriterError
from tests.sink.helpers import enriched_record, keys, output_lines, updated

DEADLINE_S = 30.0
NOT_JSON = b"\xffnot json at all"
SCHEMA_INVALID = orjson.dumps({"schema_version": "1.0", "id": "not-a-hex-id", "text": "x"})


async def eventually(
    check: Callable[[], Awaitable[bool]], what: str, timeout_s: float = DEADLINE_S
) -> None:
    """Poll ``check`` until true; fail with ``what`` after the deadline."""
    deadline = time.monotonic() + timeout_s
    while not await check():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


async def produce(settings: Settings, messages: list[tuple[bytes | None, bytes]]) -> None:
    producer = new_producer(settings.kafka)
    await producer.start()
    try:
        futures = [
            await producer.send(settings.topics.enriched, value, key=key) for key, value in messages
        ]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


def as_messages(records: list[dict[str, Any]]) -> list[tuple[bytes | None, bytes]]:
    return [(r["id"].encode(), orjson.dumps(r)) for r in records]


async def sink_caught_up(settings: Settings) -> bool:
    targets = await end_offsets(settings.kafka, settings.topics.enriched)
    committed = await committed_offsets(settings.kafka, settings.sink.group_id, targets)
    return caught_up(committed, targets)


async def read_dead_letters(settings: Settings, expected: int) -> list[dict[str, Any]]:
    """Every dead letter on the DLQ topic, once ``expected`` of them are there."""
    consumer = new_consumer(settings.kafka, group_id=None, auto_offset_reset="earliest")
    await consumer.start()
    letters: list[dict[str, Any]] = []
    try:
        tp = TopicPartition(settings.topics.dlq, 0)
        consumer.assign([tp])
        await consumer.seek_to_beginning(tp)
        deadline = time.monotonic() + DEADLINE_S
        end = (await consumer.end_offsets([tp]))[tp]
        while await consumer.position(tp) < end or len(letters) < expected:
            if time.monotonic() > deadline:
                pytest.fail(f"expected {expected} dead letters, got {len(letters)}")
            for messages in (await consumer.getmany(timeout_ms=200)).values():
                letters.extend(orjson.loads(m.value) for m in messages)
            end = (await consumer.end_offsets([tp]))[tp]
    finally:
        await consumer.stop()
    return letters


@contextlib.asynccontextmanager
async def running_sink(settings: Settings, **kwargs: Any) -> AsyncIterator[asyncio.Task[None]]:
    """``run_sink`` as a task; stopped (final flush and commit) on exit."""
    stop = asyncio.Event()
    task = asyncio.create_task(run_sink(settings, stop=stop, **kwargs))
    try:
        yield task
    finally:
        stop.set()
        await asyncio.wait_for(task, DEADLINE_S)


async def test_sink_writes_valid_records_once_and_dead_letters_the_rest(settings: Settings) -> None:
    first = enriched_record(fetched_at="2025-01-31T10:00:00Z")
    records = [
        first,
        enriched_record(fetched_at="2025-01-31T11:00:00Z"),
        enriched_record(fetched_at="2025-02-01T09:00:00Z"),
        updated(first, text="The corrected body of the first article."),
        first,  # a redelivery of the same content: no second line
    ]
    await produce(settings, [*as_messages(records), (b"bad-1", NOT_JSON), (None, SCHEMA_INVALID)])

    async with running_sink(settings) as task:
        await eventually(lambda: sink_caught_up(settings), "the sink group to commit everything")
        assert not task.done()

    out = settings.sink.out_dir
    assert keys(output_lines(out)) == {key: 1 for key in keys(records)}
    assert len(output_lines(out)) == 4
    assert sorted(p.name for p in out.glob("date=*")) == ["date=2025-01-31", "date=2025-02-01"]
    assert list((out / ".tmp").iterdir()) == []

    letters = await read_dead_letters(settings, expected=2)
    assert sorted(letter["kind"] for letter in letters) == ["decode", "schema"]
    by_kind = {letter["kind"]: letter for letter in letters}
    assert base64.b64decode(by_kind["decode"]["payload_b64"]) == NOT_JSON
    assert base64.b64decode(by_kind["schema"]["payload_b64"]) == SCHEMA_INVALID
    assert base64.b64decode(by_kind["decode"]["origin"]["key_b64"]) == b"bad-1"
    assert {letter["service"] for letter in letters} == {"sink"}
    assert {letter["origin"]["topic"] for letter in letters} == {settings.topics.enriched}

    # A restart on the same group and directory, after the same records arrive again.
    await produce(settings, as_messages(records))
    async with running_sink(settings):
        await eventually(lambda: sink_caught_up(settings), "the restarted sink to commit")
    assert len(output_lines(out)) == 4
    assert len(await read_dead_letters(settings, expected=2)) == 2


class RejectingWriter:
    """Refuses records whose title says so; keeps what it accepted in memory."""

    name = "picky"

    def __init__(self) -> None:
        self.accepted: list[str] = []
        self._buffer: list[str] = []

    async def add(self, record: dict[str, Any], *, key: str, raw: bytes) -> None:
        if record["title"] == "refuse me":
            raise RecordRejected("titles like this are not stored here")
        self._buffer.append(record["id"])

    async def flush(self) -> FlushResult:
        self.accepted.extend(self._buffer)
        written, self._buffer = len(self._buffer), []
        return FlushResult(written=written)

    async def close(self) -> None:
        return None


async def test_rejected_record_is_dead_lettered_and_the_batch_goes_on(settings: Settings) -> None:
    kept = [enriched_record(), enriched_record()]
    refused = enriched_record(title="refuse me")
    await produce(settings, as_messages([kept[0], refused, kept[1]]))
    picky = RejectingWriter()
    writers: list[Writer] = [JsonLinesWriter(out_dir=settings.sink.out_dir), picky]

    async with running_sink(settings, writers=writers):
        await eventually(lambda: sink_caught_up(settings), "the sink group to commit everything")

    assert sorted(picky.accepted) == sorted(r["id"] for r in kept)
    assert len(output_lines(settings.sink.out_dir)) == 3  # the JSON Lines writer took all three
    [letter] = await read_dead_letters(settings, expected=1)
    assert letter["kind"] == "rejected"
    assert "picky" in letter["reason"]
    assert orjson.loads(base64.b64decode(letter["payload_b64"])) == refused


class FailingFlushes:
    """Wraps a writer; its flush fails until ``healed`` is set."""

    def __init__(self, inner: Writer) -> None:
        self.name = inner.name
        self.inner = inner
        self.failures = 0
        self.healed = asyncio.Event()

    async def add(self, record: dict[str, Any], *, key: str, raw: bytes) -> None:
        await self.inner.add(record, key=key, raw=raw)

    async def flush(self) -> FlushResult:
        if not self.healed.is_set():
            self.failures += 1
            raise WriterError("disk on holiday")
        return await self.inner.flush()

    async def close(self) -> None:
        await self.inner.close()


async def test_failing_flush_is_retried_and_nothing_is_committed_before_it_works(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "BACKOFF_INITIAL_S", 0.05)
    records = [enriched_record() for _ in range(4)]
    await produce(settings, as_messages(records))
    flaky = FailingFlushes(JsonLinesWriter(out_dir=settings.sink.out_dir))

    async with running_sink(settings, writers=[flaky]):

        async def failed_a_few_times() -> bool:
            return flaky.failures >= 4

        await eventually(failed_a_few_times, "flush retries")
        assert not await sink_caught_up(settings)
        assert output_lines(settings.sink.out_dir) == []
        flaky.healed.set()
        await eventually(lambda: sink_caught_up(settings), "the commit after the flush worked")

    assert keys(output_lines(settings.sink.out_dir)) == keys(records)


class FlushOnlyOnRevoke:
    """Wraps a JSON Lines writer; while records are buffered, its flush fails when
    called from the sink's poll loop and works from anywhere else (the rebalance
    callback runs in aiokafka's coordinator task)."""

    def __init__(self, inner: JsonLinesWriter) -> None:
        self.name = inner.name
        self.inner = inner
        self.poll_loop: asyncio.Task[None] | None = None
        self.failures = 0

    async def add(self, record: dict[str, Any], *, key: str, raw: bytes) -> None:
        await self.inner.add(record, key=key, raw=raw)

    async def flush(self) -> FlushResult:
        if self.inner.buffered and asyncio.current_task() is self.poll_loop:
            self.failures += 1
            raise WriterError("not from the poll loop")
        return await self.inner.flush()

    async def close(self) -> None:
        await self.inner.close()


async def test_revoked_partitions_are_flushed_and_committed_before_they_move(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Sink A holds every record unflushed (its poll-loop flushes fail); sink B joins
    the group. A's revoke callback must flush and commit, so B, starting from the
    committed offsets, writes nothing again: every record is on disk exactly once."""
    monkeypatch.setattr(service, "BACKOFF_INITIAL_S", 0.05)
    records = [enriched_record() for _ in range(12)]
    await produce(settings, as_messages(records))
    first = FlushOnlyOnRevoke(JsonLinesWriter(out_dir=settings.sink.out_dir))
    second_settings = settings.model_copy(
        update={"sink": settings.sink.model_copy(update={"out_dir": tmp_path / "second"})}
    )

    async with running_sink(settings, writers=[first]) as task:
        first.poll_loop = task

        async def holding_everything() -> bool:
            return first.inner.buffered == len(records) and first.failures >= 2

        await eventually(holding_everything, "sink A to buffer every record")
        assert not await sink_caught_up(settings)
        async with running_sink(second_settings):
            await eventually(lambda: sink_caught_up(settings), "the group to commit everything")

    assert keys(output_lines(settings.sink.out_dir)) == {key: 1 for key in keys(records)}
    assert output_lines(second_settings.sink.out_dir) == []


class StopAfter:
    """Wraps a writer and sets ``stop`` once it has been handed ``count`` records,
    before any flush could include the last one."""

    def __init__(self, inner: Writer, stop: asyncio.Event, count: int) -> None:
        self.name = inner.name
        self.inner = inner
        self.stop = stop
        self.remaining = count

    async def add(self, record: dict[str, Any], *, key: str, raw: bytes) -> None:
        await self.inner.add(record, key=key, raw=raw)
        self.remaining -= 1
        if self.remaining == 0:
            self.stop.set()

    async def flush(self) -> FlushResult:
        return await self.inner.flush()

    async def close(self) -> None:
        await self.inner.close()


async def test_stop_flushes_and_commits_the_open_batch(settings: Settings) -> None:
    settings.sink.batch_max_age_s = 60.0  # only the final flush can write the last record
    records = [enriched_record() for _ in range(5)]
    await produce(settings, as_messages(records))
    stop = asyncio.Event()
    writer = StopAfter(JsonLinesWriter(out_dir=settings.sink.out_dir), stop, len(records))

    await asyncio.wait_for(run_sink(settings, writers=[writer], stop=stop), DEADLINE_S)

    assert keys(output_lines(settings.sink.out_dir)) == keys(records)
    assert await sink_caught_up(settings)


def test_sigterm_stops_the_sink_process_cleanly(settings: Settings) -> None:
    """Deployed as a process: SIGTERM ends it with a final commit and exit code 0."""
    records = [enriched_record() for _ in range(3)]
    asyncio.run(produce(settings, as_messages(records)))
    env = os.environ | as_environment(settings) | {"SINK_BATCH_MAX_AGE_S": "30"}
    code = (
        "import asyncio\nfrom newswire.common.settings import load_settings\n"
        "from newswire.sink.service import run_sink\nasyncio.run(run_sink(load_settings()))\n"
    )
    child = subprocess.Popen([sys.executable, "-c", code], env=env, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + DEADLINE_S
        while len(list(settings.sink.out_dir.glob("date=*/*.jsonl"))) == 0:
            assert child.poll() is None, child.stderr.read().decode() if child.stderr else ""
            assert time.monotonic() < deadline, "the sink wrote nothing"
            time.sleep(0.1)
        child.send_signal(signal.SIGTERM)
        _, stderr = child.communicate(timeout=DEADLINE_S)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == 0, stderr.decode()
    assert asyncio.run(sink_caught_up(settings))
    assert keys(output_lines(settings.sink.out_dir)) == keys(records)
