"""The near-duplicate exchange's wait: answers complete it, a rebalance or a timeout cuts it.

During a rebalance Faust pauses every partition (the replies topic too) and then waits
for the batch in flight, so a batch that kept waiting for band answers stalled the
whole group for the full timeout; here the interruption is driven directly.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import orjson
from aiokafka.errors import KafkaTimeoutError
from hypothesis import given
from hypothesis import strategies as st

from newswire.enricher.bands import Probe
from newswire.enricher.neardup import (
    NearDuplicateExchange,
    band_partition,
    probe_items,
    probes_by_partition,
)


class ProbeTopic:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.any_sent = asyncio.Event()

    async def send(self, *, key: bytes, value: bytes, partition: int) -> asyncio.Future[None]:
        self.sent.append(orjson.loads(value))
        self.any_sent.set()
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        future.set_result(None)
        return future


def probes(n: int) -> list[Probe]:
    return [Probe(f"a{i}", (f"band-{i}",), "h" * 32, b"\x00" * 32, 0.0, 0) for i in range(n)]


async def test_every_answer_completes_the_wait() -> None:
    topic = ProbeTopic()
    exchange = NearDuplicateExchange(probes=topic, partitions=4, timeout_s=5)  # type: ignore[arg-type]

    async def answer() -> None:
        await topic.any_sent.wait()
        for message in topic.sent:
            answers = [[probe[0], []] for probe in message["articles"]]
            exchange.receive_replies(orjson.dumps({"batch": message["batch"], "answers": answers}))

    replier = asyncio.create_task(answer())
    answers = await exchange.ask(probes(3))
    await replier
    assert answers.complete and answers.members == {"a0": [], "a1": [], "a2": []}


async def test_a_rebalance_cuts_the_wait_short() -> None:
    rebalancing = False
    exchange = NearDuplicateExchange(
        probes=ProbeTopic(),
        partitions=4,
        timeout_s=30,
        interrupted=lambda: rebalancing,  # type: ignore[arg-type]
    )
    task = asyncio.create_task(exchange.ask(probes(2)))
    await asyncio.sleep(0.3)
    assert not task.done(), "waits while nothing has happened"
    rebalancing = True
    started = time.monotonic()
    answers = await task
    assert not answers.complete and time.monotonic() - started < 1.0


async def test_a_timeout_goes_on_with_what_was_heard() -> None:
    exchange = NearDuplicateExchange(probes=ProbeTopic(), partitions=4, timeout_s=0.3)  # type: ignore[arg-type]
    answers = await exchange.ask(probes(2))
    assert not answers.complete and answers.members == {}


@given(
    st.lists(
        st.tuples(st.text(min_size=1, max_size=4), st.sets(st.text(max_size=6), max_size=16)),
        max_size=12,
    ),
    st.integers(1, 8),
)
def test_each_band_key_is_asked_once_on_the_partition_that_owns_it(
    articles: list[tuple[str, set[str]]], partitions: int
) -> None:
    probes = [Probe(a, tuple(sorted(bands)), "h", b"\x00", 1.0, 0) for a, bands in articles]
    by_partition = probes_by_partition(probes, partitions)
    asked = [
        (p, probe.article_id, band)
        for p, own in by_partition.items()
        for probe in own
        for band in probe.band_keys
    ]
    assert sorted((a, b) for _, a, b in asked) == sorted(
        (probe.article_id, band) for probe in probes for band in probe.band_keys
    )
    assert all(band_partition(band, partitions) == p for p, _, band in asked)
    assert all(probe.band_keys for own in by_partition.values() for probe in own)


def test_a_v1_probe_message_is_answered_per_probe_and_v2_per_article() -> None:
    """A responder answers a worker not yet upgraded (v1: a probe per band) as before:
    one answer per probe, which is what that worker counts."""
    v1 = {
        "batch": "b",
        "probes": [["a", "1:x", "h", "AAAA", 1.0, 0], ["a", "2:y", "h", "AAAA", 1.0, 0]],
    }
    v2 = {
        "batch": "b",
        "v": 2,
        "probes": [],
        "articles": [["a", ["1:x", "2:y"], "h", "AAAA", 1.0, 0]],
    }
    assert [p.band_keys for p in probe_items(v1)] == [("1:x",), ("2:y",)]
    assert [p.band_keys for p in probe_items(v2)] == [("1:x", "2:y")]


class FlakyProbeTopic(ProbeTopic):
    """Its first send fails once queued (the broker did not take it)."""

    async def send(self, *, key: bytes, value: bytes, partition: int) -> asyncio.Future[None]:
        future = await super().send(key=key, value=value, partition=partition)
        if len(self.sent) == 1:
            failed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            failed.set_exception(KafkaTimeoutError())
            return failed
        return future


async def test_a_withdrawal_is_sent_again_until_the_broker_has_it() -> None:
    """A refused article's withdrawal must not be lost to a transient failure (its batch
    settles after it), nor fail the batch: it is sent again, whole, under one id."""
    topic = FlakyProbeTopic()
    exchange = NearDuplicateExchange(probes=topic, partitions=1, timeout_s=5)  # type: ignore[arg-type]
    refused = Probe("big", ("band-1", "band-2"), "h" * 32, b"\x00" * 32, 1000.5, 0)
    await exchange.withdraw([refused])
    assert len(topic.sent) == 2 and topic.sent[0] == topic.sent[1]
    assert topic.sent[1]["withdrawn"] == [["big", ["band-1", "band-2"], 1000.5]]
    assert topic.sent[1]["articles"] == [] and topic.sent[1]["probes"] == []
