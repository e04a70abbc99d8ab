"""Where records go: Kafka (``news.raw``) or JSON Lines on a stream (``--output -``).

``deliver`` returns only when the records are durable - acked by the broker, or
written and flushed - because the caller saves the polling state right after.
"""

from __future__ import annotations

import asyncio
from typing import BinaryIO, Protocol

import orjson
from aiokafka.structs import RecordMetadata

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
    """Records to the raw topic, keyed by article id, validated by the Publisher."""

    def __init__(self, publisher: Publisher, topic: str) -> None:
        self._publisher = publisher
        self._topic = topic
        self.produced = 0

    async def deliver(self, records: list[RawRecord]) -> None:
        futures: list[asyncio.Future[RecordMetadata]] = []
        for record in records:
            futures.append(
                await self._publisher.publish(
                    self._topic, record.article_id, record.value, SchemaName.RAW
                )
            )
        outcomes = await asyncio.gather(*futures, return_exceptions=True)
        failure = next((o for o in outcomes if isinstance(o, BaseException)), None)
        if failure is not None:
            raise failure
        self.produced += len(records)
