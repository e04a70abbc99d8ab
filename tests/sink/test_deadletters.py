"""Dead letters of refused records: one wording, whether refused on add or at flush."""

from __future__ import annotations

import asyncio

from aiokafka import ConsumerRecord

from newswire.sink.deadletters import DeadLetters, Refusal
from newswire.sink.metrics import SinkMetrics
from newswire.sink.retry import Retrier, RetryPolicy
from newswire.sink.writers.base import Rejection
from tests.sink.memory import P0, Events, FakePublisher


def dead_letters() -> tuple[DeadLetters, FakePublisher, SinkMetrics]:
    events: Events = []
    publisher = FakePublisher(events)
    metrics = SinkMetrics()
    retrier = Retrier(RetryPolicy(), stop=asyncio.Event(), wait=asyncio.sleep, on_retry=print)
    return DeadLetters(publisher, retrier, metrics), publisher, metrics  # type: ignore[arg-type]


async def test_a_refusal_reads_the_same_on_add_and_at_flush() -> None:
    letters, publisher, metrics = dead_letters()
    raw = b'{"id":"x"}'
    message = ConsumerRecord(P0.topic, P0.partition, 7, 0, 0, b"x", raw, None, 1, len(raw), [])

    await letters.refused([Refusal("jsonl", "no id"), Refusal("postgres", "NUL in text")], message)
    await letters.refused([Refusal("postgres", "NUL in text")], message)
    flushed = Rejection("postgres", P0.topic, P0.partition, 7, raw, "NUL in text")
    await letters.rejected(flushed, b"x")

    reasons = [letter["reason"] for letter in publisher.letters]
    assert reasons == ["jsonl: no id; postgres: NUL in text", *["postgres: NUL in text"] * 2]
    assert {letter["kind"] for letter in publisher.letters} == {"rejected"}
    counted = metrics.registry.get_sample_value(
        "newswire_sink_records_rejected_total", {"writer": "postgres"}
    )
    assert counted == 3
