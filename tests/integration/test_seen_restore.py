"""The dedupe table, kept as one delta per batch and partition (enricher/seen.py), comes
back after a SIGKILL and after a rebalance: articles read again are redeliveries, never
new emissions. Real broker, real Faust workers as child processes."""

from __future__ import annotations

import random
import signal
from collections.abc import Callable
from pathlib import Path

import httpx
import orjson

from newswire.common.kafka import (
    caught_up,
    committed_offsets,
    end_offsets,
)
from newswire.common.records import raw_article
from newswire.common.settings import Settings
from tests.integration.conftest import ServiceProcess, eventually, produce_raw, read_topic

ARTICLES = 12


def _articles() -> list[dict]:
    """Distinct articles (unrelated texts), spread over the partitions by their ids."""
    rng = random.Random(13)
    words = [f"{a}{b}" for a in ("har", "dock", "crane", "tide", "port") for b in "aeiouyrst"]
    return [
        raw_article(
            source={"kind": "replay", "ref": f"seen-{n}.txt"},
            title=f"Report {n}",
            text=" ".join(rng.choices(words, k=300)),
        )
        for n in range(ARTICLES)
    ]


async def _all_committed(settings: Settings, *services: ServiceProcess) -> None:
    """Until the group has committed everything on news.raw (every record settled)."""
    targets = await end_offsets(settings.kafka, settings.topics.raw)

    async def done() -> bool:
        for service in services:
            service.assert_running()
        return caught_up(
            await committed_offsets(settings.kafka, settings.enricher.app_id, targets), targets
        )

    await eventually(done, timeout_s=120)


async def _emitted(settings: Settings) -> list[str]:
    """The ids on news.enriched, sorted, one per record emitted."""
    messages = await read_topic(settings, settings.topics.enriched, idle_ms=500)
    return sorted(orjson.loads(m.value)["id"] for m in messages)


def _ready(service: ServiceProcess) -> bool:
    service.assert_running()
    try:
        response = httpx.get(service.url("ENRICHER_WEB_PORT", "/readyz"), timeout=1.0)
    except httpx.HTTPError:
        return False
    return response.status_code == 200


async def test_dedupe_survives_a_sigkill(
    settings: Settings, spawn: Callable[[str, Settings], ServiceProcess]
) -> None:
    """Killed without a chance to flush anything more: what was committed had its deltas
    on the changelog first, and the worker started after it rebuilds the index."""
    articles = _articles()
    ids = sorted(article["id"] for article in articles)
    enricher = spawn("enrich", settings)
    await produce_raw(settings, articles)
    await _all_committed(settings, enricher)
    assert await _emitted(settings) == ids
    enricher.stop(signal.SIGKILL)

    restarted = spawn("enrich", settings)
    await produce_raw(settings, articles)  # the same bytes again: redeliveries
    await _all_committed(settings, restarted)
    assert await _emitted(settings) == ids, "nothing emitted twice"


async def test_dedupe_survives_a_rebalance(
    settings: Settings, spawn: Callable[[str, Settings], ServiceProcess], tmp_path: Path
) -> None:
    """A second worker joins and takes partitions whose articles the first one saw: it
    rebuilds their entries from the changelog. Then it leaves, and the first takes
    them back (its own index is rebuilt too)."""
    articles = _articles()
    ids = sorted(article["id"] for article in articles)
    first = spawn("enrich", settings)
    await produce_raw(settings, articles)
    await _all_committed(settings, first)

    other = settings.model_copy(
        update={"enricher": settings.enricher.model_copy(update={"data_dir": tmp_path / "b"})}
    )
    second = spawn("enrich", other)

    async def both_ready() -> bool:
        return _ready(first) and _ready(second)

    await eventually(both_ready, timeout_s=120)
    await produce_raw(settings, articles)
    await _all_committed(settings, first, second)
    assert await _emitted(settings) == ids, "nothing emitted twice"

    second.stop(signal.SIGTERM)
    await eventually(lambda: _async_ready(first), timeout_s=120)
    await produce_raw(settings, articles)
    await _all_committed(settings, first)
    assert await _emitted(settings) == ids, "nothing emitted twice"


async def _async_ready(service: ServiceProcess) -> bool:
    return _ready(service)
