"""Producing records: validated before they leave, delivery awaited before it counts."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.structs import RecordMetadata

from newswire.common.errors import InvalidRecord
from newswire.common.records import ServiceName, dead_letter, encode
from newswire.common.schemas import SchemaName, record_headers, validate
from newswire.common.settings import Settings

log = logging.getLogger(__name__)


class Publisher:
    """The one way aiokafka-based services put records on topics.

    ``publish`` validates against the record's schema at the boundary, so an invalid
    record is refused here (``InvalidRecord``) rather than discovered downstream.
    It returns the delivery future; callers gather them and only then move on
    (advance state, commit offsets).
    """

    def __init__(
        self, *, settings: Settings, producer: AIOKafkaProducer, service: ServiceName
    ) -> None:
        self._settings = settings
        self._producer = producer
        self._service = service

    async def publish(
        self, topic: str, key: str, record: Mapping[str, Any], schema: SchemaName
    ) -> Any:
        validate(schema, record)
        return await self._producer.send(
            topic, encode(record), key=key.encode(), headers=record_headers(schema)
        )

    async def dead_letter(
        self,
        *,
        error: InvalidRecord,
        payload: bytes | None,
        origin: dict[str, Any],
        key: bytes | None = None,
    ) -> RecordMetadata:
        """Send a dead letter and wait until the broker has it: nothing is lost."""
        letter = dead_letter(service=self._service, error=error, payload=payload, origin=origin)
        validate(SchemaName.DEAD_LETTER, letter)
        log.warning("dead letter from %s: %s (origin %s)", self._service, error, origin)
        future = await self._producer.send(
            self._settings.topics.dlq,
            encode(letter),
            key=key,
            headers=record_headers(SchemaName.DEAD_LETTER),
        )
        return await future
