"""The sink's dead letters: sent through the one producer path, awaited, counted.

Every dead letter is acknowledged by the broker before the caller goes on, and the
caller moves the offset of the record only after that (a crash in between means the
record is read, and dead-lettered, again: at least once, never lost). Sending is
retried as :mod:`newswire.sink.retry` says: a broker that is down is waited for; a
letter that cannot be built (a bug) ends the sink rather than dropping the record.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aiokafka import ConsumerRecord

from newswire.common.errors import ErrorKind, InvalidRecord
from newswire.common.publish import Publisher
from newswire.common.records import topic_origin
from newswire.sink.metrics import SinkMetrics
from newswire.sink.retry import Retrier
from newswire.sink.writers.base import Rejection


@dataclass(frozen=True, slots=True)
class Refusal:
    """A writer refused a record on ``add``, and why."""

    writer: str
    reason: str


class DeadLetters:
    """Dead-letters what the sink cannot write, with where it came from."""

    def __init__(self, publisher: Publisher, retrier: Retrier, metrics: SinkMetrics) -> None:
        self._publisher = publisher
        self._retrier = retrier
        self._metrics = metrics

    async def message(self, error: InvalidRecord, message: ConsumerRecord) -> None:
        """A polled message that cannot be written (undecodable, invalid, refused)."""
        await self._send(
            error, message.topic, message.partition, message.offset, message.key, message.value
        )

    async def refused(self, refusals: Sequence[Refusal], message: ConsumerRecord) -> None:
        """A polled message that one or more writers refuse for good (on ``add``): one
        dead letter naming each writer and its reason, so a message is in the DLQ once
        however many writers refused it."""
        await self.message(_rejected(*refusals), message)
        for refusal in refusals:
            self._metrics.records_rejected.labels(refusal.writer).inc()

    async def rejected(
        self, rejection: Rejection, key: bytes | None, *, deadline: float | None = None
    ) -> None:
        """A record a writer refused at flush time (``key``: its Kafka key). With a
        ``deadline`` (a revocation, the final checkpoint) sending gives up then."""
        error = _rejected(Refusal(rejection.writer, rejection.reason))
        origin = (rejection.topic, rejection.partition, rejection.offset)
        await self._send(error, *origin, key, rejection.raw, deadline=deadline)
        self._metrics.records_rejected.labels(rejection.writer).inc()

    async def _send(
        self,
        error: InvalidRecord,
        topic: str,
        partition: int,
        offset: int,
        key: bytes | None,
        payload: bytes | None,
        *,
        deadline: float | None = None,
    ) -> None:
        origin = topic_origin(topic, partition, offset, key)
        await self._retrier.run(
            lambda: self._publisher.dead_letter(
                error=error, payload=payload, origin=origin, key=key
            ),
            what=f"dead letter for {topic}[{partition}]@{offset}",
            operation="dead_letter",
            deadline=deadline,
        )
        self._metrics.dead_letters.labels(error.kind.value).inc()


def _rejected(*refusals: Refusal) -> InvalidRecord:
    """The one wording of a refusal, on ``add`` or at flush time: ``writer: reason``,
    joined by ``; `` when several writers refused the same message."""
    reason = "; ".join(f"{refusal.writer}: {refusal.reason}" for refusal in refusals)
    return InvalidRecord(ErrorKind.REJECTED, reason)
