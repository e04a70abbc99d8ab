"""Two batches in flight (newswire.enricher.staggered): the next is staged while the one
before waits for its band answers, and nothing that must stay in order moves.

The exchange here is a stand-in that holds the first batch's lookup until the test
lets it go, so the overlap is driven on purpose rather than hoped for; the real
worker with its broker is exercised by tests/integration (test_chaos.py,
test_pipeline.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import orjson

from newswire.enricher.batch import BatchHandler
from newswire.enricher.neardup import Answers
from newswire.enricher.staggered import Staggered
from tests.enricher.test_batch import (
    Event,
    FakeTopic,
    conserved,
    good,
    handler,
    outcomes,
    recorded,
)


class HeldExchange:
    """Empty buckets, but the first lookup waits until ``release`` is set."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.asked = 0

    async def ask(self, probes: Sequence[Any]) -> Answers:
        self.asked += 1
        if self.asked == 1:
            await self.release.wait()
        return Answers({}, complete=True)

    async def withdraw(self, probes: Sequence[Any]) -> None:
        """Nothing joined the (empty) buckets."""


def staggered(pipeline: Any) -> tuple[Staggered, BatchHandler, HeldExchange, FakeTopic, list[Any]]:
    enriched, dlq = FakeTopic("news.enriched"), FakeTopic("news.dlq")
    exchange = HeldExchange()
    h = handler(pipeline, enriched, dlq, exchange=exchange)
    settled: list[Sequence[Event]] = []

    async def settle(batch: Sequence[Event]) -> None:
        settled.append(batch)

    return Staggered(h, settle), h, exchange, enriched, settled  # type: ignore[arg-type]


async def until(condition: Any) -> None:
    """Let the loop run until CONDITION holds (no clock in the assertion): it reads
    counters of the code under test, which has no event to wait on."""
    while not condition():  # noqa: ASYNC110
        await asyncio.sleep(0)


async def test_the_next_batch_is_staged_while_the_last_waits_and_settles_after_it(
    pipeline: Any,
) -> None:
    runner, h, exchange, enriched, settled = staggered(pipeline)
    first, second = [good(1), good(2)], [good(3)]
    await runner.submit(first)  # type: ignore[arg-type]
    await until(lambda: exchange.asked == 1)
    submitting = asyncio.create_task(runner.submit(second))  # type: ignore[arg-type]
    await until(lambda: h._metrics.records_in._value.get() == 3)
    await submitting  # handed over: the agent goes back to its stream meanwhile
    await until(lambda: h._metrics.records_in._value.get() == 3)
    assert not settled and not enriched.acked, "the first batch still waits for its answers"
    exchange.release.set()
    await runner.wait()
    assert settled == [first, second]
    assert [k for k, _ in enriched.acked] == [e.message.key for e in first + second]
    assert conserved(h._metrics)


async def test_an_article_in_both_batches_in_flight_is_emitted_once(pipeline: Any) -> None:
    """The first batch's entry is not in the table yet when the second is staged."""
    runner, h, exchange, enriched, _settled = staggered(pipeline)
    await runner.submit([good(1)])  # type: ignore[arg-type]
    await until(lambda: exchange.asked == 1)
    assert not recorded(h)
    submitting = asyncio.create_task(runner.submit([good(1), good(2)]))  # type: ignore[arg-type]
    await until(lambda: h._metrics.records_in._value.get() == 3)
    exchange.release.set()
    await submitting
    await runner.wait()
    ids = [orjson.loads(v)["id"] for _, v in enriched.acked]
    assert len(ids) == len(set(ids)) == 2
    assert outcomes(h._metrics) == {"new": 2, "redelivery": 1}
    assert conserved(h._metrics)


async def test_closing_cancels_the_completion_in_flight_unsettled(pipeline: Any) -> None:
    runner, h, exchange, enriched, settled = staggered(pipeline)
    await runner.submit([good(1)])  # type: ignore[arg-type]
    await until(lambda: exchange.asked == 1)
    await runner.close()
    assert not settled and not enriched.acked and not recorded(h)
    assert h._metrics.in_flight._value.get() == 1, "read again, never counted as ended"


async def test_a_stage_bug_in_the_next_batch_dead_letters_it_after_the_last_settles(
    pipeline: Any,
) -> None:
    runner, h, exchange, _enriched, settled = staggered(pipeline)
    await runner.submit([good(1)])  # type: ignore[arg-type]
    await until(lambda: exchange.asked == 1)
    real = h._pipeline

    class Broken:
        near_duplicates = real.near_duplicates

        def process(self, *args: Any) -> Any:
            raise RuntimeError("stage exploded")

    h._pipeline = Broken()  # type: ignore[assignment]
    bad = [good(2)]
    submitting = asyncio.create_task(runner.submit(bad))  # type: ignore[arg-type]
    await until(lambda: h._metrics.records_in._value.get() == 2)
    exchange.release.set()
    await submitting
    await runner.wait()
    assert [len(batch) for batch in settled] == [1, 1] and settled[1] == bad
    assert outcomes(h._metrics) == {"new": 1, "dead_letter_processing": 1}
    assert conserved(h._metrics)
