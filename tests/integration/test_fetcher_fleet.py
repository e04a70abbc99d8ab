"""The fetcher as a fleet: three replicas in one group share the sources topic; one is
SIGKILLed; the others take its sources over within one rebalance, no item reaches
news.raw twice, and no host ever serves more requests at once than its limit.

CI size: FLEET_SOURCES (default 300) sources on 50 hosts; the issue's 1,000 runs with
``FLEET_SOURCES=1000`` and in ``newswire bench fetch --replicas 3``.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import orjson

from newswire.common.kafka import create_missing_topics
from newswire.common.settings import FetcherSettings, Settings
from newswire.common.topics import declared_topics
from newswire.fetcher.fleetbench import (
    Fleet,
    FleetServer,
    first_poll_after,
    replica_environment,
    sources_of,
    wait_until_polled,
)
from tests.conftest import SettingsFactory
from tests.integration.conftest import read_topic

SOURCES = int(os.environ.get("FLEET_SOURCES", "300"))
HOSTS = 50
PARTITIONS = 6
#: One request per host at a time, and answers slow enough (0.2 s) that two replicas
#: polling one host would overlap: the limit holds only if a host has one owner.
PER_HOST = 1
DELAY_S = 0.2


def fleet_settings(make_settings: SettingsFactory) -> Settings:
    tag = uuid.uuid4().hex[:8]
    return make_settings(
        fetcher=FetcherSettings(
            sources_topic=f"sources-{tag}",
            state_topic=f"fetcher-state-{tag}",
            group_id=f"fetcher-{tag}",
            partitions=PARTITIONS,
            per_host_concurrency=PER_HOST,
            per_host_spacing_s=0.0,
            web_port=0,
        )
    )


def newswire(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "newswire", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


async def test_three_replicas_survive_a_sigkill(
    make_settings: SettingsFactory, tmp_path: Path
) -> None:
    settings = fleet_settings(make_settings)
    await create_missing_topics(settings.kafka, declared_topics(settings))
    env = replica_environment(settings)
    with FleetServer(HOSTS, delay_s=DELAY_S) as server:
        sources_file = tmp_path / "sources.yaml"
        sources_file.write_text(server.sources_yaml(SOURCES, min_interval=2, max_interval=3))
        applied = newswire(env, "sources", "apply", str(sources_file))
        assert applied.returncode == 0, applied.stderr
        assert f"{SOURCES} added, 0 changed, 0 removed" in applied.stdout

        fleet = Fleet(env, tmp_path)
        try:
            for _ in range(3):
                fleet.start()
            started = time.time()
            everyone = set(range(SOURCES))
            polled = await wait_until_polled(server, everyone, started, timeout_s=60)
            assert polled is not None, fleet.replicas[0].tail()
            await asyncio.sleep(3)  # a steady group: every replica holds its partitions
            victim = fleet.replicas[0]
            held = victim.assigned()[-1]
            assert held, victim.tail()
            orphans = sources_of(held, server, SOURCES, PARTITIONS)
            survivors = fleet.replicas[1:]
            before = [len(r.assigned()) for r in survivors]
            killed_at = time.time()
            fleet.kill(victim)

            resumed = await first_poll_after(server, orphans, killed_at, timeout_s=45)
            assert resumed is not None, survivors[0].tail()
            again = await wait_until_polled(server, orphans, killed_at, timeout_s=45)
            assert again is not None, survivors[0].tail()
            # within one rebalance: each survivor was assigned exactly once more, and
            # between them they now hold every partition
            after = [r.assigned() for r in survivors]
            assert [len(a) - n for a, n in zip(after, before, strict=True)] == [1, 1]
            assert sorted(p for a in after for p in a[-1]) == list(range(PARTITIONS))
            await asyncio.sleep(4)  # at least one more item per feed after the handover
        finally:
            fleet.stop()
        stats = await server.stats()

    records = await read_topic(settings, settings.topics.raw, idle_ms=1000)
    ids = Counter(orjson.loads(m.value)["id"] for m in records)
    assert len(ids) >= SOURCES  # every source emitted
    assert {i: n for i, n in ids.items() if n > 1} == {}
    assert len(stats.most_in_flight) == HOSTS
    assert max(stats.most_in_flight.values()) <= PER_HOST, stats.most_in_flight
    for replica in fleet.replicas[1:]:
        assert replica.process.returncode == 0, replica.tail()
