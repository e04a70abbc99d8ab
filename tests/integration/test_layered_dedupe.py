"""Layered dedupe on the real worker: copies under other ids meet across partitions."""

from __future__ import annotations

import itertools
import json
import signal
from collections.abc import Callable

import orjson
import pytest
from aiokafka.partitioner import DefaultPartitioner

from newswire.common.records import raw_article
from newswire.common.settings import Settings
from tests.conftest import FIXTURES
from tests.integration.conftest import ServiceProcess, eventually, produce_raw, read_topic

PAIRS = [
    json.loads(line)
    for line in (FIXTURES / "eval" / "near_duplicates.jsonl").read_text().splitlines()
]


def _pair(variation: str, *, near: bool) -> dict:
    return next(p for p in PAIRS if p["variation"] == variation and p["near_duplicate"] is near)


_published = itertools.count()


def _article(url: str, title: str, text: str) -> dict:
    """Published a minute after the article made before it: the story order is the order
    made (fetch times alone can tie within a millisecond, and ties go by id)."""
    minute = next(_published)
    return raw_article(
        source={"kind": "feed", "id": "test"},
        url=url,
        title=title,
        text=text,
        published_at=f"2026-03-01T{minute // 60:02d}:{minute % 60:02d}:00Z",
    )


def _on_another_partition(first: dict, make: Callable[[int], dict], partitions: int) -> dict:
    """A variant of MAKE whose id lands on another partition than FIRST's."""
    partitioner = DefaultPartitioner()
    home = partitioner(first["id"].encode(), list(range(partitions)), list(range(partitions)))
    for n in range(100):
        candidate = make(n)
        if (
            partitioner(candidate["id"].encode(), list(range(partitions)), list(range(partitions)))
            != home
        ):
            return candidate
    raise AssertionError("no id on another partition")


@pytest.mark.parametrize("between", ["running", "SIGKILL"])
async def test_copies_under_other_urls_are_marked_across_partitions(
    settings: Settings, spawn: Callable[[str, Settings], ServiceProcess], between: str
) -> None:
    """With BETWEEN = SIGKILL the enricher is killed after the first copies and a new
    one started: the band buckets must come back from their deltas' changelog."""
    parts = settings.topics.partitions
    original = _pair("dateline", near=True)
    independent = _pair("independent_report", near=False)
    first = _article(
        "https://outlet-a.example/story", original["a"]["title"], original["a"]["text"]
    )
    exact = _on_another_partition(
        first,
        lambda n: _article(
            f"https://outlet-b.example/s/{n}", "Another headline", original["a"]["text"]
        ),
        parts,
    )
    rewrite = _on_another_partition(
        first,
        lambda n: _article(
            f"https://outlet-c.example/r/{n}", original["b"]["title"], original["b"]["text"]
        ),
        parts,
    )
    own_report_a = _article(
        "https://outlet-d.example/own", independent["a"]["title"], independent["a"]["text"]
    )
    own_report_b = _article(
        "https://outlet-e.example/own", independent["b"]["title"], independent["b"]["text"]
    )

    enricher = spawn("enrich", settings)
    await produce_raw(settings, [first, own_report_a])  # first copies are in before their rewrites

    async def firsts_enriched() -> bool:
        enricher.assert_running()
        return len(await read_topic(settings, settings.topics.enriched, idle_ms=300)) >= 2

    await eventually(firsts_enriched, timeout_s=90)
    if between == "SIGKILL":
        enricher.stop(signal.SIGKILL)
        enricher = spawn("enrich", settings)
    await produce_raw(settings, [exact, rewrite, own_report_b])

    async def all_enriched() -> list:
        enricher.assert_running()
        messages = await read_topic(settings, settings.topics.enriched, idle_ms=300)
        return messages if len(messages) >= 5 else []

    records = {
        r["id"]: r["dedupe"]
        for r in (orjson.loads(m.value) for m in await eventually(all_enriched, timeout_s=90))
    }
    assert records[first["id"]]["status"] == "new"
    assert records[exact["id"]]["status"] == "duplicate"
    assert records[exact["id"]]["duplicate_of"] == records[exact["id"]]["cluster_id"] == first["id"]
    assert records[rewrite["id"]]["status"] == "near_duplicate"
    assert records[rewrite["id"]]["duplicate_of"] == first["id"]
    # similarity is the containment estimate: a rewrite may be wholly contained (1.0)
    assert 0.5 <= records[rewrite["id"]]["similarity"] <= 1.0
    assert records[own_report_a["id"]]["status"] == "new"
    assert records[own_report_b["id"]]["status"] == "new", (
        "independent reports of one event are different articles"
    )


async def test_dropping_duplicates_is_a_setting(
    settings: Settings, spawn: Callable[[str, Settings], ServiceProcess]
) -> None:
    settings = settings.model_copy(
        update={"enricher": settings.enricher.model_copy(update={"drop_duplicates": True})}
    )
    original = _pair("headline", near=True)
    first = _article("https://outlet-a.example/one", original["a"]["title"], original["a"]["text"])
    copy = _article("https://outlet-b.example/two", original["b"]["title"], original["b"]["text"])
    enricher = spawn("enrich", settings)
    from newswire.common.kafka import caught_up, committed_offsets, end_offsets

    async def processed() -> bool:
        enricher.assert_running()
        targets = await end_offsets(settings.kafka, settings.topics.raw)
        return caught_up(
            await committed_offsets(settings.kafka, settings.enricher.app_id, targets), targets
        )

    # One after the other: the copy (fetched later) is a copy of the original only if the
    # original is in the buckets; an original processed after its copy is its head and
    # is never dropped (tests/integration: the late original, below).
    await produce_raw(settings, [first])
    await eventually(processed, timeout_s=90)
    await produce_raw(settings, [copy])
    await eventually(processed, timeout_s=90)
    emitted = [
        orjson.loads(m.value)["id"] for m in await read_topic(settings, settings.topics.enriched)
    ]
    assert emitted == [first["id"]], "the original is emitted, its later copy dropped"


async def test_an_original_processed_after_its_rewrite_is_the_head_of_its_cluster(
    settings: Settings, spawn: Callable[[str, Settings], ServiceProcess]
) -> None:
    """The issue's run: the rewrite reaches the enricher first, on another partition."""
    pair = _pair("dateline", near=True)
    original = raw_article(
        source={"kind": "feed", "id": "wire"},
        url="https://wire.example/story",
        title=pair["a"]["title"],
        text=pair["a"]["text"],
        published_at="2026-03-01T08:00:00Z",
    )

    def rewrite_of(n: int) -> dict:
        return raw_article(
            source={"kind": "feed", "id": "outlet"},
            url=f"https://outlet.example/r/{n}",
            title=pair["b"]["title"],
            text=pair["b"]["text"],
            published_at="2026-03-01T09:30:00Z",
        )

    rewrite = _on_another_partition(original, rewrite_of, settings.topics.partitions)
    enricher = spawn("enrich", settings)

    async def enriched(n: int) -> list:
        enricher.assert_running()
        messages = await read_topic(settings, settings.topics.enriched, idle_ms=300)
        return messages if len(messages) >= n else []

    await produce_raw(settings, [rewrite])
    await eventually(lambda: enriched(1), timeout_s=90)
    await produce_raw(settings, [original])
    messages = await eventually(lambda: enriched(2), timeout_s=90)
    records = {r["id"]: r["dedupe"] for r in (orjson.loads(m.value) for m in messages)}
    head, copy = records[original["id"]], records[rewrite["id"]]
    assert copy["status"] == "new" and copy["role"] == "head", "first seen: nothing earlier"
    assert copy["cluster_id"] == rewrite["id"]
    assert head["status"] == "new", "the original is nobody's copy"
    assert head["duplicate_of"] is None
    assert head["role"] == "head" and head["head_id"] == original["id"]
    assert head["cluster_id"] == rewrite["id"], "the cluster id formed first stays"
    assert 0.5 <= head["similarity"] <= 1.0 and head["merged_clusters"] == []  # containment
