"""A real HTTP server on loopback serving canned responses, for the fetcher's tests.

Routes can be added or replaced while it runs; every request is recorded (path and
headers) so tests can check what the fetcher sent - and what it never sent.
"""

from __future__ import annotations

import asyncio
import gzip
import itertools
import sys
import zlib
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path

import brotli
from aiohttp import web

if sys.version_info >= (3, 14):
    from compression import zstd
else:
    from backports import zstd

from newswire.fetcher.sources import Selectors

FIXTURES = Path(__file__).parents[1] / "fixtures" / "fetcher"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


#: The body of ``article-a1.html`` as the selectors of :func:`article_a1_selectors` read it.
ARTICLE_A1_TEXT = "الفقرة الأولى من المقال & تحليلها.\n\nالفقرة الثانية من المقال."


def article_a1_selectors(links: str) -> Selectors:
    """Selectors that read ``article-a1.html`` (title, date, body; share box removed)."""
    return Selectors(
        links=links,
        title="h1.headline",
        published="time.date",
        body=".entry-content",
        remove=(".share",),
    )


class FixtureServer:
    """``await server.start()``, then ``server.route(path, handler)`` and ``server.url(path)``."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = 0
        self.routes: dict[str, Handler] = {}
        self.hits: Counter[str] = Counter()
        self.requests: list[tuple[str, dict[str, str]]] = []
        self._runner: web.AppRunner | None = None

    async def start(self) -> FixtureServer:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self._runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, 0, shutdown_timeout=0.1)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def url(self, path: str, host: str | None = None) -> str:
        return f"http://{host or self.host}:{self.port}{path}"

    def route(self, path: str, handler: Handler) -> str:
        self.routes[path] = handler
        return self.url(path)

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        path = request.path_qs if request.path_qs in self.routes else request.path
        self.hits[request.path] += 1
        self.requests.append((request.path_qs, dict(request.headers)))
        handler = self.routes.get(path)
        if handler is None:
            return web.Response(status=404, text="no such fixture")
        return await handler(request)


def static(
    body: bytes | str,
    content_type: str = "application/xml",
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Handler:
    data = body.encode() if isinstance(body, str) else body

    async def handle(_: web.Request) -> web.StreamResponse:
        return web.Response(
            body=data, status=status, headers={"Content-Type": content_type, **(headers or {})}
        )

    return handle


def fixture(name: str, content_type: str = "application/xml", **kwargs: object) -> Handler:
    return static(fixture_bytes(name), content_type, **kwargs)  # type: ignore[arg-type]


def conditional(
    body: bytes,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
    content_type: str = "application/xml",
) -> Handler:
    """200 with validators, 304 when the request's validators match (ETag wins)."""

    async def handle(request: web.Request) -> web.StreamResponse:
        headers = {"Content-Type": content_type}
        if etag:
            headers["ETag"] = etag
        if last_modified:
            headers["Last-Modified"] = last_modified
        if etag and request.headers.get("If-None-Match"):
            if request.headers["If-None-Match"] == etag:
                return web.Response(status=304, headers={"ETag": etag})
        elif last_modified and request.headers.get("If-Modified-Since") == last_modified:
            return web.Response(status=304)
        return web.Response(body=body, headers=headers)

    return handle


def sequence(*handlers: Handler) -> Handler:
    """Each request gets the next handler; the last one repeats."""
    counter = itertools.count()

    async def handle(request: web.Request) -> web.StreamResponse:
        return await handlers[min(next(counter), len(handlers) - 1)](request)

    return handle


def redirect(location: str, status: int = 302) -> Handler:
    async def handle(_: web.Request) -> web.StreamResponse:
        return web.Response(status=status, headers={"Location": location})

    return handle


def stall(first: bytes = b"<rss", seconds: float = 30.0, *, trickle: bool = False) -> Handler:
    """Headers and a first chunk, then nothing (or one byte per 0.2 s when trickling)."""

    async def handle(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/xml"})
        await response.prepare(request)
        await response.write(first)
        if trickle:
            for _ in range(int(seconds / 0.2)):
                await asyncio.sleep(0.2)
                await response.write(b" ")
        else:
            await asyncio.sleep(seconds)
        return response

    return handle


def gzip_bomb(inflated_bytes: int) -> Handler:
    body = gzip.compress(b"\0" * inflated_bytes, compresslevel=9)

    async def handle(_: web.Request) -> web.StreamResponse:
        return web.Response(
            body=body, headers={"Content-Type": "application/xml", "Content-Encoding": "gzip"}
        )

    return handle


def gzipped(data: bytes, content_type: str = "application/xml") -> Handler:
    body = gzip.compress(data)

    async def handle(_: web.Request) -> web.StreamResponse:
        return web.Response(
            body=body, headers={"Content-Type": content_type, "Content-Encoding": "gzip"}
        )

    return handle


def compress(data: bytes, encoding: str) -> bytes:
    """``data`` in a real content coding: ``gzip``, ``deflate``, ``br`` or ``zstd``."""
    if encoding == "gzip":
        return gzip.compress(data, compresslevel=9)
    if encoding == "deflate":
        return zlib.compress(data, 9)
    if encoding == "br":
        return brotli.compress(data, quality=11)
    if encoding == "zstd":
        return zstd.compress(data, 19)
    raise ValueError(encoding)


def encoded(data: bytes, encoding: str, content_type: str = "application/xml") -> Handler:
    """``data`` compressed with ``encoding`` and served with that ``Content-Encoding``."""
    body = compress(data, encoding)

    async def handle(_: web.Request) -> web.StreamResponse:
        return web.Response(
            body=body, headers={"Content-Type": content_type, "Content-Encoding": encoding}
        )

    return handle


def endless(chunk: bytes = b"<rss>" + b"x" * 65536) -> Handler:
    """A body that never ends (chunked), until the client hangs up."""

    async def handle(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/xml"})
        await response.prepare(request)
        while True:
            await response.write(chunk)

    return handle
