"""On the real broker and the real enricher: an article whose enriched record the
cluster cannot take is dead-lettered and *not* remembered as seen, so its next version
goes out as the story's first (``new``), not as an update of a story never sent; one
the schema refuses does not join the band buckets either, and one too large to send
is withdrawn from them (also across a restart), so its near-copy is not dropped as a
copy of a story never sent."""

from __future__ import annotations

import json
from base64 import b64decode
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from newswire.common.kafka import caught_up, committed_offsets, new_producer
from newswire.common.records import encode, raw_article
from newswire.common.settings import Settings
from tests.conftest import FIXTURES
from tests.integration.conftest import ServiceProcess, eventually, read_topic
from tests.integration.refusing_enricher import MARK

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


def _near_pairs() -> list[dict[str, Any]]:
    lines = (FIXTURES / "eval" / "near_duplicates.jsonl").read_text().splitlines()
    return [p for p in map(json.loads, lines) if p["variation"] == "dateline"]


def _story(url: str, title: str, text: str, minute: int) -> bytes:
    """Published at MINUTE: the story order is the order made (a copy is the later)."""
    return encode(
        raw_article(
            source={"kind": "feed", "id": "test"},
            url=url,
            title=title,
            text=text,
            published_at=f"2026-03-01T08:{minute:02d}:00Z",
        )
    )


async def test_a_near_copy_of_a_record_the_schema_refused_is_delivered(
    settings: Settings, tmp_path: Path
) -> None:
    """A stage bug makes the first article's enriched record one the schema refuses
    (refusing_enricher.py): it is dead-lettered, and its later near-copy must go out,
    not be dropped (drop_duplicates) as a copy of a story nobody downstream has. The
    control pair, whose first article is sent, shows the copy would be dropped."""
    refused_pair, sent_pair = _near_pairs()[:2]
    refused = _story(
        "https://a.example/1", f"{MARK} {refused_pair['a']['title']}", refused_pair["a"]["text"], 0
    )
    its_copy = _story(
        "https://b.example/1", refused_pair["b"]["title"], refused_pair["b"]["text"], 1
    )
    sent = _story("https://a.example/2", sent_pair["a"]["title"], sent_pair["a"]["text"], 2)
    sent_copy = _story("https://b.example/2", sent_pair["b"]["title"], sent_pair["b"]["text"], 3)
    dropping = settings.model_copy(
        update={"enricher": settings.enricher.model_copy(update={"drop_duplicates": True})}
    )
    enricher = ServiceProcess(
        "enrich", dropping, tmp_path / "enrich.log", module="tests.integration.refusing_enricher"
    )
    try:
        for value in (refused, its_copy, sent, sent_copy):  # one batch each, in this order
            await produce_and_wait(settings, enricher, orjson.loads(value)["id"].encode(), value)
    finally:
        enricher.stop()

    letters = [orjson.loads(m.value) for m in await read_topic(settings, settings.topics.dlq)]
    assert [
        (letter["kind"], b64decode(letter["origin"]["key_b64"]).decode()) for letter in letters
    ] == [("schema", orjson.loads(refused)["id"])]
    enriched = [orjson.loads(m.value) for m in await read_topic(settings, settings.topics.enriched)]
    assert {r["id"]: r["dedupe"]["status"] for r in enriched} == {
        orjson.loads(its_copy)["id"]: "new",
        orjson.loads(sent)["id"]: "new",
    }, "the refused story's copy is delivered; the sent story's copy is dropped"
    assert len(enriched) == 2


def _long_story(url: str, word: str, words: int, minute: int) -> bytes:
    text = f"A long story about {word}. " + " ".join(f"{word}{j}" for j in range(words))
    return _story(url, f"The {word} story", text, minute)


async def test_a_near_copy_of_a_record_too_large_to_send_is_delivered_also_after_a_restart(
    settings: Settings, spawn: Callable[[str, Settings], ServiceProcess]
) -> None:
    """Each long story's enriched record is over the message limit: dead-lettered
    ``too_large`` after it joined the band buckets. Its near-copy (the same text less
    its last thousand words: it fits) must then go out, not be dropped (drop_duplicates)
    as a copy of a story nobody downstream has: the worker withdrew the refused article
    from the buckets. The second story's copy comes after a restart, to a worker whose
    buckets are rebuilt from the changelog, withdrawal included."""
    first, second = (
        _long_story("https://a.example/1", "alpha", 20_000, 0),
        _long_story("https://a.example/2", "omega", 20_000, 2),
    )
    first_copy = _long_story("https://b.example/1", "alpha", 19_000, 1)
    second_copy = _long_story("https://b.example/2", "omega", 19_000, 3)
    limit = max(64 * 1024, len(first) + 200, len(second) + 200)
    assert max(len(first_copy), len(second_copy)) + 4096 < limit
    tight = settings.model_copy(
        update={
            "kafka": settings.kafka.model_copy(update={"max_message_bytes": limit}),
            "enricher": settings.enricher.model_copy(update={"drop_duplicates": True}),
        }
    )

    def key(value: bytes) -> bytes:
        return orjson.loads(value)["id"].encode()

    enricher = spawn("enrich", tight)
    for value in (first, first_copy, second):  # one batch each, in this order
        await produce_and_wait(settings, enricher, key(value), value)
    enricher.stop()
    restarted = spawn("enrich", tight)
    await produce_and_wait(settings, restarted, key(second_copy), second_copy)

    letters = [orjson.loads(m.value) for m in await read_topic(settings, settings.topics.dlq)]
    assert sorted(
        (letter["kind"], b64decode(letter["origin"]["key_b64"])) for letter in letters
    ) == sorted([("too_large", key(first)), ("too_large", key(second))])
    enriched = [orjson.loads(m.value) for m in await read_topic(settings, settings.topics.enriched)]
    assert sorted((r["id"].encode(), r["dedupe"]["status"]) for r in enriched) == sorted(
        [(key(first_copy), "new"), (key(second_copy), "new")]
    ), "both copies delivered (on several partitions: in no particular order)"
