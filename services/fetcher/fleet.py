"""Fetcher replicas sharing the sources by consumer group.

Every replica joins the group ``FETCHER_GROUP_ID`` on the sources topic. Kafka assigns
each partition to one replica; the replica reads its partitions from the beginning
(compacted: the latest record of every source), reads the same partitions of the
state topic (co-partitioned: same count, same host partitioner), settles any pending
delivery the previous owner left (its write-ahead ``pending`` record, resolved
against the raw topic), and polls them. Records arriving later on a held partition
add, change or remove sources live.

On a revoke (aiokafka's rebalance listener runs before the group re-forms) the
replica stops the partitions' polls: a poll still fetching is abandoned, a poll
delivering is awaited, so nothing is emitted after the revoke. A replica killed
outright emits nothing more either; its last poll's ``pending`` state tells the new
owner which of that poll's records reached the raw topic. Partitions the replica
holds again after the rebalance resume from memory (aiokafka's rebalance is eager:
every partition is revoked first), the others are read afresh.

A sources record that fails its schema is dead-lettered (once: only records past the
group's committed offset, which every replica commits as it reads) and skipped.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError, KafkaError

from newswire.common.errors import ErrorKind, InvalidRecord
from newswire.common.kafka import create_missing_topics, end_offsets, new_consumer
from newswire.common.publish import Publisher
from newswire.common.records import topic_origin
from newswire.common.settings import Settings
from newswire.common.topics import fetcher_sources_topic, fetcher_state_topic
from newswire.fetcher.catalog import decode_source
from newswire.fetcher.service import FetcherService
from newswire.fetcher.sources import Source
from newswire.fetcher.state import SourceState
from newswire.fetcher.statestore import StateStore

log = logging.getLogger(__name__)


class PartitionMismatch(Exception):
    """The sources and state topics are not co-partitioned as declared."""


class FleetMember:
    """One replica's share of the sources topic, kept in step with the group."""

    def __init__(
        self,
        settings: Settings,
        service: FetcherService,
        store: StateStore,
        publisher: Publisher,
    ) -> None:
        self._settings = settings
        self._topic = settings.fetcher.sources_topic
        self._service = service
        self._store = store
        self._publisher = publisher
        self._catalog: dict[int, dict[str, Source]] = {}  # partition -> valid sources
        self._held: set[int] = set()  # partitions whose sources are being polled
        self._loading: dict[TopicPartition, int] = {}  # partition -> end offset to reach
        self._suspended: dict[int, dict[str, SourceState]] = {}  # revoked, states kept
        self._positions: dict[TopicPartition, int] = {}
        self._dead_lettered_below: dict[TopicPartition, int] = {}  # the group's commit
        self._dead_lettered: set[tuple[TopicPartition, int]] = set()  # by this replica
        self._arrived: dict[int, dict[str, Source]] = {}  # new on a held partition
        self._consumer: AIOKafkaConsumer | None = None
        #: The consumer loop's work and the rebalance listener never interleave: aiokafka
        #: runs the listener from its coordinator task, which may wake while a batch is
        #: being applied (a partition revoked halfway through its adoption).
        self._lock = asyncio.Lock()
        self.rebalances = 0

    @property
    def held(self) -> frozenset[int]:
        return frozenset(self._held)

    async def check_topics(self) -> None:
        """Create the two topics if missing; refuse to run unless co-partitioned."""
        state = fetcher_state_topic(self._settings)
        await create_missing_topics(
            self._settings.kafka, [fetcher_sources_topic(self._settings), state]
        )
        counts = {
            name: len(await end_offsets(self._settings.kafka, name))
            for name in (self._topic, state.name)
        }
        if len(set(counts.values())) != 1:
            shown = ", ".join(f"{name} has {n}" for name, n in counts.items())
            raise PartitionMismatch(
                f"the sources and state topics must have the same partitions ({shown}); "
                f"FETCHER_PARTITIONS={self._settings.fetcher.partitions} is the declared count"
            )

    async def run(self, stop: asyncio.Event) -> None:
        """Be a member of the group until ``stop``: consume, adopt, poll, release."""
        await self.check_topics()
        consumer = new_consumer(
            self._settings.kafka,
            group_id=self._settings.fetcher.group_id,
            auto_offset_reset="earliest",
        )
        consumer.subscribe([self._topic], listener=_Listener(self))
        self._consumer = consumer
        await consumer.start()
        serving = asyncio.create_task(self._service.serve(stop))
        try:
            while not stop.is_set() and not serving.done():
                batch = await consumer.getmany(timeout_ms=500, max_records=5000)
                async with self._lock:
                    await self._apply(batch)
                    await self._finish_loading(consumer)
                if batch:
                    await self._commit(consumer, {tp: self._positions.get(tp) for tp in batch})
        finally:
            stop.set()
            await asyncio.gather(serving, return_exceptions=True)
            await consumer.stop()
        if serving.done() and serving.exception() is not None:
            raise serving.exception()  # type: ignore[misc]

    async def _apply(self, batch: dict[TopicPartition, list[Any]]) -> None:
        """A batch of sources records, on partitions still assigned."""
        for tp, messages in batch.items():
            if tp.partition not in self._catalog:
                continue  # revoked since getmany returned
            for message in messages:
                await self._take(tp, message.offset, message.key, message.value)
            self._positions[tp] = messages[-1].offset + 1
        await self._adopt_arrivals()

    async def _commit(
        self, consumer: AIOKafkaConsumer, positions: dict[TopicPartition, int | None]
    ) -> None:
        """Commit what was read: only so that a bad record is dead-lettered once. A
        commit refused around a rebalance costs a repeated dead letter at most."""
        offsets = {tp: pos for tp, pos in positions.items() if pos is not None}
        try:
            await consumer.commit(offsets)
        except (CommitFailedError, IllegalStateError, KafkaError) as error:
            log.debug("sources offsets not committed (a rebalance): %s", error)

    # --- the rebalance listener's work ---

    async def revoked(self, revoked: Iterable[TopicPartition]) -> None:
        """Stop polling the sources of ``revoked``; keep their states until reassigned."""
        async with self._lock:
            await self._revoke(revoked)

    async def assigned(self, assigned: Iterable[TopicPartition]) -> None:
        """Resume partitions held before the rebalance; read the new ones from the start."""
        async with self._lock:
            await self._assign(assigned)

    async def _revoke(self, revoked: Iterable[TopicPartition]) -> None:
        self.rebalances += 1
        for tp in revoked:
            self._loading.pop(tp, None)
            self._arrived.pop(tp.partition, None)
            if tp.partition not in self._held:
                continue
            self._held.discard(tp.partition)
            ids = list(self._catalog.get(tp.partition, {}))
            self._suspended[tp.partition] = await self._service.release(ids)
        log.info("fetcher group: partitions %s revoked", sorted(tp.partition for tp in revoked))

    async def _assign(self, assigned: Iterable[TopicPartition]) -> None:
        consumer = self._consumer
        assert consumer is not None
        mine = {tp.partition for tp in assigned}
        for partition in [p for p in self._catalog if p not in mine]:
            self._catalog.pop(partition, None)
            self._suspended.pop(partition, None)
            self._positions.pop(TopicPartition(self._topic, partition), None)
        assigned = list(assigned)
        ends = await consumer.end_offsets(assigned) if assigned else {}
        for tp in assigned:
            committed = await consumer.committed(tp)
            self._dead_lettered_below[tp] = committed or 0
            kept = self._suspended.pop(tp.partition, None)
            if kept is not None and tp in self._positions:
                consumer.seek(tp, self._positions[tp])
                sources = list(self._catalog[tp.partition].values())
                if any(s.enabled and s.id not in kept for s in sources):  # came meanwhile
                    kept = await self._store.load([tp.partition]) | kept
                await self._service.adopt(sources, kept)
                self._held.add(tp.partition)
                continue
            self._catalog[tp.partition] = {}
            await consumer.seek_to_beginning(tp)
            self._loading[tp] = ends[tp]
        self._service.metrics.ready = not self._loading
        log.info("fetcher group: partitions %s assigned", sorted(mine))

    # --- records ---

    async def _finish_loading(self, consumer: AIOKafkaConsumer) -> None:
        """Partitions read up to their end offset at assignment: load their state, poll."""
        done = [tp for tp, end in self._loading.items() if await consumer.position(tp) >= end]
        if not done:
            return
        partitions = {tp.partition for tp in done}
        saved = await self._store.load(partitions)
        for tp in done:
            del self._loading[tp]
            sources = list(self._catalog.get(tp.partition, {}).values())
            await self._service.adopt(sources, saved)
            self._held.add(tp.partition)
            log.info(
                "fetcher group: polling %d sources of partition %d", len(sources), tp.partition
            )
        self._service.metrics.ready = not self._loading

    async def _take(
        self, tp: TopicPartition, offset: int, key: bytes | None, value: bytes | None
    ) -> None:
        """One sources record: add, change or remove a source (live on a held partition)."""
        if key is None:
            return await self._reject(tp, offset, key, value, "a sources record without a key")
        source_id = key.decode("utf-8", "replace")
        sources = self._catalog.setdefault(tp.partition, {})
        if value is None:
            sources.pop(source_id, None)
            if tp.partition in self._held:
                await self._service.release([source_id])
            return None
        try:
            source = decode_source(key, value)
        except InvalidRecord as error:
            sources.pop(source_id, None)
            if tp.partition in self._held:
                await self._service.release([source_id])
            return await self._reject(tp, offset, key, value, error)
        known = sources.get(source_id)
        sources[source_id] = source
        if tp.partition not in self._held:
            return None
        if known is not None and source.enabled and source_id in self._service.sources:
            self._service.update(source)
        elif not source.enabled:
            await self._service.release([source_id])
        else:  # new here (or enabled again): its state may be on the topic
            self._arrived.setdefault(tp.partition, {})[source_id] = source
        return None

    async def _adopt_arrivals(self) -> None:
        """Sources new on held partitions since the last batch: their partitions' state
        read once (not once per source: an apply may add thousands), then polled."""
        arrived = {p: found for p, found in self._arrived.items() if p in self._held}
        self._arrived.clear()
        if not arrived:
            return
        saved = await self._store.load(set(arrived))
        for partition, found in arrived.items():
            still = [s for sid, s in found.items() if self._catalog[partition].get(sid) is s]
            await self._service.adopt(still, saved)

    async def _reject(
        self,
        tp: TopicPartition,
        offset: int,
        key: bytes | None,
        value: bytes | None,
        error: InvalidRecord | str,
    ) -> None:
        """Dead-letter an invalid sources record once (past the committed offset), skip it."""
        if isinstance(error, str):
            error = InvalidRecord(ErrorKind.SCHEMA, error, schema="source-record")
        if offset < self._dead_lettered_below.get(tp, 0) or (tp, offset) in self._dead_lettered:
            log.warning("skipping invalid sources record %s:%d: %s", tp.topic, offset, error)
            return
        self._dead_lettered.add((tp, offset))
        await self._publisher.dead_letter(
            error=error,
            payload=value,
            origin=topic_origin(tp.topic, tp.partition, offset, key),
            key=key,
        )


class _Listener(ConsumerRebalanceListener):
    """aiokafka awaits these around each rebalance: revoke before rejoining."""

    def __init__(self, member: FleetMember) -> None:
        self._member = member

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        await self._member.revoked(revoked)

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        await self._member.assigned(assigned)
