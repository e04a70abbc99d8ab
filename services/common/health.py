"""``/healthz``, ``/readyz`` and ``/metrics`` for a service that runs on asyncio, said once.

Every long-running service answers the same three paths the deployments ask
(kubelet probes, compose healthchecks, the Prometheus scrape annotation):

* ``/healthz`` answers 200 while the process (its event loop) is alive;
* ``/readyz`` answers 200 or 503 from the service's own readiness callable, so an
  orchestrator sees "alive but not ready" (still loading state, destination down);
* ``/metrics`` is the service's own registry in the Prometheus text format
  (:func:`newswire.common.prometheus.exposition`, so every service speaks the same).

The enricher keeps Faust's web server: Faust owns that port and its routes.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable, Iterable, Mapping
from types import TracebackType
from typing import Any

from aiohttp import web
from prometheus_client import CollectorRegistry

from newswire.common.errors import CannotStart
from newswire.common.prometheus import exposition

log = logging.getLogger(__name__)

#: What a readiness callable answers: ready or not, or a JSON body with a ``ready``
#: flag and whatever explains it (``{"ready": false, "writers": {...}}``).
Readiness = Callable[[], bool | Mapping[str, Any]]


class HealthServer:
    """The three endpoints on an aiohttp server inside the service's own loop.

    ``async with HealthServer(registry, ready=...) as server:`` listens until the block
    ends; ``port=0`` takes any free port, and :attr:`port` is the one bound either way
    (tests, several services in one process). ``before_scrape`` runs before each
    ``/metrics`` answer, for gauges that are computed rather than kept up to date.
    """

    def __init__(
        self,
        registry: CollectorRegistry,
        *,
        ready: Readiness,
        host: str = "127.0.0.1",
        port: int = 0,
        name: str = "service",
        before_scrape: Callable[[], object] | None = None,
    ) -> None:
        self._registry = registry
        self._ready = ready
        self._before_scrape = before_scrape
        self.host = host
        self.asked_port = port
        self.name = name
        self.port: int | None = None
        self._runner: web.AppRunner | None = None

    def app(self) -> web.Application:
        """The aiohttp application with the three routes (no listening socket)."""
        app = web.Application()
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/readyz", self._readyz)
        app.router.add_get("/metrics", self._metrics)
        return app

    async def start(self) -> int:
        """Listen; returns the bound port. Raises :class:`CannotStart` when the port is
        taken: a service that cannot be probed or scraped should fail at start, not run
        unseen."""
        runner = web.AppRunner(self.app(), access_log=None)
        await runner.setup()
        try:
            await web.TCPSite(runner, self.host, self.asked_port).start()
        except OSError as exc:
            await runner.cleanup()
            raise cannot_listen(self.name, self.host, self.asked_port, exc) from exc
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self.port = _bound_port(runner.addresses, self.asked_port)
        log.info("%s HTTP on %s:%s (/healthz, /readyz, /metrics)", self.name, self.host, self.port)
        return self.port

    async def stop(self) -> None:
        """Close the socket and the open connections; stopping twice is harmless."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    @property
    def url(self) -> str:
        """``http://host:port`` of the running server (for clients and logs)."""
        if self.port is None:
            raise RuntimeError("the health server is not listening")
        host = "127.0.0.1" if self.host in ("", "0.0.0.0") else self.host
        return f"http://{host}:{self.port}"

    async def __aenter__(self) -> HealthServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    async def _healthz(self, _request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def _readyz(self, _request: web.Request) -> web.Response:
        body = readiness_body(self._ready())
        return web.json_response(body, status=200 if body["ready"] else 503)

    async def _metrics(self, _request: web.Request) -> web.Response:
        if self._before_scrape is not None:
            self._before_scrape()
        body, headers = exposition(self._registry)
        return web.Response(body=body, headers=headers)


def readiness_body(answer: bool | Mapping[str, Any]) -> dict[str, Any]:
    """The ``/readyz`` JSON for what a readiness callable answered; always has ``ready``
    as a bool, because probes and people read that one field first."""
    if isinstance(answer, Mapping):
        return {**answer, "ready": bool(answer.get("ready", False))}
    return {"ready": bool(answer)}


def cannot_listen(name: str, host: str, port: int, error: OSError) -> CannotStart:
    """The one line a service says when its HTTP port cannot be listened on: the
    system's words for the errno (asyncio's own message repeats the address)."""
    code = None if isinstance(error, socket.gaierror) else error.errno
    reason = os.strerror(code) if code and code > 0 else (error.strerror or str(error))
    return CannotStart(f"{name} HTTP cannot listen on {host}:{port}: {reason}")


def check_port_free(host: str, port: int, *, name: str) -> None:
    """Raise :class:`CannotStart` unless a server could listen on HOST:PORT now.

    For a server started by code we do not own: Faust's web server meets a taken port
    with a JSON log line and exit 1, after the worker has started. Bound as asyncio's
    servers bind (SO_REUSEADDR, so a port in TIME_WAIT is free), then released at once:
    another process can still take the port in between, and then Faust says so itself.
    """
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(address)
    except OSError as exc:  # socket.gaierror too: a host that does not resolve
        raise cannot_listen(name, host, port, exc) from exc


def _bound_port(addresses: Iterable[Any], asked: int) -> int:
    """The port actually bound (the one the OS chose for port 0)."""
    for address in addresses:
        if isinstance(address, tuple) and len(address) >= 2:
            return int(address[1])
    return asked
