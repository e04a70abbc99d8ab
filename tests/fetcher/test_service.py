"""The scheduling loop, metrics and the health endpoints."""

from __future__ import annotations

import asyncio
import io
import random

import aiohttp

from newswire.common.settings import FetcherSettings
from newswire.fetcher.fetch.client import HttpClient
from newswire.fetcher.metrics import FetcherMetrics, health_server
from newswire.fetcher.service import stream_service
from newswire.fetcher.sources import Source, SourceKind
from tests.fetcher.server import FixtureServer, conditional, fixture, fixture_bytes, static


async def test_the_loop_polls_each_source_on_its_schedule(
    server: FixtureServer, http: HttpClient, fetcher_settings: FetcherSettings
) -> None:
    server.route("/a", conditional(fixture_bytes("atom.xml"), etag='"a"'))  # no ttl hint
    server.route("/b", static(b"", status=503))
    sources = [
        Source(
            id=name,
            name=name.upper(),
            kind=SourceKind.FEED,
            url=server.url(f"/{name}"),
            min_interval_s=0.2,
            max_interval_s=0.3,
        )
        for name in ("a", "b")
    ]
    settings = fetcher_settings.model_copy(update={"backoff_base_s": 0.1, "backoff_cap_s": 0.4})
    out = io.BytesIO()
    service = stream_service(sources, settings, stream=out, http=http, rng=random.Random(2))
    stop = asyncio.Event()

    async def stop_after_polls() -> None:
        # ASYNC110: the fixture server only counts hits; it has no event to await.
        while server.hits["/a"] < 3 or server.hits["/b"] < 3:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        stop.set()

    stopper = asyncio.create_task(stop_after_polls())
    report = await asyncio.wait_for(service.run(stop), timeout=20)
    await stopper
    outcomes = [r.outcome for r in report.results if r.source.id == "a"]
    assert outcomes[0] == "items" and set(outcomes[1:]) == {"not_modified"}
    assert len(out.getvalue().splitlines()) == 2  # each item once, however many polls
    assert service.states["b"].failures >= 3 and service.states["b"].status.value == "failing"
    for result in report.results:  # every next poll was scheduled within bounds (plus jitter)
        gap = result.state.next_due_at - (result.state.last_attempt_at or 0)
        assert gap >= 0.1


async def test_metrics_and_health_endpoints(
    server: FixtureServer, http: HttpClient, fetcher_settings: FetcherSettings
) -> None:
    server.route("/a", fixture("atom.xml"))
    metrics = FetcherMetrics()
    sources = [Source(id="a", name="A", kind=SourceKind.FEED, url=server.url("/a"))]
    service = stream_service(
        sources, fetcher_settings, stream=io.BytesIO(), http=http, metrics=metrics
    )
    async with (
        health_server(metrics, "127.0.0.1", 0) as web,
        aiohttp.ClientSession(web.url) as client,
    ):
        assert (await client.get("/healthz")).status == 200
        assert (await client.get("/readyz")).status == 503
        await service.run_once()
        assert (await client.get("/readyz")).status == 200
        text = await (await client.get("/metrics")).text()
    assert 'fetcher_requests_total{status_class="2xx"} 1.0' in text
    assert 'fetcher_items_emitted_total{kind="feed"} 2.0' in text
    assert 'fetcher_sources{state="ok"} 1.0' in text
    assert "fetcher_fetch_seconds_bucket" in text and "fetcher_silent_sources 0.0" in text
