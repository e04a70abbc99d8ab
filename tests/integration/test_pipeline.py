"""End to end on the real broker: replay -> real Faust enricher -> real sink -> files."""

from __future__ import annotations

import asyncio
import base64
import re
import signal
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest

from newswire.common.kafka import new_producer
from newswire.common.records import encode, raw_article
from newswire.common.settings import Settings
from newswire.replay.service import replay
from tests.conftest import SEEDS
from tests.integration.conftest import ServiceProcess, eventually, output_records, read_topic

SEED_TOPICS = {"iraq", "us-forces", "iran-strikes"}


async def _produce_raw(settings: Settings, messages: list[tuple[bytes | None, bytes]]) -> None:
    producer = new_producer(settings.kafka)
    await producer.start()
    try:
        for key, value in messages:
            await (await producer.send(settings.topics.raw, value, key=key))
    finally:
        await producer.stop()


async def test_seed_is_enriched_once_and_bad_records_are_dead_lettered(
    settings: Settings, spawn: Callable[[str, Settings], ServiceProcess]
) -> None:
    not_json = b"<rss><channel>this is not JSON"
    invalid = encode(
        raw_article(source={"kind": "replay", "ref": "x.txt"}, text="text") | {"fetched_at": "soon"}
    )
    invalid_key = orjson.loads(invalid)["id"].encode()
    await _produce_raw(settings, [(b"k1", not_json), (invalid_key, invalid)])

    enricher = spawn("enrich", settings)
    sink = spawn("sink", settings)
    report = await replay(settings, [SEEDS], loop=3)
    assert report.produced == 3 and len(report.article_ids) == 1

    async def one_record_written() -> list[dict]:
        enricher.assert_running()
        sink.assert_running()
        return output_records(settings.sink.out_dir)

    records = await eventually(one_record_written, timeout_s=90)
    (record,) = records
    assert record["id"] in report.article_ids
    assert record["source"] == {"kind": "replay", "ref": "000_71de62777f81eff8.txt"}
    assert record["language"]["code"] == "ar"
    assert SEED_TOPICS <= {t["id"] for t in record["topics"]}
    assert all(t["evidence"] for t in record["topics"])
    assert record["dedupe"]["status"] == "new"

    letters = [orjson.loads(m.value) for m in await read_topic(settings, settings.topics.dlq)]
    by_kind = {letter["kind"]: letter for letter in letters}
    assert set(by_kind) == {"decode", "schema"}, letters
    assert base64.b64decode(by_kind["decode"]["payload_b64"]) == not_json
    assert base64.b64decode(by_kind["schema"]["payload_b64"]) == invalid
    assert "fetched_at" in by_kind["schema"]["reason"]
    assert all(letter["service"] == "enricher" for letter in letters)

    enriched = await read_topic(settings, settings.topics.enriched)
    assert len(enriched) == 1, "the two re-deliveries must not be emitted"
    headers = dict(enriched[0].headers)
    assert (
        headers["schema-id"] == b"newswire.enriched-article" and headers["schema-version"] == b"1.2"
    )


@pytest.mark.parametrize("store", ["memory://", "rocksdb://"])
async def test_dedupe_survives_an_enricher_restart(
    settings: Settings, spawn: Callable[[str, Settings], ServiceProcess], store: str
) -> None:
    """The dedupe table is rebuilt from its changelog (memory) or kept on disk (RocksDB)."""
    settings = settings.model_copy(
        update={"enricher": settings.enricher.model_copy(update={"store": store})}
    )
    enricher = spawn("enrich", settings)
    await replay(settings, [SEEDS])

    async def enriched_count() -> int:
        enricher.assert_running()
        return len(await read_topic(settings, settings.topics.enriched, idle_ms=500))

    await eventually(enriched_count)
    enricher.stop(signal.SIGTERM)

    restarted = spawn("enrich", settings)
    second = await replay(settings, [SEEDS])
    group_done = await _wait_enricher_commit(settings, second.next_offsets, restarted)
    assert group_done
    assert len(await read_topic(settings, settings.topics.enriched)) == 1


async def _wait_enricher_commit(settings: Settings, targets: dict, service: ServiceProcess) -> bool:
    from newswire.common.kafka import caught_up, committed_offsets

    async def done() -> bool:
        service.assert_running()
        return caught_up(
            await committed_offsets(settings.kafka, settings.enricher.app_id, targets), targets
        )

    return bool(await eventually(done, timeout_s=90))


def test_run_command_writes_one_record_for_the_seed(tmp_path: Path) -> None:
    """The README's demo: `newswire run` on its own embedded broker, seeds replayed 3 times."""
    import os
    import subprocess
    import sys

    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("KAFKA_", "TOPIC_", "SINK_", "ENRICHER_"))
    }
    out = tmp_path / "out"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "newswire",
            "run",
            "--seeds",
            str(SEEDS),
            "--out",
            str(out),
            "--loop",
            "3",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    (record,) = output_records(out)
    assert record["language"]["code"] == "ar"
    assert SEED_TOPICS <= {t["id"] for t in record["topics"]}
    assert "enriched: 1" in result.stdout and "ar=1" in result.stdout


async def test_ids_expire_after_the_window(
    settings: Settings, spawn: Callable[[str, Settings], ServiceProcess], tmp_path: Path
) -> None:
    """Past the dedupe window an id is forgotten: the article is new again, and the
    sweep removes ids nobody has seen since."""
    settings = settings.model_copy(
        update={
            "enricher": settings.enricher.model_copy(
                update={"dedupe_window_s": 2.0, "expiry_sweep_s": 0.5}
            )
        }
    )
    other = tmp_path / "other.txt"
    other.write_text(
        "A short original article about the weather in Basra, hot and dusty all week.\n"
    )
    await replay(settings, [SEEDS, other])
    again = await replay(settings, [other])  # queued right behind: a redelivery within the window
    enricher = spawn("enrich", settings)
    await _wait_enricher_commit(settings, again.next_offsets, enricher)
    assert len(await read_topic(settings, settings.topics.enriched)) == 2

    await asyncio.sleep(2.5)  # let the window pass (this is the behaviour under test, not a wait)
    late = await replay(settings, [other])
    await _wait_enricher_commit(settings, late.next_offsets, enricher)
    statuses = [
        orjson.loads(m.value)["dedupe"]["status"]
        for m in await read_topic(settings, settings.topics.enriched)
    ]
    assert statuses == ["new", "new", "new"]

    async def seed_id_swept() -> bool:
        # The sweep deletes deltas (one per batch and partition, enricher/seen.py): the
        # first batch's are past the window; of their ids only the seed's is gone, the
        # other's entry was renewed by the late copy.
        swept = r"expired \d+ keys from table articles-seen; 1 ids forgotten with them"
        return re.search(swept, enricher.log_tail(400)) is not None

    await eventually(seed_id_swept, timeout_s=10)
