"""One ``fetch --once`` run of a fetcher against the real broker, as the integration
tests of the fetcher's delivery drive it: state read from and saved to a Kafka topic,
records through the Kafka sink (or one that crashes right after delivering)."""

from __future__ import annotations

import ipaddress
import random
import uuid

from newswire.common.kafka import new_producer
from newswire.common.publish import Publisher
from newswire.common.settings import FetcherSettings, Settings
from newswire.fetcher.fetch.client import HttpClient
from newswire.fetcher.outputs import DeadLettered, KafkaSink
from newswire.fetcher.records import RawRecord
from newswire.fetcher.service import FetcherService, RunReport
from newswire.fetcher.sources import Source
from newswire.fetcher.statestore import KafkaStateStore


def fetcher_group() -> FetcherSettings:
    """Loopback allowed, no spacing, a state topic of the test's own."""
    return FetcherSettings(
        allow_networks=[ipaddress.ip_network("127.0.0.1/32")],
        per_host_spacing_s=0.0,
        web_port=0,
        state_topic=f"fetcher-state-{uuid.uuid4().hex[:8]}",
        total_timeout_s=5.0,
    )


class CrashAfterDelivery(Exception):
    """Stands for the process dying after the broker acked the records (and the dead
    letters), before the polling state was saved."""


class CrashingSink(KafkaSink):
    async def deliver(self, records: list[RawRecord]) -> list[DeadLettered]:
        await super().deliver(records)
        raise CrashAfterDelivery


async def run_once(
    settings: Settings, group: FetcherSettings, sources: list[Source], *, crash: bool = False
) -> tuple[FetcherService, RunReport]:
    """Every source polled once in a fetcher of its own, as a new process would."""
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
            return service, await service.run_once()
    finally:
        await store.stop()
        await producer.stop()
