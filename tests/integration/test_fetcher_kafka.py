"""The fetcher on the real embedded broker: records on news.raw, state in a compacted
topic, and no item emitted twice across a crash between delivery and state save."""

from __future__ import annotations

import ipaddress
import random
import uuid
from collections.abc import AsyncIterator

import orjson
import pytest

from newswire.common.kafka import new_producer
from newswire.common.publish import Publisher
from newswire.common.schemas import SchemaName, validate
from newswire.common.settings import FetcherSettings, Settings
from newswire.fetcher.fetch.client import HttpClient
from newswire.fetcher.outputs import DeadLettered, KafkaSink
from newswire.fetcher.records import RawRecord
from newswire.fetcher.service import FetcherService
from newswire.fetcher.sources import Source, SourceKind
from newswire.fetcher.statestore import KafkaStateStore
from tests.fetcher.server import FixtureServer, fixture_bytes, sequence, static
from tests.integration.conftest import read_topic


@pytest.fixture
async def server() -> AsyncIterator[FixtureServer]:
    running = await FixtureServer().start()
    yield running
    await running.stop()


def fetcher_group() -> FetcherSettings:
    return FetcherSettings(
        allow_networks=[ipaddress.ip_network("127.0.0.1/32")],
        per_host_spacing_s=0.0,
        web_port=0,
        state_topic=f"fetcher-state-{uuid.uuid4().hex[:8]}",
        total_timeout_s=5.0,
    )


class CrashAfterDelivery(Exception):
    """Stands for the process dying after the broker acked the records."""


class CrashingSink(KafkaSink):
    async def deliver(self, records: list[RawRecord]) -> list[DeadLettered]:
        await super().deliver(records)
        raise CrashAfterDelivery


async def run_once(
    settings: Settings, group: FetcherSettings, sources: list[Source], *, crash: bool = False
) -> int:
    producer = new_producer(settings.kafka)
    await producer.start()
    store = KafkaStateStore(settings, producer, topic=group.state_topic)
    await store.start()
    try:
        async with HttpClient(group) as http:
            publisher = Publisher(settings=settings, producer=producer, service="fetcher")
            sink = (CrashingSink if crash else KafkaSink)(publisher, settings.topics.raw)
            service = FetcherService(
                sources, group, sink=sink, store=store, http=http, rng=random.Random(3)
            )
            report = await service.run_once()
            return report.records
    finally:
        await store.stop()
        await producer.stop()


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
    assert await run_once(settings, group, sources) == 4
    assert await run_once(settings, group, sources) == 0  # a new process: state came from the topic
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
    assert await run_once(settings, group, sources) == 2  # the pending 3 were found on news.raw
    titles = sorted(
        orjson.loads(m.value)["title"] for m in await read_topic(settings, settings.topics.raw)
    )
    assert titles == [f"Item {i}" for i in range(5)]
