"""The fetcher on the real embedded broker: records on news.raw, state in a compacted
topic, and no item emitted twice across a crash between delivery and state save."""

from __future__ import annotations

from collections.abc import AsyncIterator

import orjson
import pytest

from newswire.common.schemas import SchemaName, validate
from newswire.common.settings import Settings
from newswire.fetcher.sources import Source, SourceKind
from tests.fetcher.server import FixtureServer, fixture_bytes, sequence, static
from tests.integration.conftest import read_topic
from tests.integration.fetcher_runs import CrashAfterDelivery, fetcher_group, run_once


@pytest.fixture
async def server() -> AsyncIterator[FixtureServer]:
    running = await FixtureServer().start()
    yield running
    await running.stop()


def feed(items: range) -> bytes:
    body = "".join(
        f"<item><title>Item {i}</title><link>https://wire.example/{i}</link><guid>g{i}</guid></item>"
        for i in items
    )
    return f'<rss version="2.0"><channel><title>t</title>{body}</channel></rss>'.encode()


async def test_records_land_keyed_by_article_id_and_state_survives(
    settings: Settings, server: FixtureServer
) -> None:
    group = fetcher_group()
    url = server.route("/rss", static(fixture_bytes("rss2.xml"), headers={"ETag": '"e1"'}))
    sources = [Source(id="wire", name="Wire", kind=SourceKind.FEED, url=url)]
    _, first = await run_once(settings, group, sources)
    assert first.records == 4
    _, again = await run_once(settings, group, sources)  # a new process: state from the topic
    assert again.records == 0
    assert server.requests[-1][1]["If-None-Match"] == '"e1"'
    messages = await read_topic(settings, settings.topics.raw)
    assert len(messages) == 4
    for message in messages:
        record = orjson.loads(message.value)
        validate(SchemaName.RAW, record)
        assert message.key.decode() == record["id"]
        assert dict(message.headers)["schema-id"] == b"newswire.raw-article"
    states = await read_topic(settings, group.state_topic)
    assert {m.key for m in states} == {b"wire"}


async def test_a_crash_after_delivery_does_not_re_emit(
    settings: Settings, server: FixtureServer
) -> None:
    group = fetcher_group()
    url = server.route("/grow", sequence(static(feed(range(0, 3))), static(feed(range(0, 5)))))
    sources = [Source(id="grow", name="Grow", kind=SourceKind.FEED, url=url)]
    with pytest.raises(CrashAfterDelivery):
        await run_once(settings, group, sources, crash=True)  # 3 records acked, state not advanced
    _, after = await run_once(settings, group, sources)  # the pending 3 found on news.raw
    assert after.records == 2
    titles = sorted(
        orjson.loads(m.value)["title"] for m in await read_topic(settings, settings.topics.raw)
    )
    assert titles == [f"Item {i}" for i in range(5)]
