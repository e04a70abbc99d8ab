"""The contract between the sink service and its writers.

The service owns the Kafka side (polling, dead letters, commits); a writer owns one
destination. Offsets are committed only after every writer's ``flush`` returned, so a
writer must treat ``flush`` as the moment records become durable and must keep its
buffer intact when ``flush`` raises: the service calls ``flush`` again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from newswire.common.errors import NewswireError


class WriterError(NewswireError):
    """A writer could not do its job *right now* (disk full, I/O error, remote down).

    The service retries the operation with backoff and never drops the batch.
    """


class RecordRejected(WriterError):
    """The writer refuses this record's content; retrying cannot help.

    Raised from :meth:`Writer.add` only. The service dead-letters the record
    (kind ``rejected``) and carries on with the batch.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class FlushResult:
    """What one successful ``flush`` did, for stats and logs."""

    written: int = 0  # records made durable by this flush
    duplicates: int = 0  # records skipped since the last flush because already written
    locations: tuple[str, ...] = field(default_factory=tuple)  # files, objects, tables ...


@runtime_checkable
class Writer(Protocol):
    """A destination for validated enriched records.

    ``add`` buffers (cheap, no I/O needed); ``flush`` makes everything added so far
    durable or raises, leaving the buffer in place for the retry; ``close`` releases
    resources without flushing (what was not flushed was not committed either, so
    Kafka delivers it again).
    """

    name: str

    async def add(self, record: dict[str, Any], *, key: str, raw: bytes) -> None:
        """Buffer one record; raise :class:`RecordRejected` to refuse its content."""
        ...

    async def flush(self) -> FlushResult:
        """Make every buffered record durable; raise (any error) to be retried."""
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
