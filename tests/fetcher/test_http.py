"""The HTTP client against a real loopback server: limits, classification, address guard."""

from __future__ import annotations

import gzip
import ipaddress
from typing import Any

import httpcore
import pytest

from newswire.common.settings import FetcherSettings
from newswire.fetcher.clock import ManualClock
from newswire.fetcher.errors import FetchError, FetchErrorKind
from newswire.fetcher.fetch.client import HttpClient, guarded_transport, parse_retry_after
from newswire.fetcher.fetch.hosts import HostLimiter
from newswire.fetcher.fetch.netguard import AddressPolicy
from tests.fetcher.server import (
    FixtureServer,
    endless,
    gzip_bomb,
    gzipped,
    redirect,
    stall,
    static,
)


async def fetch_error(http: HttpClient, url: str) -> FetchError:
    with pytest.raises(FetchError) as caught:
        await http.get(url)
    return caught.value


async def test_plain_get_sends_a_clear_user_agent(server: FixtureServer, http: HttpClient) -> None:
    url = server.route("/feed", static("<rss/>"))
    response = await http.get(url)
    assert (response.status, response.body) == (200, b"<rss/>")
    headers = server.requests[-1][1]
    assert headers["User-Agent"].startswith("newswire-fetcher/")
    assert headers["Accept-Encoding"] == "gzip, deflate, br, zstd"


async def test_gzip_bodies_are_inflated(server: FixtureServer, http: HttpClient) -> None:
    url = server.route("/gz", gzipped(b"<rss>" + b"a" * 5000 + b"</rss>"))
    assert (await http.get(url)).body.startswith(b"<rss>aaa")


@pytest.mark.parametrize(
    ("status", "headers", "body", "kind", "retry_after"),
    [
        (429, {"Retry-After": "120"}, b"", FetchErrorKind.RATE_LIMITED, 120.0),
        (503, {"Retry-After": "30"}, b"", FetchErrorKind.RATE_LIMITED, 30.0),
        (503, {}, b"down", FetchErrorKind.HTTP_5XX, None),
        (500, {}, b"", FetchErrorKind.HTTP_5XX, None),
        (403, {}, b"no", FetchErrorKind.FORBIDDEN, None),
        (
            403,
            {},
            b"<html><title>Just a moment...</title>challenge-platform",
            FetchErrorKind.BOT_CHALLENGE,
            None,
        ),
        (
            503,
            {"cf-mitigated": "challenge", "Retry-After": "5"},
            b"",
            FetchErrorKind.BOT_CHALLENGE,
            5.0,
        ),
        (404, {}, b"", FetchErrorKind.HTTP_4XX, None),
        (410, {}, b"", FetchErrorKind.HTTP_4XX, None),
    ],
)
async def test_statuses_are_classified(
    server: FixtureServer,
    http: HttpClient,
    status: int,
    headers: dict[str, str],
    body: bytes,
    kind: FetchErrorKind,
    retry_after: float | None,
) -> None:
    url = server.route("/s", static(body, "text/html", status=status, headers=headers))
    error = await fetch_error(http, url)
    assert (error.kind, error.status, error.retry_after_s) == (kind, status, retry_after)


async def test_rate_limiting_slows_the_whole_host(server: FixtureServer, http: HttpClient) -> None:
    url = server.route("/limited", static(b"", status=429, headers={"Retry-After": "300"}))
    await fetch_error(http, url)
    gate = http.limiter._gates["127.0.0.1"]
    assert gate.next_start >= http.limiter._clock.monotonic() + 299


def test_retry_after_dates_and_seconds() -> None:
    now = 1_800_000_000.0
    assert parse_retry_after("90", now) == 90.0
    assert parse_retry_after("Fri, 15 Jan 2027 08:00:30 GMT", 1_799_913_600.0 + 30) is not None
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after(None, now) is None


async def test_redirects_are_followed_and_counted(server: FixtureServer, http: HttpClient) -> None:
    server.route("/final", static("<rss/>"))
    server.route("/hop2", redirect("/final", 301))
    url = server.route("/hop1", redirect(server.url("/hop2"), 302))
    response = await http.get(url)
    assert response.url == server.url("/final")
    assert response.redirects == (url, server.url("/hop2"))


async def test_redirect_loops_and_chains_end_classified(
    server: FixtureServer, http: HttpClient
) -> None:
    server.route("/a", redirect("/b"))
    server.route("/b", redirect("/a"))
    assert (await fetch_error(http, server.url("/a"))).kind is FetchErrorKind.REDIRECT_LOOP
    for i in range(10):
        server.route(f"/chain{i}", redirect(f"/chain{i + 1}"))
    error = await fetch_error(http, server.url("/chain0"))
    assert error.kind is FetchErrorKind.REDIRECT_LOOP and "more than 5 redirects" in error.detail


class SpyBackend(httpcore.AsyncNetworkBackend):
    """Records every address a connection is actually opened to."""

    def __init__(self) -> None:
        self.inner = httpcore.AnyIOBackend()
        self.connected: list[str] = []

    async def connect_tcp(self, host: str, port: int, **kwargs: Any) -> httpcore.AsyncNetworkStream:
        self.connected.append(host)
        return await self.inner.connect_tcp(host, port, **kwargs)

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


@pytest.mark.parametrize(
    "target",
    [
        "http://10.0.0.1/feed",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::ffff:192.168.1.1]/",
        "http://[fd00:ec2::254]/",
    ],
)
async def test_redirect_to_a_private_address_is_refused_before_connecting(
    server: FixtureServer, fetcher_settings: FetcherSettings, target: str
) -> None:
    spy = SpyBackend()
    transport = guarded_transport(
        fetcher_settings, AddressPolicy(fetcher_settings.allow_networks), inner=spy
    )
    url = server.route("/r", redirect(target))
    async with HttpClient(fetcher_settings, transport=transport) as http:
        error = await fetch_error(http, url)
    assert error.kind is FetchErrorKind.BLOCKED_ADDRESS
    assert spy.connected == ["127.0.0.1"]  # the test server only; nothing else was dialled


async def test_loopback_is_refused_by_default(server: FixtureServer) -> None:
    url = server.route("/feed", static("<rss/>"))
    async with HttpClient(FetcherSettings(web_port=0)) as http:
        for target in (url, server.url("/feed", host="localhost")):
            assert (await fetch_error(http, target)).kind is FetchErrorKind.BLOCKED_ADDRESS
    assert server.hits["/feed"] == 0


@pytest.mark.parametrize(
    ("address", "allowed"),
    [
        ("93.184.216.34", True),
        ("2606:2800:220:1:248:1893:25c8:1946", True),
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.0.1", False),
        ("169.254.169.254", False),
        ("100.64.0.1", False),
        ("::1", False),
        ("fe80::1", False),
        ("::ffff:10.0.0.1", False),
        ("0.0.0.0", False),
        ("224.0.0.1", False),
        ("100.100.100.200", False),
    ],
)
def test_address_policy(address: str, allowed: bool) -> None:
    assert AddressPolicy().allows(ipaddress.ip_address(address)) is allowed


def test_allow_list_opens_only_what_it_names() -> None:
    policy = AddressPolicy([ipaddress.ip_network("127.0.0.1/32")])
    assert policy.allows(ipaddress.ip_address("127.0.0.1"))
    assert not policy.allows(ipaddress.ip_address("127.0.0.2"))
    assert not policy.allows(ipaddress.ip_address("10.0.0.1"))


def test_allow_networks_setting_reads_comma_separated_cidrs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FETCHER_ALLOW_NETWORKS", "127.0.0.1, 10.1.0.0/16")
    assert [str(n) for n in FetcherSettings().allow_networks] == ["127.0.0.1/32", "10.1.0.0/16"]


async def test_gzip_bomb_is_stopped_at_the_cap(server: FixtureServer, http: HttpClient) -> None:
    url = server.route(
        "/bomb", gzip_bomb(200 * 1024 * 1024)
    )  # 200 MiB of zeros, ~200 KiB on the wire
    error = await fetch_error(http, url)
    assert error.kind is FetchErrorKind.DECOMPRESSION_BOMB


async def test_bodies_over_the_cap_are_refused(server: FixtureServer, http: HttpClient) -> None:
    big = server.route("/big", static(b"x" * (300 * 1024)))
    assert (await fetch_error(http, big)).kind is FetchErrorKind.TOO_LARGE
    never = server.route("/endless", endless())
    assert (await fetch_error(http, never)).kind is FetchErrorKind.TOO_LARGE
    compressed = server.route(
        "/gzbig", gzipped(bytes(range(256)) * 2000)
    )  # ~500 KiB, compresses ~100:1
    assert (await fetch_error(http, compressed)).kind in (
        FetchErrorKind.TOO_LARGE,
        FetchErrorKind.DECOMPRESSION_BOMB,
    )


async def test_stalled_and_trickling_servers_time_out(
    server: FixtureServer, http: HttpClient
) -> None:
    stalled = server.route("/stall", stall(seconds=10))
    assert (await fetch_error(http, stalled)).kind is FetchErrorKind.TIMEOUT
    trickle = server.route("/trickle", stall(seconds=10, trickle=True))
    error = await fetch_error(http, trickle)
    assert error.kind is FetchErrorKind.TIMEOUT and "no complete response" in error.detail


async def test_connection_refused_is_a_network_error(fetcher_settings: FetcherSettings) -> None:
    from newswire.common.broker import free_port

    async with HttpClient(fetcher_settings) as http:
        error = await fetch_error(http, f"http://127.0.0.1:{free_port()}/feed")
    assert error.kind is FetchErrorKind.NETWORK


async def test_host_limiter_spaces_requests_to_one_host() -> None:
    clock = ManualClock()
    limiter = HostLimiter(concurrency=2, spacing_s=1.5, clock=clock)
    starts: list[float] = []
    for host in ["a.example", "a.example", "b.example", "a.example"]:
        async with limiter.slot(host):
            starts.append(clock.monotonic() - 1_800_000_000.0)
    assert starts == [0.0, 1.5, 1.5, 3.0]
    limiter.slow_down("b.example", 60)
    async with limiter.slot("B.example"):
        assert clock.monotonic() - 1_800_000_000.0 == pytest.approx(63.0)


async def test_an_unspaced_request_neither_waits_nor_delays_the_next() -> None:
    """robots.txt goes first on a cold host without costing its first poll a spacing."""
    clock = ManualClock()
    limiter = HostLimiter(concurrency=1, spacing_s=1.5, clock=clock)
    starts: list[float] = []
    async with limiter.slot("a.example"):
        starts.append(clock.monotonic() - 1_800_000_000.0)
    async with limiter.slot("a.example", spaced=False):  # inside the spacing: no wait
        starts.append(clock.monotonic() - 1_800_000_000.0)
    async with limiter.slot("a.example"):  # still the first request's turn, not later
        starts.append(clock.monotonic() - 1_800_000_000.0)
    assert starts == [0.0, 0.0, 1.5]
    assert limiter.requests_to("a.example") == 3


async def test_inflating_a_bomb_never_holds_much_more_than_the_cap() -> None:
    import tracemalloc

    from newswire.fetcher.fetch.body import read_capped

    compressed = gzip.compress(b"\0" * (64 * 1024 * 1024), compresslevel=9)  # 64 MiB inflated

    async def chunks():
        for start in range(0, len(compressed), 65536):
            yield compressed[start : start + 65536]

    cap = 1024 * 1024
    tracemalloc.start()
    try:
        with pytest.raises(FetchError) as caught:
            await read_capped(chunks(), content_encoding="gzip", cap=cap, bomb_ratio=100)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert caught.value.kind is FetchErrorKind.DECOMPRESSION_BOMB
    assert peak < 4 * cap  # not 64 MiB: output is bounded per inflate step
