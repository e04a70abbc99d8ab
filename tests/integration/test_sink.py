"""The sink against the real embedded broker: files, dead letters, commits, restarts."""

from __future__ import annotations

import asyncio
import base64
import signal
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson
import pytest

from newswire.common.settings import Settings
from newswire.sink import service
from newswire.sink.checkpoint import FLIGHT_TASK
from newswire.sink.service import run_sink
from newswire.sink.writers import FlushResult, JsonLinesWriter, RecordRejected, Writer, WriterError
from newswire.sink.writers.base import Partitions
from newswire.sink.writers.batching import BatchingWriter, BatchItem
from tests.integration.conftest import eventually, read_topic
from tests.sink.helpers import (
    DEADLINE_S,
    WrappedWriter,
    as_messages,
    enriched_record,
    keys,
    output_lines,
    produce,
    running_sink,
    sink_caught_up,
    updated,
)

NOT_JSON = b"\xffnot json at all"
SCHEMA_INVALID = orjson.dumps({"schema_version": "1.0", "id": "not-a-hex-id", "text": "x"})


async def read_dead_letters(settings: Settings, expected: int) -> list[dict[str, Any]]:
    """Every dead letter on the DLQ topic, once ``expected`` of them are there."""

    async def enough() -> list[dict[str, Any]] | None:
        letters = [orjson.loads(m.value) for m in await read_topic(settings, settings.topics.dlq)]
        return letters if len(letters) >= expected else None

    return await eventually(enough, timeout_s=DEADLINE_S)


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
        await eventually(lambda: sink_caught_up(settings))
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
        await eventually(lambda: sink_caught_up(settings))
    assert len(output_lines(out)) == 4
    assert len(await read_dead_letters(settings, expected=2)) == 2


class RejectingWriter(BatchingWriter[str]):
    """Refuses records whose title says so; keeps what it accepted in memory."""

    name = "picky"

    def __init__(self) -> None:
        super().__init__()
        self.accepted: list[str] = []

    def prepare(self, record: dict[str, Any], raw: bytes) -> str:
        if record["title"] == "refuse me":
            raise RecordRejected("titles like this are not stored here")
        return str(record["id"])

    async def write(self, items: Sequence[BatchItem[str]]) -> FlushResult:
        self.accepted.extend(item.value for item in items)
        return FlushResult(written=len(items))


async def test_rejected_record_is_dead_lettered_and_the_batch_goes_on(settings: Settings) -> None:
    kept = [enriched_record(), enriched_record()]
    refused = enriched_record(title="refuse me")
    await produce(settings, as_messages([kept[0], refused, kept[1]]))
    picky = RejectingWriter()
    writers: list[Writer] = [JsonLinesWriter(out_dir=settings.sink.out_dir), picky]

    async with running_sink(settings, writers=writers):
        await eventually(lambda: sink_caught_up(settings))

    assert sorted(picky.accepted) == sorted(r["id"] for r in kept)
    assert len(output_lines(settings.sink.out_dir)) == 3  # the JSON Lines writer took all three
    [letter] = await read_dead_letters(settings, expected=1)
    assert letter["kind"] == "rejected"
    assert "picky" in letter["reason"]
    assert orjson.loads(base64.b64decode(letter["payload_b64"])) == refused


class AlsoRejecting(RejectingWriter):
    name = "choosy"


async def test_a_record_two_writers_refuse_is_dead_lettered_once(settings: Settings) -> None:
    kept, refused = enriched_record(), enriched_record(title="refuse me")
    await produce(settings, as_messages([refused, kept]))
    picky, choosy = RejectingWriter(), AlsoRejecting()

    async with running_sink(settings, writers=[picky, choosy]):
        await eventually(lambda: sink_caught_up(settings))

    assert picky.accepted == choosy.accepted == [kept["id"]]
    letters = [orjson.loads(m.value) for m in await read_topic(settings, settings.topics.dlq)]
    assert len(letters) == 1, letters  # one message, one dead letter
    assert letters[0]["kind"] == "rejected"
    assert "picky: titles like this" in letters[0]["reason"]
    assert "choosy: titles like this" in letters[0]["reason"]
    assert orjson.loads(base64.b64decode(letters[0]["payload_b64"])) == refused


class FailingFlushes(WrappedWriter):
    """Wraps a writer; its flush fails until ``healed`` is set."""

    def __init__(self, inner: Writer) -> None:
        super().__init__(inner)
        self.failures = 0
        self.healed = asyncio.Event()

    async def flush(self, partitions: Partitions = None) -> FlushResult:
        if not self.healed.is_set():
            self.failures += 1
            raise WriterError("disk on holiday")
        return await self.inner.flush(partitions)


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

        await eventually(failed_a_few_times)
        assert not await sink_caught_up(settings)
        assert output_lines(settings.sink.out_dir) == []
        flaky.healed.set()
        await eventually(lambda: sink_caught_up(settings))

    assert keys(output_lines(settings.sink.out_dir)) == keys(records)


class FlushOnlyOnRevoke(WrappedWriter):
    """Wraps a JSON Lines writer; while records are buffered, its flush fails when
    called from the sink's poll loop or the loop's background checkpoint, and works
    from anywhere else (the rebalance callback runs in aiokafka's coordinator task)."""

    def __init__(self, inner: JsonLinesWriter) -> None:
        super().__init__(inner)
        self.inner: JsonLinesWriter = inner
        self.poll_loop: asyncio.Task[None] | None = None
        self.failures = 0

    async def flush(self, partitions: Partitions = None) -> FlushResult:
        task = asyncio.current_task()
        from_loop = task is self.poll_loop or (task is not None and task.get_name() == FLIGHT_TASK)
        if self.inner.buffered and from_loop:
            self.failures += 1
            raise WriterError("not from the poll loop")
        return await self.inner.flush(partitions)


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

        await eventually(holding_everything)
        assert not await sink_caught_up(settings)
        async with running_sink(second_settings):
            await eventually(lambda: sink_caught_up(settings))

    assert keys(output_lines(settings.sink.out_dir)) == {key: 1 for key in keys(records)}
    assert output_lines(second_settings.sink.out_dir) == []


class StopAfter(WrappedWriter):
    """Wraps a writer and sets ``stop`` once it has been handed ``count`` records,
    before any flush could include the last one."""

    def __init__(self, inner: Writer, stop: asyncio.Event, count: int) -> None:
        super().__init__(inner)
        self.stop = stop
        self.remaining = count

    async def add(
        self, record: dict[str, Any], raw: bytes, topic: str, partition: int, offset: int
    ) -> None:
        await self.inner.add(record, raw, topic, partition, offset)
        self.remaining -= 1
        if self.remaining == 0:
            self.stop.set()


async def test_stop_flushes_and_commits_the_open_batch(settings: Settings) -> None:
    settings.sink.batch_max_age_s = 60.0  # only the final flush can write the last record
    records = [enriched_record() for _ in range(5)]
    await produce(settings, as_messages(records))
    stop = asyncio.Event()
    writer = StopAfter(JsonLinesWriter(out_dir=settings.sink.out_dir), stop, len(records))

    await asyncio.wait_for(run_sink(settings, writers=[writer], stop=stop), DEADLINE_S)

    assert keys(output_lines(settings.sink.out_dir)) == keys(records)
    assert await sink_caught_up(settings)


async def test_sigterm_stops_the_sink_process_cleanly(settings: Settings, spawn) -> None:
    """Deployed as a process: SIGTERM ends it with a final commit and exit code 0."""
    settings.sink.batch_max_age_s = 30.0  # only the idle flush or the final one can write
    records = [enriched_record() for _ in range(3)]
    await produce(settings, as_messages(records))
    sink = spawn("sink", settings)

    async def wrote_something() -> bool:
        sink.assert_running()
        return bool(list(settings.sink.out_dir.glob("date=*/*.jsonl")))

    await eventually(wrote_something, timeout_s=DEADLINE_S)
    assert sink.stop(signal.SIGTERM, timeout_s=DEADLINE_S) == 0, sink.log_tail()
    assert await sink_caught_up(settings)
    assert keys(output_lines(settings.sink.out_dir)) == keys(records)
