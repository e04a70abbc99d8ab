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
starts at the offset the partition was last seeked to. Faust's own commits never
include the guarded topic. Anything skipped is read again after the next seek, and
costs a redelivery, never a record. Other topics (the near-duplicate exchange) keep
Faust's behaviour.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

import faust
from faust.transport.drivers.aiokafka import Consumer as AIOKafkaConsumer
from faust.types import TP, Message

log = logging.getLogger(__name__)


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

    def committed(self, tp: TP, offset: int) -> None:
        if offset > self.base.get(tp, offset):
            self.start(tp, offset)

    def forget(self, tps: Iterable[TP]) -> None:
        for tp in tps:
            self.base.pop(tp, None)
            self.done.pop(tp, None)


class SettlingConsumer(AIOKafkaConsumer):
    """A Faust consumer that commits its guarded topics only through :meth:`commit_settled`."""

    #: Topics kept off Faust's ack bookkeeping (set by :func:`settle_only_consumer`).
    guarded_topics: frozenset[str] = frozenset()
    #: Called with each message Faust acked that nobody settled (counted on /metrics).
    on_unsettled: Callable[[Message], None] = staticmethod(lambda message: None)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._settled_messages: weakref.WeakSet[Message] = weakref.WeakSet()
        self._books = SettledOffsets()

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

    async def commit_settled(self, tps: Iterable[TP]) -> bool:
        """Commit, for each of TPS, the end of its run of settled offsets."""
        assignment = self.assignment()
        offsets = {
            tp: offset
            for tp in set(tps)
            if tp in assignment and (offset := self._books.committable(tp)) is not None
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

    async def seek_to_committed(self) -> Mapping[TP, int]:
        """Faust seeks every assigned partition here before it resumes the streams; the
        position it leaves is where each guarded partition's run of settled offsets starts."""
        committed = await super().seek_to_committed()
        for tp in self.assignment():
            if tp.topic in self.guarded_topics:
                self._books.start(tp, await self._start_of(tp, committed.get(tp)))
        return committed

    async def _start_of(self, tp: TP, committed: int | None) -> int:
        if committed is not None and committed > 0:
            return committed
        # Nothing committed yet: the consumer starts at the log start (offset reset
        # "earliest"), below which nothing exists to lose.
        return (await self.earliest_offsets(tp)).get(tp) or 0

    async def on_partitions_revoked(self, revoked: set[TP]) -> None:
        self._books.forget(revoked)
        await super().on_partitions_revoked(revoked)


def settle_only_consumer(
    app: faust.App, topics: Iterable[str], *, on_unsettled: Callable[[Message], None]
) -> None:
    """Make APP's consumer (created when the worker starts) a :class:`SettlingConsumer`
    guarding TOPICS."""
    guarded = type(
        "SettlingConsumer",
        (SettlingConsumer,),
        {"guarded_topics": frozenset(topics), "on_unsettled": staticmethod(on_unsettled)},
    )
    cast(Any, app.transport).Consumer = guarded


def settling_consumer(app: faust.App) -> SettlingConsumer:
    """APP's consumer, which :func:`settle_only_consumer` made settle-aware."""
    consumer = app.consumer
    if not isinstance(consumer, SettlingConsumer):
        raise TypeError(f"{type(consumer).__name__} is not a SettlingConsumer")
    return consumer
