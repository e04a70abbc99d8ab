"""How one batch ends: every record counted once, nothing settled before it is delivered.

The real Faust worker and broker are exercised by tests/integration (test_chaos.py,
test_pipeline.py); here the topics are in-memory stand-ins that record what was sent
and can refuse it, so each failure path is driven on purpose and the conservation
law ``in = outcomes + in_flight`` is checked after every batch.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiokafka.errors import KafkaTimeoutError, MessageSizeTooLargeError
from hypothesis import given, settings
from hypothesis import strategies as st

from newswire.common.records import encode, raw_article
from newswire.enricher.batch import BatchHandler, EnricherMetrics
from newswire.enricher.dedupe import SeenEntry
from newswire.enricher.inflight import Pending, take_back
from newswire.enricher.neardup import Answers
from newswire.enricher.seen import SeenStore

SERVICES = Path(__file__).parents[2] / "services"


@dataclass
class Message:
    key: bytes | None
    value: bytes | None
    topic: str = "news.raw"
    partition: int = 0
    offset: int = 0


@dataclass
class Event:
    message: Message


@dataclass
class FakeTopic:
    """Records what the broker acknowledged; refuses per a rule, like a broker would."""

    name: str
    refuse: Any = None  # callable(value) -> BaseException | None, tried per attempt
    acked: list[tuple[bytes | None, bytes]] = field(default_factory=list)
    attempts: int = 0

    async def send(self, *, key: bytes | None, value: bytes, headers: Any) -> asyncio.Future[None]:
        self.attempts += 1
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        error = self.refuse(value) if self.refuse else None
        if error is not None:
            future.set_exception(error)
        else:
            self.acked.append((key, value))
            future.set_result(None)
        return future


class NoNeighbours:
    """The near-duplicate exchange with empty buckets everywhere; keeps what it is told
    to withdraw."""

    def __init__(self) -> None:
        self.withdrawn: list[Any] = []

    async def ask(self, probes: Sequence[Any]) -> Answers:
        return Answers({}, complete=True)

    async def withdraw(self, probes: Sequence[Any]) -> None:
        self.withdrawn.extend(probes)


class Table(dict):
    name = "articles-seen"


def handler(pipeline: Any, enriched: FakeTopic, dlq: FakeTopic, **kw: Any) -> BatchHandler:
    options: dict[str, Any] = {
        "drop_duplicates": False,
        "max_message_bytes": 1 << 20,
    }
    options["exchange"] = NoNeighbours()
    return BatchHandler(
        pipeline=pipeline,
        seen=SeenStore(Table(), window_s=3600.0),
        enriched=enriched,
        dlq=dlq,
        metrics=EnricherMetrics(),
        **(options | kw),  # type: ignore[arg-type]
    )


def recorded(h: BatchHandler) -> set[bytes]:
    """The ids the handler has recorded as seen (as message keys)."""
    return {article_id.encode() for article_id in h._seen_store.article_ids()}


def good(i: int, size: int = 400) -> Event:
    text = f"Article {i}. " + " ".join(f"word{i}x{j}" for j in range(size // 8))
    record = raw_article(
        source={"kind": "replay", "ref": f"{i}.txt"}, text=text, title=f"Title {i}"
    )
    return Event(Message(record["id"].encode(), encode(record), offset=i))


POISON = [
    Event(Message(b"k1", b"\xff\xfe")),
    Event(Message(b"k2", b'{"id": "x"}')),
    Event(Message(None, b"not json")),
]


def outcomes(metrics: EnricherMetrics) -> dict[str, float]:
    found: dict[str, float] = {}
    for family in metrics.registry.collect():
        for sample in family.samples:
            if sample.name == "newswire_enricher_records_total":
                found[sample.labels["outcome"]] = sample.value
    return found


def conserved(metrics: EnricherMetrics) -> bool:
    taken = metrics.records_in._value.get()
    in_flight = metrics.in_flight._value.get()
    return taken == sum(outcomes(metrics).values()) + in_flight and in_flight == 0


async def run(h: BatchHandler, events: Sequence[Event]) -> list[Sequence[Event]]:
    settled: list[Sequence[Event]] = []

    async def settle(batch: Sequence[Event]) -> None:
        settled.append(batch)

    await h.handle(events, settle=settle)  # type: ignore[arg-type]
    return settled


async def test_bytes_that_are_not_utf8_are_dead_lettered_as_such(pipeline: Any) -> None:
    """Tester s8, finding 4: the tester's bytes, sent straight to news.raw, were
    dead-lettered as "str is not valid UTF-8: surrogates not allowed" (orjson's words)."""
    dlq = FakeTopic("news.dlq")
    h = handler(pipeline, FakeTopic("news.enriched"), dlq)
    await run(h, [Event(Message(b"k1", b"\xff\xfe\x00bin"))])
    [(_, value)] = dlq.acked
    letter = orjson.loads(value)
    assert (letter["kind"], letter["reason"]) == (
        "decode",
        "decode [raw-article]: not valid UTF-8: byte 0xff at offset 0 (invalid start byte)",
    )


async def test_good_and_poison_each_end_one_way(pipeline: Any) -> None:
    enriched, dlq = FakeTopic("news.enriched"), FakeTopic("news.dlq")
    h = handler(pipeline, enriched, dlq)
    batch = [good(1), POISON[0], good(2), POISON[1], POISON[2], good(1)]
    settled = await run(h, batch)
    assert settled == [batch], "settled once, after delivery"
    assert sorted(k for k, _ in enriched.acked) == sorted(
        {good(1).message.key, good(2).message.key}
    )
    assert len(dlq.acked) == 3
    assert outcomes(h._metrics) == {
        "new": 2,
        "redelivery": 1,
        "dead_letter_decode": 2,
        "dead_letter_schema": 1,
    }
    assert conserved(h._metrics)


async def test_an_enriched_record_over_the_limit_becomes_a_too_large_dead_letter(
    pipeline: Any,
) -> None:
    enriched, dlq = FakeTopic("news.enriched"), FakeTopic("news.dlq")
    big, small = good(1, size=200_000), good(2)
    assert big.message.value is not None
    h = handler(pipeline, enriched, dlq, max_message_bytes=len(big.message.value) + 200)
    await run(h, [big, small])
    assert [k for k, _ in enriched.acked] == [small.message.key]
    letter = orjson.loads(dlq.acked[0][1])
    assert letter["kind"] == "too_large" and "KAFKA_MAX_MESSAGE_BYTES" in letter["reason"]
    assert letter["origin"]["offset"] == 1 and letter["payload_truncated"]
    assert outcomes(h._metrics) == {"new": 1, "dead_letter_too_large": 1}
    assert conserved(h._metrics)
    # It joined the band buckets when it probed: it is taken back out of them.
    assert [p.article_id for p in h._exchange.withdrawn] == [orjson.loads(big.message.value)["id"]]


async def test_a_record_the_broker_refuses_as_too_large_is_dead_lettered_not_retried(
    pipeline: Any,
) -> None:
    refuse = lambda value: MessageSizeTooLargeError() if b"Title 1" in value else None  # noqa: E731
    enriched, dlq = FakeTopic("news.enriched", refuse=refuse), FakeTopic("news.dlq")
    h = handler(pipeline, enriched, dlq)
    first = good(1)
    await run(h, [first, good(2)])
    assert len(enriched.acked) == 1 and orjson.loads(dlq.acked[0][1])["kind"] == "too_large"
    assert conserved(h._metrics)
    assert first.message.value is not None
    refused_id = orjson.loads(first.message.value)["id"]
    assert [p.article_id for p in h._exchange.withdrawn] == [refused_id]


async def test_a_transient_failure_is_retried_until_delivered_before_settling(
    pipeline: Any,
) -> None:
    failures = iter([KafkaTimeoutError(), KafkaTimeoutError()])
    enriched = FakeTopic("news.enriched", refuse=lambda value: next(failures, None))
    h = handler(pipeline, enriched, FakeTopic("news.dlq"))
    settled = await run(h, [good(1)])
    assert enriched.attempts == 3 and len(enriched.acked) == 1 and settled
    assert h._metrics.send_retries._value.get() == 2
    assert conserved(h._metrics)


async def test_a_stage_bug_dead_letters_the_whole_batch(
    pipeline: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    enriched, dlq = FakeTopic("news.enriched"), FakeTopic("news.dlq")
    h = handler(pipeline, enriched, dlq)

    async def broken(*args: Any) -> Any:
        raise RuntimeError("exchange exploded")

    monkeypatch.setattr(h, "_finalise", broken)
    batch = [good(1), POISON[0], good(2)]
    settled = await run(h, batch)
    assert settled == [batch] and not enriched.acked
    letters = [orjson.loads(v) for _, v in dlq.acked]
    assert len(letters) == 3 and all("exchange exploded" in letter["reason"] for letter in letters)
    assert outcomes(h._metrics) == {"dead_letter_processing": 3}
    assert conserved(h._metrics)


async def test_the_table_moves_only_after_delivery(pipeline: Any) -> None:
    never = asyncio.Event()

    class Stalled(FakeTopic):
        async def send(self, *, key: bytes | None, value: bytes, headers: Any) -> Any:
            await never.wait()

    h = handler(pipeline, Stalled("news.enriched"), FakeTopic("news.dlq"))
    task = asyncio.create_task(run(h, [good(1)]))
    await asyncio.sleep(0.05)
    assert not recorded(h), "nothing recorded while the output is not delivered"
    assert h._metrics.in_flight._value.get() == 1
    task.cancel()


@settings(max_examples=25, deadline=None)
@given(st.lists(st.one_of(st.integers(0, 5).map(good), st.sampled_from(POISON)), max_size=12))
def test_every_record_is_counted_exactly_once(pipeline: Any, batch: list[Event]) -> None:
    enriched, dlq = FakeTopic("news.enriched"), FakeTopic("news.dlq")
    h = handler(pipeline, enriched, dlq)
    asyncio.run(run(h, batch))
    counts = outcomes(h._metrics)
    assert sum(counts.values()) == len(batch)
    assert len(enriched.acked) == counts.get("new", 0)
    assert len(dlq.acked) == sum(n for o, n in counts.items() if o.startswith("dead_letter_"))
    assert conserved(h._metrics)


def test_only_the_scope_module_touches_fausts_current_event() -> None:
    """The loss came from setting the stream's current event across an await; writes_for
    is the one sanctioned way to name an event for table writes."""
    pattern = re.compile(r"_set_current_event|current_event\s*=|_current_event\b")
    offenders = [
        f"{path.relative_to(SERVICES)}:{n}"
        for path in SERVICES.rglob("*.py")
        if path.name != "scope.py"
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if pattern.search(line)
    ]
    assert not offenders, offenders


async def test_an_enriched_record_the_schema_refuses_is_dead_lettered_and_not_recorded(
    pipeline: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken_id = orjson.loads(good(2).message.value or b"")["id"]
    real_enrich = pipeline.enrich

    def enrich(raw: Any, decision: Any) -> Any:
        record = real_enrich(raw, decision)
        return record | {"topics": "not a list"} if raw["id"] == broken_id else record

    monkeypatch.setattr(pipeline, "enrich", enrich)
    enriched, dlq = FakeTopic("news.enriched"), FakeTopic("news.dlq")
    h = handler(pipeline, enriched, dlq)
    batch = [good(1), good(2)]
    settled = await run(h, batch)
    assert settled == [batch]
    assert [k for k, _ in enriched.acked] == [good(1).message.key]
    letter = orjson.loads(dlq.acked[0][1])
    assert letter["kind"] == "schema" and letter["origin"]["offset"] == 2
    assert recorded(h) == {good(1).message.key}, "a dead-lettered article is not seen"
    assert outcomes(h._metrics) == {"new": 1, "dead_letter_schema": 1}
    assert conserved(h._metrics)


def test_taking_back_an_entry_restores_what_was_pending_before() -> None:
    first, second = good(1), good(1, size=800)
    entry = SeenEntry("0" * 32, "2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z")
    earlier = Pending(entry, first)  # type: ignore[arg-type]
    pending = {"a": Pending(entry, second, earlier)}  # type: ignore[arg-type]
    take_back(pending, "a", first)  # type: ignore[arg-type]
    assert pending["a"].event is second, "only the latest event's entry is taken back"
    take_back(pending, "a", second)  # type: ignore[arg-type]
    assert pending == {"a": earlier}
    take_back(pending, "a", first)  # type: ignore[arg-type]
    assert pending == {}
