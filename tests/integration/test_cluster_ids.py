"""Cluster ids through the real worker and broker (tester s8 finding 1): a copy, then
its earlier original, then a second copy. The original becomes the head inside the
copy's cluster; the second copy keeps that cluster's id and reports no merge."""

from __future__ import annotations

import signal
from collections.abc import Callable

import orjson
import pytest

from newswire.common.kafka import create_missing_topics
from newswire.common.settings import Settings
from newswire.common.topics import declared_topics
from tests.conftest import FIXTURES, SettingsFactory
from tests.integration.conftest import ServiceProcess, eventually, produce_raw, read_topic

#: The tester's records (published 10:00, 02:00, 15:00), in the order they arrived.
RECORDS = [
    orjson.loads(line)
    for line in (FIXTURES / "enricher" / "clusters" / "copy_original_copy.jsonl")
    .read_text()
    .splitlines()
]
#: The tester's partition count: with it the original has band keys on a band
#: partition the first copy has none on (with 3 they share them all).
PARTITIONS = 6


@pytest.mark.parametrize("before_copy2", ["running", "SIGKILL"])
async def test_a_copy_after_its_late_original_keeps_the_cluster_id(
    make_settings: SettingsFactory,
    spawn: Callable[[str, Settings], ServiceProcess],
    before_copy2: str,
) -> None:
    """With BEFORE_COPY2 = SIGKILL the enricher is killed before the second copy and a
    new one started: the band buckets and their cluster books come back from the
    deltas' changelog and must give the same answer."""
    base = make_settings()
    settings = make_settings(
        topics=base.topics.model_copy(update={"partitions": PARTITIONS}),
        enricher=base.enricher,
    )
    await create_missing_topics(settings.kafka, declared_topics(settings))
    enricher = spawn("enrich", settings)

    async def enriched(n: int) -> list:
        enricher.assert_running()
        messages = await read_topic(settings, settings.topics.enriched, idle_ms=300)
        return messages if len(messages) >= n else []

    for n, record in enumerate(RECORDS, start=1):
        if n == 3 and before_copy2 == "SIGKILL":
            enricher.stop(signal.SIGKILL)
            enricher = spawn("enrich", settings)
        await produce_raw(settings, [record])
        await eventually(lambda n=n: enriched(n), timeout_s=90)  # type: ignore[misc]
    messages = await enriched(3)
    out = {r["source"]["ref"]: r["dedupe"] for r in (orjson.loads(m.value) for m in messages)}
    copy1, original = RECORDS[0]["id"], RECORDS[1]["id"]

    assert out["D-copy1"]["cluster_id"] == copy1 and out["D-copy1"]["role"] == "head"
    assert out["D-orig"]["status"] == "new" and out["D-orig"]["role"] == "head"
    assert out["D-orig"]["cluster_id"] == copy1 and out["D-orig"]["head_id"] == original
    late = out["D-copy2"]
    assert late["status"] == "near_duplicate" and late["role"] == "member"
    assert late["cluster_id"] == copy1, "the cluster id formed first stays"
    assert late["merged_clusters"] == [], "no merge: there was one cluster all along"
    assert late["head_id"] == late["duplicate_of"] == original
