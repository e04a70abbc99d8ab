"""``newswire audit`` as operators and the chaos tests run it: a child process on the real
broker, judged by its output and exit status."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from newswire.common.broker import free_port
from newswire.common.errors import ErrorKind, InvalidRecord
from newswire.common.ids import content_hash
from newswire.common.kafka import end_offsets, new_producer
from newswire.common.records import dead_letter, encode, raw_article, topic_origin, utc_now
from newswire.common.schemas import SchemaName, schema_info, validate
from newswire.common.settings import Settings
from newswire.common.settings_env import as_environment
from newswire.sink.writers.postgres import PostgresWriter
from tests.integration.conftest import ServiceProcess, eventually, output_records

AUDIT_TIMEOUT_S = 120


def audit(
    settings: Settings, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -m newswire audit ARGS`` configured like a deployment: by environment."""
    environment = dict(os.environ) | as_environment(settings) | (env or {})
    return subprocess.run(
        [sys.executable, "-m", "newswire", "audit", *args],
        env=environment,
        capture_output=True,
        text=True,
        timeout=AUDIT_TIMEOUT_S,
        check=False,
    )


async def run_audit(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(audit, settings, *args)


def as_report(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert result.returncode in (0, 1), f"exit {result.returncode}:\n{result.stderr}"
    return orjson.loads(result.stdout)


def article(n: int, *, text: str | None = None) -> dict[str, Any]:
    body = (
        text
        or f"Report number {n}: the harbour of town {n} reopened after {n * 7} days of repairs."
    )
    url = f"https://news.example.org/audit/{n}"
    return raw_article(
        source={"kind": "feed", "id": "example"}, url=url, title=f"Headline {n}", text=body
    )


def enriched_from(raw: dict[str, Any], *, status: str = "new") -> dict[str, Any]:
    """What the enricher would emit for RAW (language and topics made up)."""
    record = raw | {
        "schema_version": schema_info(SchemaName.ENRICHED).version,
        "enriched_at": utc_now(),
        "language": {"code": "en", "confidence": 0.99},
        "topics": [],
        "dedupe": {
            "status": status,
            "content_hash": content_hash(raw["title"], raw["text"]),
            "duplicate_of": None,
            "similarity": None,
            "cluster_id": raw["id"],
            "redeliveries": 0,
        },
    }
    validate(SchemaName.ENRICHED, record)
    return record


Sent = tuple[int, int]  # (partition, offset)


async def produce(
    settings: Settings, topic: str, messages: list[tuple[bytes | None, bytes]]
) -> list[Sent]:
    producer = new_producer(settings.kafka)
    await producer.start()
    try:
        futures = [await producer.send(topic, value, key=key) for key, value in messages]
        return [(m.partition, m.offset) for m in await asyncio.gather(*futures)]
    finally:
        await producer.stop()


def poison(valid: dict[str, Any]) -> list[tuple[bytes | None, bytes]]:
    """Every kind of bad raw message the enricher must dead-letter."""
    key = valid["id"].encode()
    return [
        (key, b"\xff\xfe not UTF-8"),
        (key, b"<rss>not JSON</rss>"),
        (key, encode(valid | {"fetched_at": "soon"})),  # schema-invalid
        (b"not-the-id", encode(valid)),  # key does not match id
        (None, encode(valid)),  # no key
    ]


# -- against the real enricher and sink --------------------------------------------------


async def test_audit_accounts_for_a_real_run_and_names_the_record_it_lost(
    settings: Settings, spawn: Callable[[str, Settings], ServiceProcess]
) -> None:
    articles = [article(n) for n in range(12)]
    changed = article(
        0, text="Report number 0: the harbour stays closed; repairs take another month."
    )
    messages = [(a["id"].encode(), encode(a)) for a in articles]
    messages += [messages[3], messages[5]]  # redeliveries: same bytes again
    messages += [(changed["id"].encode(), encode(changed))]  # an update of article 0
    messages += poison(article(99))
    await produce(settings, settings.topics.raw, messages)

    enricher, sink = spawn("enrich", settings), spawn("sink", settings)
    versions = {(a["id"], content_hash(a["title"], a["text"])) for a in [*articles, changed]}

    async def all_written() -> bool:
        enricher.assert_running()
        sink.assert_running()
        written = {
            (r["id"], r["dedupe"]["content_hash"]) for r in output_records(settings.sink.out_dir)
        }
        letters = sum((await end_offsets(settings.kafka, settings.topics.dlq)).values())
        return written == versions and letters == 5

    await eventually(all_written, timeout_s=120)
    out = str(settings.sink.out_dir)

    report = as_report(result := await run_audit(settings, "--json", "--out", out))
    assert result.returncode == 0, result.stdout
    assert (report["raw_records"], report["enriched"], report["redelivered"]) == (20, 13, 2)
    assert (report["dead_lettered"], report["lost"], report["ok"]) == (5, [], True)
    assert report["duplicate_emissions"] == 0 and report["duplicate_ids"] == []
    jsonl = report["output"]["jsonl"]
    assert (jsonl["missing"], jsonl["differs"], jsonl["torn"]) == ([], [], [])
    assert (jsonl["records"], jsonl["distinct_ids"]) == (13, 12)
    assert result.stderr.strip().splitlines()[-1] == report["summary"]

    text = await run_audit(settings, "--out", out)
    assert text.returncode == 0
    assert text.stdout.strip().splitlines()[-1] == (
        "audit: raw=20 enriched=13 redelivered=2 dead_lettered=5 lost=0 duplicate_emissions=0 "
        "output_missing=0 output_differs=0 output_torn=0"
    )

    # The enricher is gone: a new raw record is not enriched, so it is lost.
    enricher.stop()
    straggler = article(50)
    [(partition, offset)] = await produce(
        settings, settings.topics.raw, [(straggler["id"].encode(), encode(straggler))]
    )
    report = as_report(result := await run_audit(settings, "--json", "--out", out))
    assert result.returncode == 1
    assert [(u["id"], u["partition"], u["offset"]) for u in report["lost"]] == [
        (straggler["id"], partition, offset)
    ]
    text = await run_audit(settings, "--out", out)
    assert text.returncode == 1 and straggler["id"] in text.stdout
    assert text.stdout.strip().splitlines()[-1].startswith("audit: raw=21 enriched=13 ")


# -- outputs checked against the topic (records produced by the test) --------------------


async def put_run(settings: Settings, raws: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Raw records and their enriched records on the topics, as a clean run leaves them."""
    await produce(settings, settings.topics.raw, [(r["id"].encode(), encode(r)) for r in raws])
    enriched = [enriched_from(r) for r in raws]
    await produce(
        settings, settings.topics.enriched, [(e["id"].encode(), encode(e)) for e in enriched]
    )
    return enriched


def write_jsonl(out_dir: Path, lines: list[bytes]) -> Path:
    path = out_dir / "date=2025-01-31" / "enriched-20250131T101500000000Z-0000abcd-000001.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(lines))
    (out_dir / ".tmp").mkdir(exist_ok=True)
    (out_dir / ".tmp" / "half-written.jsonl").write_bytes(b'{"torn')  # ignored
    return path


async def test_jsonl_output_that_misses_differs_or_is_torn_fails_the_audit(
    settings: Settings, tmp_path: Path
) -> None:
    raws = [article(n) for n in range(5)]
    enriched = await put_run(settings, raws)
    poisoned = await produce(settings, settings.topics.raw, [(b"k", b"<html>")])
    origin = topic_origin(settings.topics.raw, *poisoned[0], b"k")
    letter = dead_letter(
        service="enricher",
        error=InvalidRecord(ErrorKind.DECODE, "not JSON"),
        payload=b"<html>",
        origin=origin,
    )
    await produce(settings, settings.topics.dlq, [(b"k", encode(letter))])

    out = tmp_path / "out"
    lines = [orjson.dumps(record) + b"\n" for record in enriched]
    write_jsonl(out, lines)
    report = as_report(result := await run_audit(settings, "--json", "--out", str(out)))
    assert result.returncode == 0 and report["ok"], report
    assert (report["dead_lettered"], report["enriched"]) == (1, 5)

    altered = enriched[2] | {"title": "Someone edited this"}
    path = write_jsonl(
        out, [lines[0], lines[1], orjson.dumps(altered) + b"\n", lines[4], b'{"id": "cut']
    )
    report = as_report(result := await run_audit(settings, "--json", "--out", str(out)))
    assert result.returncode == 1 and not report["ok"] and report["lost"] == []
    jsonl = report["output"]["jsonl"]
    assert [m["id"] for m in jsonl["missing"]] == [enriched[3]["id"]]
    assert [(d["id"], d["where"]) for d in jsonl["differs"]] == [
        (enriched[2]["id"], f"{path.parent.name}/{path.name}:3")
    ]
    assert [t["where"] for t in jsonl["torn"]] == [f"{path.parent.name}/{path.name}:5"]
    assert jsonl["distinct_ids"] == 4

    text = await run_audit(settings, "--out", str(out))
    assert text.returncode == 1
    assert (
        text.stdout.strip()
        .splitlines()[-1]
        .endswith("output_missing=1 output_differs=1 output_torn=1")
    )


async def test_postgres_output_missing_a_row_fails_the_audit(
    settings: Settings, postgres_db_dsn: str
) -> None:
    raws = [article(n) for n in range(4)]
    enriched = await put_run(settings, raws)
    writer = PostgresWriter(dsn=postgres_db_dsn)
    try:
        for offset, record in enumerate(enriched[:3]):
            await writer.add(record, orjson.dumps(record), settings.topics.enriched, 0, offset)
        await writer.flush()
        report = as_report(
            result := await run_audit(settings, "--json", "--postgres", postgres_db_dsn)
        )
        assert result.returncode == 1 and report["lost"] == []
        postgres = report["output"]["postgres"]
        assert postgres["missing"] == [
            {"id": enriched[3]["id"], "content_hash": enriched[3]["dedupe"]["content_hash"]}
        ]
        assert (postgres["differs"], postgres["distinct_ids"]) == ([], 3)

        await writer.add(enriched[3], orjson.dumps(enriched[3]), settings.topics.enriched, 0, 3)
        await writer.flush()
        result = await run_audit(settings, "--json", "--postgres", postgres_db_dsn)
        assert result.returncode == 0, result.stdout
    finally:
        await writer.close()


# -- errors ------------------------------------------------------------------------------


async def test_unreachable_sources_are_one_line_and_exit_3_or_2(settings: Settings) -> None:
    nowhere = f"127.0.0.1:{free_port()}"
    result = await asyncio.to_thread(
        audit, settings, "--timeout", "2", env={"KAFKA_BOOTSTRAP_SERVERS": nowhere}
    )
    assert result.returncode == 3 and result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"newswire audit: Kafka at {nowhere} did not answer within 2s (")

    result = await asyncio.to_thread(
        audit, settings, "--json", "--timeout", "2", env={"KAFKA_BOOTSTRAP_SERVERS": nowhere}
    )
    answer = orjson.loads(result.stdout)
    assert result.returncode == 3 and answer["ok"] is False and nowhere in answer["error"]

    dead_db = f"postgresql://postgres@127.0.0.1:{free_port()}/newswire"
    result = await run_audit(settings, "--postgres", dead_db, "--timeout", "2")
    assert result.returncode == 2 and result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith("newswire audit: PostgreSQL at 127.0.0.1:") and "did not answer" in line
