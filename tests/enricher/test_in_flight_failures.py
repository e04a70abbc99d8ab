"""When the first of two batches in flight does not record what the second was judged
against: the second decides those ids again, nothing is lost as a redelivery, and a
batch left behind by a failure is said and counted.

The exchange holds the first batch's lookup until the test lets it go (as in
test_staggered.py), so the second batch is staged against the first one's *pending*
entries on purpose, every time.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
import pytest
from aiokafka.errors import MessageSizeTooLargeError

from newswire.common.records import encode, raw_article
from newswire.enricher import batch as batch_module
from newswire.enricher.batch import BatchHandler
from newswire.enricher.neardup import Answers
from newswire.enricher.staggered import Staggered
from tests.enricher.test_batch import (
    Event,
    FakeTopic,
    Message,
    conserved,
    good,
    handler,
    outcomes,
    recorded,
)
from tests.enricher.test_staggered import HeldExchange, until


class FailingExchange(HeldExchange):
    """The first lookup waits for ``release``, then fails: a bug in the first batch."""

    async def ask(self, probes: Sequence[Any]) -> Answers:
        answers = await super().ask(probes)
        if self.asked == 1:
            raise RuntimeError("exchange exploded")
        return answers


class Counting:
    """The real pipeline, counting the records it has decided (in the stage thread)."""

    def __init__(self, real: Any) -> None:
        self.near_duplicates = real.near_duplicates
        self._real = real
        self.processed = 0

    def process(self, *args: Any) -> Any:
        outcome = self._real.process(*args)
        self.processed += 1
        return outcome


@dataclass
class Ran:
    handler: BatchHandler
    enriched: FakeTopic
    dlq: FakeTopic
    settled: list[Sequence[Event]]


async def two_in_flight(
    pipeline: Any,
    first: list[Event],
    second: list[Event],
    *,
    exchange: HeldExchange | None = None,
    enriched: FakeTopic | None = None,
    **options: Any,
) -> Ran:
    """Stage SECOND while FIRST waits for its answers (every lookup of SECOND's stages
    made before FIRST completes), then let both complete."""
    enriched, dlq, exchange = (
        enriched or FakeTopic("news.enriched"),
        FakeTopic("news.dlq"),
        exchange or HeldExchange(),
    )
    h = handler(pipeline, enriched, dlq, exchange=exchange, **options)
    ran = Ran(h, enriched, dlq, [])
    counting = Counting(h._pipeline)
    h._pipeline = counting  # type: ignore[assignment]

    async def settle(batch: Sequence[Event]) -> None:
        ran.settled.append(batch)

    runner = Staggered(h, settle)  # type: ignore[arg-type]
    await runner.submit(first)  # type: ignore[arg-type]
    await until(lambda: exchange.asked == 1)
    submitting = asyncio.create_task(runner.submit(second))  # type: ignore[arg-type]
    await until(lambda: counting.processed == len(first) + len(second))
    exchange.release.set()
    await submitting
    await runner.wait()
    return ran


def statuses(topic: FakeTopic) -> list[tuple[str, str]]:
    return [
        (record["id"], record["dedupe"]["status"])
        for record in (orjson.loads(value) for _, value in topic.acked)
    ]


def version(size: int, offset: int) -> Event:
    """A version of one article (same URL, so same id) with a text of about SIZE bytes."""
    text = "A story that grows. " + " ".join(f"word{j}" for j in range(size // 8))
    record = raw_article(
        source={"kind": "replay", "ref": "v.txt"}, text=text, url="https://example.com/story"
    )
    return Event(Message(record["id"].encode(), encode(record), offset=offset))


def article_id(event: Event) -> str:
    return str(orjson.loads(event.message.value or b"")["id"])


async def test_a_copy_judged_against_a_batch_that_failed_whole_is_emitted_as_new(
    pipeline: Any,
) -> None:
    copy = good(1)
    copy.message.offset = 10
    ran = await two_in_flight(pipeline, [good(1)], [copy, good(2)], exchange=FailingExchange())
    assert len(ran.settled) == 2
    assert statuses(ran.enriched) == [(article_id(copy), "new"), (article_id(good(2)), "new")]
    assert outcomes(ran.handler._metrics) == {"dead_letter_processing": 1, "new": 2}
    assert recorded(ran.handler) == {copy.message.key, good(2).message.key}
    assert conserved(ran.handler._metrics)


async def test_a_copy_judged_against_a_record_refused_at_settling_is_emitted_as_new(
    pipeline: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stage bug refuses the first batch's record once as it is settled (the
    contract was checked in the stage, so only a bug can); the second batch's
    identical copy was judged a redelivery of it, and would be lost."""
    real = batch_module.settled_record
    calls = 0

    def refused_once(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ValueError("a stage bug, once")
        return real(*args, **kwargs)

    monkeypatch.setattr(batch_module, "settled_record", refused_once)
    ran = await two_in_flight(pipeline, [good(1)], [good(1)])
    assert statuses(ran.enriched) == [(article_id(good(1)), "new")]
    assert outcomes(ran.handler._metrics) == {"dead_letter_processing": 1, "new": 1}
    assert conserved(ran.handler._metrics)


async def test_an_update_of_a_record_too_large_to_send_is_emitted_as_new(pipeline: Any) -> None:
    """The first version never went out (too large): the second is the story's first."""
    big, small = version(200_000, offset=1), version(400, offset=2)
    assert article_id(big) == article_id(small)
    assert big.message.value is not None
    limit = len(big.message.value) + 200
    ran = await two_in_flight(pipeline, [big], [small], max_message_bytes=limit)
    assert statuses(ran.enriched) == [(article_id(small), "new")]
    assert orjson.loads(ran.dlq.acked[0][1])["kind"] == "too_large"
    assert outcomes(ran.handler._metrics) == {"dead_letter_too_large": 1, "new": 1}
    assert conserved(ran.handler._metrics)


async def test_a_copy_judged_against_a_record_the_broker_refused_is_emitted_as_new(
    pipeline: Any,
) -> None:
    attempts = 0

    def refuse_first(value: bytes) -> BaseException | None:
        nonlocal attempts
        attempts += 1
        return MessageSizeTooLargeError() if attempts == 1 else None

    refusing = FakeTopic("news.enriched", refuse=refuse_first)
    ran = await two_in_flight(pipeline, [good(1)], [good(1)], enriched=refusing)
    assert statuses(ran.enriched) == [(article_id(good(1)), "new")]
    assert outcomes(ran.handler._metrics) == {"dead_letter_too_large": 1, "new": 1}
    assert conserved(ran.handler._metrics)


async def test_a_copy_of_a_recorded_article_stays_a_redelivery(pipeline: Any) -> None:
    """The other side: the first batch recorded the entry, the copy is not sent again."""
    ran = await two_in_flight(pipeline, [good(1)], [good(1), good(1)])
    assert statuses(ran.enriched) == [(article_id(good(1)), "new")]
    assert outcomes(ran.handler._metrics) == {"new": 1, "redelivery": 2}
    assert conserved(ran.handler._metrics)


def _completion_that_fails(pipeline: Any) -> tuple[Any, HeldExchange, Staggered, FakeTopic]:
    """A handler whose exchange answers only when released, run by a Staggered whose
    every completion fails (the commit): the handler, the exchange, the runner and the
    enriched topic."""
    enriched, dlq = FakeTopic("news.enriched"), FakeTopic("news.dlq")
    exchange = HeldExchange()
    h = handler(pipeline, enriched, dlq, exchange=exchange)

    async def settle(batch: Sequence[Event]) -> None:
        raise ConnectionError("commit failed")

    return h, exchange, Staggered(h, settle), enriched  # type: ignore[arg-type]


async def test_the_batch_staged_after_a_failed_completion_is_said_and_counted(
    pipeline: Any, caplog: pytest.LogCaptureFixture
) -> None:
    h, exchange, runner, enriched = _completion_that_fails(pipeline)
    await runner.submit([good(1)])  # type: ignore[arg-type]
    await until(lambda: exchange.asked == 1)
    second = [good(2), good(3)]
    submitting = asyncio.create_task(runner.submit(second))  # type: ignore[arg-type]
    await until(lambda: h._metrics.records_in._value.get() == 3)
    await submitting  # handed over; the failure comes back at the next submit or wait
    exchange.release.set()
    with caplog.at_level(logging.ERROR), pytest.raises(ConnectionError, match="commit failed"):
        await runner.wait()
    assert h._metrics.batches_abandoned._value.get() == 1
    assert h._metrics.records_abandoned._value.get() == 2
    said = [r.getMessage() for r in caplog.records if "abandoned" in r.getMessage()]
    assert len(said) == 1 and "2 records" in said[0] and "news.raw[0]@2-3" in said[0]
    assert statuses(enriched) == [(article_id(good(1)), "new")], "the first was delivered"
    assert h._metrics.in_flight._value.get() == 2, "unsettled: read again, not an outcome"


async def test_a_batch_taken_after_a_failed_completion_is_said_and_counted(
    pipeline: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """The agent goes back to its stream while batches complete, so it may hold a third
    batch, never staged, when the failure comes back: that one is counted as well."""
    h, exchange, runner, _ = _completion_that_fails(pipeline)
    await runner.submit([good(1)])  # type: ignore[arg-type]
    await until(lambda: exchange.asked == 1)
    await runner.submit([good(2), good(3)])  # type: ignore[arg-type]
    await until(lambda: h._metrics.records_in._value.get() == 3)
    exchange.release.set()
    with caplog.at_level(logging.ERROR), pytest.raises(ConnectionError, match="commit failed"):
        await runner.submit([good(4)])  # type: ignore[arg-type]
    assert h._metrics.batches_abandoned._value.get() == 2
    assert h._metrics.records_abandoned._value.get() == 3
    said = [r.getMessage() for r in caplog.records if "abandoned" in r.getMessage()]
    assert len(said) == 2 and "1 records" in said[1]


async def test_closing_ends_a_stage_thread_before_it_returns(pipeline: Any) -> None:
    """close() runs when the agent stops: no stage may still be reading the table in
    its thread once it has returned, and the thread stops between records."""
    entered, gate = threading.Event(), threading.Event()
    staged_records: list[int] = []

    class Gated:
        near_duplicates = pipeline.near_duplicates

        def process(self, *args: Any) -> Any:
            entered.set()
            gate.wait()
            staged_records.append(1)
            return pipeline.process(*args)

    h = handler(pipeline, FakeTopic("news.enriched"), FakeTopic("news.dlq"))
    h._pipeline = Gated()  # type: ignore[assignment]
    runner = Staggered(h, settle=lambda batch: asyncio.sleep(0))  # type: ignore[arg-type]
    await runner.submit([good(1), good(2), good(3)])  # type: ignore[arg-type]
    await until(entered.is_set)
    closing = asyncio.create_task(runner.close())
    await asyncio.wait([closing], timeout=0.5)  # done at once if the thread is left behind
    returned_while_staging = closing.done()
    gate.set()
    await closing
    assert not returned_while_staging, "close() returned while the stage thread ran on"
    assert staged_records == [1], "the thread stopped after the record it was in"
    assert not recorded(h) and h._metrics.in_flight._value.get() == 3


async def test_a_failing_sweep_after_settling_is_counted_and_never_holds_the_batch(
    pipeline: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """The sweep runs after the ack and commit: a bug in it leaves the batch settled."""
    order: list[str] = []

    def sweep(events: Sequence[Event]) -> None:
        order.append("sweep")
        raise KeyError("sweep bug")

    async def settle(batch: Sequence[Event]) -> None:
        order.append("settle")

    enriched = FakeTopic("news.enriched")
    h = handler(pipeline, enriched, FakeTopic("news.dlq"), after_settle=sweep)
    with caplog.at_level(logging.ERROR):
        await h.handle([good(1)], settle=settle)  # type: ignore[list-item, arg-type]
        await h.handle([good(2)], settle=settle)  # type: ignore[list-item, arg-type]
    assert order == ["settle", "sweep", "settle", "sweep"]
    assert len(enriched.acked) == 2 and recorded(h) == {good(1).message.key, good(2).message.key}
    assert h._metrics.sweep_failures._value.get() == 2
    assert sum("sweep failed" in r.getMessage() for r in caplog.records) == 2
    assert conserved(h._metrics)


class HeldTwice:
    """The first two lookups each wait for their own release; the first then fails."""

    def __init__(self) -> None:
        self.releases = [asyncio.Event(), asyncio.Event()]
        self.asked = 0

    async def ask(self, probes: Sequence[Any]) -> Answers:
        self.asked += 1
        n = self.asked
        if n <= 2:
            await self.releases[n - 1].wait()
        if n == 1:
            raise RuntimeError("exchange exploded")
        return Answers({}, complete=True)


async def test_the_batch_after_a_redone_one_sees_its_new_decisions(pipeline: Any) -> None:
    """Three in a row: N fails whole, N+1 decides its copy again (new), N+2 staged while
    N+1 completes reads N+1's new entry, which is written: its copy is a redelivery."""
    enriched, dlq = FakeTopic("news.enriched"), FakeTopic("news.dlq")
    exchange = HeldTwice()
    h = handler(pipeline, enriched, dlq, exchange=exchange)
    counting = Counting(h._pipeline)
    h._pipeline = counting  # type: ignore[assignment]

    async def settle(batch: Sequence[Event]) -> None:
        pass

    runner = Staggered(h, settle)  # type: ignore[arg-type]
    copies = [good(1), good(1), good(1)]
    for n, event in enumerate(copies):
        event.message.offset = n
    await runner.submit(copies[:1])  # type: ignore[arg-type]
    await until(lambda: exchange.asked == 1)
    second = asyncio.create_task(runner.submit(copies[1:2]))  # type: ignore[arg-type]
    await until(lambda: counting.processed == 2)
    exchange.releases[0].set()
    await second
    await until(lambda: exchange.asked == 2)  # N+1 decided again, now waits for answers
    assert counting.processed == 3, "the copy in N+1 was decided again"
    third = asyncio.create_task(runner.submit(copies[2:]))  # type: ignore[arg-type]
    await until(lambda: counting.processed == 4)
    exchange.releases[1].set()
    await third
    await runner.wait()
    assert statuses(enriched) == [(article_id(good(1)), "new")]
    assert outcomes(h._metrics) == {"dead_letter_processing": 1, "new": 1, "redelivery": 1}
    assert conserved(h._metrics)
