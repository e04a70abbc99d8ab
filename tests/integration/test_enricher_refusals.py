"""On the real broker and the real enricher: an article whose enriched record the
cluster cannot take is dead-lettered and *not* remembered as seen, so its next version
goes out as the story's first (``new``), not as an update of a story never sent."""

from __future__ import annotations

from collections.abc import Callable

import orjson

from newswire.common.kafka import caught_up, committed_offsets, new_producer
from newswire.common.records import encode, raw_article
from newswire.common.settings import Settings
from tests.integration.conftest import ServiceProcess, eventually, read_topic

URL = "https://example.com/a-story-that-shrinks"


def version(words: int) -> bytes:
    text = "A story that shrinks. " + " ".join(f"word{j}" for j in range(words))
    return encode(raw_article(source={"kind": "replay", "ref": "v.txt"}, text=text, url=URL))


async def produce_and_wait(
    settings: Settings, enricher: ServiceProcess, key: bytes, value: bytes
) -> None:
    """Produce one raw record and wait until the enricher has committed past it."""
    producer = new_producer(settings.kafka)
    await producer.start()
    try:
        sent = await (await producer.send(settings.topics.raw, value, key=key))
    finally:
        await producer.stop()
    targets = {sent.topic_partition: sent.offset + 1}

    async def committed() -> bool:
        enricher.assert_running()
        found = await committed_offsets(settings.kafka, settings.enricher.app_id, targets)
        return caught_up(found, targets)

    assert await eventually(committed, timeout_s=90)


async def test_the_version_after_one_too_large_to_send_is_new(
    settings: Settings, spawn: Callable[[str, Settings], ServiceProcess]
) -> None:
    big, small = version(20_000), version(50)
    key = orjson.loads(big)["id"].encode()
    assert orjson.loads(small)["id"].encode() == key
    # The raw record fits; the enriched one (raw fields plus language, topics, dedupe and
    # the record framing the enricher counts) does not.
    limit = max(64 * 1024, len(big) + 200)
    assert len(big) < limit
    tight = settings.model_copy(
        update={"kafka": settings.kafka.model_copy(update={"max_message_bytes": limit})}
    )
    enricher = spawn("enrich", tight)
    await produce_and_wait(settings, enricher, key, big)
    await produce_and_wait(settings, enricher, key, small)

    letters = [orjson.loads(m.value) for m in await read_topic(settings, settings.topics.dlq)]
    assert [letter["kind"] for letter in letters] == ["too_large"]
    enriched = [orjson.loads(m.value) for m in await read_topic(settings, settings.topics.enriched)]
    assert [(r["id"], r["dedupe"]["status"]) for r in enriched] == [(key.decode(), "new")]
