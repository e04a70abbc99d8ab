"""Where records go: Kafka (``news.raw``) or JSON Lines on a stream (``--output -``).

``deliver`` returns only when the records are durable - acked by the broker, or
written and flushed - because the caller saves the polling state right after.

Records reach a sink already validated against the raw schema: the poller checks each
one once (and drops an invalid one), so neither sink validates again.

A record the cluster cannot take (a long article over KAFKA_MAX_MESSAGE_BYTES) is not
a delivery failure: retrying it would fail on every poll and hold back the source's
other items for ever. The Kafka sink dead-letters it and returns it, so the caller
counts it and treats its item as handled. The JSON Lines sink (``--output -``, the way
to try a source) writes it all the same but returns it too, marked ``written``, so the
dry run says what Kafka mode would dead-letter (one definition of "too large":
:func:`~newswire.common.publish.oversize`).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any, BinaryIO, Protocol

from newswire.common.errors import InvalidRecord
from newswire.common.publish import Outgoing, Publisher, oversize
from newswire.common.records import encode
from newswire.common.schemas import SchemaName, record_headers
from newswire.fetcher.records import RawRecord


@dataclass(frozen=True, slots=True)
class DeadLettered:
    """A record sent to the dead-letter topic instead of the raw topic, and why; or,
    ``written``, one a stream took but Kafka mode would dead-letter (``--output -``)."""

    record: RawRecord
    error: InvalidRecord
    written: bool = False


class RecordSink(Protocol):
    async def deliver(self, records: list[RawRecord]) -> list[DeadLettered]:
        """Make ``records`` durable, in order, or raise; returns those dead-lettered
        instead (durable on the dead-letter topic), which count as handled."""


class JsonLinesSink:
    """One JSON object per line on a binary stream (standard output for ``--output -``).

    With ``max_message_bytes`` (KAFKA_MAX_MESSAGE_BYTES), a record Kafka mode would
    dead-letter as too large is written all the same (the user asked for the output)
    and returned as ``written`` :class:`DeadLettered`, so the run says so."""

    def __init__(self, stream: BinaryIO, max_message_bytes: int | None = None) -> None:
        self._stream = stream
        self._limit = max_message_bytes
        self._headers = record_headers(SchemaName.RAW)  # what Kafka mode would send
        self.written = 0

    async def deliver(self, records: list[RawRecord]) -> list[DeadLettered]:
        """A stream takes a line of any length: nothing is dead-lettered here, and
        those Kafka would refuse are returned, marked ``written``. Each record is
        encoded once, for its line and for the size check (as the producer encodes it)."""
        if not records:
            return []
        values = [encode(r.value) for r in records]
        self._stream.write(b"".join(value + b"\n" for value in values))
        self._stream.flush()
        self.written += len(records)
        if self._limit is None:
            return []
        refusals = [
            (r, oversize(value, r.article_id.encode(), self._headers, self._limit))
            for r, value in zip(records, values, strict=True)
        ]
        return [DeadLettered(r, error, written=True) for r, error in refusals if error is not None]


class KafkaSink:
    """Records to the raw topic, keyed by article id, with the raw schema's headers,
    through :meth:`Publisher.publish_or_dead_letter` (the one produce-and-await path)
    with ``validated=True``: every record here was validated by the poller already (see
    the module docstring). A record too large for the cluster goes to the dead-letter
    topic with :func:`dead_letter_origin`; any other failure raises."""

    def __init__(self, publisher: Publisher, topic: str) -> None:
        self._publisher = publisher
        self._topic = topic
        self.produced = 0
        self.dead_lettered = 0

    async def deliver(self, records: list[RawRecord]) -> list[DeadLettered]:
        refused = await self._publisher.publish_or_dead_letter(
            self._topic,
            [Outgoing(r.article_id, r.value, dead_letter_origin(r)) for r in records],
            SchemaName.RAW,
            validated=True,
        )
        dead = [DeadLettered(records[r.index], r.error) for r in refused]
        self.produced += len(records) - len(dead)
        self.dead_lettered += len(dead)
        return dead


def dead_letter_origin(record: RawRecord) -> dict[str, Any]:
    """Where an operator finds a fetched item whose record never reached a topic: its
    source, its URL, the source's own id for it (``guid``), the fetcher's item id (as
    in the polling state's ``seen``) and the article id (``key_b64`` is the key it
    would have had, as in the dead letters of the other services)."""
    value = record.value
    origin: dict[str, Any] = {
        "source_id": value["source"].get("id"),
        "url": value.get("url"),
        "item_id": record.item_id,
        "article_id": record.article_id,
        "key_b64": base64.b64encode(record.article_id.encode()).decode("ascii"),
    }
    if guid := value.get("guid"):
        origin["guid"] = guid
    return origin
