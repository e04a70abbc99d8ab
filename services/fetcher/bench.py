"""``newswire bench fetch``: the fetcher against a bare httpx + feedparser loop.

A local server (a child process, so it does not share the measured event loop)
serves N RSS feeds on many loopback addresses (127.1.x.y - the whole 127/8 reaches
this machine), so per-host limits apply per address as they would per site. The
fetcher polls every source once with all its rules on (address guard, per-host
concurrency and spacing, body cap, own decoding, DTD refusal, identity, URL
canonicalisation, schema validation); the bare loop does GET + ``feedparser.parse``
at the same concurrency. Both are timed in the same run; the last line is
``ratio=R`` (fetcher / bare loop, sources per second).

Nothing leaves the machine: every address is 127.1.0.0/16, and the fetcher's
allow-list opens only 127.0.0.0/8 for this run.
"""

from __future__ import annotations

import asyncio
import io
import ipaddress
import multiprocessing
import multiprocessing.connection
import socket
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TextIO

ITEMS_PER_FEED = 20


def bench_host(index: int) -> str:
    """The ``index``-th loopback address used by the bench (127.1.0.1, 127.1.0.2, ...)."""
    index += 1
    return f"127.1.{index // 250}.{index % 250 + 1}"


def feed_body(index: int) -> bytes:
    items = "".join(
        f"<item><title>Source {index} story {i}: ministers meet over the budget</title>"
        f"<link>https://s{index}.bench.example/news/{i}?utm_source=rss</link>"
        f"<guid>s{index}-{i}</guid>"
        f"<pubDate>Mon, 02 Nov 2026 {i % 24:02d}:00:00 GMT</pubDate>"
        f"<description>&lt;p&gt;Paragraph one of story {i} from source {index}, long enough "
        "to look like a real summary of a real article about the budget and oil exports."
        "&lt;/p&gt;</description></item>"
        for i in range(ITEMS_PER_FEED)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0">'
        f"<channel><title>Bench {index}</title>"
        f"<link>https://s{index}.bench.example/</link>{items}</channel></rss>"
    ).encode()


def _serve(
    hosts: int, ready: multiprocessing.connection.Connection
) -> None:  # pragma: no cover - child process
    from aiohttp import web

    async def handle(request: web.Request) -> web.Response:
        index = int(request.match_info["index"])
        return web.Response(
            body=feed_body(index),
            content_type="application/rss+xml",
            headers={"ETag": f'"{index}"'},
        )

    app = web.Application()
    app.router.add_get("/feed/{index}.xml", handle)
    asyncio.run(serve_forever(app, hosts, ready))


async def serve_forever(
    app: Any, hosts: int, ready: multiprocessing.connection.Connection
) -> None:  # pragma: no cover - child process
    """Serve the aiohttp APP on HOSTS loopback addresses (one port), send the port on
    READY, then serve until the process is terminated."""
    from aiohttp import web

    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    sockets = _bind_all(hosts)
    for sock in sockets:
        await web.SockSite(runner, sock).start()
    ready.send(sockets[0].getsockname()[1])
    await asyncio.Event().wait()


def _bind_all(hosts: int) -> list[socket.socket]:
    """One listening socket per loopback address, all on the same port."""
    first = socket.create_server((bench_host(0), 0), backlog=1024)
    port = first.getsockname()[1]
    return [first] + [
        socket.create_server((bench_host(i), port), backlog=1024) for i in range(1, hosts)
    ]


@dataclass(frozen=True, slots=True)
class Timing:
    sources: int
    seconds: float
    items: int
    errors: int

    @property
    def rate(self) -> float:
        return self.sources / self.seconds if self.seconds > 0 else float("inf")


def _urls(port: int, sources: int, hosts: int) -> list[str]:
    return [f"http://{bench_host(i % hosts)}:{port}/feed/{i}.xml" for i in range(sources)]


async def time_fetcher(urls: Sequence[str], concurrency: int) -> Timing:
    from newswire.common.settings import FetcherSettings
    from newswire.fetcher.fetch.client import HttpClient
    from newswire.fetcher.service import stream_service
    from newswire.fetcher.sources import Source, SourceKind

    settings = FetcherSettings(
        allow_networks=[ipaddress.ip_network("127.0.0.0/8")], concurrency=concurrency, web_port=0
    )
    sources = [
        Source(id=f"s{i}", name=f"S{i}", kind=SourceKind.FEED, url=url)
        for i, url in enumerate(urls)
    ]
    async with HttpClient(settings) as http:
        service = stream_service(sources, settings, stream=io.BytesIO(), http=http)
        started = time.perf_counter()
        report = await service.run_once()
        elapsed = time.perf_counter() - started
    return Timing(len(urls), elapsed, report.records, report.errors)


async def time_bare_loop(urls: Sequence[str], concurrency: int) -> Timing:
    import feedparser
    import httpx

    limit = asyncio.Semaphore(concurrency)
    items = errors = 0

    async def one(client: httpx.AsyncClient, url: str) -> None:
        nonlocal items, errors
        async with limit:
            try:
                response = await client.get(url)
                items += len(feedparser.parse(io.BytesIO(response.content)).entries)
            except httpx.HTTPError:
                errors += 1

    limits = httpx.Limits(max_connections=concurrency * 2, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, trust_env=False) as client:
        started = time.perf_counter()
        await asyncio.gather(*(one(client, url) for url in urls))
        elapsed = time.perf_counter() - started
    return Timing(len(urls), elapsed, items, errors)


async def run_bench(sources: int, hosts: int, concurrency: int, out: TextIO) -> float:
    hosts = min(hosts or sources, sources)
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    server = context.Process(target=_serve, args=(hosts, child), daemon=True)
    server.start()
    try:
        if not parent.poll(60):
            raise RuntimeError("bench server did not start")
        urls = _urls(parent.recv(), sources, hosts)
        await time_fetcher(
            urls[: min(50, sources)], concurrency
        )  # warm-up: imports, first connections
        await time_bare_loop(urls[: min(50, sources)], concurrency)
        fetcher = await time_fetcher(urls, concurrency)
        bare = await time_bare_loop(urls, concurrency)
    finally:
        server.terminate()
        server.join(5)
    print(
        f"bench fetch: sources={sources} hosts={hosts} concurrency={concurrency} "
        f"items/feed={ITEMS_PER_FEED}",
        file=out,
    )
    for name, timing in (("fetcher", fetcher), ("bare loop", bare)):
        print(
            f"{name}: {timing.sources} sources in {timing.seconds:.2f} s "
            f"= {timing.rate:.1f} sources/s "
            f"({timing.items} items, {timing.errors} errors)",
            file=out,
        )
    ratio = fetcher.rate / bare.rate
    print(f"ratio={ratio:.2f}", file=out)
    return ratio


def bench_command(*, sources: int, hosts: int, concurrency: int) -> int:
    asyncio.run(run_bench(sources, hosts, concurrency, sys.stdout))
    return 0
