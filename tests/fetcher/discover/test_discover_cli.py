"""``newswire sources discover URL`` as a new user runs it: the real process says what
happened (guard, refused, DNS, timeout, HTTP status, nothing found) and exits non-zero."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys

import yaml

from newswire.fetcher.sources import load_sources
from tests.fetcher.server import FixtureServer, fixture, stall, static

ALLOW = ("--allow-network", "127.0.0.1/32")
ENV = {
    "FETCHER_PER_HOST_SPACING_S": "0",
    "FETCHER_CONNECT_TIMEOUT_S": "2",
    "FETCHER_READ_TIMEOUT_S": "0.5",
    "FETCHER_TOTAL_TIMEOUT_S": "1.5",
    "LOG_LEVEL": "WARNING",
}


async def discover(*args: str) -> tuple[int, str, str]:
    """The real command, run while the test's server keeps serving in this event loop."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "newswire",
        "sources",
        "discover",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, **ENV},
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode is not None
    assert b"Traceback" not in stderr, stderr.decode()
    return process.returncode, stdout.decode(), stderr.decode()


def discover_sync(*args: str) -> tuple[int, str, str]:
    result = subprocess.run(
        [sys.executable, "-m", "newswire", "sources", "discover", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **ENV},
    )
    assert "Traceback" not in result.stderr, result.stderr
    return result.returncode, result.stdout, result.stderr


async def test_refused_by_the_network_guard_and_the_fix(server: FixtureServer) -> None:
    url = server.route("/", fixture("rss2.xml"))
    code, out, err = await discover(url)
    assert code == 1 and out == ""
    assert err.splitlines() == [
        f"{url}: refused by the network guard: 127.0.0.1 is a loopback address; the fetcher "
        "only connects to public addresses",
        f"to allow it: newswire sources discover {url} --allow-network 127.0.0.1/32",
    ]
    assert sum(server.hits.values()) == 0  # refused before connecting
    code, out, _ = await discover(url, *ALLOW)  # and the fix works
    assert code == 0 and yaml.safe_load(out)["sources"][0]["url"] == url


def test_connection_refused() -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code, out, err = discover_sync(f"http://127.0.0.1:{port}/", *ALLOW)
    assert (code, out) == (1, "")
    assert err == (
        f"http://127.0.0.1:{port}/: connection refused: nothing is listening on 127.0.0.1 "
        f"port {port}\n"
    )


def test_dns_failure() -> None:
    code, out, err = discover_sync("http://no-such-host.invalid/")
    assert (code, out) == (1, "")
    assert err.startswith(
        "http://no-such-host.invalid/: DNS lookup failed: no address for no-such-host.invalid"
    ), err


async def test_timeout(server: FixtureServer) -> None:
    url = server.route("/slow", stall(b"<html>", seconds=10))
    code, out, err = await discover(url, *ALLOW)
    assert (code, out) == (1, "")
    assert err == f"{url}: timed out: the server stopped sending (read timeout)\n"


async def test_http_status(server: FixtureServer) -> None:
    code, out, err = await discover(server.url("/missing"), *ALLOW)
    assert (code, out, err) == (1, "", f"{server.url('/missing')}: HTTP 404 Not Found\n")
    url = server.route("/closed", static(b"no", "text/plain", status=403))
    code, _, err = await discover(url, *ALLOW)
    assert code == 1
    assert err == (
        f"{url}: HTTP 403 Forbidden: the server refuses the fetcher (some sites block unknown "
        "user agents or whole networks)\n"
    )


def test_not_a_url_is_a_usage_error() -> None:
    code, out, err = discover_sync("the news please")
    assert (code, out) == (2, "")
    assert err == 'newswire sources discover: "the news please" is not an http(s) URL (not a URL)\n'
    code, _, err = discover_sync("ftp://files.example/", *ALLOW)
    assert code == 2 and '(scheme "ftp" is not http or https)' in err
    code, _, err = discover_sync("https://a.example/", "--allow-network", "loopback")
    assert code == 2 and '--allow-network "loopback" is not a network' in err


async def test_fetched_but_nothing_usable(server: FixtureServer) -> None:
    page = "<!DOCTYPE html><html><head><title>Bare</title></head><body><p>Hi</p></body></html>"
    url = server.route("/", static(page, "text/html; charset=utf-8"))
    code, out, err = await discover(url, *ALLOW)
    assert (code, out) == (1, "")
    lines = err.splitlines()
    assert (
        f"{url}: fetched (HTTP 200, text/html, {len(page)} bytes, html), but found no feed, "
        "WordPress API, sitemap or article links"
    ) in lines
    assert f"  tried {server.url('/feed')} (common feed path): HTTP 404 Not Found" in lines
    assert f"  tried {server.url('/robots.txt')} (robots.txt): HTTP 404 Not Found" in lines


async def test_an_unreadable_feed_says_so(server: FixtureServer) -> None:
    url = server.route("/cut.xml", fixture("rss-truncated-first-item.xml"))
    code, out, err = await discover(url, *ALLOW)
    assert (code, out) == (1, "")
    assert err == (
        f"{url}: fetched, looks like rss, but cannot be read: truncated: the document ends "
        "inside <item> 1, before any item was complete\n"
    )


async def test_a_feed_is_proposed_under_its_own_title(server: FixtureServer, tmp_path) -> None:
    url = server.route("/rss", fixture("rss2.xml"))
    code, out, err = await discover(url, *ALLOW)
    assert code == 0, err
    assert yaml.safe_load(out) == {
        "sources": [
            {
                "id": "example-wire-en",
                "name": "Example Wire",
                "kind": "feed",
                "url": url,
                "language": "en",
                "verified": False,
            }
        ]
    }
    path = tmp_path / "sources.yaml"
    path.write_text(out, encoding="utf-8")
    assert [s.id for s in load_sources(path)] == ["example-wire-en"]
    code, out, _ = await discover(url, *ALLOW, "--sources", str(path))  # id taken: another
    assert code == 0 and yaml.safe_load(out)["sources"][0]["id"] == "example-wire-en-127.0.0.1-rss"
