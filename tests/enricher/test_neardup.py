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

from newswire.enricher.bands import Probe
from newswire.enricher.neardup import NearDuplicateExchange


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
    return [Probe(f"a{i}", f"band-{i}", "h" * 32, b"\x00" * 32, 0.0, 0) for i in range(n)]


async def test_every_answer_completes_the_wait() -> None:
    topic = ProbeTopic()
    exchange = NearDuplicateExchange(probes=topic, partitions=4, timeout_s=5)  # type: ignore[arg-type]

    async def answer() -> None:
        await topic.any_sent.wait()
        for message in topic.sent:
            answers = [[probe[0], []] for probe in message["probes"]]
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
