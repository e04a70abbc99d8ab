"""Re-driving dead letters puts the original bytes back, once, and resumes."""

from __future__ import annotations

from newswire.common.errors import ErrorKind, InvalidRecord
from newswire.common.kafka import new_producer
from newswire.common.publish import Publisher
from newswire.common.records import topic_origin
from newswire.common.settings import Settings
from newswire.replay.dlq import LetterFilter, redrive
from tests.integration.conftest import read_topic


async def _dead_letter(
    settings: Settings, service: str, kind: ErrorKind, payload: bytes, key: bytes
) -> None:
    producer = new_producer(settings.kafka)
    await producer.start()
    try:
        publisher = Publisher(settings=settings, producer=producer, service=service)  # type: ignore[arg-type]
        origin = topic_origin(settings.topics.raw, 0, 7, key)
        await publisher.dead_letter(
            error=InvalidRecord(kind, "test"), payload=payload, origin=origin, key=key
        )
    finally:
        await producer.stop()


async def test_redrive_restores_bytes_filters_and_resumes(settings: Settings) -> None:
    await _dead_letter(settings, "enricher", ErrorKind.PROCESSING, b'{"fixed": "later"}', b"k1")
    await _dead_letter(settings, "enricher", ErrorKind.DECODE, b"\xffnot json", b"k2")
    await _dead_letter(settings, "sink", ErrorKind.PROCESSING, b"x" * 100_000, b"k3")  # truncated

    dry = await redrive(settings, only=LetterFilter(), dry_run=True)
    assert sum(dry.redriven.values()) == 2 and len(dry.skipped_truncated) == 1
    assert await read_topic(settings, settings.topics.raw, idle_ms=300) == []

    first = await redrive(settings, only=LetterFilter(kind="processing"))
    assert dict(first.redriven) == {settings.topics.raw: 1} and first.skipped_filtered == 1
    (message,) = await read_topic(settings, settings.topics.raw)
    assert (message.key, message.value) == (b"k1", b'{"fixed": "later"}')

    again = await redrive(settings, only=LetterFilter())
    assert sum(again.redriven.values()) == 0, (
        "a second run continues after the first, sends nothing twice"
    )
    assert len(await read_topic(settings, settings.topics.raw)) == 1
