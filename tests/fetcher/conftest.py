"""Fixtures of the fetcher tests: a real loopback HTTP server and settings opened for it."""

from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterator

import pytest

from newswire.common.settings import FetcherSettings
from newswire.fetcher.fetch.client import HttpClient
from tests.fetcher.server import FixtureServer


@pytest.fixture
async def server() -> AsyncIterator[FixtureServer]:
    running = await FixtureServer().start()
    yield running
    await running.stop()


@pytest.fixture
def fetcher_settings() -> FetcherSettings:
    """Fast limits; loopback opened for the test server (127.0.0.1 only, nothing else)."""
    return FetcherSettings(
        allow_networks=[ipaddress.ip_network("127.0.0.1/32")],
        per_host_spacing_s=0.0,
        connect_timeout_s=1.0,
        read_timeout_s=0.5,
        total_timeout_s=2.0,
        max_body_bytes=256 * 1024,
        web_port=0,
    )


@pytest.fixture
async def http(fetcher_settings: FetcherSettings) -> AsyncIterator[HttpClient]:
    async with HttpClient(fetcher_settings) as client:
        yield client
