"""Producing records: validated before they leave, delivery awaited before it counts."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import MessageSizeTooLargeError
from aiokafka.structs import RecordMetadata

from newswire.common.errors import ErrorKind, InvalidRecord
from newswire.common.records import ServiceName, dead_letter, dead_letter_payload_cap, encode
from newswire.common.schemas import SchemaName, record_headers, validate
from newswire.common.settings import Settings

log = logging.getLogger(__name__)

#: A record's delivery: resolves to the broker's metadata once it has the record.
Delivery = asyncio.Future[RecordMetadata]


class Publisher:
    """The one way aiokafka-based services put records on topics (the fetcher, replay,
    dead letters): one produce path, one delivery policy.

    Every record is valid against its schema when it leaves, checked once:
    :meth:`publish` validates at the boundary, so an invalid record is refused here
    (``InvalidRecord``) rather than discovered downstream; a caller that already
    validated the record, after its last change, says so with ``validated=True``
    (the fetcher's poller checks each record once, replay's seed reader too).

    Delivery policy: the producer's own retries (``new_producer``), nothing on top;
    a send returns its delivery future, and :meth:`deliveries` / :meth:`publish_many`
    await every future before raising the first failure, so none is left unawaited
    and callers move on (advance state, commit offsets, count) only on acks.

    The enricher does not use this: it produces through Faust's producer, whose sends
    are tied to the stream's acks and offsets (``enricher/batch.py``); an aiokafka
    producer beside it would commit nothing and order nothing with the stream.
    """

    def __init__(
        self, *, settings: Settings, producer: AIOKafkaProducer, service: ServiceName
    ) -> None:
        self._settings = settings
        self._producer = producer
        self._service = service
        self._headers = {name: record_headers(name) for name in SchemaName}

    async def publish(
        self,
        topic: str,
        key: str,
        record: Mapping[str, Any],
        schema: SchemaName,
        *,
        validated: bool = False,
        partition: int | None = None,
    ) -> Delivery:
        """Queue RECORD keyed by KEY with SCHEMA's headers; return its delivery future.

        A record over the message limit is refused before it is queued, as
        ``InvalidRecord`` of kind ``too_large`` naming KAFKA_MAX_MESSAGE_BYTES (the
        setting to change), not aiokafka's ``max_request_size``: the caller
        dead-letters it like any record the contract refuses.

        ``validated=True``: the caller checked RECORD against SCHEMA after its last
        change, and it is not checked again. ``partition``: placed there instead of by
        the key (the fetcher's topics are partitioned by a source's host).
        """
        if not validated:
            validate(schema, record)
        value, key_bytes, headers = encode(record), key.encode(), self._headers[schema]
        try:
            return await self._producer.send(
                topic, value, key=key_bytes, headers=headers, partition=partition
            )
        except MessageSizeTooLargeError as exc:
            size = len(value) + len(key_bytes) + sum(len(k) + len(v) for k, v in headers)
            raise too_large(size, self._settings.kafka.max_message_bytes) from exc

    async def tombstone(self, topic: str, key: str, *, partition: int | None = None) -> Delivery:
        """Queue a null value for KEY: on a compacted topic, the key is removed."""
        return await self._producer.send(topic, None, key=key.encode(), partition=partition)

    async def publish_many(
        self,
        topic: str,
        records: Iterable[tuple[str, Mapping[str, Any]]],
        schema: SchemaName,
        *,
        validated: bool = False,
    ) -> list[RecordMetadata]:
        """:meth:`publish` each (key, record) in order, then wait until the broker has
        them all; raises the first failure (after every delivery settled)."""
        futures = [
            await self.publish(topic, key, record, schema, validated=validated)
            for key, record in records
        ]
        outcomes = await self.deliveries(futures)
        failure = next((o for o in outcomes if isinstance(o, BaseException)), None)
        if failure is not None:
            raise failure
        return outcomes

    @staticmethod
    async def deliveries(futures: Sequence[Delivery]) -> list[RecordMetadata | BaseException]:
        """Every delivery's outcome, in order, once all have settled: metadata, or the
        error that delivery failed with (never raised here, so none goes unawaited)."""
        return await asyncio.gather(*futures, return_exceptions=True)

    async def dead_letter(
        self,
        *,
        error: InvalidRecord,
        payload: bytes | None,
        origin: dict[str, Any],
        key: bytes | None = None,
    ) -> RecordMetadata:
        """Send a dead letter and wait until the broker has it: nothing is lost."""
        limit = self._settings.kafka.max_message_bytes
        letter = dead_letter(
            service=self._service,
            error=error,
            payload=payload,
            origin=origin,
            max_payload=dead_letter_payload_cap(limit),
        )
        validate(SchemaName.DEAD_LETTER, letter)
        log.warning("dead letter from %s: %s (origin %s)", self._service, error, origin)
        future = await self._producer.send(
            self._settings.topics.dlq,
            encode(letter),
            key=key,
            headers=self._headers[SchemaName.DEAD_LETTER],
        )
        return await future


def too_large(size: int, limit: int) -> InvalidRecord:
    """A record the cluster cannot take, in the words the user can act on."""
    return InvalidRecord(
        ErrorKind.TOO_LARGE,
        f"the record is {size:,} bytes with its key and headers, over the {limit:,}-byte "
        "message limit (KAFKA_MAX_MESSAGE_BYTES)",
    )
