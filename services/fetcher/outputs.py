"""Where records go: Kafka (``news.raw``) or JSON Lines on a stream (``--output -``).

``deliver`` returns only when the records are durable - acked by the broker, or
written and flushed - because the caller saves the polling state right after.

Records reach a sink already validated against the raw schema: the poller checks each
one once (and drops an invalid one), so neither sink validates again.
"""

from __future__ import annotations

import asyncio
from typing import BinaryIO, Protocol

import orjson
from aiokafka import AIOKafkaProducer
from aiokafka.structs import RecordMetadata

from newswire.common.records import encode
from newswire.common.schemas import SchemaName, record_headers
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
    """Records to the raw topic, keyed by article id, with the raw schema's headers.

    Not through ``Publisher.publish``: that validates again, and every record here was
    validated by the poller already (see the module docstring)."""

    def __init__(self, producer: AIOKafkaProducer, topic: str) -> None:
        self._producer = producer
        self._topic = topic
        self._headers = record_headers(SchemaName.RAW)
        self.produced = 0

    async def deliver(self, records: list[RawRecord]) -> None:
        futures: list[asyncio.Future[RecordMetadata]] = []
        for record in records:
            futures.append(
                await self._producer.send(
                    self._topic,
                    encode(record.value),
                    key=record.article_id.encode(),
                    headers=self._headers,
                )
            )
        outcomes = await asyncio.gather(*futures, return_exceptions=True)
        failure = next((o for o in outcomes if isinstance(o, BaseException)), None)
        if failure is not None:
            raise failure
        self.produced += len(records)
