"""``newswire bench fetch --replicas N``: fetcher replicas in one group, timed.

A local server (a child process) serves N RSS feeds spread over H loopback addresses
(127.1.x.y: one "host" each, so the fetcher's per-host limits apply per address). A
feed gains an item every ``ITEM_PERIOD_S``, so every poll has something to deliver
now and then and a handover has items to lose or to emit twice. The server records,
per host, the most requests it was serving at once, and the time of every source's
last request (``GET /_stats`` on the first address).

The bench starts the embedded broker, applies the sources to a fresh sources topic,
then for 1, 2, ... N replicas (``newswire fetch``, one group) measures the polls per
second the server sees once every source was polled, and, with N replicas, SIGKILLs
one and times how long until polling resumes: until the first request for one of
its sources, and until every one of its sources was asked for again.

The integration test (tests/integration/test_fetcher_fleet.py) drives the same parts.
"""

from __future__ import annotations

import asyncio
import http.client
import io
import multiprocessing
import multiprocessing.connection
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from newswire.common.kafka import host_partition
from newswire.common.settings import Settings
from newswire.common.settings_env import as_environment
from newswire.fetcher.bench import bench_host, serve_forever

#: A feed gains an item this often (seconds); it lists its latest ITEMS_SHOWN.
ITEM_PERIOD_S = 4.0
ITEMS_SHOWN = 10
#: How long the server takes to answer: polls overlap, so per-host limits matter.
RESPONSE_DELAY_S = 0.02


def fleet_feed(index: int, now: float, started: float) -> bytes:
    """Source INDEX's feed at NOW: items 0 .. k, k growing one per ITEM_PERIOD_S (each
    source offset a little, so they do not all change at once)."""
    newest = int((now - started + (index % 7) * 0.5) / ITEM_PERIOD_S)
    items = "".join(
        f"<item><title>Source {index} story {i}</title>"
        f"<link>https://s{index}.fleet.example/news/{i}</link><guid>s{index}-{i}</guid>"
        f"<description>Story {i} of source {index}: the budget, the oil exports, "
        "the ministers.</description></item>"
        for i in range(newest, max(-1, newest - ITEMS_SHOWN), -1)
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Fleet {index}</title>{items}</channel></rss>"
    ).encode()


def _serve(
    hosts: int, delay_s: float, ready: multiprocessing.connection.Connection
) -> None:  # pragma: no cover
    """The server process: feeds, and the per-host record of concurrent requests."""
    from aiohttp import web

    started = time.time()
    in_flight: dict[str, int] = {}
    most: dict[str, int] = {}
    last_hit: dict[int, float] = {}
    served = [0]

    async def feed(request: web.Request) -> web.Response:
        host = request.transport.get_extra_info("sockname")[0] if request.transport else "?"
        in_flight[host] = in_flight.get(host, 0) + 1
        most[host] = max(most.get(host, 0), in_flight[host])
        try:
            index = int(request.match_info["index"])
            last_hit[index] = time.time()
            served[0] += 1
            await asyncio.sleep(delay_s)
            return web.Response(
                body=fleet_feed(index, time.time(), started), content_type="application/rss+xml"
            )
        finally:
            in_flight[host] -= 1

    async def stats(_request: web.Request) -> web.Response:
        body = {"most_in_flight": most, "last_hit": last_hit, "served": served[0]}
        return web.json_response(body)

    app = web.Application()
    app.router.add_get("/feed/{index}.xml", feed)
    app.router.add_get("/_stats", stats)
    asyncio.run(serve_forever(app, hosts, ready))


@dataclass
class ServerStats:
    """What the server saw: most concurrent requests per host, last request per source."""

    most_in_flight: dict[str, int]
    last_hit: dict[int, float]
    served: int


class FleetServer:
    """The feed server as a child process; ``with FleetServer(hosts) as server``."""

    def __init__(self, hosts: int, *, delay_s: float = RESPONSE_DELAY_S) -> None:
        self.hosts = hosts
        self.delay_s = delay_s
        self.port = 0
        self._process: Any = None

    def __enter__(self) -> FleetServer:
        context = multiprocessing.get_context("spawn")
        parent, child = context.Pipe()
        self._process = context.Process(
            target=_serve, args=(self.hosts, self.delay_s, child), daemon=True
        )
        self._process.start()
        if not parent.poll(60):
            raise RuntimeError("bench server did not start")
        self.port = parent.recv()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._process.terminate()
        self._process.join(5)

    def _stats_body(self) -> Any:
        connection = http.client.HTTPConnection(bench_host(0), self.port, timeout=30)
        try:
            connection.request("GET", "/_stats")
            return orjson.loads(connection.getresponse().read())
        finally:
            connection.close()

    def url(self, index: int) -> str:
        return f"http://{bench_host(index % self.hosts)}:{self.port}/feed/{index}.xml"

    async def stats(self) -> ServerStats:
        """What the server saw so far (a plain HTTP/1.1 GET: the bench asks often, and
        an HTTP client with TLS contexts per call would cost the CPU being measured)."""
        body = await asyncio.to_thread(self._stats_body)
        return ServerStats(
            body["most_in_flight"],
            {int(k): v for k, v in body["last_hit"].items()},
            body["served"],
        )

    def sources_yaml(self, sources: int, *, min_interval: float, max_interval: float) -> str:
        lines = [
            f'  - {{id: s{i}, name: S{i}, kind: feed, url: "{self.url(i)}", '
            f"min_interval: {min_interval}, max_interval: {max_interval}}}"
            for i in range(sources)
        ]
        return "sources:\n" + "\n".join(lines) + "\n"


def replica_environment(settings: Settings, **fetcher: str) -> dict[str, str]:
    """The environment of a fetcher replica on SETTINGS' broker, topics and group."""
    env = dict(os.environ) | as_environment(settings)
    env |= {
        "KAFKA_BOOTSTRAP_SERVERS": settings.kafka.bootstrap,
        "KAFKA_PROFILE": settings.kafka.effective_profile.value,
        "FETCHER_WEB_PORT": "0",
        "FETCHER_ALLOW_NETWORKS": "127.0.0.0/8",
        "PYTHONUNBUFFERED": "1",
    }
    return env | {f"FETCHER_{name.upper()}": value for name, value in fetcher.items()}


@dataclass
class Replica:
    process: subprocess.Popen[bytes]
    log: Path

    def tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:]

    def assigned(self) -> list[list[int]]:
        """Every assignment this replica logged, in order."""
        found = []
        for line in self.log.read_text(errors="replace").splitlines():
            if "fetcher group: partitions" in line and "assigned" in line:
                inside = line.split("partitions [", 1)[1].split("]", 1)[0]
                found.append([int(p) for p in inside.split(",") if p.strip()])
        return found


@dataclass
class Fleet:
    """Replica processes of one group; stopped (SIGTERM, then SIGKILL) on exit."""

    env: Mapping[str, str]
    log_dir: Path
    replicas: list[Replica] = field(default_factory=list)

    def start(self) -> Replica:
        log = self.log_dir / f"fetcher-{len(self.replicas)}.log"
        with open(log, "ab") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "newswire", "fetch"],
                env=dict(self.env),
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        replica = Replica(process, log)
        self.replicas.append(replica)
        return replica

    def kill(self, replica: Replica) -> None:
        replica.process.send_signal(signal.SIGKILL)
        replica.process.wait()

    def stop(self) -> None:
        for replica in self.replicas:
            if replica.process.poll() is None:
                replica.process.terminate()
        for replica in self.replicas:
            try:
                replica.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                replica.process.kill()
                replica.process.wait()


def sources_of(
    partitions: Sequence[int], server: FleetServer, sources: int, count: int
) -> set[int]:
    """The indexes of the sources on PARTITIONS (of COUNT) of the sources topic."""
    return {i for i in range(sources) if host_partition(server.url(i), count) in partitions}


async def wait_until_polled(
    server: FleetServer, indexes: set[int], after: float, timeout_s: float
) -> float | None:
    """Seconds until every source of INDEXES was requested after AFTER (None: timeout)."""
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        hits = (await server.stats()).last_hit
        if all(hits.get(i, 0) > after for i in indexes):
            return time.time() - after
        await asyncio.sleep(0.2)
    return None


async def first_poll_after(
    server: FleetServer, indexes: set[int], after: float, timeout_s: float
) -> float | None:
    """Seconds until any source of INDEXES was requested after AFTER (None: timeout)."""
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        hits = (await server.stats()).last_hit
        times = [hits[i] for i in indexes if hits.get(i, 0) > after]
        if times:
            return min(times) - after
        await asyncio.sleep(0.1)
    return None


# --- newswire bench fetch --replicas N --------------------------------------------------

#: Seconds of steady polling measured per replica count.
MEASURE_S = 15.0


@dataclass(frozen=True, slots=True)
class Throughput:
    replicas: int
    polls: int
    seconds: float
    warmup_s: float
    #: CPU seconds the replicas spent in the window (None: no /proc to read).
    cpu_s: float | None = None

    @property
    def rate(self) -> float:
        return self.polls / self.seconds

    @property
    def cpu_ms_per_poll(self) -> float | None:
        return None if self.cpu_s is None or not self.polls else 1000 * self.cpu_s / self.polls


def cpu_seconds(pids: Sequence[int]) -> float | None:
    """User + system CPU seconds of PIDS so far (None: one is gone or unreadable)."""
    import psutil

    try:
        times = [psutil.Process(pid).cpu_times() for pid in pids]
    except psutil.Error:
        return None
    return sum(t.user + t.system for t in times)


def bench_settings(broker: str, tag: str, *, per_host: int) -> Settings:
    from newswire.common.settings import (
        BrokerProfile,
        FetcherSettings,
        KafkaSettings,
        TopicSettings,
    )

    return Settings(
        kafka=KafkaSettings(bootstrap_servers=broker, profile=BrokerProfile.EMBEDDED),
        topics=TopicSettings(raw=f"raw-{tag}", enriched=f"enriched-{tag}", dlq=f"dlq-{tag}"),
        fetcher=FetcherSettings(
            sources_topic=f"sources-{tag}",
            state_topic=f"fetcher-state-{tag}",
            group_id=f"fetcher-{tag}",
            per_host_concurrency=per_host,
            per_host_spacing_s=0.0,
            web_port=0,
        ),
    )


async def measure_round(
    settings: Settings, server: FleetServer, sources: int, replicas: int, log_dir: Path
) -> tuple[Throughput, Fleet]:
    """REPLICAS replicas in a fresh group (and state topic): polls/s once all polled."""
    from newswire.common.kafka import create_missing_topics
    from newswire.common.topics import fetcher_state_topic

    await create_missing_topics(settings.kafka, [fetcher_state_topic(settings)])
    fleet = Fleet(replica_environment(settings), log_dir)
    started = time.time()
    for _ in range(replicas):
        fleet.start()
    warm = await wait_until_polled(server, set(range(sources)), started, timeout_s=300)
    if warm is None:
        fleet.stop()
        raise RuntimeError(f"not every source was polled in 300 s:\n{fleet.replicas[0].tail()}")
    pids = [replica.process.pid for replica in fleet.replicas]
    first, cpu_before = (await server.stats()).served, cpu_seconds(pids)
    await asyncio.sleep(MEASURE_S)
    polls, cpu_after = (await server.stats()).served - first, cpu_seconds(pids)
    cpu = None if cpu_before is None or cpu_after is None else cpu_after - cpu_before
    return Throughput(replicas, polls, MEASURE_S, warm, cpu), fleet


async def measure_handover(
    settings: Settings, server: FleetServer, sources: int, fleet: Fleet
) -> tuple[int, float | None, float | None]:
    """SIGKILL the first replica: (its sources, s to the first poll of one, s to all)."""
    victim = fleet.replicas[0]
    held = victim.assigned()[-1] if victim.assigned() else []
    orphans = sources_of(held, server, sources, settings.fetcher.partitions)
    killed_at = time.time()
    fleet.kill(victim)
    first = await first_poll_after(server, orphans, killed_at, timeout_s=120)
    every = await wait_until_polled(server, orphans, killed_at, timeout_s=120)
    return len(orphans), first, every


async def state_bytes(settings: Settings) -> tuple[int, float]:
    """(sources with a state, mean bytes of their latest state record)."""
    from newswire.fetcher.statestore import read_to_end

    latest: dict[bytes, int] = {}
    async for _partition, key, value in read_to_end(settings, settings.fetcher.state_topic):
        if key is not None and value is not None:
            latest[key] = len(value)
    return len(latest), (sum(latest.values()) / len(latest) if latest else 0.0)


async def run_fleet_bench(
    sources: int, hosts: int, replicas: int, per_host: int, out: Any
) -> list[Throughput]:
    import tempfile
    import uuid

    from newswire.common.broker import EmbeddedBroker
    from newswire.common.kafka import create_missing_topics
    from newswire.common.topics import declared_topics
    from newswire.fetcher.catalog import apply_file

    hosts = min(hosts or sources, sources)
    results: list[Throughput] = []
    with tempfile.TemporaryDirectory(prefix="newswire-fleet-bench-") as tmp:
        work = Path(tmp)
        with FleetServer(hosts) as server:
            print(
                f"bench fetch --replicas {replicas}: sources={sources} hosts={hosts} "
                f"per-host concurrency={per_host} server delay={RESPONSE_DELAY_S * 1000:.0f} ms; "
                f"each count on a fresh embedded broker, measured {MEASURE_S:.0f} s after "
                "every source was polled once",
                file=out,
                flush=True,
            )
            for count in range(1, replicas + 1):
                round_dir = work / f"replicas-{count}"
                round_dir.mkdir()
                with EmbeddedBroker(log_path=round_dir / "broker.log") as broker:
                    settings = bench_settings(
                        broker.bootstrap, uuid.uuid4().hex[:8], per_host=per_host
                    )
                    await create_missing_topics(settings.kafka, declared_topics(settings))
                    file = round_dir / "sources.yaml"
                    file.write_text(
                        server.sources_yaml(sources, min_interval=0.1, max_interval=0.2)
                    )
                    await apply_file(settings, file, dry_run=False, out=io.StringIO())
                    throughput, fleet = await measure_round(
                        settings, server, sources, count, round_dir
                    )
                    results.append(throughput)
                    cost = throughput.cpu_ms_per_poll
                    print(
                        f"replicas={count}: {throughput.rate:.1f} polls/s "
                        f"({throughput.polls} in {throughput.seconds:.0f} s; "
                        + (f"{cost:.1f} ms of replica CPU per poll; " if cost else "")
                        + f"all {sources} sources first polled {throughput.warmup_s:.1f} s "
                        "after start)",
                        file=out,
                        flush=True,
                    )
                    try:
                        await _report_round(settings, server, sources, count, replicas, fleet, out)
                    finally:
                        fleet.stop()
            stats = await server.stats()
            print(
                f"most concurrent requests on one host: {max(stats.most_in_flight.values())} "
                f"(limit {per_host}, {len(stats.most_in_flight)} hosts)",
                file=out,
            )
    return results


async def _report_round(
    settings: Settings,
    server: FleetServer,
    sources: int,
    count: int,
    replicas: int,
    fleet: Fleet,
    out: Any,
) -> None:
    if count == replicas and count > 1:
        moved, first, every = await measure_handover(settings, server, sources, fleet)
        print(
            f"SIGKILL 1 of {count}: its {moved} sources polled again after "
            f"{_seconds(first)} (first) and {_seconds(every)} (all)",
            file=out,
            flush=True,
        )
    if count == replicas:
        held, mean = await state_bytes(settings)
        print(f"state: {held} sources, {mean:.0f} bytes each on average", file=out)


def _seconds(value: float | None) -> str:
    return "never (timeout)" if value is None else f"{value:.1f} s"


def fleet_bench_command(*, sources: int, hosts: int, replicas: int, per_host: int) -> int:
    asyncio.run(run_fleet_bench(sources, hosts, replicas, per_host, sys.stdout))
    return 0
