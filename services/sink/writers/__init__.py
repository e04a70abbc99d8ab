"""Sink writers: one destination each, behind the :class:`Writer` contract."""

from newswire.sink.writers.base import (
    BatchRejected,
    FlushResult,
    Reachable,
    RecordRejected,
    Rejection,
    Writer,
    WriterError,
)
from newswire.sink.writers.jsonl import JsonLinesWriter

# PostgresWriter is imported from newswire.sink.writers.postgres, so asyncpg loads only when used.
__all__ = [
    "BatchRejected",
    "FlushResult",
    "JsonLinesWriter",
    "Reachable",
    "RecordRejected",
    "Rejection",
    "Writer",
    "WriterError",
]
