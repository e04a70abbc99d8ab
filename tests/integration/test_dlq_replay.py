"""Re-driving dead letters puts the original bytes back, once, and resumes."""

from __future__ import annotations

from newswire.common.errors import ErrorKind, InvalidRecord
from newswire.common.kafka import new_producer
from newswire.common.publish import Publisher
from newswire.common.records import topic_origin
from newswire.common.settings import Settings
from newswire.replay.dlq import LetterFilter, redrive
from tests.integration.conftest import read_topic
from tests.integration.test_cli_errors import newswire


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


async def _produce(settings: Settings, topic: str, key: bytes, value: bytes) -> tuple[int, int]:
    producer = new_producer(settings.kafka)
    await producer.start()
    try:
        sent = await producer.send_and_wait(topic, value, key=key)
    finally:
        await producer.stop()
    return sent.partition, sent.offset


async def _cut_letter(settings: Settings, partition: int, offset: int, original: bytes) -> None:
    """A dead letter of the record at PARTITION:OFFSET of the raw topic, its payload cut."""
    producer = new_producer(settings.kafka)
    await producer.start()
    try:
        publisher = Publisher(settings=settings, producer=producer, service="enricher")
        origin = topic_origin(settings.topics.raw, partition, offset, b"big")
        await publisher.dead_letter(
            error=InvalidRecord(ErrorKind.PROCESSING, "test"), payload=original, origin=origin
        )
    finally:
        await producer.stop()


async def test_by_offset_sends_a_cut_letters_original_from_its_topic(settings: Settings) -> None:
    """Tester s9, finding 3: a truncated letter was only listed "for re-driving by
    offset", which no command did. The original is read at its position and sent
    again only if it is the record the letter cut (same SHA-256)."""
    original = b'{"big": "' + b"x" * 200_000 + b'"}'
    partition, offset = await _produce(settings, settings.topics.raw, b"big", original)
    await _cut_letter(settings, partition, offset, original)
    other = await _produce(settings, settings.topics.raw, b"other", b'{"other": 1}')
    await _cut_letter(settings, *other, original)  # points at a record that is not it
    await _cut_letter(settings, partition, 10_000, original)  # past the topic's end

    without = await redrive(settings, only=LetterFilter(), dry_run=True)
    assert sum(without.redriven.values()) == 0 and len(without.skipped_truncated) == 3
    assert all("dlq replay --by-offset" in advice for advice in without.advice)

    dry = await redrive(settings, only=LetterFilter(), dry_run=True, by_offset=True)
    assert dict(dry.redriven) == {settings.topics.raw: 1}
    assert len(dry.skipped_truncated) == 2
    assert "not the one this letter cut (its SHA-256 differs)" in dry.skipped_truncated[0]
    assert (
        f"no record at offset 10000 of {settings.topics.raw}[{partition}]"
        in (dry.skipped_truncated[1])
    )

    result = newswire(settings, "dlq", "replay", "--by-offset")
    assert (result.returncode, result.stderr) == (0, ""), result.stderr
    assert result.stdout.splitlines()[:3] == [
        "re-drove 1 dead letters",
        f"  -> {settings.topics.raw}: 1",
        "skipped: 0 filtered out, 2 truncated, 0 with no topic, 0 unreadable",
    ]
    raw = await read_topic(settings, settings.topics.raw)
    assert sorted((m.key, m.value) for m in raw) == [
        (b"big", original),
        (b"big", original),  # the original once more, under its own key
        (b"other", b'{"other": 1}'),  # nothing else
    ]
