"""news.raw offsets move only past records whose batch was settled (delivered).

Faust commits an offset once every message below it is *acked*, and its bookkeeping
lets records through that no agent processed:

- ``Stream`` skips, and acks, an event that reaches it while flow control is
  suspended or that was fetched under an older consumer generation; both happen
  around every rebalance and at shutdown.
- ``Consumer.on_partitions_revoked`` drops a partition's committed offset before
  flow control is suspended; with no committed offset known, the next commit starts
  from the lowest acked offset, whatever lies below it.
- ``Consumer._new_offset`` lets a hole of exactly one offset through
  (``min(acked) - committed > 1``, where committed is already the next offset).

Each of these can move the group past a record nobody enriched; the replica that
gets the partition next starts after it. Under SIGKILLs and rebalances the crash
soak lost one article in about eight runs this way.

So for the guarded topic (news.raw) the :class:`SettlingConsumer` keeps its own
books, :class:`SettledOffsets`: Faust's acks there only release the message (nothing
waits for it), the batch handler declares what it delivered (:meth:`settle`), and
:meth:`commit_settled` commits the end of the unbroken run of settled offsets that
starts at the offset the partition was last seeked to (its committed offset, or its
log start in a new group). Faust's own commits never include the guarded topic.
Anything skipped is read again: after the seek that follows a rebalance, or, if
none comes and the gap has held the partition's commits for a few seconds, after a
seek of our own (:meth:`SettlingConsumer.reread_holes`). It costs a redelivery,
never a record. Other topics (the near-duplicate exchange) keep Faust's behaviour.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import weakref
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

import aiokafka
import faust
from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread
from faust.transport.drivers.aiokafka import Consumer as AIOKafkaConsumer
from faust.types import TP, Message

log = logging.getLogger(__name__)

#: How long a hole may hold a partition's commits before the consumer reads it again.
HOLE_REREAD_AFTER_S = 5.0
#: How long to wait for the broker to say where a partition's log starts (the embedded
#: broker has taken seconds); asked again at the next tick if it has not answered.
LOG_START_TIMEOUT_S = 10.0


@dataclass
class SettledOffsets:
    """Per partition: where the unbroken run starts (``base``), and what lies above it
    that was settled. Everything below ``base`` is done: only this class moves it."""

    base: dict[TP, int] = field(default_factory=dict)
    done: dict[TP, set[int]] = field(default_factory=dict)

    def start(self, tp: TP, offset: int) -> None:
        """TP's consumer was positioned at OFFSET (the group's committed offset)."""
        self.base[tp] = offset
        done = self.done.setdefault(tp, set())
        done.difference_update({o for o in done if o < offset})

    def settle(self, tp: TP, offset: int) -> None:
        if offset >= self.base.get(tp, 0):
            self.done.setdefault(tp, set()).add(offset)

    def committable(self, tp: TP) -> int | None:
        """The offset to commit for TP (the first one not settled), if it moved."""
        base = self.base.get(tp)
        if base is None:
            return None  # position unknown (revoked, not yet seeked): nothing is safe
        done = self.done.get(tp, set())
        end = base
        while end in done:
            end += 1
        return end if end > base else None

    def hole(self, tp: TP) -> int | None:
        """The offset TP's run is stuck at: unsettled while later offsets are settled."""
        base = self.base.get(tp)
        done = self.done.get(tp)
        if base is None or not done or base in done:
            return None
        return base

    def committed(self, tp: TP, offset: int) -> None:
        if offset > self.base.get(tp, offset):
            self.start(tp, offset)

    def forget(self, tps: Iterable[TP]) -> None:
        for tp in tps:
            self.base.pop(tp, None)
            self.done.pop(tp, None)


class ShortPollThread(AIOKafkaConsumerThread):
    """Faust's consumer thread with a fetch wait of its consumer's choosing.

    Faust hard-codes ``fetch_max_wait_ms=1500``. Apache Kafka answers a waiting fetch
    as soon as records arrive, so the figure only bounds idle polling; the embedded
    broker does not: a record produced while a fetch waits is seen only when the wait
    runs out. Every near-duplicate lookup is two such hops (probe, reply), and each
    cost up to 1.5 s there. aiokafka has no public setter after construction, so the
    value is set on the consumer before it starts (and creates its fetcher).
    """

    #: As SettlingConsumer's: Faust's logger, so the thread's start/stop chatter is
    #: demoted like the rest of Faust's (common/logs.py).
    logger = logging.getLogger("faust.transport.consumer.settling")

    def _create_worker_consumer(self, transport: Any) -> aiokafka.AIOKafkaConsumer:
        created = super()._create_worker_consumer(transport)
        wait_ms = cast(SettlingConsumer, self.consumer).fetch_max_wait_ms
        if wait_ms is not None:
            created._fetch_max_wait_ms = wait_ms
        return created


class SettlingConsumer(AIOKafkaConsumer):
    """A Faust consumer that commits its guarded topics only through :meth:`commit_settled`."""

    #: mode names a service's logger after its class's module unless given one: keep
    #: Faust's, so its start/stop chatter is demoted like the rest (common/logs.py).
    logger = logging.getLogger("faust.transport.consumer.settling")

    #: Topics kept off Faust's ack bookkeeping (set by :func:`settle_only_consumer`).
    guarded_topics: frozenset[str] = frozenset()
    #: Called with each message Faust acked that nobody settled (counted on /metrics).
    on_unsettled: Callable[[Message], None] = staticmethod(lambda message: None)
    #: Called with each partition sought back to a hole (counted on /metrics).
    on_reread: Callable[[TP, int], None] = staticmethod(lambda tp, offset: None)
    #: The longest a fetch waits on the broker for records (None: Faust's 1.5 s).
    fetch_max_wait_ms: int | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._settled_messages: weakref.WeakSet[Message] = weakref.WeakSet()
        self._books = SettledOffsets()
        self._holes: dict[TP, tuple[int, float]] = {}
        self._unpositioned: set[TP] = set()
        self._commit_lock = asyncio.Lock()

    def _new_consumer_thread(self) -> AIOKafkaConsumerThread:
        return ShortPollThread(self, loop=self.loop, beacon=self.beacon)

    def settle(self, messages: Iterable[Message]) -> None:
        """Declare MESSAGES delivered: their offsets may be committed once acked."""
        self._settled_messages.update(messages)

    def ack(self, message: Message) -> bool:
        if message.topic not in self.guarded_topics:
            return super().ack(message)
        if message.acked:
            return False
        message.acked = True
        self._unacked_messages.discard(message)  # nothing waits for it any more
        if message in self._settled_messages:
            self._settled_messages.discard(message)
            self._books.settle(message.tp, message.offset)
            return True
        log.debug(
            "%s[%d]@%d acked by Faust without being settled (skipped during a rebalance "
            "or shutdown): left uncommitted, it is read again",
            message.topic,
            message.partition,
            message.offset,
        )
        self.on_unsettled(message)
        return False

    async def commit_settled(self, tps: Iterable[TP] | None = None) -> bool:
        """Commit, for each of TPS (default: every guarded partition assigned), the end
        of its run of settled offsets.

        The agent calls this after each batch and the books' timer after a partition's
        start became known (a run can become committable with no batch arriving); the
        lock keeps their commits in order, so the group's offset never moves back.
        """
        async with self._commit_lock:
            assignment = self.assignment()
            wanted = self._guarded(assignment) if tps is None else set(tps) & assignment
            offsets = {
                tp: offset for tp in wanted if (offset := self._books.committable(tp)) is not None
            }
            if not offsets:
                return False
            await self.app.producer.flush()  # table changelog writes before the offsets
            if not await self._commit(offsets):
                return False
            for tp, offset in offsets.items():
                self._books.committed(tp, offset)
            self.app.tables.on_commit(offsets)
            return True

    def _guarded(self, tps: Iterable[TP]) -> set[TP]:
        return {tp for tp in tps if tp.topic in self.guarded_topics}

    async def reread_holes(self, *, now: float | None = None) -> None:
        """Seek back to an offset that has held a partition's commits for too long.

        Faust may drop a fetched record without handing it to the stream (a getmany
        cut short by a rebalance, a stream skipping it) and counts on the seek that
        follows a rebalance to read it again. Should no seek follow, the record
        would hold its partition's commits for ever: so read it again here. The
        records after it come again too; the dedupe table makes them redeliveries.
        """
        now = time.monotonic() if now is None else now
        for tp in self._guarded(self.assignment()):
            hole = self._books.hole(tp)
            if hole is None:
                hole = await self._tail_hole(tp)
            first_seen = self._holes.get(tp)
            if hole is None:
                self._holes.pop(tp, None)
            elif first_seen is None or first_seen[0] != hole:
                self._holes[tp] = (hole, now)
            elif now - first_seen[1] >= HOLE_REREAD_AFTER_S:
                log.warning(
                    "%s[%d]@%d has held the partition's commits for %.0fs (never handed to "
                    "the enricher); reading the partition again from there",
                    tp.topic,
                    tp.partition,
                    hole,
                    now - first_seen[1],
                )
                self._holes[tp] = (hole, now)
                self.on_reread(tp, hole)
                await self.seek(tp, hole)

    async def _tail_hole(self, tp: TP) -> int | None:
        """TP's first unsettled offset when the consumer has read past it and holds
        nothing of TP: a record Faust dropped with nothing settled after it (the last
        one produced, fetched under a generation a rebalance then ended). No later
        record makes it a :meth:`SettledOffsets.hole`, so without this it would wait
        for the next record or rebalance, unprocessed, however long that takes."""
        base = self._books.base.get(tp)
        if base is None or base in self._books.done.get(tp, set()):
            return None
        if any(message.topic in self.guarded_topics for message in list(self._unacked_messages)):
            # The agent holds records (a batch in flight): TP's may still be queued for
            # its stream, where Faust does not track them yet. Only an idle agent tells.
            return None
        with contextlib.suppress(Exception):  # unknown now: asked again at the next tick
            position = await self.position(tp)
            return base if position is not None and position > base else None
        return None

    async def seek_to_committed(self) -> Mapping[TP, int]:
        """Faust seeks every assigned partition here before it resumes the streams; the
        position it leaves is where each guarded partition's run of settled offsets starts."""
        committed = await super().seek_to_committed()
        for tp in self.assignment():
            if tp.topic not in self.guarded_topics:
                continue
            offset = committed.get(tp)
            if offset is not None and offset > 0:
                self._books.start(tp, offset)
                self._unpositioned.discard(tp)
            else:
                # Nothing committed: the consumer starts at the log start (offset reset
                # "earliest"). Asking the broker where that is happens later, off
                # Faust's recovery path, which must not wait on it (see position_unknown).
                self._books.forget([tp])
                self._unpositioned.add(tp)
        return committed

    async def position_unknown(self, *, timeout_s: float = LOG_START_TIMEOUT_S) -> None:
        """Start the books of partitions with no committed offset at their log start."""
        asking = sorted(self._unpositioned & self.assignment())
        if not asking:
            return
        try:
            earliest = await asyncio.wait_for(self.earliest_offsets(*asking), timeout_s)
        except Exception as exc:  # the next tick asks again; nothing is committed meanwhile
            log.warning("log start of %s unknown yet: %r", _names(asking), exc)
            return
        for tp in asking:
            if tp in self._unpositioned and tp in earliest:  # no seek came meanwhile
                self._unpositioned.discard(tp)
                self._books.start(tp, earliest[tp])

    async def on_partitions_revoked(self, revoked: set[TP]) -> None:
        self._books.forget(revoked)
        self._unpositioned.difference_update(revoked)
        await super().on_partitions_revoked(revoked)


def _names(tps: Iterable[TP]) -> str:
    return ", ".join(f"{tp.topic}[{tp.partition}]" for tp in tps)


def settle_only_consumer(
    app: faust.App,
    topics: Iterable[str],
    *,
    on_unsettled: Callable[[Message], None],
    on_reread: Callable[[TP, int], None],
    fetch_max_wait_ms: int | None = None,
) -> None:
    """Make APP's consumer (created when the worker starts) a :class:`SettlingConsumer`
    guarding TOPICS, and look for holes to read again every few seconds. FETCH_MAX_WAIT_MS
    replaces Faust's fetch wait (see :class:`ShortPollThread`)."""
    guarded = type(
        "SettlingConsumer",
        (SettlingConsumer,),
        {
            "__module__": __name__,
            "guarded_topics": frozenset(topics),
            "on_unsettled": staticmethod(on_unsettled),
            "on_reread": staticmethod(on_reread),
            "fetch_max_wait_ms": fetch_max_wait_ms,
        },
    )
    cast(Any, app.transport).Consumer = guarded

    @app.timer(interval=HOLE_REREAD_AFTER_S / 2, name="settling-books")
    async def keep_books() -> None:
        consumer = settling_consumer(app)
        await consumer.position_unknown()
        await consumer.commit_settled()
        if not app.rebalancing:
            await consumer.reread_holes()


def settling_consumer(app: faust.App) -> SettlingConsumer:
    """APP's consumer, which :func:`settle_only_consumer` made settle-aware."""
    consumer = app.consumer
    if not isinstance(consumer, SettlingConsumer):
        raise TypeError(f"{type(consumer).__name__} is not a SettlingConsumer")
    return consumer
