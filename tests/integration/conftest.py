"""Integration fixtures: newswire services as real child processes on the real broker."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import orjson
import pytest

from newswire.common.broker import free_port
from newswire.common.kafka import new_consumer, new_producer
from newswire.common.records import encode
from newswire.common.settings import Settings
from newswire.common.settings_env import as_environment
from tests.integration.postgres import postgres_db_dsn, postgres_dsn, stoppable_postgres  # noqa: F401 - fixtures


class ServiceProcess:
    """``python -m newswire COMMAND`` configured from Settings through the environment."""

    def __init__(
        self,
        command: str,
        settings: Settings,
        log_path: Path,
        *,
        args: Sequence[str] = (),
        module: str = "newswire",
    ) -> None:
        """MODULE is what ``python -m`` runs (a test's variant of the command)."""
        self.command = command
        self.log_path = log_path
        env = dict(os.environ) | as_environment(settings)
        env |= {
            "ENRICHER_WEB_PORT": str(free_port()),
            "SINK_HTTP_PORT": str(free_port()),
            "FETCHER_WEB_PORT": str(free_port()),
            "PYTHONUNBUFFERED": "1",
        }
        #: The child's whole environment, e.g. ``env["SINK_HTTP_PORT"]`` for its HTTP port.
        self.env = env
        with open(log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", module, command, *args],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def url(self, port_variable: str, path: str = "/") -> str:
        """``http://127.0.0.1:PORT/path`` for the port the child got in ``port_variable``."""
        return f"http://127.0.0.1:{self.env[port_variable]}{path}"

    def assert_running(self) -> None:
        code = self.process.poll()
        assert code is None, f"{self.command} exited with {code}:\n{self.log_tail()}"

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self, sig: int = signal.SIGTERM, timeout_s: float = 20.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


@pytest.fixture
def spawn(tmp_path: Path) -> Iterator[Callable[[str, Settings], ServiceProcess]]:
    started: list[ServiceProcess] = []

    def start(command: str, settings: Settings) -> ServiceProcess:
        service = ServiceProcess(command, settings, tmp_path / f"{command}-{len(started)}.log")
        started.append(service)
        return service

    yield start
    for service in started:
        service.stop()


async def eventually(
    check: Callable[[], Awaitable[Any]], *, timeout_s: float = 60.0, every_s: float = 0.3
) -> Any:
    """Poll until CHECK returns something truthy; fail with its last value at the deadline."""
    deadline = time.monotonic() + timeout_s
    last: Any = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(every_s)
    raise AssertionError(f"condition not met within {timeout_s}s (last: {last!r})")


async def produce_raw(settings: Settings, records: Iterable[dict[str, Any]]) -> None:
    """Each raw article onto news.raw keyed by its id, one at a time, each delivery
    awaited (in order, as a fetcher's trickle arrives)."""
    producer = new_producer(settings.kafka)
    await producer.start()
    try:
        for record in records:
            key = record["id"].encode()
            await (await producer.send(settings.topics.raw, encode(record), key=key))
    finally:
        await producer.stop()


async def read_topic(settings: Settings, topic: str, *, idle_ms: int = 1500) -> list[Any]:
    """Every message of TOPIC from the beginning, until the topic has been quiet for IDLE_MS."""
    consumer = new_consumer(settings.kafka, topic, group_id=None, auto_offset_reset="earliest")
    await consumer.start()
    try:
        messages: list[Any] = []
        while batch := await consumer.getmany(timeout_ms=idle_ms):
            for records in batch.values():
                messages.extend(records)
        return messages
    finally:
        await consumer.stop()


def output_records(out_dir: Path) -> list[dict[str, Any]]:
    """Every line the sink wrote (temporary files excluded)."""
    records: list[dict[str, Any]] = []
    for path in sorted(out_dir.rglob("*.jsonl")):
        if ".tmp" in path.parts:
            continue
        records.extend(orjson.loads(line) for line in path.read_bytes().splitlines() if line)
    return records
