"""The common health server, asked by a real aiohttp client over a real socket."""

from __future__ import annotations

import socket

import aiohttp
import pytest
from prometheus_client import CollectorRegistry, Counter, Gauge

from newswire.common.errors import CannotStart
from newswire.common.health import HealthServer, readiness_body
from newswire.common.prometheus import PROMETHEUS_TEXT


async def test_port_0_binds_a_free_port_and_serves_the_three_paths() -> None:
    registry = CollectorRegistry()
    Counter("demo_polls_total", "Polls.", registry=registry).inc(3)
    ready = {"now": False}
    async with (
        HealthServer(registry, ready=lambda: ready["now"], port=0, name="demo") as server,
        aiohttp.ClientSession(server.url) as client,
    ):
        assert server.port not in (None, 0)
        async with client.get("/healthz") as response:
            assert response.status == 200 and await response.json() == {"status": "ok"}
        async with client.get("/readyz") as response:
            assert response.status == 503 and await response.json() == {"ready": False}
        ready["now"] = True
        async with client.get("/readyz") as response:
            assert response.status == 200 and await response.json() == {"ready": True}
        async with client.get("/metrics") as response:
            assert response.status == 200
            assert response.headers["Content-Type"] == PROMETHEUS_TEXT
            assert "demo_polls_total 3.0" in await response.text()
        async with client.get("/no-such-page") as response:
            assert response.status == 404


async def test_the_port_is_closed_after_the_block() -> None:
    async with HealthServer(CollectorRegistry(), ready=lambda: True) as server:
        port = server.port
    assert port is not None
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0
    await server.stop()  # a second stop is harmless


async def test_a_taken_port_fails_at_start() -> None:
    async with HealthServer(CollectorRegistry(), ready=lambda: True) as first:
        second = HealthServer(CollectorRegistry(), ready=lambda: True, port=first.port or 0)
        with pytest.raises(CannotStart, match="cannot listen on"):
            await second.start()
        with pytest.raises(RuntimeError, match="not listening"):
            _ = second.url


async def test_a_readiness_body_explains_and_a_gauge_is_refreshed_before_a_scrape() -> None:
    registry = CollectorRegistry()
    gauge = Gauge("demo_ready", "1 when ready.", registry=registry)
    state = {"ready": False, "writers": {"jsonl": {"ok": False}}}
    server = HealthServer(
        registry,
        ready=lambda: state,
        before_scrape=lambda: gauge.set(1 if state["ready"] else 0),
    )
    async with server, aiohttp.ClientSession(server.url) as client:
        async with client.get("/readyz") as response:
            assert response.status == 503
            assert await response.json() == state
        state["ready"] = True
        async with client.get("/metrics") as response:
            assert "demo_ready 1.0" in await response.text()


def test_readiness_body_always_has_a_bool_ready() -> None:
    assert readiness_body(True) == {"ready": True}
    assert readiness_body({"writers": {}}) == {"writers": {}, "ready": False}
    assert readiness_body({"ready": 1, "x": 2}) == {"ready": True, "x": 2}
