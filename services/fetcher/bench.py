"""``newswire bench fetch``: the fetcher against a bare httpx + feedparser loop.

A local server (a child process, so it does not share the measured event loop)
serves N RSS feeds on many loopback addresses (127.1.x.y - the whole 127/8 reaches
this machine), so per-host limits apply per address as they would per site. The
fetcher polls every source with all its rules on (robots.txt, address guard, per-host
concurrency and spacing, body cap, own decoding, DTD refusal, identity, URL
canonicalisation, schema validation); the bare loop does GET + ``feedparser.parse``
at the same concurrency.

Each side makes two passes over every source, with one client (and, for the fetcher,
one service: its robots.txt cache and polling state) across both:

- **cold**: the first poll of every source. The fetcher also asks every host for its
  robots.txt (the server has none: 404, allow-all), so with one host per source it
  makes two requests where the bare loop makes one.
- **warm**: the steady state, the pass that repeats every few minutes in production:
  robots.txt is cached (for ``FETCHER_ROBOTS_TTL_S``, hours), and every feed has
  changed since pass 1 (20 new items, a new ETag), so both sides fetch and parse a
  full fresh body (no 304 or "unchanged" shortcut) and the fetcher emits 20 records.

The passes run fetcher cold, bare cold, then ROUNDS warm pairs (fetcher warm, bare
warm, the feeds changed again before each pair), each pass timed on its own. Before a
fetcher pass the bench waits out the per-host spacing (``FETCHER_PER_HOST_SPACING_S``,
1 s) since the fetcher's previous pass, untimed: in production a warm pass comes
minutes after the last, so the spacing never holds a host's next poll back, but here
the passes follow each other within a second, and the warm pass was timing the
fetcher's politeness pause (0.1 s of a 0.4 s pass at 100 sources) rather than its
work. Spacing between requests to one host within a pass (``--hosts`` below
``--sources``) is still timed: that is the fetcher's rule, and the bare loop has none.

Both ratios (fetcher / bare loop, sources per second) are printed; the warm one of
each round too, since a warm pass at 100 sources lasts under half a second and one
pair is at the mercy of whatever else the machine does then. The last line is
``ratio=R``, the median of the warm rounds: the per-poll cost a running fetcher pays.
The CPU time of each pass (this process; the server is another) is printed too, with
the same ratios in CPU terms (bare loop CPU / fetcher CPU): on a shared machine a load
spike during one pass moves its wall time far more than its CPU time.

Nothing leaves the machine: every address is 127.1.0.0/16, and the fetcher's
allow-list opens only 127.0.0.0/8 for this run.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import ipaddress
import multiprocessing
import multiprocessing.connection
import socket
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from statistics import median
from typing import Any, TextIO

ITEMS_PER_FEED = 20


def bench_host(index: int) -> str:
    """The ``index``-th loopback address used by the bench (127.1.0.1, 127.1.0.2, ...)."""
    index += 1
    return f"127.1.{index // 250}.{index % 250 + 1}"


def feed_body(index: int, generation: int = 0) -> bytes:
    """Source INDEX's feed as served in pass GENERATION: ITEMS_PER_FEED items, all new
    in each generation (a feed that changed completely since the last poll)."""
    items = "".join(
        f"<item><title>Source {index} story {i}: ministers meet over the budget</title>"
        f"<link>https://s{index}.bench.example/news/{generation}/{i}?utm_source=rss</link>"
        f"<guid>s{index}-{generation}-{i}</guid>"
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
    hosts: int, generation: Any, ready: multiprocessing.connection.Connection
) -> None:  # pragma: no cover - child process
    """The feed server: every feed in the current GENERATION (a shared integer the bench
    bumps between passes), with an ETag of that generation; no robots.txt (404)."""
    from aiohttp import web

    async def handle(request: web.Request) -> web.Response:
        index = int(request.match_info["index"])
        current = generation.value
        return web.Response(
            body=feed_body(index, current),
            content_type="application/rss+xml",
            headers={"ETag": f'"{index}-{current}"'},
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
    #: CPU seconds this process spent in the pass (the server is another process):
    #: less disturbed than wall time by other work on a shared machine.
    cpu_s: float = 0.0

    @property
    def rate(self) -> float:
        return self.sources / self.seconds if self.seconds > 0 else float("inf")

    @property
    def cpu_ms_per_source(self) -> float:
        return 1000 * self.cpu_s / self.sources


@contextlib.contextmanager
def _timed() -> Iterator[list[float]]:
    """[wall seconds, CPU seconds] of the block, filled in when it ends."""
    spent: list[float] = []
    wall, cpu = time.perf_counter(), time.process_time()
    yield spent
    spent += [time.perf_counter() - wall, time.process_time() - cpu]


def _urls(port: int, sources: int, hosts: int) -> list[str]:
    return [f"http://{bench_host(i % hosts)}:{port}/feed/{i}.xml" for i in range(sources)]


Pass = Callable[[], Awaitable[Timing]]


@contextlib.asynccontextmanager
async def fetcher_passes(urls: Sequence[str], concurrency: int) -> AsyncIterator[Pass]:
    """A fetcher (one client, one service) whose every call polls every source once;
    its robots.txt cache and polling state carry over from one call to the next.

    Each call first waits, untimed, until the per-host spacing has passed since the
    previous call ended (see the module docstring): a host's first request of a pass
    is never held back by its last request of the pass before."""
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
    ended: list[float] = []  # monotonic time the previous pass ended
    async with HttpClient(settings) as http:
        service = stream_service(sources, settings, stream=io.BytesIO(), http=http)

        async def one_pass() -> Timing:
            if ended:
                await asyncio.sleep(settings.per_host_spacing_s - (time.monotonic() - ended[-1]))
            with _timed() as spent:
                report = await service.run_once()
            ended.append(time.monotonic())
            return Timing(len(urls), spent[0], report.records, report.errors, spent[1])

        yield one_pass


@contextlib.asynccontextmanager
async def bare_loop_passes(urls: Sequence[str], concurrency: int) -> AsyncIterator[Pass]:
    """The baseline: one httpx client whose every call GETs and ``feedparser.parse``-s
    every URL once, CONCURRENCY at a time."""
    import feedparser
    import httpx

    limit = asyncio.Semaphore(concurrency)
    limits = httpx.Limits(max_connections=concurrency * 2, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, trust_env=False) as client:

        async def one_pass() -> Timing:
            items = errors = 0

            async def one(url: str) -> None:
                nonlocal items, errors
                async with limit:
                    try:
                        response = await client.get(url)
                        items += len(feedparser.parse(io.BytesIO(response.content)).entries)
                    except httpx.HTTPError:
                        errors += 1

            with _timed() as spent:
                await asyncio.gather(*(one(url) for url in urls))
            return Timing(len(urls), spent[0], items, errors, spent[1])

        yield one_pass


async def time_fetcher(urls: Sequence[str], concurrency: int) -> Timing:
    """One cold pass of a fresh fetcher over URLS."""
    async with fetcher_passes(urls, concurrency) as one_pass:
        return await one_pass()


async def time_bare_loop(urls: Sequence[str], concurrency: int) -> Timing:
    """One pass of a fresh bare loop over URLS."""
    async with bare_loop_passes(urls, concurrency) as one_pass:
        return await one_pass()


@dataclass(frozen=True, slots=True)
class WarmRound:
    """One warm pair: the fetcher's pass and the bare loop's, over the same new feeds."""

    fetcher: Timing
    bare: Timing

    @property
    def ratio(self) -> float:
        return self.fetcher.rate / self.bare.rate

    @property
    def cpu_ratio(self) -> float:
        """Bare loop CPU per source / fetcher CPU per source (higher: fetcher cheaper)."""
        return self.bare.cpu_s / self.fetcher.cpu_s if self.fetcher.cpu_s > 0 else float("inf")


@dataclass(frozen=True, slots=True)
class Passes:
    """The timed passes of one run: the cold pair and the warm rounds."""

    cold: WarmRound  # same shape: the first poll of every source, each side
    warm: tuple[WarmRound, ...]

    @property
    def cold_ratio(self) -> float:
        return self.cold.ratio

    @property
    def warm_ratio(self) -> float:
        """The median of the warm rounds' ratios."""
        return median(pair.ratio for pair in self.warm)

    @property
    def warm_cpu_ratio(self) -> float:
        return median(pair.cpu_ratio for pair in self.warm)


async def time_passes(
    urls: Sequence[str], concurrency: int, generation: Any, rounds: int
) -> Passes:
    """Fetcher cold, bare cold, then ROUNDS times (every feed changed: GENERATION bumped)
    fetcher warm, bare warm; each side keeps its client (and the fetcher its service)."""
    async with (
        fetcher_passes(urls, concurrency) as fetcher,
        bare_loop_passes(urls, concurrency) as bare,
    ):
        cold = WarmRound(await fetcher(), await bare())
        warm = []
        for _ in range(rounds):
            generation.value += 1
            warm.append(WarmRound(await fetcher(), await bare()))
    return Passes(cold, tuple(warm))


async def run_bench(
    sources: int, hosts: int, concurrency: int, out: TextIO, rounds: int = 3
) -> float:
    hosts = min(hosts or sources, sources)
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    generation = context.Value("i", 0)
    server = context.Process(target=_serve, args=(hosts, generation, child), daemon=True)
    server.start()
    try:
        if not parent.poll(60):
            raise RuntimeError("bench server did not start")
        urls = _urls(parent.recv(), sources, hosts)
        # warm-up (imports, first connections), on clients of their own
        await time_fetcher(urls[: min(50, sources)], concurrency)
        await time_bare_loop(urls[: min(50, sources)], concurrency)
        passes = await time_passes(urls, concurrency, generation, rounds)
    finally:
        server.terminate()
        server.join(5)
    print_passes(passes, sources=sources, hosts=hosts, concurrency=concurrency, out=out)
    return passes.warm_ratio


def print_passes(
    passes: Passes, *, sources: int, hosts: int, concurrency: int, out: TextIO
) -> None:
    print(
        f"bench fetch: sources={sources} hosts={hosts} concurrency={concurrency} "
        f"items/feed={ITEMS_PER_FEED} rounds={len(passes.warm)}; pass 1 cold (first poll, "
        "robots.txt asked per host), then warm rounds (robots.txt cached, every feed "
        "changed: new items, new ETag; the per-host spacing waited out before each)",
        file=out,
    )
    named = [("cold fetcher", passes.cold.fetcher), ("cold bare loop", passes.cold.bare)]
    for index, pair in enumerate(passes.warm, start=1):
        named += [(f"warm fetcher #{index}", pair.fetcher), (f"warm bare loop #{index}", pair.bare)]
    for name, timing in named:
        print(
            f"{name}: {timing.sources} sources in {timing.seconds:.2f} s "
            f"= {timing.rate:.1f} sources/s, {timing.cpu_ms_per_source:.2f} ms CPU/source "
            f"({timing.items} items, {timing.errors} errors)",
            file=out,
        )
    walls = " ".join(f"{pair.ratio:.2f}" for pair in passes.warm)
    cpus = " ".join(f"{pair.cpu_ratio:.2f}" for pair in passes.warm)
    print(f"warm ratio by round: {walls} (median {passes.warm_ratio:.2f})", file=out)
    print(
        f"cpu: cold_ratio={passes.cold.cpu_ratio:.2f} warm_ratio={passes.warm_cpu_ratio:.2f} "
        f"(bare / fetcher; warm by round: {cpus})",
        file=out,
    )
    print(f"cold_ratio={passes.cold_ratio:.2f} warm_ratio={passes.warm_ratio:.2f}", file=out)
    print(f"ratio={passes.warm_ratio:.2f}", file=out)


def bench_command(*, sources: int, hosts: int, concurrency: int, rounds: int = 3) -> int:
    asyncio.run(run_bench(sources, hosts, concurrency, sys.stdout, rounds))
    return 0
