"""Releasing sources while they are polled (a revoke): a poll still fetching is abandoned
and emits nothing; a poll delivering finishes; adopted sources are polled from the state
given."""

from __future__ import annotations

import asyncio
import io

from aiohttp import web

from newswire.common.settings import FetcherSettings
from newswire.fetcher.fetch.client import HttpClient
from newswire.fetcher.outputs import DeadLettered
from newswire.fetcher.records import RawRecord
from newswire.fetcher.service import stream_service
from newswire.fetcher.sources import Source, SourceKind
from newswire.fetcher.state import SourceState
from tests.fetcher.server import FixtureServer, fixture_bytes


def feed_source(server: FixtureServer, name: str) -> Source:
    return Source(
        id=name,
        name=name.upper(),
        kind=SourceKind.FEED,
        url=server.url(f"/{name}"),
        min_interval_s=0.1,
        max_interval_s=0.2,
    )


async def test_a_poll_still_fetching_is_abandoned_on_release(
    server: FixtureServer, http: HttpClient, fetcher_settings: FetcherSettings
) -> None:
    answering = asyncio.Event()
    release_it = asyncio.Event()

    async def slow(_request: web.Request) -> web.Response:
        answering.set()
        await release_it.wait()
        return web.Response(body=fixture_bytes("atom.xml"), content_type="application/atom+xml")

    server.route("/slow", slow)
    out = io.BytesIO()
    service = stream_service([], fetcher_settings, stream=out, http=http)
    stop = asyncio.Event()
    serving = asyncio.create_task(service.serve(stop))
    await service.adopt([feed_source(server, "slow")], {})
    await asyncio.wait_for(answering.wait(), 10)
    released = await asyncio.wait_for(service.release(["slow"]), 10)
    release_it.set()
    stop.set()
    report = await asyncio.wait_for(serving, 10)
    assert out.getvalue() == b"" and report.results == []
    assert released == {"slow": SourceState("slow")}  # nothing was saved: polled as new next
    assert service.sources == {} and service.states == {}


async def test_a_poll_that_outlives_its_release_is_counted_not_delivered(
    server: FixtureServer, http: HttpClient, fetcher_settings: FetcherSettings
) -> None:
    """A ``--once`` poll is not cancelled by a release (it is not a scheduled poll): it
    ends after the source left, delivers nothing, and what it read is counted on
    ``/metrics`` and in the run report instead of leaving only a log line."""
    answering = asyncio.Event()
    release_it = asyncio.Event()

    async def slow(_request: web.Request) -> web.Response:
        answering.set()
        await release_it.wait()
        return await _atom()

    server.route("/slow", slow)
    out = io.BytesIO()
    service = stream_service([feed_source(server, "slow")], fetcher_settings, stream=out, http=http)
    running = asyncio.create_task(service.run_once())
    await asyncio.wait_for(answering.wait(), 10)
    await asyncio.wait_for(service.release(["slow"]), 10)
    release_it.set()
    report = await asyncio.wait_for(running, 10)
    assert out.getvalue() == b"" and report.results == [] and report.records == 0
    assert (report.released_polls, report.released_items) == (1, 2)  # atom.xml has 2 entries
    sample = service.metrics.registry.get_sample_value
    assert sample("fetcher_items_released_total", {"kind": "feed"}) == 2
    assert sample("fetcher_polls_total", {"outcome": "released", "error_kind": ""}) == 1


class GatedSink:
    """A sink whose delivery waits for the test: the poll is past the point of no return."""

    def __init__(self) -> None:
        self.delivering = asyncio.Event()
        self.go = asyncio.Event()
        self.delivered: list[RawRecord] = []

    async def deliver(self, records: list[RawRecord]) -> list[DeadLettered]:
        self.delivering.set()
        await self.go.wait()
        self.delivered += records
        return []


async def test_a_poll_delivering_is_awaited_on_release(
    server: FixtureServer, http: HttpClient, fetcher_settings: FetcherSettings
) -> None:
    from newswire.fetcher.service import FetcherService
    from newswire.fetcher.statestore import MemoryStateStore

    server.route("/a", lambda _r: _atom())
    sink = GatedSink()
    store = MemoryStateStore()
    service = FetcherService([], fetcher_settings, sink=sink, store=store, http=http)
    stop = asyncio.Event()
    serving = asyncio.create_task(service.serve(stop))
    await service.adopt([feed_source(server, "a")], {})
    await asyncio.wait_for(sink.delivering.wait(), 10)
    releasing = asyncio.create_task(service.release(["a"]))
    await asyncio.sleep(0.2)
    assert not releasing.done()  # waits for the delivery
    sink.go.set()
    released = await asyncio.wait_for(releasing, 10)
    stop.set()
    await asyncio.wait_for(serving, 10)
    assert len(sink.delivered) == 2
    # the state handed on is the one saved after delivery: the next owner emits nothing again
    assert released["a"] == store.states["a"] and len(released["a"].seen) == 2
    hits = server.hits["/a"]
    await asyncio.sleep(0.5)
    assert server.hits["/a"] == hits  # released: not polled any more


async def test_adopted_sources_resume_from_the_state_given(
    server: FixtureServer, http: HttpClient, fetcher_settings: FetcherSettings
) -> None:
    server.route("/a", lambda _r: _atom())
    first = io.BytesIO()
    service = stream_service([], fetcher_settings, stream=first, http=http)
    stop = asyncio.Event()
    serving = asyncio.create_task(service.serve(stop))
    await service.adopt([feed_source(server, "a")], {})
    while not first.getvalue():  # noqa: ASYNC110 - a BytesIO has no event to await
        await asyncio.sleep(0.05)
    handed = await service.release(["a"])
    stop.set()
    await serving

    second = io.BytesIO()
    successor = stream_service([], fetcher_settings, stream=second, http=http)
    stop = asyncio.Event()
    serving = asyncio.create_task(successor.serve(stop))
    polled = server.hits["/a"]
    await successor.adopt([feed_source(server, "a")], handed)
    while server.hits["/a"] < polled + 2:  # noqa: ASYNC110 - the server only counts
        await asyncio.sleep(0.05)
    stop.set()
    await serving
    assert len(first.getvalue().splitlines()) == 2 and second.getvalue() == b""


async def _atom() -> web.Response:
    return web.Response(body=fixture_bytes("atom.xml"), content_type="application/atom+xml")
