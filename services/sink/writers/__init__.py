"""Sink writers: one destination each, behind the :class:`Writer` contract."""

from newswire.sink.writers.base import FlushResult, RecordRejected, Writer, WriterError
from newswire.sink.writers.jsonl import JsonLinesWriter

__all__ = ["FlushResult", "JsonLinesWriter", "RecordRejected", "Writer", "WriterError"]
