"""A fetched item too large for Kafka is dead-lettered, and the source's other items
are delivered all the same, on the real embedded broker: before, the whole poll failed
on every attempt and the source never moved on."""

from __future__ import annotations

import asyncio
import base64
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from newswire.common.broker import EmbeddedBroker
from newswire.common.kafka import create_missing_topics
from newswire.common.schemas import SchemaName, validate
from newswire.common.settings import BrokerProfile, KafkaSettings, Settings
from newswire.common.settings_env import as_environment
from newswire.common.topics import declared_topics
from newswire.fetcher.sources import Source, SourceKind
from tests.conftest import SettingsFactory
from tests.fetcher.server import FixtureServer, fixture_bytes, sequence, static
from tests.integration.conftest import read_topic
from tests.integration.fetcher_runs import CrashAfterDelivery, fetcher_group, run_once


@pytest.fixture
async def server() -> AsyncIterator[FixtureServer]:
    running = await FixtureServer().start()
    yield running
    await running.stop()


#: The smallest limit the settings allow: the fixture's long Arabic item (81,000 bytes
#: of text in UTF-8) is over it, its three short items far below.
LIMIT = 64 * 1024
FEED = fixture_bytes("rss2-one-item-too-large.xml")
#: The same feed one poll later: a new short item on top.
GROWN = FEED.replace(
    b"<item>",
    b"<item><title>Short item four</title><link>https://wire.example/n4</link>"
    b"<guid>n4</guid><description>The fourth short article.</description></item>\n<item>",
    1,
)


@pytest.fixture
async def small(make_settings: SettingsFactory, broker: EmbeddedBroker) -> Settings:
    """Settings with KAFKA_MAX_MESSAGE_BYTES at its minimum, topics created."""
    kafka = KafkaSettings(
        bootstrap_servers=broker.bootstrap, profile=BrokerProfile.EMBEDDED, max_message_bytes=LIMIT
    )
    built = make_settings(kafka=kafka)
    await create_missing_topics(built.kafka, declared_topics(built))
    return built


async def raw_guids(settings: Settings) -> list[str]:
    return sorted(
        orjson.loads(m.value)["guid"] for m in await read_topic(settings, settings.topics.raw)
    )


async def letters(settings: Settings) -> list[tuple[bytes | None, dict[str, Any]]]:
    return [(m.key, orjson.loads(m.value)) for m in await read_topic(settings, settings.topics.dlq)]


async def test_an_item_too_large_is_dead_lettered_and_the_others_delivered(
    small: Settings, server: FixtureServer
) -> None:
    group = fetcher_group()
    url = server.route("/rss", sequence(static(FEED), static(GROWN)))
    source = Source(id="wire", name="Wire", kind=SourceKind.FEED, url=url)

    first, first_report = await run_once(small, group, [source])
    assert await raw_guids(small) == ["n1", "n2", "n3"]
    [(key, letter)] = await letters(small)
    validate(SchemaName.DEAD_LETTER, letter)
    assert letter["service"] == "fetcher" and letter["kind"] == "too_large"
    assert "KAFKA_MAX_MESSAGE_BYTES" in letter["reason"]
    origin = letter["origin"]
    assert origin["source_id"] == "wire" and origin["guid"] == "big"
    assert origin["url"] == "https://wire.example/big"
    assert key == origin["article_id"].encode() == base64.b64decode(origin["key_b64"])
    assert origin["item_id"] in first.states["wire"].seen, "handled: not polled as new again"
    assert letter["payload_size"] > LIMIT and letter["payload_truncated"] is True
    assert (first_report.records, first_report.dead_lettered) == (3, 1)
    code, line = first_report.closing()
    assert code == 1 and "1 item went to the dead-letter topic" in line
    assert (
        first.metrics.registry.get_sample_value(
            "fetcher_items_dead_lettered_total", {"kind": "feed", "reason": "too_large"}
        )
        == 1
    )
    assert (
        first.metrics.registry.get_sample_value("fetcher_items_emitted_total", {"kind": "feed"})
        == 3
    )

    _, second_report = await run_once(small, group, [source])  # a new process; the feed grew
    assert (second_report.records, second_report.dead_lettered) == (1, 0)
    assert await raw_guids(small) == ["n1", "n2", "n3", "n4"]
    assert len(await letters(small)) == 1, "the big item is not dead-lettered again"


async def test_a_crash_after_the_dead_letter_dead_letters_it_once_more(
    small: Settings, server: FixtureServer
) -> None:
    """The write-ahead ``pending`` finds the short items on the raw topic, not the big
    one (it is on the DLQ): at most twice, never lost, no raw record sent twice."""
    group = fetcher_group()
    url = server.route("/rss", static(FEED))
    source = Source(id="wire", name="Wire", kind=SourceKind.FEED, url=url)
    with pytest.raises(CrashAfterDelivery):
        await run_once(small, group, [source], crash=True)
    _, again_report = await run_once(small, group, [source])
    assert (again_report.records, again_report.dead_lettered) == (0, 1)
    assert await raw_guids(small) == ["n1", "n2", "n3"]
    assert [letter["origin"]["guid"] for _, letter in await letters(small)] == ["big", "big"]
    _, third_report = await run_once(small, group, [source])
    assert (third_report.records, third_report.dead_lettered) == (0, 0)
    assert len(await letters(small)) == 2


async def test_fetch_once_says_it_and_exits_1(
    small: Settings, server: FixtureServer, tmp_path: Path
) -> None:
    """The command an operator runs: no traceback, one closing line naming the dead
    letter and where to read it, exit 1 (not everything reached the raw topic)."""
    url = server.route("/rss", static(FEED))
    sources = tmp_path / "sources.yaml"
    sources.write_text(f'sources:\n  - {{id: wire, name: Wire, kind: feed, url: "{url}"}}\n')
    env = dict(os.environ) | as_environment(small) | {"FETCHER_WEB_PORT": "0"}
    env["FETCHER_STATE_TOPIC"] = f"fetcher-state-{uuid.uuid4().hex[:8]}"
    command = [sys.executable, "-m", "newswire", "fetch", "--sources", str(sources), "--once"]
    command += ["--allow-network", "127.0.0.1/32"]
    # Off the event loop: the fixture server runs on it.
    done = await asyncio.to_thread(
        subprocess.run, command, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 1, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1] == (
        "newswire fetch: incomplete: 1 item went to the dead-letter topic, too large for "
        "Kafka (see 'newswire dlq list --service fetcher'); 1 source polled, 3 items"
    )
    # items= is what reached the raw topic, as on the closing line (not 4 of 3)
    assert "items=3 listed=4 dead_lettered=1 (too_large: 1)" in done.stderr
    assert await raw_guids(small) == ["n1", "n2", "n3"]
    assert [letter["origin"]["guid"] for _, letter in await letters(small)] == ["big"]
