"""A 429 pauses its whole host (the other sources of a site share its rate limit), but
the pause is no server's timeout: the whole-request deadline runs only once a request
may start, and a source that would wait out a long pause is not asked and is told why
(``rate_limited``: host paused, Retry-After), its next poll after the pause. Real
loopback server, real client and poller."""

from __future__ import annotations

import asyncio
import io
import random

from newswire.common.settings import FetcherSettings
from newswire.fetcher.clock import SystemClock
from newswire.fetcher.commands import fetch_once_to_stream
from newswire.fetcher.errors import FetchErrorKind
from newswire.fetcher.fetch.client import HttpClient
from newswire.fetcher.poller import Poller
from newswire.fetcher.sources import Source, SourceKind
from newswire.fetcher.state import SourceState
from tests.fetcher.server import FixtureServer, fixture, static

HEALTHY = ("a", "b", "c", "d", "e")


def one_host(server: FixtureServer) -> list[Source]:
    """The 429 source first, then five healthy feeds of the same host."""
    server.route("/429", static(b"", status=429, headers={"Retry-After": "120"}))
    sources = [Source(id="limited", name="L", kind=SourceKind.FEED, url=server.url("/429"))]
    for name in HEALTHY:
        url = server.route(f"/{name}", fixture("rss2.xml"))
        sources.append(Source(id=name, name=name, kind=SourceKind.FEED, url=url))
    return sources


async def test_after_a_429_the_hosts_other_sources_are_paused_not_timed_out(
    server: FixtureServer, fetcher_settings: FetcherSettings
) -> None:
    settings = fetcher_settings.model_copy(update={"per_host_concurrency": 1})
    limited, *healthy = one_host(server)
    async with HttpClient(settings) as http:
        poller = Poller(http, settings, clock=SystemClock(), rng=random.Random(1))
        first = await poller.poll(limited, SourceState("limited"))
        results = await asyncio.gather(*(poller.poll(s, SourceState(s.id)) for s in healthy))
    assert first.error is not None and first.error.status == 429
    for result in results:
        assert result.error is not None, result.summary()
        assert result.error.kind is FetchErrorKind.RATE_LIMITED, result.summary()
        assert result.error.detail.startswith("host paused (429, Retry-After 120 s; ")
        assert result.error.retry_after_s is not None and 100 < result.error.retry_after_s <= 120
        assert result.state.next_due_at >= result.state.last_attempt_at + 100, "after the pause"
    assert all(server.hits[f"/{name}"] == 0 for name in HEALTHY), "not asked during the pause"


async def test_fetch_once_reports_no_healthy_source_as_a_timeout(
    server: FixtureServer, fetcher_settings: FetcherSettings
) -> None:
    """The tester's run: one 429 among sources queued on one host (one request at a
    time, spaced), the deadline shorter than the queue. Before, the queued sources
    ended ``error=timeout detail='no complete response within 1.0s'``."""
    settings = fetcher_settings.model_copy(
        update={"per_host_concurrency": 1, "per_host_spacing_s": 0.3, "total_timeout_s": 1.0}
    )
    out, err = io.BytesIO(), io.StringIO()
    await fetch_once_to_stream(one_host(server), settings, out, err)
    lines = {line.split()[0]: line for line in err.getvalue().splitlines()}
    assert "error=rate_limited status=429" in lines["source=limited"]
    for name in HEALTHY:
        line = lines[f"source={name}"]
        assert "error=timeout" not in line
        assert "outcome=items" in line or "detail='host paused (429, Retry-After 120 s; " in line


async def test_the_deadline_starts_when_the_request_may_start(
    server: FixtureServer, fetcher_settings: FetcherSettings
) -> None:
    """Six healthy sources on one host spaced 0.5 s apart wait up to 2.5 s for their
    turn, longer than the 1 s whole-request deadline: none of them is a timeout."""
    settings = fetcher_settings.model_copy(
        update={"per_host_concurrency": 1, "per_host_spacing_s": 0.5, "total_timeout_s": 1.0}
    )
    sources = [s for s in one_host(server) if s.id != "limited"]
    sources.append(Source(id="f", name="f", kind=SourceKind.FEED, url=server.url("/a")))
    out, err = io.BytesIO(), io.StringIO()
    report = await fetch_once_to_stream(sources, settings, out, err)
    assert report.errors == 0, err.getvalue()


async def test_a_short_pause_is_waited_out_up_to_the_setting(
    server: FixtureServer, fetcher_settings: FetcherSettings
) -> None:
    """A 2 s Retry-After is waited out under the default FETCHER_HOST_PAUSE_MAX_WAIT_S
    (10 s): the host's other source is read after it. With the setting at 1 s, the same
    pause is not waited out: that source is told the host is paused."""
    server.route("/busy", static(b"", status=429, headers={"Retry-After": "2"}))
    limited = Source(id="busy", name="B", kind=SourceKind.FEED, url=server.url("/busy"))
    healthy = Source(
        id="a", name="a", kind=SourceKind.FEED, url=server.route("/a", fixture("rss2.xml"))
    )
    outcomes = []
    for wait in (fetcher_settings.host_pause_max_wait_s, 1.0):
        settings = fetcher_settings.model_copy(update={"host_pause_max_wait_s": wait})
        async with HttpClient(settings) as http:
            poller = Poller(http, settings, clock=SystemClock(), rng=random.Random(1))
            await poller.poll(limited, SourceState("busy"))
            outcomes.append(await poller.poll(healthy, SourceState("a")))
    waited, refused = outcomes
    assert fetcher_settings.host_pause_max_wait_s == 10.0
    assert waited.error is None and waited.records, waited.summary()
    assert refused.error is not None and refused.error.kind is FetchErrorKind.RATE_LIMITED
    assert refused.error.detail.startswith("host paused (429, Retry-After 2 s; ")
