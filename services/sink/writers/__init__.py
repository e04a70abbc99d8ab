"""Sink writers: one destination each, behind the :class:`Writer` contract."""

from newswire.sink.writers.base import FlushResult, Reachable, RecordRejected, Writer, WriterError
from newswire.sink.writers.jsonl import JsonLinesWriter

# PostgresWriter is imported from newswire.sink.writers.postgres, so asyncpg loads only when used.
__all__ = ["FlushResult", "JsonLinesWriter", "Reachable", "RecordRejected", "Writer", "WriterError"]
