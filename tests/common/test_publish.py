"""The one produce-and-await path of the aiokafka services, against a stand-in producer."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiokafka.errors import KafkaTimeoutError
from aiokafka.structs import RecordMetadata

from newswire.common import publish
from newswire.common.errors import InvalidRecord
from newswire.common.publish import Publisher
from newswire.common.records import encode, raw_article
from newswire.common.schemas import SchemaName, record_headers
from newswire.common.settings import Settings


class FakeProducer:
    """Records what is sent; each send's future resolves to metadata or FAIL's error."""

    def __init__(self, fail: dict[int, BaseException] | None = None) -> None:
        self.sent: list[tuple[str, bytes, bytes | None, Any]] = []
        self.futures: list[asyncio.Future[Any]] = []
        self._fail = fail or {}

    async def send(
        self, topic: str, value: bytes, *, key: bytes | None, headers: Any, partition: Any = None
    ) -> Any:
        index = len(self.sent)
        self.sent.append((topic, value, key, headers))
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        if index in self._fail:
            future.set_exception(self._fail[index])
        else:
            future.set_result(RecordMetadata(topic, 0, None, index, -1, 0, -1))
        self.futures.append(future)
        return future


def publisher(producer: FakeProducer) -> Publisher:
    return Publisher(settings=Settings(), producer=producer, service="replay")  # type: ignore[arg-type]


def record(i: int) -> Any:
    return raw_article(source={"kind": "replay", "ref": f"{i}.txt"}, text=f"Body {i}.")


@pytest.fixture
def validations(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    seen: list[Any] = []
    real = publish.validate
    monkeypatch.setattr(publish, "validate", lambda name, rec: seen.append(rec) or real(name, rec))
    return seen


async def test_publish_validates_unless_told_the_record_is_validated(
    validations: list[Any],
) -> None:
    producer = FakeProducer()
    p = publisher(producer)
    await p.publish("news.raw", "k", record(1), SchemaName.RAW)
    assert len(validations) == 1
    with pytest.raises(InvalidRecord):
        await p.publish("news.raw", "k", {"id": "x"}, SchemaName.RAW)
    await p.publish("news.raw", "k", record(2), SchemaName.RAW, validated=True)
    assert len(validations) == 2 and len(producer.sent) == 2


async def test_publish_many_sends_in_order_and_returns_every_ack(validations: list[Any]) -> None:
    producer = FakeProducer()
    records = [(f"id{i}", record(i)) for i in range(3)]
    acks = await publisher(producer).publish_many(
        "news.raw", records, SchemaName.RAW, validated=True
    )
    assert [a.offset for a in acks] == [0, 1, 2] and validations == []
    assert producer.sent == [
        ("news.raw", encode(r), key.encode(), record_headers(SchemaName.RAW)) for key, r in records
    ]


async def test_publish_many_raises_the_first_failure_once_all_have_settled() -> None:
    first, second = KafkaTimeoutError("one"), KafkaTimeoutError("two")
    producer = FakeProducer(fail={1: first, 2: second})
    with pytest.raises(KafkaTimeoutError) as raised:
        await publisher(producer).publish_many(
            "news.raw", [(f"id{i}", record(i)) for i in range(4)], SchemaName.RAW
        )
    assert raised.value is first
    assert all(f.done() for f in producer.futures) and len(producer.sent) == 4


async def test_deliveries_are_outcomes_in_order_never_raised() -> None:
    error = KafkaTimeoutError()
    producer = FakeProducer(fail={0: error})
    p = publisher(producer)
    futures = [await p.publish("t", "k", record(i), SchemaName.RAW) for i in range(2)]
    outcomes = await Publisher.deliveries(futures)
    assert outcomes[0] is error and isinstance(outcomes[1], RecordMetadata)
