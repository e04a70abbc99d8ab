"""The poll loop's locking: a revocation is never held up by the loop's own waits."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import orjson
import pytest
from aiokafka import ConsumerRecord
from aiokafka.errors import KafkaError
from aiokafka.structs import TopicPartition

from newswire.common.settings import Settings
from newswire.sink import loop as loop_module
from newswire.sink.loop import PollLoop
from newswire.sink.metrics import Readiness, SinkMetrics
from newswire.sink.retry import RetryPolicy
from newswire.sink.writers.base import WriterError
from newswire.sink.writers.batching import BatchItem
from tests.sink.helpers import DEADLINE_S, enriched_record
from tests.sink.memory import P0, P1, Events, FakeConsumer, FakePublisher, MemoryWriter


class PollingConsumer(FakeConsumer):
    """A consumer that hands out one batch, then nothing; its ``position`` waits
    until ``positions`` is set, as aiokafka's does while a position is being reset."""

    def __init__(self, events: Events, batch: dict[TopicPartition, list[ConsumerRecord]]) -> None:
        super().__init__(events, {P0, P1})
        self._batches = [batch]
        self.positions = asyncio.Event()
        self.asked_position = asyncio.Event()
        self._paused: set[TopicPartition] = set()

    async def getmany(
        self, *partitions: TopicPartition, timeout_ms: int = 0, max_records: int | None = None
    ) -> dict[TopicPartition, list[ConsumerRecord]]:
        if self._batches:
            return self._batches.pop()
        await asyncio.sleep(timeout_ms / 1000)
        return {}

    def highwater(self, tp: TopicPartition) -> int:
        return 1

    async def position(self, tp: TopicPartition) -> int:
        self.asked_position.set()
        await self.positions.wait()
        return 1

    def pause(self, *partitions: TopicPartition) -> None:
        self._paused.update(partitions)

    def paused(self) -> set[TopicPartition]:
        return set(self._paused)

    def resume(self, *partitions: TopicPartition) -> None:
        self._paused.difference_update(partitions)

    def seek(self, tp: TopicPartition, offset: int) -> None:
        return None


def message(tp: TopicPartition, offset: int) -> ConsumerRecord[Any, Any]:
    record = enriched_record()
    value = orjson.dumps(record)
    key = record["id"].encode()
    return ConsumerRecord(
        tp.topic, tp.partition, offset, 0, 0, key, value, None, len(key), len(value), []
    )


def poll_loop(
    consumer: FakeConsumer, writer: MemoryWriter, stop: asyncio.Event, settings: Settings
) -> PollLoop:
    metrics = SinkMetrics()
    return PollLoop(
        settings,
        consumer=consumer,  # type: ignore[arg-type]
        publisher=FakePublisher(consumer.events),  # type: ignore[arg-type]
        writers=[writer],
        stop=stop,
        metrics=metrics,
        readiness=Readiness(metrics),
        policy=RetryPolicy(initial_s=0.001, max_s=0.002),
    )


async def test_a_revocation_is_not_held_up_while_the_loop_asks_for_positions() -> None:
    """``position`` can wait (a partition being reset); the loop asks before it takes
    its lock, so the revocation gets its checkpoint meanwhile: it is over (nothing of
    P1 to flush, nothing committed) while the loop still waits, and the loop's record
    is flushed and committed after it."""
    events: Events = []
    polled = message(P0, 0)
    consumer = PollingConsumer(events, {P0: [polled]})
    writer = MemoryWriter("db", events)
    stop = asyncio.Event()
    loop = poll_loop(consumer, writer, stop, Settings())
    running = asyncio.create_task(loop.run())
    await consumer.asked_position.wait()

    # Held up by the loop, the revocation would never end: the guard fails the test.
    await asyncio.wait_for(loop.on_revoked({P1}), DEADLINE_S)
    assert (writer.written, consumer.commits) == ([], [])
    assert not consumer.positions.is_set()  # the loop is still waiting for its answer

    consumer.positions.set()
    stop.set()
    await asyncio.wait_for(running, DEADLINE_S)
    assert consumer.commits[-1] == {P0: 1}  # and the loop's record is committed
    assert writer.written == [polled.key.decode()]


class ScriptedConsumer(PollingConsumer):
    """Hands out BATCH, then nothing; the loop's turns are marked by a ``polled``
    event as each poll returns. Its first commit fails; the first that works sets
    STOP."""

    def __init__(
        self,
        events: Events,
        batch: dict[TopicPartition, list[ConsumerRecord]],
        stop: asyncio.Event,
    ) -> None:
        super().__init__(events, batch)
        self.positions.set()
        self._stop = stop
        self.commit_error = KafkaError("the coordinator moved")

    async def getmany(
        self, *partitions: TopicPartition, timeout_ms: int = 0, max_records: int | None = None
    ) -> dict[TopicPartition, list[ConsumerRecord]]:
        polled = await super().getmany(*partitions, timeout_ms=timeout_ms, max_records=max_records)
        self.events.append(("polled", sum(len(messages) for messages in polled.values())))
        return polled

    def highwater(self, tp: TopicPartition) -> int | None:
        return None  # never caught up: only size and idleness make a checkpoint due

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        error, self.commit_error = self.commit_error, None
        if error is not None:
            self.events.append(("commit failed", dict(offsets)))
            raise error
        await super().commit(offsets)
        self._stop.set()


async def test_a_turn_checkpoints_at_most_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The background checkpoint of a full batch fails its flush; the next turn lands
    it and finishes it with retries (the records are written), but the commit fails.
    That commit is tried again at a later turn, not in the same one: every turn
    (between two polls) makes at most one commit attempt. In the end the batch is
    written once and its offsets committed."""
    monkeypatch.setattr(loop_module, "POLL_MAX_S", 0.02)  # idle polls, quickly
    events: Events = []
    stop = asyncio.Event()
    batch = [message(P0, 0), message(P0, 1)]
    consumer = ScriptedConsumer(events, {P0: batch}, stop)
    writer = MemoryWriter("db", events)
    failures = [WriterError("disk full")]

    def fail_once(items: Sequence[BatchItem[str]]) -> BaseException | None:
        if failures:
            events.append(("write failed",))
            return failures.pop()
        return None

    writer.fail = fail_once
    settings = Settings()
    settings.sink.batch_max_records = len(batch)
    settings.sink.batch_max_age_s = 60.0

    await asyncio.wait_for(poll_loop(consumer, writer, stop, settings).run(), DEADLINE_S)

    ids = [m.key.decode() for m in batch]
    turns: list[Events] = [[]]
    for event in events:
        if event[0] == "polled":
            turns.append([])
        else:
            turns[-1].append(event)
    attempts = [[e for e in turn if e[0] in ("commit", "commit failed")] for turn in turns]
    assert all(len(turn) <= 1 for turn in attempts), events
    assert [e for e in events if e[0] != "polled"] == [
        ("write failed",),
        ("write", "db", tuple(ids)),
        ("commit failed", {P0: 2}),
        ("commit", {P0: 2}),
    ]
    assert writer.written == ids
