"""``Publisher.publish_or_dead_letter``: a record the cluster cannot take goes to the
dead-letter topic and the others are delivered; any other failure raises.

The broker-side refusal (MESSAGE_TOO_LARGE on the delivery future) is played by the
stand-in producer: the embedded broker (Tansu) does not enforce a topic's
``max.message.bytes``, so no real broker here can refuse a record the client let
through. The client-side refusal is also covered on the real broker by
tests/integration/test_fetcher_too_large.py.
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest
from aiokafka.errors import KafkaTimeoutError, MessageSizeTooLargeError
from hypothesis import given
from hypothesis import strategies as st

from newswire.common.errors import ErrorKind
from newswire.common.publish import Outgoing
from newswire.common.schemas import SchemaName, validate
from tests.common.test_publish import FakeProducer, publisher, record

DLQ = "news.dlq"  # Settings() defaults, as publisher() builds them


class SendRefusing(FakeProducer):
    """Refuses the sends of REFUSE as aiokafka does a record over max_request_size:
    ``MessageSizeTooLargeError`` from ``send`` itself, nothing queued."""

    def __init__(self, refuse: set[int], fail: dict[int, BaseException] | None = None) -> None:
        super().__init__(fail)
        self._refuse = refuse
        self._calls = 0

    async def send(self, topic: str, value: bytes, **options: Any) -> Any:
        call, self._calls = self._calls, self._calls + 1
        if call in self._refuse:
            raise MessageSizeTooLargeError("over max_request_size")
        return await super().send(topic, value, **options)


def outgoing(i: int) -> Outgoing:
    return Outgoing(f"id{i}", record(i), {"source_id": "wire", "item_id": f"item-{i}"})


def letters(producer: FakeProducer) -> list[tuple[bytes | None, dict[str, Any]]]:
    return [(key, orjson.loads(value)) for topic, value, key, _ in producer.sent if topic == DLQ]


async def test_a_record_refused_by_the_broker_is_dead_lettered_and_the_rest_delivered() -> None:
    producer = FakeProducer(fail={1: MessageSizeTooLargeError("MESSAGE_TOO_LARGE")})
    batch = [outgoing(i) for i in range(3)]
    refused = await publisher(producer).publish_or_dead_letter("news.raw", batch, SchemaName.RAW)
    assert [r.index for r in refused] == [1] and refused[0].error.kind is ErrorKind.TOO_LARGE
    [(key, letter)] = letters(producer)
    validate(SchemaName.DEAD_LETTER, letter)
    assert key == b"id1" and letter["origin"] == batch[1].origin
    assert "the broker refused" in letter["reason"]
    assert "KAFKA_MAX_MESSAGE_BYTES" in letter["reason"]
    assert all(f.done() for f in producer.futures)


async def test_a_record_refused_before_it_is_queued_is_dead_lettered() -> None:
    producer = SendRefusing(refuse={0})
    refused = await publisher(producer).publish_or_dead_letter(
        "news.raw", [outgoing(i) for i in range(2)], SchemaName.RAW
    )
    assert [r.index for r in refused] == [0]
    assert [key for key, _ in letters(producer)] == [b"id0"]
    assert "KAFKA_MAX_MESSAGE_BYTES" in letters(producer)[0][1]["reason"]
    assert [key for topic, _, key, _ in producer.sent if topic == "news.raw"] == [b"id1"]


async def test_any_other_failure_raises_and_dead_letters_nothing() -> None:
    timeout = KafkaTimeoutError("broker down")
    producer = FakeProducer(fail={0: MessageSizeTooLargeError(), 2: timeout})
    with pytest.raises(KafkaTimeoutError) as raised:
        await publisher(producer).publish_or_dead_letter(
            "news.raw", [outgoing(i) for i in range(3)], SchemaName.RAW
        )
    assert raised.value is timeout
    assert letters(producer) == [], "the retry of the whole batch dead-letters it"
    assert all(f.done() for f in producer.futures)


async def test_a_send_that_fails_otherwise_leaves_no_delivery_unawaited() -> None:
    class Broken(FakeProducer):
        async def send(self, topic: str, value: bytes, **options: Any) -> Any:
            if len(self.sent) == 2:
                raise KafkaTimeoutError("no metadata")
            return await super().send(topic, value, **options)

    producer = Broken()
    with pytest.raises(KafkaTimeoutError):
        await publisher(producer).publish_or_dead_letter(
            "news.raw", [outgoing(i) for i in range(4)], SchemaName.RAW
        )
    assert len(producer.futures) == 2 and all(f.done() for f in producer.futures)


@given(st.lists(st.sampled_from(["ok", "send", "broker"]), max_size=12))
def test_every_record_is_delivered_or_dead_lettered_once_in_order(fates: list[str]) -> None:
    """Whatever mix of refusals: each record is on the topic or in the dead-letter topic,
    never both, never neither; the refused are returned and dead-lettered in order."""
    refuse = {i for i, fate in enumerate(fates) if fate == "send"}
    queued = [i for i, fate in enumerate(fates) if fate != "send"]
    fail: dict[int, BaseException] = {
        n: MessageSizeTooLargeError() for n, i in enumerate(queued) if fates[i] == "broker"
    }
    producer = SendRefusing(refuse, fail)
    batch = [outgoing(i) for i in range(len(fates))]
    refused = asyncio.run(
        publisher(producer).publish_or_dead_letter("news.raw", batch, SchemaName.RAW)
    )
    expected_dead = [i for i, fate in enumerate(fates) if fate != "ok"]
    assert [r.index for r in refused] == expected_dead
    assert [key for key, _ in letters(producer)] == [f"id{i}".encode() for i in expected_dead]
    acked = [
        key
        for (topic, _, key, _), future in zip(producer.sent, producer.futures, strict=True)
        if topic == "news.raw" and future.exception() is None
    ]
    assert acked == [f"id{i}".encode() for i, fate in enumerate(fates) if fate == "ok"]
