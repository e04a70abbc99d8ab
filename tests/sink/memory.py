"""An in-memory writer and fakes of the Kafka side, for unit tests of the sink's parts."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

import orjson
from aiokafka.errors import KafkaError
from aiokafka.structs import TopicPartition

from newswire.common.errors import InvalidRecord
from newswire.sink.checkpoint import Checkpoint
from newswire.sink.deadletters import DeadLetters
from newswire.sink.metrics import Readiness, SinkMetrics
from newswire.sink.retry import Retrier, RetryPolicy
from newswire.sink.writers.base import FlushResult, Partitions, Writer
from newswire.sink.writers.batching import BatchingWriter, BatchItem

TOPIC = "enriched"
P0, P1 = TopicPartition(TOPIC, 0), TopicPartition(TOPIC, 1)

#: What happened, in order, across writers, committer and dead letters.
Events = list[tuple[Any, ...]]


class MemoryWriter(BatchingWriter[str]):
    """Keeps written record ids in a list; ``fail`` decides what a write raises."""

    def __init__(self, name: str, events: Events) -> None:
        super().__init__()
        self.name = name
        self.events = events
        self.written: list[str] = []
        self.flushed: list[list[TopicPartition]] = []
        self.fail: Callable[[Sequence[BatchItem[str]]], BaseException | None] = lambda items: None

    def prepare(self, record: dict[str, Any], raw: bytes) -> str:
        return str(record["id"])

    async def flush(self, partitions: Partitions = None) -> FlushResult:
        self.flushed.append(sorted(partitions or []))
        return await super().flush(partitions)

    async def write(self, items: Sequence[BatchItem[str]]) -> FlushResult:
        error = self.fail(items)
        if error is not None:
            raise error
        self.written.extend(item.value for item in items)
        if items:
            self.events.append(("write", self.name, tuple(item.value for item in items)))
        return FlushResult(written=len(items))


class FakeConsumer:
    """Assignment and commits of a consumer; ``commit_error`` makes commits fail."""

    def __init__(self, events: Events, assigned: set[TopicPartition]) -> None:
        self.events = events
        self.assigned = set(assigned)
        self.commits: list[dict[TopicPartition, int]] = []
        self.commit_error: KafkaError | None = None

    def assignment(self) -> set[TopicPartition]:
        return set(self.assigned)

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        if self.commit_error is not None:
            raise self.commit_error
        self.commits.append(dict(offsets))
        self.events.append(("commit", dict(offsets)))


class FakePublisher:
    """Records dead letters as the broker would acknowledge them."""

    def __init__(self, events: Events) -> None:
        self.events = events
        self.letters: list[dict[str, Any]] = []

    async def dead_letter(
        self,
        *,
        error: InvalidRecord,
        payload: bytes | None,
        origin: dict[str, Any],
        key: bytes | None = None,
    ) -> None:
        letter = {"kind": error.kind.value, "reason": error.reason, "origin": origin, "key": key}
        self.letters.append(letter | {"payload": payload})
        self.events.append(("dead_letter", origin["partition"], origin["offset"]))


class Harness:
    """A checkpoint over in-memory writers, a fake consumer and a fake publisher."""

    def __init__(self, *writer_names: str, others: Sequence[Writer] = ()) -> None:
        self.events: Events = []
        self.writers = [MemoryWriter(name, self.events) for name in writer_names]
        self.consumer = FakeConsumer(self.events, {P0, P1})
        self.publisher = FakePublisher(self.events)
        self.metrics = SinkMetrics()
        self.stop = asyncio.Event()
        policy = RetryPolicy(initial_s=0.001, max_s=0.002, max_attempts=3)
        retrier = Retrier(policy, stop=self.stop, wait=asyncio.sleep, on_retry=self._retried)
        self.retries: list[str] = []
        dead_letters = DeadLetters(self.publisher, retrier, self.metrics)  # type: ignore[arg-type]
        self.checkpoint = Checkpoint(
            writers=[*self.writers, *others],
            committer=self.consumer,
            dead_letters=dead_letters,
            retrier=retrier,
            metrics=self.metrics,
            readiness=Readiness(self.metrics),
        )
        self._offsets = {P0: 0, P1: 0}

    def _retried(self, operation: str) -> None:
        self.retries.append(operation)

    async def consume(self, tp: TopicPartition, *ids: str) -> None:
        """Hand records with these ids to every writer, then to the checkpoint, as
        the poll loop does."""
        for ident in ids:
            offset = self._offsets[tp]
            self._offsets[tp] += 1
            record = {"id": ident}
            for writer in self.writers:
                await writer.add(record, orjson.dumps(record), tp.topic, tp.partition, offset)
            self.checkpoint.track(tp, offset, ident.encode(), 10)

    def sample(self, name: str, **labels: str) -> float:
        return self.metrics.registry.get_sample_value(name, labels) or 0.0
