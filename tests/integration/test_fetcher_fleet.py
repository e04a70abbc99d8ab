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
    Replica,
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


async def settled(
    replicas: list[Replica], partitions: int, timeout_s: float = 60
) -> list[list[int]]:
    """The replicas' latest logged assignments, once together they hold every partition
    exactly once (the group is stable); AssertionError after TIMEOUT_S."""
    deadline = time.monotonic() + timeout_s
    while True:
        last = [r.assigned()[-1] if r.assigned() else [] for r in replicas]
        if sorted(p for held in last for p in held) == list(range(partitions)):
            return last
        assert time.monotonic() < deadline, (last, replicas[0].tail())
        await asyncio.sleep(0.2)


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
            victim = fleet.replicas[0]
            held = (await settled(fleet.replicas, PARTITIONS))[0]
            assert held, victim.tail()
            orphans = sources_of(held, server, SOURCES, PARTITIONS)
            survivors = fleet.replicas[1:]
            before = [len(r.assigned()) for r in survivors]
            killed_at = time.time()
            fleet.kill(victim)

            resumed = await first_poll_after(server, orphans, killed_at, timeout_s=45)
            assert resumed is not None, survivors[0].tail()
            print(f"handover: first poll {resumed:.1f} s after the SIGKILL")
            again = await wait_until_polled(server, orphans, killed_at, timeout_s=45)
            assert again is not None, survivors[0].tail()
            print(f"handover: all {len(orphans)} sources polled again after {again:.1f} s")
            # within one rebalance: each survivor was assigned exactly once more, and
            # between them they now hold every partition
            await settled(survivors, PARTITIONS)
            after = [r.assigned() for r in survivors]
            assert [len(a) - n for a, n in zip(after, before, strict=True)] == [1, 1]
            await asyncio.sleep(4)  # at least one more item per feed after the handover
        finally:
            fleet.stop()
        stats = await server.stats()

    records = await read_topic(settings, settings.topics.raw, idle_ms=1000)
    raw = [orjson.loads(m.value) for m in records]
    ids = Counter(r["id"] for r in raw)
    assert {r["source"]["id"] for r in raw} == {f"s{i}" for i in range(SOURCES)}  # every one
    assert {i: n for i, n in ids.items() if n > 1} == {}
    assert len(stats.most_in_flight) == HOSTS
    assert max(stats.most_in_flight.values()) <= PER_HOST, stats.most_in_flight
    for replica in fleet.replicas[1:]:
        assert replica.process.returncode == 0, replica.tail()


async def test_sources_apply_list_and_a_bad_record_on_the_topic(
    make_settings: SettingsFactory, tmp_path: Path
) -> None:
    """apply prints the diff and publishes it (tombstones too); a replica dead-letters an
    invalid sources record and polls the rest; a removed source stops being polled."""
    from aiokafka import AIOKafkaProducer

    from newswire.common.kafka import host_partition, producer_options

    settings = fleet_settings(make_settings)
    await create_missing_topics(settings.kafka, declared_topics(settings))
    env = replica_environment(settings)
    with FleetServer(2, delay_s=0.0) as server:
        file = tmp_path / "sources.yaml"
        file.write_text(server.sources_yaml(3, min_interval=0.5, max_interval=0.5))
        dry = newswire(env, "sources", "apply", "--dry-run", str(file))
        assert dry.returncode == 0 and dry.stdout.splitlines()[:3] == ["+ s0", "+ s1", "+ s2"]
        assert "would change" in dry.stdout and "3 added" in dry.stdout
        assert (
            newswire(env, "sources", "list")
            .stdout.strip()
            .endswith("0 sources on " + settings.fetcher.sources_topic)
        )
        assert newswire(env, "sources", "apply", str(file)).returncode == 0
        again = newswire(env, "sources", "apply", str(file))
        assert "nothing to change" in again.stdout and "3 unchanged" in again.stdout

        bad = orjson.dumps(
            {
                "schema_version": "1.0",
                "source": {"id": "bad", "name": "B", "kind": "podcast", "url": "http://x.example/"},
            }
        )
        producer = AIOKafkaProducer(**producer_options(settings.kafka))
        await producer.start()
        try:
            await (
                await producer.send(settings.fetcher.sources_topic, bad, key=b"bad", partition=0)
            )
        finally:
            await producer.stop()
        listed = newswire(env, "sources", "list")
        assert listed.returncode == 1 and "! bad  partition=0  invalid: schema" in listed.stdout

        fleet = Fleet(env, tmp_path)
        try:
            replica = fleet.start()
            started = time.time()
            assert await wait_until_polled(server, {0, 1, 2}, started, 60) is not None, (
                replica.tail()
            )
            letters = [
                orjson.loads(m.value) for m in await read_topic(settings, settings.topics.dlq)
            ]
            assert [(d["service"], d["kind"], d["origin"]["topic"]) for d in letters] == [
                ("fetcher", "schema", settings.fetcher.sources_topic)
            ]
            assert "source/kind" in letters[0]["reason"]

            file.write_text(server.sources_yaml(2, min_interval=0.5, max_interval=0.5))
            removed = newswire(env, "sources", "apply", str(file))
            assert removed.stdout.splitlines()[0] == "- bad" and "- s2" in removed.stdout
            assert "2 removed" in removed.stdout
            await asyncio.sleep(1.0)  # a poll of s2 in flight when the tombstone came ends
            before = (await server.stats()).last_hit
            polls_of_s0 = 0  # s0 polled again, twice: s2 had its turns too, if it had any
            deadline = time.monotonic() + 60
            while polls_of_s0 < 2 and time.monotonic() < deadline:
                last = (await server.stats()).last_hit[0]
                await asyncio.sleep(0.1)
                polls_of_s0 += (await server.stats()).last_hit[0] > last
            after = (await server.stats()).last_hit
            assert polls_of_s0 == 2 and after[0] > before[0], replica.tail()
            assert after[2] == before[2], "a removed source is not polled any more"
            assert replica.process.poll() is None, replica.tail()
        finally:
            fleet.stop()
        assert fleet.replicas[0].process.returncode == 0, fleet.replicas[0].tail()
    listed = newswire(env, "sources", "list")
    assert listed.returncode == 0 and listed.stdout.splitlines() == [
        f"s0  feed  partition={host_partition(server.url(0), PARTITIONS)}  {server.url(0)}",
        f"s1  feed  partition={host_partition(server.url(1), PARTITIONS)}  {server.url(1)}",
        f"2 sources on {settings.fetcher.sources_topic}",
    ]
    once = newswire(env, "fetch", "--once")
    assert once.returncode == 2 and "--once and --output need --sources FILE" in once.stderr

    file.write_text("sources: []\n")
    emptied = newswire(env, "sources", "apply", str(file))
    assert emptied.returncode == 2 and "pass --remove-all" in emptied.stderr
    assert (
        newswire(env, "sources", "list")
        .stdout.strip()
        .endswith(f"2 sources on {settings.fetcher.sources_topic}")
    )
    cleared = newswire(env, "sources", "apply", "--remove-all", str(file))
    assert cleared.returncode == 0 and "2 removed" in cleared.stdout


async def test_a_spare_replica_idles_then_takes_over(
    make_settings: SettingsFactory, tmp_path: Path
) -> None:
    """More replicas than partitions: the spare holds nothing, then takes a dead one's."""
    settings = fleet_settings(make_settings)
    fetcher = settings.fetcher.model_copy(update={"partitions": 2})
    settings = settings.model_copy(update={"fetcher": fetcher})
    await create_missing_topics(settings.kafka, declared_topics(settings))
    env = replica_environment(settings)
    with FleetServer(8, delay_s=0.0) as server:
        file = tmp_path / "sources.yaml"
        file.write_text(server.sources_yaml(24, min_interval=0.5, max_interval=1))
        assert newswire(env, "sources", "apply", str(file)).returncode == 0
        fleet = Fleet(env, tmp_path)
        try:
            for _ in range(3):
                fleet.start()
            started = time.time()
            assert await wait_until_polled(server, set(range(24)), started, 60) is not None
            last = await settled(fleet.replicas, 2)
            assert sorted(map(len, last)) == [0, 1, 1], last  # one spare
            victim = next(r for r, held in zip(fleet.replicas, last, strict=True) if held)
            orphans = sources_of(victim.assigned()[-1], server, 24, 2)
            assert orphans  # both partitions hold sources: the takeover is observable
            killed_at = time.time()
            fleet.kill(victim)
            assert await wait_until_polled(server, orphans, killed_at, 45) is not None
            survivors = [r for r in fleet.replicas if r is not victim]
            assert sorted(map(len, await settled(survivors, 2))) == [1, 1]
        finally:
            fleet.stop()
    records = await read_topic(settings, settings.topics.raw, idle_ms=1000)
    ids = Counter(orjson.loads(m.value)["id"] for m in records)
    assert ids and max(ids.values()) == 1


async def test_move_state_places_old_states_on_their_host_partition(
    make_settings: SettingsFactory, tmp_path: Path
) -> None:
    """Upgrade step: a state written where an earlier version put it (by source id) is
    copied to its host's partition, where a fleet replica reads it; once is enough."""
    from aiokafka import AIOKafkaProducer

    from newswire.common.kafka import host_partition, producer_options
    from newswire.fetcher.state import SourceState
    from newswire.fetcher.statestore import read_to_end

    settings = fleet_settings(make_settings)
    await create_missing_topics(settings.kafka, declared_topics(settings))
    env = replica_environment(settings)
    with FleetServer(2, delay_s=0.0) as server:
        file = tmp_path / "sources.yaml"
        file.write_text(server.sources_yaml(2, min_interval=60, max_interval=60))
        assert newswire(env, "sources", "apply", str(file)).returncode == 0
        home = host_partition(server.url(0), PARTITIONS)
    elsewhere = (home + 1) % PARTITIONS
    old = SourceState("s0", etag='"v1"', seen=("a1", "a2"), last_attempt_at=1.7e9)
    producer = AIOKafkaProducer(**producer_options(settings.kafka))
    await producer.start()
    try:
        topic = settings.fetcher.state_topic
        await (await producer.send(topic, old.to_json(), key=b"s0", partition=elsewhere))
    finally:
        await producer.stop()

    moved = newswire(env, "sources", "move-state")
    assert moved.returncode == 0 and "1 state moved" in moved.stdout, moved.stderr
    found = [
        (key, SourceState.from_json(value))
        async for _p, key, value in read_to_end(settings, topic, partitions=[home])
        if value is not None
    ]
    assert found == [(b"s0", old)]
    again = newswire(env, "sources", "move-state")
    assert "0 states moved" in again.stdout

    # a source whose URL moves to another host takes its state along on apply
    url = next(
        f"http://moved-{n}.example/feed"
        for n in range(100)
        if host_partition(f"http://moved-{n}.example/feed", PARTITIONS) != home
    )
    target = host_partition(url, PARTITIONS)
    file.write_text(file.read_text().replace(server.url(0), url))
    assert newswire(env, "sources", "apply", str(file)).returncode == 0
    carried = [
        SourceState.from_json(value)
        async for _p, key, value in read_to_end(settings, topic, partitions=[target])
        if key == b"s0" and value is not None
    ]
    assert carried == [old], "the new owner resumes with the validators and seen ids"
