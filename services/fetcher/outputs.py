"""Where records go: Kafka (``news.raw``) or JSON Lines on a stream (``--output -``).

``deliver`` returns only when the records are durable - acked by the broker, or
written and flushed - because the caller saves the polling state right after.

Records reach a sink already validated against the raw schema: the poller checks each
one once (and drops an invalid one), so neither sink validates again.
"""

from __future__ import annotations

from typing import BinaryIO, Protocol

import orjson

from newswire.common.publish import Publisher
from newswire.common.schemas import SchemaName
from newswire.fetcher.records import RawRecord


class RecordSink(Protocol):
    async def deliver(self, records: list[RawRecord]) -> None:
        """Make ``records`` durable, in order, or raise."""


class JsonLinesSink:
    """One JSON object per line on a binary stream (standard output for ``--output -``)."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self.written = 0

    async def deliver(self, records: list[RawRecord]) -> None:
        if not records:
            return
        self._stream.write(b"".join(orjson.dumps(r.value) + b"\n" for r in records))
        self._stream.flush()
        self.written += len(records)


class KafkaSink:
    """Records to the raw topic, keyed by article id, with the raw schema's headers,
    through :meth:`Publisher.publish_many` (the one produce-and-await path) with
    ``validated=True``: every record here was validated by the poller already (see the
    module docstring)."""

    def __init__(self, publisher: Publisher, topic: str) -> None:
        self._publisher = publisher
        self._topic = topic
        self.produced = 0

    async def deliver(self, records: list[RawRecord]) -> None:
        await self._publisher.publish_many(
            self._topic,
            ((record.article_id, record.value) for record in records),
            SchemaName.RAW,
            validated=True,
        )
        self.produced += len(records)
