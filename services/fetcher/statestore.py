"""Where polling state lives: a compacted Kafka topic (production) or memory (``--once``).

The topic is keyed by source id, so compaction keeps exactly the latest state of each
source; a starting replica reads it from the beginning to the end offsets and knows
everything the previous one knew. Every ``save`` waits for the broker's ack, so the
caller can order "records acked" before "state saved" (see ``state`` for the
write-ahead ``pending`` protocol that makes a kill between the two harmless).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Collection, Iterable
from typing import Protocol

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from newswire.common.kafka import create_missing_topics, end_offsets, new_consumer
from newswire.common.settings import Settings
from newswire.common.topics import fetcher_state_topic
from newswire.fetcher.state import SourceState

log = logging.getLogger(__name__)

#: Raw records scanned per getmany while resolving pending deliveries.
SCAN_BATCH = 500


class StateStore(Protocol):
    async def load(self, partitions: Collection[int] | None = None) -> dict[str, SourceState]:
        """The latest state of every source ever saved (on ``partitions`` only)."""

    async def save(self, state: SourceState, *, partition: int | None = None) -> None:
        """Persist ``state`` (on ``partition``: its source's); returns once it is durable."""

    async def raw_end_offsets(self) -> dict[int, int] | None:
        """End offsets of the raw topic, for the write-ahead ``pending`` record (None: no WAL)."""

    async def delivered(self, pending: Iterable[tuple[str, SourceState]]) -> set[str]:
        """Article ids of pending records that did reach the raw topic."""


class MemoryStateStore:
    """State for one process only (``--once``, tests): nothing survives a restart."""

    def __init__(self, initial: dict[str, SourceState] | None = None) -> None:
        self.states: dict[str, SourceState] = dict(initial or {})

    async def load(self, partitions: Collection[int] | None = None) -> dict[str, SourceState]:
        return dict(self.states)

    async def save(self, state: SourceState, *, partition: int | None = None) -> None:
        self.states[state.source_id] = state

    async def raw_end_offsets(self) -> dict[int, int] | None:
        return None

    async def delivered(self, pending: Iterable[tuple[str, SourceState]]) -> set[str]:
        return set()


class KafkaStateStore:
    """State in a compacted topic; resolves ``pending`` deliveries from the raw topic."""

    def __init__(self, settings: Settings, producer: AIOKafkaProducer, *, topic: str) -> None:
        self._settings = settings
        self._producer = producer
        self._topic = topic
        self._offsets: AIOKafkaConsumer | None = None

    async def start(self) -> None:
        await create_missing_topics(
            self._settings.kafka, [fetcher_state_topic(self._settings, self._topic)]
        )
        self._offsets = new_consumer(self._settings.kafka, group_id=None)
        await self._offsets.start()

    async def stop(self) -> None:
        if self._offsets is not None:
            await self._offsets.stop()

    async def load(self, partitions: Collection[int] | None = None) -> dict[str, SourceState]:
        """Every source's latest state, from the whole topic or from ``partitions`` (a
        fleet replica reads only those of the sources it was assigned)."""
        states: dict[str, SourceState] = {}
        placed: dict[str, int] = {}  # the partition each kept state was read from
        reading = read_to_end(self._settings, self._topic, partitions=partitions)
        async for partition, key, value in reading:
            if key is None:
                continue
            source_id = key.decode()
            if value is None:  # a tombstone: the source was removed
                states.pop(source_id, None)
                continue
            try:
                state = SourceState.from_json(value)
            except (orjson.JSONDecodeError, TypeError, KeyError, ValueError) as exc:
                log.warning("unreadable state for %r ignored (polled as new): %s", key, exc)
                continue
            if newer_state(state, partition, states.get(source_id), placed.get(source_id)):
                states[source_id], placed[source_id] = state, partition
        return states

    async def save(self, state: SourceState, *, partition: int | None = None) -> None:
        future = await self._producer.send(
            self._topic, state.to_json(), key=state.source_id.encode(), partition=partition
        )
        await future

    async def raw_end_offsets(self) -> dict[int, int] | None:
        assert self._offsets is not None, "start() first"
        topic = self._settings.topics.raw
        partitions = self._offsets.partitions_for_topic(topic)
        if not partitions:
            await self._offsets._client.force_metadata_update()
            partitions = self._offsets.partitions_for_topic(topic) or set()
        ends = await self._offsets.end_offsets(
            [TopicPartition(topic, p) for p in sorted(partitions)]
        )
        return {tp.partition: offset for tp, offset in ends.items()}

    async def delivered(self, pending: Iterable[tuple[str, SourceState]]) -> set[str]:
        """Scan the raw topic from the earliest pending offsets for the pending article ids
        of each source (key = article id, value names the source)."""
        wanted: dict[str, set[str]] = {}
        starts: dict[int, int] = {}
        for source_id, state in pending:
            if state.pending is None:
                continue
            for article_id in state.pending.article_ids:
                wanted.setdefault(article_id, set()).add(source_id)
            for partition, offset in state.pending.raw_offsets.items():
                starts[partition] = min(offset, starts.get(partition, offset))
        if not wanted:
            return set()
        found: set[str] = set()
        async for _partition, key, value in read_to_end(
            self._settings, self._settings.topics.raw, starts=starts
        ):
            key_id = key.decode() if key else None
            if key_id in wanted and value is not None and _source_of(value) in wanted[key_id]:
                found.add(key_id)
        return found


def newer_state(
    state: SourceState, partition: int, kept: SourceState | None, kept_partition: int | None
) -> bool:
    """Whether STATE replaces KEPT. On one partition the later record wins (its order is
    the write order); across partitions - a source's state written before states were
    placed by host, or before its URL moved host - the later poll wins."""
    if kept is None or kept_partition == partition:
        return True
    return (state.last_attempt_at or 0.0) >= (kept.last_attempt_at or 0.0)


def _source_of(value: bytes) -> str | None:
    try:
        return orjson.loads(value).get("source", {}).get("id")
    except (orjson.JSONDecodeError, AttributeError):
        return None


async def read_to_end(
    settings: Settings,
    topic: str,
    *,
    starts: dict[int, int] | None = None,
    partitions: Collection[int] | None = None,
    timeout_s: float = 120.0,
) -> AsyncIterator[tuple[int, bytes | None, bytes | None]]:
    """(partition, key, value) of every message of ``topic`` (of ``partitions`` only)
    from ``starts`` (default: the beginning) up to the end offsets taken when reading
    began; TimeoutError if that takes too long."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    ends = await end_offsets(settings.kafka, topic)
    if partitions is not None:
        ends = {tp: end for tp, end in ends.items() if tp.partition in partitions}
    if not ends:
        return
    tps = list(ends)
    consumer = new_consumer(settings.kafka, group_id=None, auto_offset_reset="earliest")
    await consumer.start()
    try:
        consumer.assign(tps)
        for tp in tps:
            if starts is not None and tp.partition in starts:
                consumer.seek(tp, starts[tp.partition])
            elif starts is not None:
                consumer.seek(tp, ends[tp])  # nothing pending on this partition
            else:
                await consumer.seek_to_beginning(tp)
        remaining = {tp for tp in tps if await consumer.position(tp) < ends[tp]}
        while remaining:
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"reading {topic} to its end took more than {timeout_s}s")
            batch = await consumer.getmany(*remaining, timeout_ms=1000, max_records=SCAN_BATCH)
            for tp, messages in batch.items():
                for message in messages:
                    if message.offset < ends[tp]:
                        yield tp.partition, message.key, message.value
            remaining = {tp for tp in remaining if await consumer.position(tp) < ends[tp]}
    finally:
        await consumer.stop()
