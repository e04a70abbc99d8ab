"""The checkpoint: flush every writer, then commit - never the other way round.

In the manner of Quix Streams' ``Checkpoint``: the poll loop tells the checkpoint
each offset it has handed to the writers (:meth:`Checkpoint.track`); at a
checkpoint (:meth:`Checkpoint.commit`) every writer flushes the partitions
involved, the records a writer refused at flush time are dead-lettered (each
acknowledged by the broker), and only when all of that succeeded are the offsets of
those partitions committed. A flush that gives up commits nothing: Kafka delivers
those records again, and the writers are idempotent, so that adds nothing twice.

A checkpoint can be about some partitions only: a revocation flushes and commits
the revoked ones, then :meth:`Checkpoint.forget` drops whatever the writers still
buffer for them (see there why dropping is the safe choice).
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import functools
import logging
import time
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from aiokafka.errors import KafkaError
from aiokafka.structs import TopicPartition

from newswire.common.errors import NewswireError
from newswire.common.settings import SinkSettings
from newswire.sink.deadletters import DeadLetters
from newswire.sink.metrics import Readiness, SinkMetrics
from newswire.sink.retry import AttemptsExhausted, GaveUp, Retrier
from newswire.sink.writers.base import FlushResult, Rejection, Writer

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Name of the task of a background checkpoint (:meth:`Checkpoint.launch`).
FLIGHT_TASK = "sink-checkpoint"


class Committer(Protocol):
    """The part of the consumer a checkpoint uses."""

    def assignment(self) -> set[TopicPartition]: ...

    async def commit(self, offsets: dict[TopicPartition, int]) -> None: ...


class WriterBroken(NewswireError):
    """A writer's flush kept failing with an error that is not transient (a bug in a
    writer that cannot split its batch). The sink stops, committing nothing: a
    restart reads the records again, and the error is in the log."""

    def __init__(self, writer: str, error: AttemptsExhausted) -> None:
        super().__init__(f"writer {writer} is broken: {error}")
        self.writer = writer


# A Kafka message key. Named here because ``_Progress.bytes`` (a size) hides the builtin
# inside that class body.
_Key = bytes | None


@dataclass
class _Progress:
    """One partition since its last commit: the next offset to commit, and what was
    added to the writers since their last flush (size, age, Kafka keys)."""

    next_offset: int
    records: int = 0
    bytes: int = 0
    started: float | None = None
    keys: dict[int, _Key] = field(default_factory=dict)  # offset -> Kafka key

    def add(self, offset: int, key: _Key, size: int) -> None:
        if self.started is None:
            self.started = time.monotonic()
        self.next_offset = max(self.next_offset, offset + 1)
        self.records += 1
        self.bytes += size
        self.keys[offset] = key

    def flushed(self) -> None:
        self.records, self.bytes, self.started = 0, 0, None
        self.keys.clear()

    def absorb(self, newer: _Progress) -> None:
        """Take in what was tracked after this progress was taken off for a
        background checkpoint that did not commit it."""
        self.next_offset = max(self.next_offset, newer.next_offset)
        self.records += newer.records
        self.bytes += newer.bytes
        self.started = self.started if self.started is not None else newer.started
        self.keys.update(newer.keys)


class _Landing(enum.Enum):
    """How a background checkpoint ended when it was landed."""

    NONE = "none"  # there was none
    COMMITTED = "committed"
    FAILED = "failed"  # a flush, a dead letter or the commit did not work
    LATE = "late"  # still under way at the deadline: called off


@dataclass
class _Flight:
    """A checkpoint under way in the background (:meth:`Checkpoint.launch`): the
    progress it took off, and the task that flushes and commits it (True: committed)."""

    progress: dict[TopicPartition, _Progress]
    task: asyncio.Task[bool]


class Checkpoint:
    """Offsets per topic-partition, and the flush-then-commit that moves them."""

    def __init__(
        self,
        *,
        writers: list[Writer],
        committer: Committer,
        dead_letters: DeadLetters,
        retrier: Retrier,
        metrics: SinkMetrics,
        readiness: Readiness,
    ) -> None:
        self._writers = writers
        self._committer = committer
        self._dead_letters = dead_letters
        self._retrier = retrier
        self._metrics = metrics
        self._readiness = readiness
        self._progress: dict[TopicPartition, _Progress] = {}
        #: Refused records not dead-lettered yet (see _send_rejections).
        self._rejections: list[tuple[Rejection, _Key]] = []
        self._flight: _Flight | None = None

    # -- what was consumed --------------------------------------------------------------

    def track(self, tp: TopicPartition, offset: int, key: bytes | None, size: int) -> None:
        """Offset ``offset`` of ``tp`` was handled: added to the writers or dead-lettered."""
        progress = self._progress.get(tp)
        if progress is None:
            progress = self._progress[tp] = _Progress(offset + 1)
        progress.add(offset, key, size)

    @property
    def pending(self) -> bool:
        """Something is not committed yet (unflushed, a commit that failed, a dead
        letter not sent)."""
        return bool(self._progress) or bool(self._rejections)

    @property
    def records(self) -> int:
        """Records added since the last flush, all partitions."""
        return sum(p.records for p in self._progress.values())

    def age(self) -> float:
        """Seconds since the oldest unflushed record was added (0 when none)."""
        starts = [p.started for p in self._progress.values() if p.started is not None]
        return time.monotonic() - min(starts) if starts else 0.0

    def due(
        self,
        limits: SinkSettings,
        *,
        idle: bool,
        caught_up: bool = False,
        just_caught_up: bool = False,
    ) -> bool:
        """Time to checkpoint: the batch is full or old, the topic went quiet, or the
        consumer caught up with the broker: just now (the end of a burst), or again
        holding a batch worth writing (a trickle gathers by age otherwise)."""
        records = self.records
        if records == 0:
            return idle and self.pending  # only a commit that failed before is left
        return (
            idle
            or records >= limits.batch_max_records
            or just_caught_up
            or (caught_up and records >= limits.batch_caught_up_records)
            or sum(p.bytes for p in self._progress.values()) >= limits.batch_max_bytes
            or self.age() >= limits.batch_max_age_s
        )

    # -- flush, then commit --------------------------------------------------------------

    async def commit(
        self, partitions: Collection[TopicPartition] | None = None, *, deadline: float | None = None
    ) -> bool:
        """Flush ``partitions`` (all tracked when None) in every writer, dead-letter
        what a writer refused, then commit their offsets. ``deadline=None`` retries a
        transient failure until it works or stop is requested. False, with nothing
        committed, when a flush gave up. Raises :class:`WriterBroken` for a writer
        whose flush keeps failing with a bug. A checkpoint in the background lands
        first, within ``deadline``: one that has not landed by then is called off
        (:meth:`land`), and this checkpoint is False without a flush of its own."""
        if await self._land(deadline) is _Landing.LATE:
            log.error(
                "checkpoint called off at its deadline; %d records stay uncommitted", self.records
            )
            return False
        if not self._chosen(partitions):
            return True
        try:
            for writer in self._writers:
                result = await self._flush_retried(writer, partitions, deadline)
                self._settle(writer, result)
            await self._send_rejections(deadline)
        except GaveUp:
            log.error("flush gave up; %d records stay uncommitted", self.records)
            return False
        for tp in self._chosen(partitions):
            self._progress[tp].flushed()
        await self._commit_offsets(self._chosen(partitions))
        return True

    # -- in the background ---------------------------------------------------------------

    def launch(self) -> None:
        """Checkpoint everything tracked so far in the background, so the next batch
        is polled and handled while this one is flushed (the bare loop overlaps its
        writes with the consumer's prefetch the same way).

        The progress is taken off as it stands: what is tracked meanwhile is a new
        batch. The task makes one flush attempt per writer and, when every one
        worked and nothing was refused, commits the offsets it took off; anything
        else (a failed flush, a refusal to dead-letter, a failed commit) it leaves
        to :meth:`land`, which hands it to the checkpoint with retries. One at a time:
        call :meth:`land` first."""
        if self._flight is not None:
            raise RuntimeError("a checkpoint is already under way; land it first")
        chosen = self._chosen(None)
        if not chosen:
            return
        taken = {tp: self._progress.pop(tp) for tp in chosen}
        task = asyncio.create_task(self._fly(chosen, taken), name=FLIGHT_TASK)
        self._flight = _Flight(taken, task)

    @property
    def landed(self) -> bool:
        """The background checkpoint is over (or there is none)."""
        return self._flight is None or self._flight.task.done()

    async def land(self, deadline: float | None = None) -> bool:
        """Wait for the background checkpoint, if any, until ``deadline``
        (``time.monotonic``; None: as long as it takes). True when it did not commit:
        its progress is tracked again (with what came since), for a checkpoint with
        retries to finish.

        One still flying at the deadline is called off (cancelled, and waited for
        while it winds down: a writer settles its buffer against what reached the
        destination) and counts as not committed: a rebalance is not held up for
        longer than its budget by a slow flush (a table lock, a slow disk), and what
        that flush was about stays uncommitted, so Kafka delivers it again. Cancelled
        while waiting, it cancels the checkpoint the same way and lets the
        cancellation through: what the checkpoint took off is counted until a commit
        covers it."""
        return await self._land(deadline) not in (_Landing.NONE, _Landing.COMMITTED)

    async def _land(self, deadline: float | None) -> _Landing:
        """:meth:`land`, telling apart how it went."""
        flight, self._flight = self._flight, None
        if flight is None:
            return _Landing.NONE
        outcome = _Landing.FAILED
        try:
            if await _within(flight.task, deadline):
                return _Landing.COMMITTED
        except asyncio.CancelledError:
            self._restore(flight)
            raise
        except _Late:
            log.warning("background checkpoint still flushing at its deadline: called off")
            outcome = _Landing.LATE
        except Exception:
            log.exception("background checkpoint failed; retrying it in the loop")
        self._restore(flight)
        return outcome

    def _restore(self, flight: _Flight) -> None:
        """Track again the progress a background checkpoint took off, with what was
        tracked since (committing it again later is harmless: the same offsets)."""
        for tp, taken in flight.progress.items():
            newer = self._progress.get(tp)
            if newer is not None:
                taken.absorb(newer)
            self._progress[tp] = taken

    async def abandon(self) -> None:
        """Stop a background checkpoint still under way (the sink is going down
        without its final checkpoint): nothing more is committed, Kafka redelivers."""
        flight, self._flight = self._flight, None
        if flight is not None and not flight.task.done():
            flight.task.cancel()
            await asyncio.gather(flight.task, return_exceptions=True)

    async def _fly(
        self, chosen: list[TopicPartition], taken: dict[TopicPartition, _Progress]
    ) -> bool:
        for writer in self._writers:
            try:
                # Exactly the partitions taken off: they are no longer tracked, so
                # _flush's filter by the tracked ones would leave them out.
                result = await self._flush_exactly(writer, chosen)
            except Exception as exc:
                log.warning("flush of %s failed, retrying in the loop: %r", writer.name, exc)
                return False
            self._settle(writer, result, taken)
        if self._rejections:
            return False  # dead letters first, with retries, then the commit
        return await self._send_offsets(_next_offsets(taken, chosen, self._committer.assignment()))

    def forget(self, partitions: Collection[TopicPartition]) -> None:
        """Partitions that are no longer ours: their offsets are not ours to commit,
        and the writers drop what they still buffer for them. Dropping, not keeping:
        those records were not committed, so the partitions' next owner reads them
        again; flushing them later from here would race that owner (an older
        version of an article landing after its newer one) for nothing."""
        for writer in self._writers:
            dropped = writer.drop(partitions)
            name = writer.name
            if dropped:
                log.warning("%s dropped %d unflushed records of revoked partitions", name, dropped)
        for tp in partitions:
            self._progress.pop(tp, None)
        gone = set(partitions)
        self._rejections = [
            (rejection, key)
            for rejection, key in self._rejections
            if TopicPartition(rejection.topic, rejection.partition) not in gone
        ]  # not committed either: the new owner reads them, and refuses them, again

    # -- internals -----------------------------------------------------------------------

    def _chosen(self, partitions: Collection[TopicPartition] | None) -> list[TopicPartition]:
        """The tracked partitions among ``partitions`` (recomputed at every attempt:
        a revocation between two attempts takes partitions away)."""
        if partitions is None:
            return sorted(self._progress)
        return sorted(tp for tp in partitions if tp in self._progress)

    async def _flush_retried(
        self,
        writer: Writer,
        partitions: Collection[TopicPartition] | None,
        deadline: float | None,
    ) -> FlushResult:
        """The writer's flush, retried; with a DEADLINE, bounded by it as a whole.

        The retrier only stops *between* attempts at the deadline; one attempt can wait
        far longer (a statement queued behind a table lock waits for its command
        timeout). So an attempt still under way at the deadline is called off like a
        late background checkpoint (:func:`_within`: cancelled, and waited for while
        the writer settles its buffer) and the checkpoint gives up: nothing of it is
        committed, so Kafka delivers those records again (after a revocation, to the
        partition's new owner; a writer that had them already counts them as
        duplicates)."""
        what = f"flush {writer.name}"
        retried = self._retrier.run(
            functools.partial(self._flush, writer, partitions),
            what=what,
            operation="flush",
            deadline=deadline,
        )
        try:
            if deadline is None:
                return await retried
            return await _within(asyncio.create_task(retried), deadline)
        except _Late as exc:
            log.warning("%s still under way at its deadline: called off", what)
            raise GaveUp(what) from exc
        except AttemptsExhausted as exc:
            raise WriterBroken(writer.name, exc) from exc

    async def _flush(
        self, writer: Writer, partitions: Collection[TopicPartition] | None
    ) -> FlushResult:
        """One timed flush attempt of the tracked ones among ``partitions``."""
        return await self._flush_exactly(writer, self._chosen(partitions))

    async def _flush_exactly(self, writer: Writer, partitions: list[TopicPartition]) -> FlushResult:
        """One timed flush attempt of ``partitions``. Its outcome feeds the latency
        histogram and readiness; a flush that had nothing to do proves nothing about
        reachability."""
        started = time.perf_counter()
        try:
            result = await writer.flush(partitions)
        except Exception as exc:
            self._observe(writer, "error", started)
            self._readiness.flush_failed(writer.name, str(exc) or repr(exc))
            raise
        self._observe(writer, "ok", started)
        if result.written or result.duplicates:
            self._readiness.flush_succeeded(writer.name)
        return result

    def _observe(self, writer: Writer, outcome: str, started: float) -> None:
        self._metrics.flush_seconds.labels(writer.name, outcome).observe(
            time.perf_counter() - started
        )

    def _settle(
        self,
        writer: Writer,
        result: FlushResult,
        tracked: dict[TopicPartition, _Progress] | None = None,
    ) -> None:
        """Count a flush, and queue what the writer refused in it for dead letters
        (with its Kafka key, looked up while the partition's progress still has it:
        TRACKED, or the checkpoint's own)."""
        self._metrics.records_written.labels(writer.name).inc(result.written)
        self._metrics.records_skipped.labels(writer.name).inc(result.duplicates)
        tracked = self._progress if tracked is None else tracked
        for rejection in result.rejected:
            tp = TopicPartition(rejection.topic, rejection.partition)
            progress = tracked.get(tp)
            key = progress.keys.get(rejection.offset) if progress is not None else None
            self._rejections.append((rejection, key))

    async def _send_rejections(self, deadline: float | None) -> None:
        """Dead-letter the queued refusals, each off the queue once acknowledged. The
        writer let go of a refused record when it refused it, so a letter that could
        not be sent stays queued and goes first at the next checkpoint: no commit
        passes a refused record before its dead letter is out."""
        while self._rejections:
            entry = self._rejections[0]
            await self._dead_letters.rejected(*entry, deadline=deadline)
            # A revocation may have sent or forgotten entries meanwhile (the retrier lets
            # go of the loop's lock between tries): remove this one, not the queue's head.
            with contextlib.suppress(ValueError):
                self._rejections.remove(entry)

    async def _commit_offsets(self, chosen: list[TopicPartition]) -> None:
        """Commit the next offset of every chosen partition we still own; forget the
        progress of those we do not own any more, and of those the commit covered."""
        assigned = self._committer.assignment()
        offsets = _next_offsets(self._progress, chosen, assigned)
        for tp in chosen:
            if tp not in assigned:
                del self._progress[tp]
        if not await self._send_offsets(offsets):
            return
        for tp, offset in offsets.items():
            progress = self._progress.get(tp)
            if progress is not None and progress.next_offset == offset and not progress.records:
                del self._progress[tp]

    async def _send_offsets(self, offsets: dict[TopicPartition, int]) -> bool:
        """The one commit step: send OFFSETS, count the outcome. False when the commit
        failed: the offsets stay for the next checkpoint, redelivery meanwhile is
        harmless (the writers are idempotent)."""
        if not offsets:
            return True
        try:
            await self._committer.commit(offsets)
        except KafkaError as exc:
            self._metrics.commits.labels("error").inc()
            log.warning("offset commit failed, will retry with the next checkpoint: %r", exc)
            return False
        self._metrics.committed_offsets(offsets)
        return True


class _Late(Exception):
    """The background checkpoint was still under way at its deadline."""


async def _within(task: asyncio.Task[T], deadline: float | None) -> T:
    """TASK's result (or its own exception, a TimeoutError of a writer included), or
    :class:`_Late` at DEADLINE. Whenever it is not waited for to the end (the
    deadline, or a cancellation of the caller), TASK is cancelled and waited for
    until it has wound down (shielded: the caller's cancellation does not cut that
    short)."""
    timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
    try:
        done, _ = await asyncio.wait([task], timeout=timeout)
    except asyncio.CancelledError:
        await _call_off(task)
        raise
    if not done:
        await _call_off(task)
        raise _Late
    return task.result()


async def _call_off(task: asyncio.Task[Any]) -> None:
    """Cancel TASK and wait until it has wound down, even when the caller is cancelled
    again meanwhile (shutdown during a rebalance): its progress is restored only once
    it can no longer write."""
    task.cancel()
    try:
        await asyncio.wait([task])
    except asyncio.CancelledError:
        await asyncio.wait([task])
        raise


def _next_offsets(
    progress: dict[TopicPartition, _Progress],
    chosen: Collection[TopicPartition],
    assigned: Collection[TopicPartition],
) -> dict[TopicPartition, int]:
    """The offsets to commit: the next one of each chosen partition still assigned."""
    return {tp: progress[tp].next_offset for tp in chosen if tp in assigned}
