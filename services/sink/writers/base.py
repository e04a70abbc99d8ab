"""The contract between the sink and its writers, and the errors that cross it.

The sink owns the Kafka side (polling, dead letters, commits); a writer owns one
destination. Records reach a writer with where they came from (topic, partition,
offset), so the sink can flush one partition's records without the others' (a
revoked partition) and dead-letter exactly the record a writer refuses.

Offsets are committed only after every writer's ``flush`` returned (see
:mod:`newswire.sink.checkpoint`), so ``flush`` is the moment records become durable,
and a writer must keep its buffer intact when ``flush`` raises: the sink calls it
again.

Errors say what the sink should do, by type:

* :class:`WriterError` - the destination cannot take anything *right now* (disk
  full, database down): retried with backoff for as long as it takes, nothing lost;
* :class:`RecordRejected` - this one record's content is refused for good:
  dead-lettered (kind ``rejected``) at once, the rest goes on;
* :class:`BatchRejected` - the destination refused a batch's content for good
  without saying which record (a constraint, a size limit): the batch is split
  until the refused records are found (:mod:`newswire.sink.writers.batching`);
* anything else is a bug: tried a bounded number of times, never forever.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from aiokafka.structs import TopicPartition

from newswire.common.errors import NewswireError

#: Which partitions a flush or drop is about; ``None`` means every buffered one.
Partitions = Collection[TopicPartition] | None


class WriterError(NewswireError):
    """A writer could not do its job *right now* (disk full, I/O error, remote down).

    The sink retries the operation with backoff and never drops the batch.
    """


class RecordRejected(WriterError):
    """The writer refuses this record's content; retrying cannot help.

    Raised from :meth:`Writer.add`. The sink dead-letters the record (kind
    ``rejected``) and carries on with the batch.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class BatchRejected(NewswireError):
    """The destination refused a batch's content for good, not saying which record.

    Not a :class:`WriterError` on purpose: retrying the same batch cannot help, so
    the batching base splits it instead and rejects only the records that fail on
    their own.
    """

    def __init__(self, writer: str, reason: str) -> None:
        super().__init__(f"{writer}: {reason}")
        self.writer = writer
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Rejection:
    """A record a writer refused at flush time: enough to dead-letter it exactly."""

    writer: str
    topic: str
    partition: int
    offset: int
    raw: bytes
    reason: str


@dataclass(frozen=True, slots=True)
class FlushResult:
    """What one successful ``flush`` did, for stats, logs and dead letters."""

    written: int = 0  # records made durable by this flush
    duplicates: int = 0  # records skipped because already written (or superseded)
    locations: tuple[str, ...] = field(default_factory=tuple)  # files, objects, tables ...
    rejected: tuple[Rejection, ...] = ()  # refused for good; the sink dead-letters them

    def plus(self, other: FlushResult) -> FlushResult:
        """Both results as one (a flush done in several writes)."""
        return FlushResult(
            self.written + other.written,
            self.duplicates + other.duplicates,
            tuple(dict.fromkeys((*self.locations, *other.locations))),
            (*self.rejected, *other.rejected),
        )


@runtime_checkable
class Writer(Protocol):
    """A destination for validated enriched records.

    ``add`` buffers (cheap, no I/O needed); ``flush`` makes what was added from the
    given partitions durable or raises, leaving the buffer in place for the retry;
    ``drop`` forgets the given partitions' buffered records (they were not
    committed, so whoever reads those partitions next gets them again); ``close``
    releases resources without flushing.

    ``add`` may be called while a ``flush`` is under way (the sink flushes a batch in
    the background while it handles the next): the flush makes at least what was
    added before it started durable, and what is added meanwhile stays buffered for
    the next one (it may also be written by this one; offsets say what counts).
    :class:`~newswire.sink.writers.batching.BatchingWriter` does this.
    """

    name: str

    async def add(
        self, record: Mapping[str, Any], raw: bytes, topic: str, partition: int, offset: int
    ) -> None:
        """Buffer one record (``raw``: its bytes as read); raise
        :class:`RecordRejected` to refuse its content."""
        ...

    async def flush(self, partitions: Partitions = None) -> FlushResult:
        """Make the buffered records of ``partitions`` durable; raise to be retried."""
        ...

    def drop(self, partitions: Partitions) -> int:
        """Forget the buffered records of ``partitions``; returns how many."""
        ...

    async def close(self) -> None:
        """Release resources. Does not flush."""
        ...


@runtime_checkable
class Reachable(Protocol):
    """Optional for a writer with a remote destination: a cheap "can I reach it?".

    The sink calls ``ping`` only while the writer has no recent flush to judge by
    (at start, when idle), so ``/readyz`` can tell a database that is down before
    any record arrives. Raise (any error) for "not reachable".
    """

    async def ping(self) -> None: ...
