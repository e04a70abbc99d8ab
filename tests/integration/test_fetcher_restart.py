"""A fetcher killed (SIGKILL) and restarted against the same server emits every item
exactly once in total."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import orjson
from aiohttp import web

from newswire.common.settings import Settings
from newswire.common.settings_env import as_environment
from tests.fetcher.server import FixtureServer
from tests.integration.conftest import read_topic

SOURCES = 8
ITEMS_PER_SOURCE = 12
TOTAL = SOURCES * ITEMS_PER_SOURCE


def growing_feed(server: FixtureServer, index: int) -> None:
    """Each request lists two more items, up to ITEMS_PER_SOURCE."""

    async def handle(request: web.Request) -> web.Response:
        shown = min(2 * server.hits[request.path], ITEMS_PER_SOURCE)
        items = "".join(
            f"<item><title>S{index} item {i}</title><link>https://s{index}.example/{i}</link>"
            f"<guid>s{index}-{i}</guid></item>"
            for i in range(shown)
        )
        body = f'<rss version="2.0"><channel><title>s{index}</title>{items}</channel></rss>'
        return web.Response(body=body.encode(), content_type="application/rss+xml")

    server.route(f"/feed/{index}", handle)


def start_fetcher(
    settings: Settings, sources: Path, state_topic: str, log: Path
) -> subprocess.Popen[bytes]:
    env = (
        dict(os.environ)
        | as_environment(settings)
        | {
            "FETCHER_STATE_TOPIC": state_topic,
            "FETCHER_WEB_PORT": "0",
            "FETCHER_PER_HOST_SPACING_S": "0",
            "FETCHER_ALLOW_NETWORKS": "127.0.0.1/32",
            "FETCHER_JITTER_RATIO": "0.2",
            "PYTHONUNBUFFERED": "1",
        }
    )
    with open(log, "ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "newswire", "fetch", "--sources", str(sources)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


async def raw_titles(settings: Settings) -> list[str]:
    return [
        orjson.loads(m.value)["title"]
        for m in await read_topic(settings, settings.topics.raw, idle_ms=500)
    ]


async def wait_for(settings: Settings, count: int, timeout_s: float) -> list[str]:
    deadline = time.monotonic() + timeout_s
    titles = await raw_titles(settings)
    while len(set(titles)) < count and time.monotonic() < deadline:
        await asyncio.sleep(0.3)
        titles = await raw_titles(settings)
    return titles


async def test_kill_and_restart_emits_every_item_exactly_once(
    settings: Settings, tmp_path: Path
) -> None:
    server = await FixtureServer().start()
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for index in range(SOURCES):
            growing_feed(server, index)
        sources = tmp_path / "sources.yaml"
        sources.write_text(
            "sources:\n"
            + "".join(
                f"  - {{id: s{i}, name: S{i}, kind: feed, "
                f'url: "{server.url(f"/feed/{i}")}", min_interval: 0.4, max_interval: 1}}\n'
                for i in range(SOURCES)
            )
        )
        state_topic = f"fetcher-state-{uuid.uuid4().hex[:8]}"
        processes.append(start_fetcher(settings, sources, state_topic, tmp_path / "fetcher-1.log"))
        before_kill = await wait_for(settings, TOTAL // 3, timeout_s=40)
        processes[0].send_signal(signal.SIGKILL)
        await asyncio.to_thread(processes[0].wait)
        assert TOTAL // 3 <= len(set(before_kill)) < TOTAL, (
            tmp_path / "fetcher-1.log"
        ).read_text()[-3000:]
        processes.append(start_fetcher(settings, sources, state_topic, tmp_path / "fetcher-2.log"))
        titles = await wait_for(settings, TOTAL, timeout_s=40)
        await asyncio.sleep(2.0)  # a few more polls: nothing new may appear
        titles = await raw_titles(settings)
        duplicates = {t: n for t, n in Counter(titles).items() if n > 1}
        assert len(set(titles)) == TOTAL, (tmp_path / "fetcher-2.log").read_text()[-3000:]
        assert duplicates == {}
        assert processes[1].poll() is None, (tmp_path / "fetcher-2.log").read_text()[-3000:]
        processes[1].terminate()  # SIGTERM: in-flight polls finish, then a clean exit
        # Wait off the event loop: the fixture server runs on it, and a blocking wait
        # would starve the poll in flight until its read timeout (a flaky 20 s hang).
        code = await asyncio.to_thread(processes[1].wait, 20)
        assert code == 0, (tmp_path / "fetcher-2.log").read_text()[-3000:]
    finally:
        for process in processes:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
        await server.stop()
