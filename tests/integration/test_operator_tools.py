"""The operator's view on the real broker: what the services log at INFO, ``dlq list`` /
``dlq show``, and ``topics list`` (declared vs actual), each run as the real command."""

from __future__ import annotations

import asyncio
import hashlib
import os
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import orjson
import pytest
from aiokafka import TopicPartition

from newswire.common.errors import ErrorKind, InvalidRecord
from newswire.common.kafka import new_admin, new_consumer, new_producer
from newswire.common.publish import Publisher
from newswire.common.records import encode, raw_article, topic_origin
from newswire.common.settings import Settings
from newswire.common.settings_env import as_environment
from tests.integration.conftest import ServiceProcess, eventually

ARTICLES = [
    "The city council approved the new budget for public transport on Tuesday evening.",
    "Heavy rain flooded several streets in the harbour district overnight, officials said.",
    "The national football team won its qualifying match two goals to one in extra time.",
]


def newswire(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    """``python -m newswire ARGS`` configured from SETTINGS through the environment."""
    env = dict(os.environ) | as_environment(settings) | {"COLUMNS": "200", "TERMINAL_WIDTH": "200"}
    return subprocess.run(
        [sys.executable, "-m", "newswire", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


async def _produce(
    settings: Settings, topic: str, messages: list[tuple[bytes | None, bytes, int | None]]
) -> None:
    producer = new_producer(settings.kafka)
    await producer.start()
    try:
        for key, value, partition in messages:
            await (await producer.send(topic, value, key=key, partition=partition))
    finally:
        await producer.stop()


def _log_lines(service: ServiceProcess) -> list[dict[str, Any]]:
    lines = []
    for line in service.log_path.read_bytes().splitlines():
        if line.startswith(b"{"):
            lines.append(orjson.loads(line))
    return lines


def _status(service: ServiceProcess, prefix: str) -> list[dict[str, Any]]:
    return [line for line in _log_lines(service) if line["msg"].startswith(prefix)]


# -- logs at INFO ------------------------------------------------------------------------


async def test_services_log_a_start_line_and_status_lines_and_no_chatter(
    settings: Settings,
    spawn: Callable[[str, Settings], ServiceProcess],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = settings.model_copy(update={"status_interval_s": 1.0})
    enricher = spawn("enrich", settings)
    sink = spawn("sink", settings)
    good = [
        encode(raw_article(source={"kind": "replay", "ref": f"{i}.txt"}, text=text))
        for i, text in enumerate(ARTICLES)
    ]
    await _produce(
        settings,
        settings.topics.raw,
        [(orjson.loads(value)["id"].encode(), value, None) for value in good]
        + [(b"bad", b"<not json", None)],
    )

    async def enricher_counted_everything() -> dict[str, Any] | None:
        enricher.assert_running()
        for line in reversed(_status(enricher, "enricher: ")):
            counts = line["counts"]
            if counts["taken"] == 4 and counts["in_flight"] == 0 and counts["lag"] == 0:
                return line
        return None

    async def sink_wrote_everything() -> dict[str, Any] | None:
        sink.assert_running()
        for line in reversed(_status(sink, "sink: ")):
            if line["counts"]["written"] == {"jsonl": 3} and "lag 0" in line["msg"]:
                return line
        return None

    status = await eventually(enricher_counted_everything, timeout_s=120)
    assert status["level"] == "info" and status["service"] == "enricher"
    assert status["counts"] | {"lag": 0} == {
        "taken": 4,
        "enriched": 3,
        "dead_letters": 1,
        "redeliveries": 0,
        "dropped": 0,
        "in_flight": 0,
        "send_retries": 0,
        "batch_failures": 0,
        "lag": 0,
    }
    assert status["msg"].startswith("enricher: 4 in (")
    assert "/s), 3 enriched, 1 dead letters, 0 redeliveries, in flight 0, lag 0" in status["msg"]
    sink_status = await eventually(sink_wrote_everything, timeout_s=60)
    assert (
        sink_status["msg"].startswith("sink: 3 in (") and "3 written to jsonl" in sink_status["msg"]
    )
    assert "0 dead letters" in sink_status["msg"] and "lag 0" in sink_status["msg"]

    enricher.stop()
    sink.stop()
    (start,) = _status(enricher, "enricher starting: ")
    kafka, config, topics = settings.kafka, settings.enricher, settings.topics
    for part in (
        f"bootstrap {kafka.bootstrap} (embedded)",
        f"{topics.raw} -> {topics.enriched}, dead letters to {topics.dlq}",
        f"group {config.app_id}",
        f"batch {config.batch_size} within",
        "store memory://",
        f"http 0.0.0.0:{enricher.env['ENRICHER_WEB_PORT']}",
        "status every 1s",
    ):
        assert part in start["msg"], start["msg"]
    (sink_start,) = _status(sink, "sink starting: ")
    for part in (
        f"{settings.topics.enriched} as group {settings.sink.group_id}",
        f"writers jsonl to {settings.sink.out_dir}",
        f"http 0.0.0.0:{sink.env['SINK_HTTP_PORT']}",
    ):
        assert part in sink_start["msg"], sink_start["msg"]
    (last,) = _status(enricher, "enricher stopping: ")
    assert last["counts"]["taken"] == 4

    for service in (enricher, sink):
        log = service.log_path.read_bytes()
        assert b"\x1b[" not in log and b"\x08" not in log, "no terminal control codes in a pipe"
        assert b"Starting..." not in log and b"Stopping..." not in log
        chatter = [
            line
            for line in _log_lines(service)
            if line["logger"].split(".")[0] in ("faust", "mode")
        ]
        assert all(line["level"] != "info" for line in chatter), chatter[:3]


# -- dlq list and dlq show ---------------------------------------------------------------


SCHEMA_PAYLOAD = '{"id": "a", "text": "café"}'.encode()


async def _dead_letters(settings: Settings) -> None:
    producer = new_producer(settings.kafka)
    await producer.start()
    raw = settings.topics.raw
    try:
        for service, kind, payload, origin in [
            ("enricher", ErrorKind.SCHEMA, SCHEMA_PAYLOAD, (0, 7)),
            ("sink", ErrorKind.REJECTED, b"\xff\xfe not text", (1, 8)),
            ("enricher", ErrorKind.TOO_LARGE, b"x" * 100_000, (2, 9)),
        ]:
            publisher = Publisher(settings=settings, producer=producer, service=service)  # type: ignore[arg-type]
            await publisher.dead_letter(
                error=InvalidRecord(kind, f"{kind} went wrong\nsecond line"),
                payload=payload,
                origin=topic_origin(raw, *origin, b"k1"),
                key=b"k1",
            )
    finally:
        await producer.stop()


def _rows(result: subprocess.CompletedProcess[str]) -> list[list[str]]:
    header, *rows = result.stdout.splitlines()
    assert header.split()[:5] == ["OFFSET", "FAILED", "AT", "(UTC)", "SERVICE"]
    return [row.split() for row in rows]


async def test_dlq_list_and_show(settings: Settings) -> None:
    await _dead_letters(settings)
    raw = settings.topics.raw

    listed = newswire(settings, "dlq", "list")
    assert listed.returncode == 0, listed.stderr
    rows = _rows(listed)
    assert [row[0] for row in rows] == ["0", "1", "2"]
    assert [(row[2], row[3], row[4]) for row in rows] == [
        ("enricher", "schema", f"{raw}:0:7"),
        ("sink", "rejected", f"{raw}:1:8"),
        ("enricher", "too_large", f"{raw}:2:9"),
    ]
    assert " ".join(rows[0][5:]) == "schema: schema went wrong second line"
    assert listed.stderr.strip() == f"3 of 3 dead letters on {settings.topics.dlq} match"

    assert [row[0] for row in _rows(newswire(settings, "dlq", "list", "--kind", "schema"))] == ["0"]
    assert [row[0] for row in _rows(newswire(settings, "dlq", "list", "--service", "sink"))] == [
        "1"
    ]
    assert (
        len(_rows(newswire(settings, "dlq", "list", "--since", "1h", "--until", "2999-01-01"))) == 3
    )
    latest = newswire(settings, "dlq", "list", "--limit", "1")
    assert [row[0] for row in _rows(latest)] == ["2"] and "the latest 1 shown" in latest.stderr
    none = newswire(settings, "dlq", "list", "--until", "2000-01-01")
    assert none.returncode == 0 and none.stdout == "" and none.stderr.startswith("0 of 3")

    shown = newswire(settings, "dlq", "show", "0")
    assert shown.returncode == 0, shown.stderr
    for part in (
        f"dead letter {settings.topics.dlq}:0:0",
        "service    enricher",
        "kind       schema",
        "reason     schema: schema went wrong\n             second line",
        f"origin     {raw}:0:7 (key: k1)",
        f"payload    {len(SCHEMA_PAYLOAD)} bytes, whole",
        f"sha256 {hashlib.sha256(SCHEMA_PAYLOAD).hexdigest()}",
        f"payload (UTF-8, {len(SCHEMA_PAYLOAD.decode())} characters):\n{SCHEMA_PAYLOAD.decode()}",
    ):
        assert part in shown.stdout, shown.stdout

    cut = newswire(settings, "dlq", "show", "2")
    assert "truncated: the first 49,152 of 100,000 bytes are carried here" in cut.stdout
    assert f"sha256 of the whole: {hashlib.sha256(b'x' * 100_000).hexdigest()}" in cut.stdout
    assert "the first 2,000 of 49,152 characters; --full for all" in cut.stdout

    by_origin = newswire(settings, "dlq", "show", "--origin", f"{raw}:1:8")
    assert (
        by_origin.returncode == 0 and f"dead letter {settings.topics.dlq}:0:1" in by_origin.stdout
    )
    assert "payload: not UTF-8; the first 11 bytes as hex:\nff fe 20 6e 6f 74" in by_origin.stdout

    missing = newswire(settings, "dlq", "show", "5")
    assert missing.returncode == 1
    assert missing.stderr.strip() == (
        f"newswire dlq show: no dead letter at offset 5 of {settings.topics.dlq}[0]: it ends at 3"
    )
    no_origin = newswire(settings, "dlq", "show", "--origin", f"{raw}:1:9")
    assert no_origin.returncode == 1 and f"has origin {raw}:1:9" in no_origin.stderr


async def test_dlq_list_without_a_dead_letter_topic_creates_nothing(settings: Settings) -> None:
    absent = settings.model_copy(
        update={"topics": settings.topics.model_copy(update={"dlq": f"{settings.topics.dlq}-none"})}
    )
    result = newswire(absent, "dlq", "list")
    assert result.returncode == 0 and "does not exist yet" in result.stderr
    assert absent.topics.dlq not in await _topics(absent)


# -- topics list ---------------------------------------------------------------------------


async def _topics(settings: Settings) -> list[str]:
    admin = new_admin(settings.kafka)
    await admin.start()
    try:
        return await admin.list_topics()
    finally:
        await admin.close()


async def _commit(settings: Settings, group: str, offsets: dict[TopicPartition, int]) -> None:
    consumer = new_consumer(settings.kafka, group_id=group)
    await consumer.start()
    try:
        consumer.assign(list(offsets))
        await consumer.commit(offsets)
    finally:
        await consumer.stop()


def _row(result: subprocess.CompletedProcess[str], topic: str) -> list[str]:
    return next(line.split() for line in result.stdout.splitlines() if line.startswith(f"{topic} "))


async def test_topics_list_shows_declared_vs_actual(settings: Settings) -> None:
    raw = settings.topics.raw
    await _produce(settings, raw, [(None, b"{}", 0)] * 5 + [(None, b"{}", 1)] * 2)
    group = f"grp-{settings.topics.raw}"
    await _commit(settings, group, {TopicPartition(raw, 0): 2})

    listed = newswire(settings, "topics", "list")
    assert listed.returncode == 0, listed.stdout + listed.stderr
    assert (
        listed.stdout.splitlines()[0] == f"Kafka at {settings.kafka.bootstrap} (embedded profile)"
    )
    # raw: 3 partitions, 7 days, delete, 7 records; the group is 3 behind on p0, 2 on p1
    assert _row(listed, raw) == [raw, "yes", "3", "7d", "delete", "7", group, "5"]
    assert _row(listed, settings.topics.dlq)[:5] == [
        settings.topics.dlq,
        "yes",
        "1",
        "30d",
        "delete",
    ]
    probes = f"{settings.enricher.app_id}-band-probes"
    assert _row(listed, probes)[:3] == [probes, "(internal)", "no"]
    assert "(the enricher creates it when it starts)" in listed.stdout
    assert "!" not in listed.stdout

    drifted = settings.model_copy(
        update={
            "topics": settings.topics.model_copy(
                update={"partitions": 6, "dlq": f"{settings.topics.dlq}-absent"}
            )
        }
    )
    differs = newswire(drifted, "topics", "list")
    assert differs.returncode == 1
    lines = differs.stdout.splitlines()
    after_raw = lines[lines.index(next(line for line in lines if line.startswith(f"{raw} "))) + 1]
    assert after_raw.strip() == "! partitions 6 declared, 3 on the broker"
    assert "! missing on the broker: 'newswire topics create'" in differs.stdout
    assert differs.stderr.strip() == "3 topics differ from their declaration"
    assert drifted.topics.dlq not in await _topics(drifted), "listing must not create topics"


async def test_topics_list_sees_the_enricher_internal_topics(
    settings: Settings, spawn: Callable[[str, Settings], ServiceProcess]
) -> None:
    enricher = spawn("enrich", settings)
    names = [
        f"{settings.enricher.app_id}-{suffix}"
        for suffix in ("band-probes", "articles-seen-changelog")
    ]

    async def created() -> bool:
        enricher.assert_running()
        return set(names) <= set(await _topics(settings))

    await eventually(created, timeout_s=90)
    await asyncio.sleep(1)
    listed = newswire(settings, "topics", "list")
    assert listed.returncode == 0, listed.stdout
    assert _row(listed, names[0])[:6] == [names[0], "(internal)", "yes", "3", "6h", "default"]
    assert _row(listed, names[1])[:6] == [names[1], "(internal)", "yes", "3", "default", "compact"]
