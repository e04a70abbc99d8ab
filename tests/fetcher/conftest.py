"""Fixtures of the fetcher tests: a real loopback HTTP server and settings opened for it."""

from __future__ import annotations

import asyncio
import ipaddress
import os
import sys
from collections.abc import AsyncIterator, Mapping
from pathlib import Path

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


async def fetch_once_cli(
    sources: Path, *, env: Mapping[str, str] | None = None, timeout_s: float = 60.0
) -> tuple[int, bytes, bytes]:
    """``newswire fetch --sources SOURCES --once --output -`` as a real process, loopback
    allowed: (exit status, stdout, stderr)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "newswire",
        "fetch",
        "--sources",
        str(sources),
        "--once",
        "--output",
        "-",
        "--allow-network",
        "127.0.0.1/32",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, **(env or {})},
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=timeout_s)
    assert process.returncode is not None
    return process.returncode, stdout, stderr
