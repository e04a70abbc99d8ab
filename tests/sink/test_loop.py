"""The poll loop's locking: a revocation is never held up by the loop's own waits."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from aiokafka import ConsumerRecord
from aiokafka.structs import TopicPartition

from newswire.common.settings import Settings
from newswire.sink.loop import PollLoop
from newswire.sink.metrics import Readiness, SinkMetrics
from newswire.sink.retry import RetryPolicy
from tests.sink.helpers import enriched_record
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


async def test_a_revocation_is_not_held_up_while_the_loop_asks_for_positions() -> None:
    """``position`` can wait (a partition being reset); the loop asks before it takes
    its lock, so the revocation gets its checkpoint meanwhile."""
    events: Events = []
    polled = message(P0, 0)
    consumer = PollingConsumer(events, {P0: [polled]})
    writer = MemoryWriter("db", events)
    stop = asyncio.Event()
    metrics = SinkMetrics()
    loop = PollLoop(
        Settings(),
        consumer=consumer,  # type: ignore[arg-type]
        publisher=FakePublisher(events),  # type: ignore[arg-type]
        writers=[writer],
        stop=stop,
        metrics=metrics,
        readiness=Readiness(metrics),
        policy=RetryPolicy(initial_s=0.001, max_s=0.002),
    )
    running = asyncio.create_task(loop.run())
    await consumer.asked_position.wait()

    revoking = asyncio.create_task(loop.on_revoked({P1}))
    for _ in range(10):  # a few turns of the event loop: no wait is involved
        await asyncio.sleep(0)
    revoked_meanwhile = revoking.done()

    consumer.positions.set()
    stop.set()
    await asyncio.gather(running, revoking)
    assert revoked_meanwhile
    assert consumer.commits[-1] == {P0: 1}  # and the loop's record is still committed
    assert writer.written == [polled.key.decode()]
