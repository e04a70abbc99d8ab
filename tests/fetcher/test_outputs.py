"""The fetcher's Kafka sink goes through the Publisher, without validating again."""

from __future__ import annotations

import base64
from typing import Any

import orjson
import pytest
from aiokafka.errors import KafkaTimeoutError, MessageSizeTooLargeError

from newswire.common import publish
from newswire.common.errors import ErrorKind
from newswire.common.records import encode, raw_article
from newswire.common.schemas import SchemaName, record_headers
from newswire.fetcher.outputs import KafkaSink, dead_letter_origin
from newswire.fetcher.records import RawRecord
from tests.common.test_publish import FakeProducer, publisher


def raw(i: int) -> RawRecord:
    value = raw_article(source={"kind": "feed", "id": "wire"}, text=f"Item {i}.")
    return RawRecord(value["id"], f"item-{i}", value)


async def test_records_are_produced_in_order_keyed_by_id_and_not_validated_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    checked: list[Any] = []
    monkeypatch.setattr(publish, "validate", lambda *args: checked.append(args))
    producer = FakeProducer()
    sink = KafkaSink(publisher(producer), "news.raw")
    records = [raw(i) for i in range(3)]
    await sink.deliver(records)
    assert checked == [], "the poller validated them, once"
    assert producer.sent == [
        ("news.raw", encode(r.value), r.article_id.encode(), record_headers(SchemaName.RAW))
        for r in records
    ]
    assert sink.produced == 3


async def test_a_failed_delivery_raises_and_counts_nothing() -> None:
    producer = FakeProducer(fail={1: KafkaTimeoutError()})
    sink = KafkaSink(publisher(producer), "news.raw")
    with pytest.raises(KafkaTimeoutError):
        await sink.deliver([raw(0), raw(1), raw(2)])
    assert sink.produced == 0 and all(f.done() for f in producer.futures)


async def test_a_record_too_large_is_dead_lettered_with_its_origin_and_returned() -> None:
    producer = FakeProducer(fail={1: MessageSizeTooLargeError()})
    sink = KafkaSink(publisher(producer), "news.raw")
    records = [raw(0), raw(1), raw(2)]
    records[1].value["guid"] = "g-1"
    [dead] = await sink.deliver(records)
    assert dead.record is records[1] and dead.error.kind is ErrorKind.TOO_LARGE
    assert (sink.produced, sink.dead_lettered) == (2, 1)
    [(topic, value, key, _)] = producer.sent[3:]
    assert topic == "news.dlq"
    assert key == records[1].article_id.encode()
    assert (
        orjson.loads(value)["origin"]
        == dead_letter_origin(records[1])
        == {
            "source_id": "wire",
            "url": None,
            "item_id": "item-1",
            "guid": "g-1",
            "article_id": records[1].article_id,
            "key_b64": base64.b64encode(records[1].article_id.encode()).decode(),
        }
    )
