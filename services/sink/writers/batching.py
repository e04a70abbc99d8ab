"""The base of writers that write batches: buffering by partition, and isolation.

A writer built on :class:`BatchingWriter` implements two things only:

* :meth:`~BatchingWriter.prepare` - check and convert one record (no I/O), raising
  :class:`~newswire.sink.writers.base.RecordRejected` for content it cannot take;
* :meth:`~BatchingWriter.write` - make a batch of prepared records durable, or
  raise. Records it made durable before failing part-way it marks ``durable`` (a
  file per date placed, say), so the retry does not carry them again.

The base keeps one buffer per topic-partition, so a flush or a drop can be about
some partitions only (a revoked one), and turns a refusal it cannot pin on one
record into exactly the refused records: when :meth:`write` raises
:class:`~newswire.sink.writers.base.BatchRejected`, or anything unexpected
:data:`MAX_WRITE_ATTEMPTS` times in a row, the batch is split in halves until each
failing record stands alone; those come back in
:attr:`~newswire.sink.writers.base.FlushResult.rejected` for the sink to
dead-letter, the others are written. A :class:`~newswire.sink.writers.base.WriterError`
is never split on: the destination is down, not the records bad.
"""

from __future__ import annotations

import abc
import asyncio
import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from aiokafka.structs import TopicPartition

from newswire.sink.writers.base import (
    BatchRejected,
    FlushResult,
    Partitions,
    RecordRejected,
    Rejection,
    WriterError,
)

log = logging.getLogger(__name__)

#: How often an unexpected error (a bug) may fail the same batch before it is split
#: to find the records it is about. Bounded: a bug is never retried forever.
MAX_WRITE_ATTEMPTS = 3

V = TypeVar("V")


class WriteFailed(WriterError):
    """:meth:`BatchingWriter.write` raised something unexpected; the batch is tried
    again, and split after :data:`MAX_WRITE_ATTEMPTS` failures."""

    def __init__(self, writer: str, attempt: int, error: BaseException) -> None:
        super().__init__(
            f"{writer}: write failed (attempt {attempt} of {MAX_WRITE_ATTEMPTS}): {error!r}"
        )
        self.writer = writer
        self.attempt = attempt


@dataclass(slots=True, eq=False)
class BatchItem(Generic[V]):
    """One buffered record: where it came from, its bytes, and the writer's form of it."""

    topic: str
    partition: int
    offset: int
    raw: bytes
    value: V
    durable: bool = False


class BatchingWriter(abc.ABC, Generic[V]):
    """Buffers prepared records per partition; flushes by writing batches."""

    name: str

    def __init__(self) -> None:
        self._buffers: dict[TopicPartition, list[BatchItem[V]]] = {}
        self._write_lock = asyncio.Lock()  # one flush at a time (poll loop vs revoke)
        self._failures = 0  # unexpected write failures in a row
        self._closed = False

    # -- what a writer implements -----------------------------------------------------

    @abc.abstractmethod
    def prepare(self, record: Mapping[str, Any], raw: bytes) -> V:
        """The writer's form of ``record``; raise RecordRejected to refuse it."""

    @abc.abstractmethod
    async def write(self, items: Sequence[BatchItem[V]]) -> FlushResult:
        """Make ``items`` (in partition, offset order; maybe none) durable, or raise."""

    async def release(self) -> None:
        """Free the writer's resources (called once by :meth:`close`)."""

    # -- the Writer contract ----------------------------------------------------------

    @property
    def buffered(self) -> int:
        """Records added but not made durable yet."""
        return sum(1 for _ in self.pending())

    def pending(self) -> Iterator[BatchItem[V]]:
        """The buffered records not made durable yet, by partition and offset."""
        for tp in sorted(self._buffers):
            yield from (item for item in self._buffers[tp] if not item.durable)

    async def add(
        self, record: Mapping[str, Any], raw: bytes, topic: str, partition: int, offset: int
    ) -> None:
        """Prepare and buffer one record."""
        self._check_open()
        value = self.prepare(record, raw)
        tp = TopicPartition(topic, partition)
        self._buffers.setdefault(tp, []).append(BatchItem(topic, partition, offset, raw, value))

    async def flush(self, partitions: Partitions = None) -> FlushResult:
        """Write the buffered records of ``partitions`` (all when None). What became
        durable leaves the buffer, also when the write failed part-way."""
        async with self._write_lock:
            self._check_open()
            chosen = self._chosen(partitions)
            items = [item for tp in chosen for item in self._buffers[tp] if not item.durable]
            try:
                return await self._write_or_split(items)
            finally:
                self._settle(chosen)

    def drop(self, partitions: Partitions) -> int:
        """Forget what is buffered for ``partitions`` (not committed: read again)."""
        dropped = 0
        for tp in self._chosen(partitions):
            dropped += sum(1 for item in self._buffers.pop(tp) if not item.durable)
        return dropped

    async def close(self) -> None:
        """Release resources. Unflushed records were not committed either."""
        if self._closed:
            return
        self._closed = True
        if self.buffered:
            log.warning("%s writer closing with %d unflushed records", self.name, self.buffered)
        await self.release()

    # -- internals --------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise WriterError(f"{self.name} writer is closed")

    def _chosen(self, partitions: Partitions) -> list[TopicPartition]:
        if partitions is None:
            return sorted(self._buffers)
        wanted = {TopicPartition(tp.topic, tp.partition) for tp in partitions}
        return sorted(tp for tp in self._buffers if tp in wanted)

    def _settle(self, chosen: list[TopicPartition]) -> None:
        for tp in chosen:
            left = [item for item in self._buffers.get(tp, ()) if not item.durable]
            if left:
                self._buffers[tp] = left
            else:
                self._buffers.pop(tp, None)

    async def _write_or_split(self, items: list[BatchItem[V]]) -> FlushResult:
        try:
            result = await self.write(items)
        except Exception as exc:
            if _transient(exc):
                raise
            if isinstance(exc, BatchRejected | RecordRejected):
                log.warning("%s refused %d records, splitting: %s", self.name, len(items), exc)
                return await self._split(items)
            self._failures += 1
            if self._failures < MAX_WRITE_ATTEMPTS:
                raise WriteFailed(self.name, self._failures, exc) from exc
            log.error("%s failed %d times on one batch, splitting it", self.name, self._failures)
            self._failures = 0
            return await self._split(items)
        self._failures = 0
        _mark_durable(items)
        return result

    async def _split(self, items: list[BatchItem[V]]) -> FlushResult:
        """Write halves, then quarters ... of a refused batch, in order (a later
        version of a record still comes after an earlier one); a record that fails
        alone is rejected. A WriterError stops the search: the retry goes on from
        what is still buffered."""
        total = FlushResult()
        pending = [items]
        while pending:
            part = pending.pop()
            try:
                result = await self.write(part)
            except Exception as exc:
                if _transient(exc):
                    raise
                if len(part) > 1:
                    middle = len(part) // 2
                    pending.extend([part[middle:], part[:middle]])
                    continue
                result = FlushResult(rejected=(self._rejection(part[0], exc),))
            _mark_durable(part)
            total = total.plus(result)
        return total

    def _rejection(self, item: BatchItem[V], error: BaseException) -> Rejection:
        if isinstance(error, BatchRejected | RecordRejected):
            reason = error.reason
        else:
            reason = f"writer bug: {error!r}"
        log.warning(
            "%s rejects %s[%d]@%d: %s", self.name, item.topic, item.partition, item.offset, reason
        )
        return Rejection(self.name, item.topic, item.partition, item.offset, item.raw, reason)


def _transient(error: BaseException) -> bool:
    """The destination's trouble, not the records': retried, never split on."""
    return isinstance(error, WriterError) and not isinstance(error, RecordRejected)


def _mark_durable(items: Sequence[BatchItem[Any]]) -> None:
    """Durable, or (a rejected record) settled otherwise: either way out of the buffer."""
    for item in items:
        item.durable = True
