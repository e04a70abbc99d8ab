"""The sink's poll loop: messages in, to the writers, checkpoints when due.

One task polls ``news.enriched``, decodes and validates each message, adds it to
every writer (or dead-letters it), tells the :class:`~newswire.sink.checkpoint.Checkpoint`
its offset, and runs a checkpoint when the batch is full, old or the topic idle. On
stop, a last checkpoint within :data:`FINAL_FLUSH_BUDGET_S`.

Failure policy:

* undecodable or schema-invalid message -> dead letter (decode/schema), awaited;
* a writer refuses a record (:class:`RecordRejected` on ``add``, or a bug that
  fails ``add`` for it :attr:`RetryPolicy.max_attempts` times) -> dead letter
  (rejected), the batch goes on;
* a writer or the broker is down -> retried with backoff, never dropped. While an
  operation is retried the partitions are paused and the consumer keeps polling, so
  it stays in its group.

``_lock`` serialises the loop's work and the rebalance callback (which aiokafka runs
in its coordinator task). The loop lets go of it only while it waits between
retries, so a revocation gets its own bounded checkpoint meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener
from aiokafka.errors import IllegalStateError

from newswire.common.errors import InvalidRecord
from newswire.common.publish import Publisher
from newswire.common.settings import Settings
from newswire.sink.checkpoint import Checkpoint
from newswire.sink.deadletters import DeadLetters, Refusal
from newswire.sink.decode import decode_enriched
from newswire.sink.metrics import Readiness, SinkMetrics
from newswire.sink.retry import AttemptsExhausted, GaveUp, Retrier, RetryPolicy
from newswire.sink.writers.base import RecordRejected, Writer

log = logging.getLogger(__name__)

#: Longest wait in one poll, so a stop request is seen quickly.
POLL_MAX_S = 0.5
#: How long a checkpoint may take inside a partition revocation: landing the one in the
#: background, then its own flush, retries and each attempt included (a statement stuck
#: behind a table lock is called off at the deadline). A rebalance waits for the
#: callback, so it must not wait for ever there: what is not flushed in time is dropped
#: (uncommitted), and the new owner re-reads it.
REVOKE_FLUSH_BUDGET_S = 3.0
#: How long the final checkpoint on shutdown may keep retrying (then: uncommitted).
FINAL_FLUSH_BUDGET_S = 10.0
#: Messages handled between two turns given to the rest of the event loop. Handling
#: is CPU on the loop (decode, validate, prepare: ~16 us a 5 kB record, see decode.py),
#: and aiokafka's fetcher asks for the next records only when it gets a turn: without
#: these turns the next fetch went out when the loop polled again, and every poll
#: after a batch waited 80-130 ms for it; with them it is under way while we handle
#: (12-20 ms).
YIELD_EVERY = 100


class PollLoop:
    """One consumer, its writers, and the checkpoint between them."""

    def __init__(
        self,
        settings: Settings,
        *,
        consumer: AIOKafkaConsumer,
        publisher: Publisher,
        writers: list[Writer],
        stop: asyncio.Event,
        metrics: SinkMetrics,
        readiness: Readiness,
        policy: RetryPolicy,
    ) -> None:
        self._settings = settings
        self._consumer = consumer
        self._writers = writers
        self._stop = stop
        self._metrics = metrics
        self._lock = asyncio.Lock()
        self._releases = 0  # times _lock was let go mid-batch (see _handle_batches)
        self._was_caught_up = False  # at the last poll that brought records (see _due)
        self._retrier = Retrier(
            policy, stop=stop, wait=self._wait_polling, on_retry=self._count_retry
        )
        self._dead_letters = DeadLetters(publisher, self._retrier, metrics)
        self.checkpoint = Checkpoint(
            writers=writers,
            committer=consumer,
            dead_letters=self._dead_letters,
            retrier=self._retrier,
            metrics=metrics,
            readiness=readiness,
        )

    # -- the loop -------------------------------------------------------------------

    async def run(self) -> None:
        """Poll, handle, checkpoint when due; on stop, a last bounded checkpoint.

        A poll asks for a whole batch (``batch_max_records``), not for the room left
        in the open one: asking for the last few records of a batch cost a poll of
        its own, which waits for the next fetch when the consumer's buffer ran dry.
        So a batch may run over by up to one poll."""
        limits = self._settings.sink
        try:
            while not self._stop.is_set():
                batches = await self._consumer.getmany(
                    timeout_ms=self._poll_timeout_ms(), max_records=limits.batch_max_records
                )
                caught_up = bool(batches) and await self._caught_up()  # before the lock
                async with self._lock:
                    if not await self._handle_batches(batches):
                        break
                    await self._checkpoint_when_due(polled=bool(batches), caught_up=caught_up)
            async with self._lock:
                await self._checkpoint(deadline=time.monotonic() + FINAL_FLUSH_BUDGET_S)
        finally:
            await self.checkpoint.abandon()

    async def _checkpoint_when_due(self, *, polled: bool, caught_up: bool) -> None:
        """At most one checkpoint a turn, and the background one landed at most once.

        When one is due, the one in the air is landed first (at most one at a time),
        then the next is launched; when none is due, a background checkpoint that is
        over anyway is landed without waiting. A landed one that could not commit is
        finished here, with retries: that checkpoint covers everything tracked, so it
        is the turn's one (a commit that fails in it is retried at a later turn, not
        straight away in this one)."""
        due = self._due(polled, caught_up)
        if not (due or self.checkpoint.landed):
            return  # nothing due, and the one in the air is still flushing: keep handling
        if await self.checkpoint.land():
            await self._checkpoint(deadline=None)
        elif due:
            self.checkpoint.launch()

    async def on_revoked(self, revoked: set[TopicPartition]) -> None:
        """Checkpoint the revoked partitions (only those) before they move, so the
        new owner starts where our durable output ends; then forget them. Bounded:
        a rebalance waits for us."""
        if not revoked:
            return
        async with self._lock:
            deadline = time.monotonic() + REVOKE_FLUSH_BUDGET_S
            if not await self.checkpoint.commit(revoked, deadline=deadline):
                log.error("partitions %s revoked before their batch was flushed", sorted(revoked))
            self.checkpoint.forget(revoked)

    async def _checkpoint(self, *, deadline: float | None) -> bool:
        try:
            return await self.checkpoint.commit(deadline=deadline)
        finally:
            self._resume()

    def _due(self, polled: bool, caught_up: bool) -> bool:
        """Checkpoint now? After a poll that brought records, whether the consumer
        caught up with the broker (CAUGHT_UP, looked at right after that poll): just
        now (the end of a burst or a catch-up: flush whatever is held, more is not on
        its way) or again (a trickle: flush only a batch worth writing, else gather by
        age)."""
        just_caught_up = False
        if polled and self.checkpoint.records:
            just_caught_up = caught_up and not self._was_caught_up
            self._was_caught_up = caught_up
        else:
            caught_up = False
        return self.checkpoint.due(
            self._settings.sink, idle=not polled, caught_up=caught_up, just_caught_up=just_caught_up
        )

    async def _caught_up(self) -> bool:
        """Has the consumer handed us everything the broker had when it last answered
        (every assigned partition's position at its high watermark)? Then holding the
        batch for more only waits for records that are not written yet.

        Asked right after a poll, before the loop takes ``_lock``: ``position`` is a
        coroutine that can wait (a partition whose position is being reset), and a
        revocation waiting for the lock meanwhile would hold up the rebalance. The
        positions do not move while the polled records are handled (only a poll moves
        them), so the answer is the same as after handling."""
        consumer = self._consumer
        try:
            for tp in consumer.assignment():
                highwater = consumer.highwater(tp)
                if highwater is None or await consumer.position(tp) < highwater:
                    return False
        except IllegalStateError:  # revoked meanwhile: no answer, so not caught up
            return False
        return True

    def _poll_timeout_ms(self) -> int:
        wait = POLL_MAX_S
        if self.checkpoint.records:
            wait = min(wait, max(0.0, self._settings.sink.batch_max_age_s - self.checkpoint.age()))
        return int(wait * 1000)

    # -- one message ----------------------------------------------------------------

    async def _handle_batches(self, batches: dict[TopicPartition, list[ConsumerRecord]]) -> bool:
        """Handle polled messages in order; False if stopped half-way (the rest stays
        uncommitted and is delivered again).

        The assignment is looked at once per partition, and again only after the loop
        let go of ``_lock`` (waiting between retries): only then can a revocation have
        taken the partition away, and the new owner reads the rest."""
        for tp, messages in batches.items():
            releases = self._releases
            if tp not in self._consumer.assignment():
                continue
            handled = 0
            try:
                for message in messages:
                    if releases != self._releases:
                        releases = self._releases
                        if tp not in self._consumer.assignment():
                            break
                    await self._handle(tp, message)
                    handled += 1
                    if not handled % YIELD_EVERY:
                        await asyncio.sleep(0)  # the fetcher's turn (see YIELD_EVERY)
            except GaveUp:
                return False
            finally:
                self._metrics.consumed.inc(handled)
        return True

    async def _handle(self, tp: TopicPartition, message: ConsumerRecord) -> None:
        """Decode, validate, add to every writer; dead-letter what cannot be written.
        The offset counts as handled only once all of that is done."""
        raw: bytes | None = message.value
        try:
            record = decode_enriched(raw)
        except InvalidRecord as error:
            await self._dead_letters.message(error, message)
        else:
            assert raw is not None  # decode_enriched refuses None
            refusals = [
                refusal
                for writer in self._writers
                if (refusal := await self._add(writer, record, raw, message)) is not None
            ]
            if refusals:  # one message, one dead letter, naming every writer that refused
                await self._dead_letters.refused(refusals, message)
        self.checkpoint.track(tp, message.offset, message.key, len(raw or b""))

    async def _add(
        self, writer: Writer, record: Mapping[str, Any], raw: bytes, message: ConsumerRecord
    ) -> Refusal | None:
        """Add to WRITER; the refusal if it refuses the record for good (or a bug fails
        the add every attempt), for the caller's one dead letter. The first attempt
        is made here, the retrier (a closure and its bookkeeping, per record and
        writer) comes in only when it failed."""
        topic, partition, offset = message.topic, message.partition, message.offset
        try:
            await writer.add(record, raw, topic, partition, offset)
            return None
        except RecordRejected as rejected:
            return Refusal(writer.name, rejected.reason)
        except Exception as error:
            failed = error
        try:
            await self._retrier.run(
                lambda: writer.add(record, raw, topic, partition, offset),
                what=f"add to {writer.name}",
                operation="add",
                failed_once=failed,
            )
        except RecordRejected as rejected:
            return Refusal(writer.name, rejected.reason)
        except AttemptsExhausted as exhausted:
            return Refusal(writer.name, f"writer bug: {exhausted.error!r}")
        return None

    # -- waiting between retries ------------------------------------------------------

    def _count_retry(self, operation: str) -> None:
        self._metrics.retries.labels(operation).inc()

    async def _wait_polling(self, delay: float) -> None:
        """The loop's wait between attempts (less if stop is requested).

        It keeps polling with every partition paused, so aiokafka's
        ``max_poll_interval_ms`` does not expire and throw us out of the group, and it
        lets go of ``_lock`` meanwhile, so a rebalance is not held up by our retries:
        the revoke callback gets its own (bounded) checkpoint.
        """
        self._lock.release()
        self._releases += 1
        try:
            end = time.monotonic() + delay
            while not self._stop.is_set() and (remaining := end - time.monotonic()) > 0:
                self._consumer.pause(*self._consumer.assignment())
                polled = await self._consumer.getmany(
                    timeout_ms=int(min(remaining, POLL_MAX_S) * 1000)
                )
                for tp, messages in polled.items():
                    self._consumer.seek(tp, messages[0].offset)  # assigned meanwhile; read it later
        finally:
            await self._lock.acquire()

    def _resume(self) -> None:
        paused = self._consumer.paused()
        if paused:
            self._consumer.resume(*paused)


class RevokeListener(ConsumerRebalanceListener):
    """Hands revocations to the loop (aiokafka calls this in its coordinator task)."""

    def __init__(self, loop: PollLoop) -> None:
        self._loop = loop

    async def on_partitions_revoked(self, revoked: Any) -> None:
        await self._loop.on_revoked(set(revoked))

    async def on_partitions_assigned(self, assigned: Any) -> None:
        log.info("sink assigned %s", sorted(f"{tp.topic}[{tp.partition}]" for tp in assigned))
