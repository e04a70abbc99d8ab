"""Producing records: validated before they leave, delivery awaited before it counts."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import MessageSizeTooLargeError
from aiokafka.record.default_records import DefaultRecordBatchBuilder
from aiokafka.structs import RecordMetadata

from newswire.common.errors import ErrorKind, InvalidRecord
from newswire.common.records import ServiceName, dead_letter, dead_letter_payload_cap, encode
from newswire.common.schemas import SchemaName, record_headers, validate
from newswire.common.settings import Settings

log = logging.getLogger(__name__)

#: A record's delivery: resolves to the broker's metadata once it has the record.
Delivery = asyncio.Future[RecordMetadata]


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A record to publish, keyed by KEY, with the ``origin`` its dead letter would carry
    (where an operator finds the item again: it never reached a topic position)."""

    key: str
    record: Mapping[str, Any]
    origin: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Refused:
    """An :class:`Outgoing` (its INDEX in the batch) the cluster could not take, and why;
    it went to the dead-letter topic instead."""

    index: int
    error: InvalidRecord


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
        try:  # aiokafka refuses an oversize record in send(), before queueing it, by the
            # same estimate as oversize() (max_request_size is KAFKA_MAX_MESSAGE_BYTES)
            return await self._producer.send(
                topic, value, key=key_bytes, headers=headers, partition=partition
            )
        except MessageSizeTooLargeError as exc:
            size = _message_size(value, key_bytes, headers)
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

    async def publish_or_dead_letter(
        self,
        topic: str,
        records: Sequence[Outgoing],
        schema: SchemaName,
        *,
        validated: bool = False,
    ) -> list[Refused]:
        """:meth:`publish` each record and wait for every ack, like :meth:`publish_many`,
        except that a record the cluster cannot take goes to the dead-letter topic and
        the others are delivered all the same. Returns those dead-lettered, in order.

        Cannot take: refused before it is queued (``InvalidRecord``: over
        KAFKA_MAX_MESSAGE_BYTES, or invalid when not ``validated``), or refused by the
        broker on its delivery future (``MessageSizeTooLargeError``: the topic's or
        broker's limit is below ours). That is bad input, and retrying cannot cure it.
        Any other failure (broker down, timeout) raises once every delivery settled,
        and nothing is dead-lettered: the caller retries the whole batch, and the
        refused records are dead-lettered by the retry that gets through.
        """
        queued: list[tuple[int, Delivery]] = []
        refused: list[Refused] = []
        try:
            for index, out in enumerate(records):
                try:
                    future = await self.publish(
                        topic, out.key, out.record, schema, validated=validated
                    )
                except InvalidRecord as error:
                    refused.append(Refused(index, error))
                else:
                    queued.append((index, future))
        finally:  # a send that raised otherwise must not leave earlier futures unawaited
            outcomes = await self.deliveries([future for _, future in queued])
        for (index, _), outcome in zip(queued, outcomes, strict=True):
            if isinstance(outcome, MessageSizeTooLargeError):
                refused.append(Refused(index, self._refused_by_broker(records[index], schema)))
            elif isinstance(outcome, BaseException):
                raise outcome
        refused.sort(key=lambda r: r.index)
        for refusal in refused:
            out = records[refusal.index]
            await self.dead_letter(
                error=refusal.error,
                payload=encode(out.record),
                origin=out.origin,
                key=out.key.encode(),
            )
        return refused

    def _refused_by_broker(self, out: Outgoing, schema: SchemaName) -> InvalidRecord:
        size = _message_size(encode(out.record), out.key.encode(), self._headers[schema])
        return InvalidRecord(
            ErrorKind.TOO_LARGE,
            f"the broker refused the record of {size:,} bytes with its key and headers as "
            "too large: the topic's max.message.bytes (or the broker's message.max.bytes) "
            f"is below KAFKA_MAX_MESSAGE_BYTES ({self._settings.kafka.max_message_bytes:,}); "
            "set them alike",
        )

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


def _message_size(value: bytes, key: bytes, headers: Sequence[tuple[str, bytes]]) -> int:
    """What the size limits count of a record: value, key and headers."""
    return len(value) + len(key) + sum(len(k) + len(v) for k, v in headers)


def oversize(
    value: bytes, key: bytes, headers: Sequence[tuple[str, bytes]], limit: int
) -> InvalidRecord | None:
    """The one definition of "too large for Kafka": the ``too_large`` refusal of a
    record over LIMIT (KAFKA_MAX_MESSAGE_BYTES), else None.

    Over means what the producer itself refuses in ``send`` (``max_request_size`` is
    set to the limit): aiokafka's own estimate of the record in a batch, so ``fetch
    --output -``, which produces nothing, predicts exactly what Kafka mode
    dead-letters (:meth:`Publisher.publish` leaves the check to the producer, not to
    make it twice per record). The size named is :func:`_message_size`'s.
    """
    if DefaultRecordBatchBuilder.estimate_size_in_bytes(key, value, headers) <= limit:
        return None
    return too_large(_message_size(value, key, headers), limit)


def too_large_for_kafka(
    key: str, record: Mapping[str, Any], schema: SchemaName, limit: int
) -> InvalidRecord | None:
    """:func:`oversize` of RECORD keyed by KEY with SCHEMA's headers, encoded as
    :meth:`Publisher.publish` encodes it: for a sink that does not produce (``fetch
    --output -``) but must say what Kafka mode would do."""
    return oversize(encode(record), key.encode(), record_headers(schema), limit)


def too_large(size: int, limit: int) -> InvalidRecord:
    """A record the cluster cannot take, in the words the user can act on."""
    return InvalidRecord(
        ErrorKind.TOO_LARGE,
        f"the record is {size:,} bytes with its key and headers, over the {limit:,}-byte "
        "message limit (KAFKA_MAX_MESSAGE_BYTES)",
    )
