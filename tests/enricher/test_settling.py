"""news.raw offsets move only past settled records (see newswire.enricher.settling).

The books are pure and get property tests: whatever order records are settled in,
whichever are skipped, commits never pass an offset that was not settled. The
consumer is Faust's real one (built, not started): its acks on news.raw must stay
out of Faust's own commit bookkeeping, and on other topics must not.
"""

from __future__ import annotations

from typing import Any

import pytest
from faust.types import TP, Message
from hypothesis import given
from hypothesis import strategies as st

from newswire.common.settings import KafkaSettings, Settings
from newswire.enricher.app import EMBEDDED_FETCH_MAX_WAIT_MS, build_app
from newswire.enricher.settling import SettledOffsets, SettlingConsumer, settling_consumer

TP0 = TP("news.raw", 0)


@st.composite
def settling_histories(draw: st.DrawFn) -> tuple[int, list[int], set[int]]:
    """A base, the offsets above it settled in any order, and those never settled."""
    base = draw(st.integers(0, 1_000))
    count = draw(st.integers(0, 40))
    offsets = list(range(base, base + count))
    skipped = set(draw(st.lists(st.sampled_from(offsets), unique=True))) if offsets else set()
    settled = draw(st.permutations([o for o in offsets if o not in skipped]))
    return base, settled, skipped


@given(settling_histories(), st.data())
def test_commits_never_pass_an_unsettled_offset(
    history: tuple[int, list[int], set[int]], data: st.DataObject
) -> None:
    base, settled, skipped = history
    books = SettledOffsets()
    books.start(TP0, base)
    committed = base
    for offset in settled:
        books.settle(TP0, offset)
        if data.draw(st.booleans(), label="commit now"):
            end = books.committable(TP0)
            if end is not None:
                assert end > committed
                books.committed(TP0, end)
                committed = end
        first_gap = min(skipped | {o for o in range(base, base + 41) if o not in settled})
        assert committed <= first_gap
        assert all(o not in skipped for o in range(base, committed))
    end = books.committable(TP0)
    final = end if end is not None else committed
    expected = base
    while expected in set(settled):
        expected += 1
    assert final == expected, "every unbroken run from the base is committed in the end"


def test_a_hole_of_one_offset_holds_the_commit() -> None:
    """Faust's own gap check lets exactly this through (committed 4, acked 5..9)."""
    books = SettledOffsets()
    books.start(TP0, 4)
    for offset in range(5, 10):
        books.settle(TP0, offset)
    assert books.committable(TP0) is None
    books.settle(TP0, 4)
    assert books.committable(TP0) == 10


def test_nothing_is_committable_before_the_partition_is_positioned_or_after_revoke() -> None:
    books = SettledOffsets()
    books.settle(TP0, 0)
    assert books.committable(TP0) is None, "no base yet: the position is unknown"
    books.start(TP0, 0)
    assert books.committable(TP0) == 1
    books.forget([TP0])
    assert books.committable(TP0) is None


def test_a_new_start_drops_what_lies_below_it() -> None:
    books = SettledOffsets()
    books.start(TP0, 0)
    books.settle(TP0, 3)
    books.start(TP0, 5)  # another member committed up to 5 meanwhile
    books.settle(TP0, 5)
    assert books.committable(TP0) == 6
    assert books.done[TP0] == {5}


def _message(topic: str, offset: int) -> Message:
    return Message(topic, 0, offset, 0.0, 0, None, b"key", b"value", None)


@pytest.fixture
async def consumer() -> Any:
    return settling_consumer(build_app(Settings()))


async def test_the_enricher_app_commits_news_raw_through_the_settling_consumer(
    consumer: SettlingConsumer,
) -> None:
    assert consumer.guarded_topics == {Settings().topics.raw}


async def test_an_unsettled_ack_on_news_raw_releases_the_message_but_commits_nothing(
    consumer: SettlingConsumer,
) -> None:
    raw = Settings().topics.raw
    skipped = _message(raw, 7)
    assert consumer.ack(skipped) is False
    assert skipped.acked, "nothing may wait for it (rebalances wait for unacked messages)"
    settled = _message(raw, 8)
    consumer.settle([settled])
    assert consumer.ack(settled) is True
    assert not consumer._acked, "Faust's own commit bookkeeping never sees news.raw"


async def test_other_topics_keep_fausts_acks(consumer: SettlingConsumer) -> None:
    probes = f"{Settings().enricher.app_id}-band-probes"
    consumer.app.topics.acking_topics.add(probes)  # as Faust does when the agent starts
    assert consumer.ack(_message(probes, 3)) is True
    assert consumer._acked[TP(probes, 0)] == [3]


def test_a_hole_is_the_base_only_while_later_offsets_wait_behind_it() -> None:
    books = SettledOffsets()
    assert books.hole(TP0) is None
    books.start(TP0, 10)
    assert books.hole(TP0) is None, "nothing settled yet: nothing waits"
    books.settle(TP0, 12)
    assert books.hole(TP0) == 10
    books.settle(TP0, 10)
    assert books.hole(TP0) is None, "10 settled: the run is 10 only, 11 is not yet a hole"


async def test_a_hole_that_holds_the_commits_is_read_again_after_a_while(
    consumer: SettlingConsumer,
) -> None:
    """The Kafka side (assignment, seek) is replaced here: what is tested is when the
    consumer decides to read again, and from where."""
    raw = TP(Settings().topics.raw, 0)
    seeks: list[tuple[TP, int]] = []
    rereads: list[tuple[TP, int]] = []

    async def seek(tp: TP, offset: int) -> None:
        seeks.append((tp, offset))

    consumer.assignment = lambda: {raw}  # type: ignore[method-assign]
    consumer.seek = seek  # type: ignore[method-assign]
    consumer.on_reread = lambda tp, offset: rereads.append((tp, offset))  # type: ignore[method-assign]
    consumer._books.start(raw, 7)
    consumer._books.settle(raw, 8)
    await consumer.reread_holes(now=100.0)
    await consumer.reread_holes(now=103.0)
    assert seeks == [], "a hole is given time: its record may still be on its way"
    await consumer.reread_holes(now=105.0)
    assert seeks == [(raw, 7)] and rereads == [(raw, 7)]
    await consumer.reread_holes(now=106.0)
    assert len(seeks) == 1, "and then time again for the re-read to arrive"
    consumer._books.settle(raw, 7)
    await consumer.reread_holes(now=200.0)
    assert len(seeks) == 1


async def test_a_partition_without_a_committed_offset_starts_at_its_log_start_off_the_seek_path(
    consumer: SettlingConsumer,
) -> None:
    """Faust's recovery waits on the seek: the broker is asked for the log start later,
    and nothing is committed for the partition until it answers."""
    raw = TP(Settings().topics.raw, 2)
    asked: list[TP] = []

    async def earliest_offsets(*tps: TP) -> dict[TP, int]:
        asked.extend(tps)
        return {raw: 40}

    consumer.assignment = lambda: {raw}  # type: ignore[method-assign]
    consumer.earliest_offsets = earliest_offsets  # type: ignore[method-assign]
    consumer._unpositioned.add(raw)
    consumer._books.settle(raw, 40)
    assert consumer._books.committable(raw) is None
    await consumer.position_unknown()
    assert asked == [raw]
    assert consumer._books.committable(raw) == 41


@pytest.mark.parametrize(
    ("bootstrap", "expected_ms"),
    [(None, EMBEDDED_FETCH_MAX_WAIT_MS), ("kafka:9092", 1500)],
)
async def test_the_embedded_broker_gets_a_short_fetch_wait(
    bootstrap: str | None, expected_ms: int
) -> None:
    """The embedded broker answers a waiting fetch only when the wait runs out, so each
    hop of the near-duplicate exchange cost up to Faust's 1.5 s there; Apache Kafka
    answers at once and keeps Faust's figure."""
    settings = Settings(kafka=KafkaSettings(bootstrap_servers=bootstrap))
    app = build_app(settings)
    thread = settling_consumer(app)._new_consumer_thread()
    created = thread._create_worker_consumer(app.transport)
    assert created._fetch_max_wait_ms == expected_ms


async def test_a_dropped_last_record_is_read_again_once_the_agent_is_idle(
    consumer: SettlingConsumer,
) -> None:
    """Faust can drop the last record of a partition (fetched under a generation a
    rebalance ended) with nothing settled after it: the consumer has read past it, the
    agent holds nothing, so it is read again; while the agent holds records it is not."""
    raw = TP(Settings().topics.raw, 0)
    seeks: list[tuple[TP, int]] = []

    async def seek(tp: TP, offset: int) -> None:
        seeks.append((tp, offset))

    async def position(tp: TP) -> int:
        return 8  # read past offset 7, which was never handed to the agent

    consumer.assignment = lambda: {raw}  # type: ignore[method-assign]
    consumer.seek = seek  # type: ignore[method-assign]
    consumer.position = position  # type: ignore[method-assign]
    consumer._books.start(raw, 7)
    in_flight = _message(raw.topic, 9)
    consumer._unacked_messages.add(in_flight)
    await consumer.reread_holes(now=100.0)
    await consumer.reread_holes(now=106.0)
    assert seeks == [], "a batch in flight: the record may still be queued for the agent"
    consumer._unacked_messages.discard(in_flight)
    await consumer.reread_holes(now=110.0)
    await consumer.reread_holes(now=116.0)
    assert seeks == [(raw, 7)]
    consumer._books.start(raw, 8)  # read again, settled and committed: nothing to re-read
    await consumer.reread_holes(now=130.0)
    await consumer.reread_holes(now=140.0)
    assert seeks == [(raw, 7)]
