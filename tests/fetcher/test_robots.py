"""robots.txt against the real loopback server: rules, RFC 9309 status handling, the
cache, Crawl-delay, the per-source override, and broken robots.txt files (huge, slow,
binary, redirect loops) treated as allow with one warning and a metric."""

from __future__ import annotations

import logging
import random
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from newswire.common.settings import FetcherSettings
from newswire.fetcher.clock import ManualClock
from newswire.fetcher.errors import FetchErrorKind
from newswire.fetcher.fetch.client import HttpClient
from newswire.fetcher.fetch.robots import RobotsResult, product_token
from newswire.fetcher.metrics import FetcherMetrics
from newswire.fetcher.poller import Poller, PollResult
from newswire.fetcher.sources import Source, SourceKind
from newswire.fetcher.state import SourceState, SourceStatus
from tests.fetcher.server import (
    FixtureServer,
    encoded,
    fixture,
    redirect,
    sequence,
    stall,
    static,
)

OURS = "User-agent: newswire-fetcher\n"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(start=1_793_700_000.0)


@pytest.fixture
def robots_settings(fetcher_settings: FetcherSettings) -> FetcherSettings:
    return fetcher_settings.model_copy(update={"robots_timeout_s": 1.0})


@pytest.fixture
async def robots_http(
    robots_settings: FetcherSettings, clock: ManualClock
) -> AsyncIterator[HttpClient]:
    """Per-host waits (Crawl-delay, a 429's pause) pass on the manual clock, not for real."""
    async with HttpClient(robots_settings, clock=clock) as client:
        yield client


@pytest.fixture
def poller(robots_http: HttpClient, robots_settings: FetcherSettings, clock: ManualClock) -> Poller:
    return Poller(robots_http, robots_settings, clock=clock, rng=random.Random(7))


def feed_source(url: str, **kwargs: Any) -> Source:
    return Source(
        id=kwargs.pop("id", "src"), name="Source", kind=SourceKind.FEED, url=url, **kwargs
    )


def robots(server: FixtureServer, text: str | bytes, **kwargs: Any) -> None:
    server.route("/robots.txt", static(text, "text/plain", **kwargs))


async def poll(poller: Poller, url: str, **kwargs: Any) -> PollResult:
    return await poller.poll(feed_source(url, **kwargs), SourceState("src"))


def metric(metrics: FetcherMetrics, name: str, **labels: str) -> float:
    return metrics.registry.get_sample_value(name, labels) or 0.0


# --- rules ---------------------------------------------------------------------------


async def test_a_disallowed_feed_is_never_requested(server: FixtureServer, poller: Poller) -> None:
    robots(server, f"{OURS}Disallow: /private/\n")
    url = server.route("/private/feed", fixture("rss2.xml"))
    result = await poll(poller, url)
    assert result.outcome == "error" and result.error is not None
    assert result.error.kind is FetchErrorKind.ROBOTS_DISALLOWED
    assert "robots.txt disallows /private/feed for newswire-fetcher" in result.summary()
    assert result.state.status is SourceStatus.ROBOTS_DISALLOWED
    assert server.hits["/private/feed"] == 0
    allowed = await poll(poller, server.route("/public/feed", fixture("rss2.xml")))
    assert allowed.outcome == "items"
    assert server.hits["/robots.txt"] == 1  # cached per host


@pytest.mark.parametrize(
    ("text", "path", "allowed"),
    [
        (f"{OURS}Disallow: /*.xml$\n", "/feed.xml", False),
        (f"{OURS}Disallow: /*.xml$\n", "/feed.xml?x=1", True),
        (f"{OURS}Disallow: /\nAllow: /news/\n", "/news/feed", True),
        ("User-agent: *\nDisallow: /\n", "/feed", False),
        (f"User-agent: *\nDisallow: /\n\n{OURS}Allow: /\n", "/feed", True),
        ("User-agent: otherbot\nDisallow: /\n", "/feed", True),
        ("", "/feed", True),
    ],
)
async def test_rules_for_our_product_token_with_wildcards(
    server: FixtureServer, poller: Poller, text: str, path: str, allowed: bool
) -> None:
    robots(server, text)
    server.route(path.split("?")[0], fixture("rss2.xml"))
    result = await poll(poller, server.url(path))
    assert (result.outcome == "items") is allowed
    assert (server.hits[path.split("?")[0]] == 1) is allowed


def test_the_product_token_is_the_user_agent_up_to_its_version() -> None:
    assert product_token("newswire-fetcher/0.1 (news ingestion)") == "newswire-fetcher"
    assert product_token("plainbot") == "plainbot"


async def test_disallowed_article_pages_keep_what_the_listing_says(
    server: FixtureServer, poller: Poller
) -> None:
    from tests.fetcher.server import article_a1_selectors

    robots(server, f"{OURS}Disallow: /news/\n")
    server.route("/news/a1", fixture("article-a1.html", "text/html"))
    listing = server.route("/list", static('<a class="x" href="/news/a1">A1</a>', "text/html"))
    source = Source(
        id="h",
        name="H",
        kind=SourceKind.HTML,
        url=listing,
        selectors=article_a1_selectors("a.x"),
    )
    result = await poller.poll(source, SourceState("h"))
    assert result.outcome == "items" and [r.value["title"] for r in result.records] == ["A1"]
    assert server.hits["/news/a1"] == 0


# --- RFC 9309 2.3.1: what a status means ----------------------------------------------


@pytest.mark.parametrize("status", [404, 403, 401, 410])
async def test_an_unavailable_robots_txt_allows_everything(
    server: FixtureServer, poller: Poller, status: int
) -> None:
    robots(server, "User-agent: *\nDisallow: /\n", status=status)
    result = await poll(poller, server.route("/feed", fixture("rss2.xml")))
    assert result.outcome == "items"
    assert [(f.result, f.reason) for f in result.robots_fetches] == [
        (RobotsResult.UNAVAILABLE, f"http_{status}")
    ]


@pytest.mark.parametrize("status", [500, 503, 429])
async def test_an_unreachable_robots_txt_disallows_until_it_answers(
    server: FixtureServer, poller: Poller, clock: ManualClock, status: int
) -> None:
    server.route(
        "/robots.txt",
        sequence(static("down", status=status), static(f"{OURS}Disallow:\n", "text/plain")),
    )
    url = server.route("/feed", fixture("rss2.xml"))
    first = await poll(poller, url)
    assert first.error is not None and first.error.kind is FetchErrorKind.ROBOTS_DISALLOWED
    assert "unreachable" in first.error.detail and server.hits["/feed"] == 0
    assert [(f.result, f.reason) for f in first.robots_fetches] == [
        (RobotsResult.UNREACHABLE, f"http_{status}")
    ]
    clock.advance(60)  # within FETCHER_ROBOTS_RETRY_S: still disallowed, not asked again
    assert (await poll(poller, url)).outcome == "error" and server.hits["/robots.txt"] == 1
    clock.advance(600)
    assert (await poll(poller, url)).outcome == "items"
    assert server.hits["/robots.txt"] == 2


async def test_an_unreachable_robots_txt_keeps_the_rules_fetched_before(
    server: FixtureServer, poller: Poller, clock: ManualClock
) -> None:
    server.route(
        "/robots.txt",
        sequence(static(f"{OURS}Disallow: /private/\n", "text/plain"), static("", status=500)),
    )
    url = server.route("/feed", fixture("rss2.xml"))
    assert (await poll(poller, url)).outcome == "items"
    clock.advance(24 * 3600 + 1)  # the TTL passed; the refetch fails with a 500
    result = await poll(poller, url)
    assert result.outcome == "items"
    assert [f.result for f in result.robots_fetches] == [RobotsResult.UNREACHABLE]
    private = await poll(poller, server.url("/private/x"))
    assert private.error is not None and private.error.kind is FetchErrorKind.ROBOTS_DISALLOWED


async def test_robots_txt_is_fetched_again_after_its_ttl(
    server: FixtureServer, poller: Poller, clock: ManualClock
) -> None:
    server.route(
        "/robots.txt",
        sequence(static(f"{OURS}Disallow:\n", "text/plain"), static(f"{OURS}Disallow: /\n")),
    )
    url = server.route("/feed", fixture("rss2.xml"))
    assert (await poll(poller, url)).outcome == "items"
    clock.advance(23 * 3600)
    assert (await poll(poller, url)).outcome == "items"
    clock.advance(3600 + 1)
    result = await poll(poller, url)
    assert result.error is not None and result.error.kind is FetchErrorKind.ROBOTS_DISALLOWED
    assert server.hits["/robots.txt"] == 2


async def test_a_compressed_robots_txt_is_read(server: FixtureServer, poller: Poller) -> None:
    server.route("/robots.txt", encoded(f"{OURS}Disallow: /\n".encode(), "br", "text/plain"))
    result = await poll(poller, server.route("/feed", fixture("rss2.xml")))
    assert result.error is not None and result.error.kind is FetchErrorKind.ROBOTS_DISALLOWED


# --- Crawl-delay -----------------------------------------------------------------------


async def test_crawl_delay_spaces_requests_to_the_host(
    server: FixtureServer, robots_settings: FetcherSettings
) -> None:
    clock = ManualClock(start=1_793_700_000.0)
    robots(server, f"User-agent: *\nCrawl-delay: 2\n\n{OURS}Crawl-delay: 7\n")
    url = server.route("/feed", fixture("rss2.xml"))
    async with HttpClient(robots_settings, clock=clock) as http:
        poller = Poller(http, robots_settings, clock=clock, rng=random.Random(7))
        await poll(poller, url)
        assert http.limiter.spacing_of("127.0.0.1") == 7.0
        await poll(poller, server.url("/other"))
        assert clock.slept and clock.slept[-1] == pytest.approx(7.0)


@pytest.mark.parametrize(
    ("text", "spacing"),
    [
        (f"{OURS}Crawl-delay: 86400\n", 120.0),  # FETCHER_ROBOTS_MAX_CRAWL_DELAY_S
        (f"{OURS}Request-rate: 1/30s\n", 30.0),
        (f"{OURS}Disallow:\n", 0.0),
    ],
)
async def test_crawl_delay_is_capped_and_request_rate_counts(
    server: FixtureServer, poller: Poller, robots_http: HttpClient, text: str, spacing: float
) -> None:
    robots(server, text)
    await poll(poller, server.route("/feed", fixture("rss2.xml")))
    assert robots_http.limiter.spacing_of("127.0.0.1") == spacing


# --- the per-source override -----------------------------------------------------------


async def test_ignore_robots_is_reported_on_every_poll(
    server: FixtureServer, poller: Poller, caplog: pytest.LogCaptureFixture
) -> None:
    robots(server, "User-agent: *\nDisallow: /\n")
    url = server.route("/feed", fixture("rss2.xml"))
    metrics = FetcherMetrics()
    with caplog.at_level(logging.INFO, logger="newswire.fetcher.poller"):
        for _ in range(2):
            result = await poll(poller, url, ignore_robots=True)
            metrics.observe(result)
            assert result.robots_ignored and "robots=ignored" in result.summary()
    assert server.hits["/robots.txt"] == 0 and server.hits["/feed"] == 2
    lines = [r.getMessage() for r in caplog.records if "ignore_robots=true" in r.getMessage()]
    assert lines == ["source=src ignore_robots=true: robots.txt not consulted"] * 2
    assert metric(metrics, "fetcher_robots_ignored_total", source="src") == 2
    assert (await poll(poller, url)).error is not None  # the override is per source only


# --- bad input: huge, slow, binary, redirect loop -> allow, one warning, a metric --------


def _huge() -> bytes:
    return (f"{OURS}Disallow: /\n" + "# padding\n" * 60_000).encode()  # ~600 KiB


def _loop(server: FixtureServer) -> None:
    server.route("/robots.txt", redirect("/r1"))
    server.route("/r1", redirect("/robots.txt"))


def _too_many(server: FixtureServer) -> None:
    server.route("/robots.txt", redirect("/r/1"))
    for n in range(1, 8):
        server.route(f"/r/{n}", redirect(f"/r/{n + 1}"))


@pytest.mark.parametrize(
    ("name", "arrange", "reason"),
    [
        ("huge", lambda s: robots(s, _huge()), "too_large"),
        (
            "slow",
            lambda s: s.route("/robots.txt", stall(b"User-agent", 10, trickle=True)),
            "timeout",
        ),
        ("stalled", lambda s: s.route("/robots.txt", stall(b"User-agent", 10)), "timeout"),
        (
            "binary",
            lambda s: robots(s, b"\x89PNG" + bytes(range(128, 256)) * 8 + b"\nDisallow: /\n"),
            "binary",
        ),
        ("nul", lambda s: robots(s, f"{OURS}Disallow: /\0\n".encode()), "binary"),
        ("loop", _loop, "redirect_loop"),
        ("too-many-redirects", _too_many, "redirect_loop"),
        (
            "bomb",
            lambda s: s.route("/robots.txt", encoded(b"\0" * (50 << 20), "zstd", "text/plain")),
            "too_large",
        ),
    ],
)
async def test_a_broken_robots_txt_is_allow_with_one_warning_and_a_metric(
    server: FixtureServer,
    poller: Poller,
    caplog: pytest.LogCaptureFixture,
    name: str,
    arrange: Any,
    reason: str,
) -> None:
    arrange(server)
    url = server.route("/feed", fixture("rss2.xml"))
    metrics = FetcherMetrics()
    with caplog.at_level(logging.WARNING, logger="newswire.fetcher.fetch.robots"):
        for _ in range(3):
            result = await poll(poller, url)
            metrics.observe(result)
            assert result.outcome in ("items", "not_modified"), result.summary()
    warnings = [r for r in caplog.records if r.name == "newswire.fetcher.fetch.robots"]
    assert len(warnings) == 1 and "treated as allow-all" in warnings[0].getMessage()
    assert metric(metrics, "fetcher_robots_fallbacks_total", reason=reason) == 1
    assert metric(metrics, "fetcher_robots_fetches_total", result="fallback") == 1
    assert server.hits["/feed"] == 3


async def test_robots_txt_goes_through_the_network_guard(
    server: FixtureServer, poller: Poller, caplog: pytest.LogCaptureFixture
) -> None:
    """A robots.txt redirecting to a private address is not followed there: allow, warned."""
    server.route("/robots.txt", redirect("http://10.255.255.1/robots.txt"))
    with caplog.at_level(logging.WARNING, logger="newswire.fetcher.fetch.robots"):
        result = await poll(poller, server.route("/feed", fixture("rss2.xml")))
    assert result.outcome == "items"
    assert [(f.result, f.reason) for f in result.robots_fetches] == [
        (RobotsResult.FALLBACK, "blocked_address")
    ]


async def test_one_robots_fetch_for_concurrent_polls_of_a_host(
    server: FixtureServer, poller: Poller
) -> None:
    import asyncio

    async def slow_robots(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(0.2)
        return web.Response(text=f"{OURS}Disallow:\n")

    server.route("/robots.txt", slow_robots)
    urls = [server.route(f"/feed{n}", fixture("rss2.xml")) for n in range(5)]
    results = await asyncio.gather(
        *(poller.poll(feed_source(u, id=f"s{n}"), SourceState(f"s{n}")) for n, u in enumerate(urls))
    )
    assert all(r.outcome == "items" for r in results)
    assert server.hits["/robots.txt"] == 1


def test_robots_disallowed_is_a_stable_kind_and_a_source_state() -> None:
    from newswire.fetcher.errors import REFUSAL_KINDS, FetchError

    assert FetchErrorKind("robots_disallowed") is FetchErrorKind.ROBOTS_DISALLOWED
    assert FetchErrorKind.ROBOTS_DISALLOWED in REFUSAL_KINDS
    for kind in REFUSAL_KINDS:  # every refusal is a state of its own in metrics and reports
        assert SourceStatus(kind.value).value == kind.value
    error = FetchError(
        FetchErrorKind.ROBOTS_DISALLOWED, "robots.txt disallows /x for bot", url="http://h/x"
    )
    assert str(error) == "robots_disallowed: robots.txt disallows /x for bot (http://h/x)"


async def test_a_redirect_to_a_disallowed_path_is_not_followed(
    server: FixtureServer, poller: Poller
) -> None:
    robots(server, f"{OURS}Disallow: /private/\n")
    server.route("/private/feed", fixture("rss2.xml"))
    url = server.route("/feed", redirect("/private/feed"))
    result = await poll(poller, url)
    assert result.error is not None and result.error.kind is FetchErrorKind.ROBOTS_DISALLOWED
    assert result.error.url == server.url("/private/feed")
    assert server.hits["/feed"] == 1 and server.hits["/private/feed"] == 0


async def test_a_host_that_does_not_answer_is_a_network_error_not_a_robots_refusal(
    poller: Poller,
) -> None:
    from newswire.common.broker import free_port

    result = await poll(poller, f"http://127.0.0.1:{free_port()}/feed")
    assert result.error is not None and result.error.kind is FetchErrorKind.NETWORK
    assert "robots.txt of http://127.0.0.1:" in result.error.detail
    assert "unreachable (network: ConnectError" in result.error.detail
    assert [(f.result, f.reason) for f in result.robots_fetches] == [
        (RobotsResult.UNREACHABLE, "network")
    ]
    assert result.state.status is SourceStatus.FAILING
