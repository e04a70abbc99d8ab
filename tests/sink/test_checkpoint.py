"""The checkpoint: offsets move only after every writer flushed, per partition."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

import pytest
from aiokafka.errors import KafkaError
from aiokafka.structs import TopicPartition

from newswire.common.settings import SinkSettings
from newswire.sink.checkpoint import WriterBroken
from newswire.sink.writers.base import BatchRejected, FlushResult, Partitions, WriterError
from newswire.sink.writers.batching import BatchItem
from tests.sink.memory import P0, P1, Harness


def fail_when(ident: str, error: BaseException):
    """A ``MemoryWriter.fail`` that raises ERROR for any batch holding ``ident``."""

    def fail(items: Sequence[BatchItem[str]]) -> BaseException | None:
        return error if any(item.value == ident for item in items) else None

    return fail


def soon(seconds: float = 0.05) -> float:
    return time.monotonic() + seconds


async def test_offsets_are_committed_only_after_every_writer_flushed() -> None:
    sink = Harness("first", "second")
    await sink.consume(P0, "a", "b")
    await sink.consume(P1, "c")

    assert await sink.checkpoint.commit()

    assert [w.written for w in sink.writers] == [["a", "b", "c"]] * 2
    assert sink.consumer.commits == [{P0: 2, P1: 1}]
    kinds = [event[0] for event in sink.events]
    assert kinds == ["write", "write", "commit"]  # both writers' writes, then the commit
    assert not sink.checkpoint.pending
    assert sink.sample("newswire_sink_records_written_total", writer="second") == 3


async def test_a_failed_flush_commits_nothing_and_the_retry_does() -> None:
    sink = Harness("first", "second")
    down = WriterError("database down")
    sink.writers[1].fail = lambda items: down
    await sink.consume(P0, "a", "b")

    assert not await sink.checkpoint.commit(deadline=soon())
    assert sink.consumer.commits == []
    assert sink.writers[0].written == ["a", "b"]  # the first writer's flush stands
    assert sink.writers[1].buffered == 2  # the second keeps its batch
    assert sink.checkpoint.pending
    assert "flush" in sink.retries

    sink.writers[1].fail = lambda items: None
    assert await sink.checkpoint.commit()
    assert sink.writers[1].written == ["a", "b"]
    assert sink.consumer.commits == [{P0: 2}]


async def test_a_database_that_stays_down_is_waited_for_until_stop() -> None:
    sink = Harness("db")
    sink.writers[0].fail = lambda items: WriterError("connection refused")
    await sink.consume(P0, "a")
    sink.stop.set()  # an unbounded checkpoint ends only on a stop request

    assert not await sink.checkpoint.commit()
    assert sink.consumer.commits == []
    assert sink.writers[0].buffered == 1


async def test_revoking_flushes_and_commits_only_the_revoked_partitions() -> None:
    sink = Harness("first", "second")
    await sink.consume(P0, "a", "b")
    await sink.consume(P1, "c")

    assert await sink.checkpoint.commit([P0], deadline=soon())
    sink.checkpoint.forget([P0])

    assert [w.flushed[-1] for w in sink.writers] == [[P0], [P0]]
    assert [w.written for w in sink.writers] == [["a", "b"]] * 2
    assert sink.consumer.commits == [{P0: 2}]
    assert [w.buffered for w in sink.writers] == [1, 1]  # P1's record is still ours
    assert sink.checkpoint.records == 1


async def test_what_a_revocation_could_not_flush_is_dropped_uncommitted() -> None:
    sink = Harness("db")
    sink.writers[0].fail = fail_when("b", WriterError("timeout"))
    await sink.consume(P0, "a")
    await sink.consume(P1, "b")

    assert not await sink.checkpoint.commit([P1], deadline=soon())
    sink.checkpoint.forget([P1])

    assert sink.writers[0].buffered == 1  # only P0's record is left
    assert sink.consumer.commits == []
    sink.writers[0].fail = lambda items: None
    assert await sink.checkpoint.commit()
    assert sink.writers[0].written == ["a"]
    assert sink.consumer.commits == [{P0: 1}]  # P1 is not ours to commit any more


async def test_a_refused_record_is_dead_lettered_before_the_offsets_move() -> None:
    sink = Harness("db")
    sink.writers[0].fail = fail_when("bad", BatchRejected("db", "violates check constraint"))
    await sink.consume(P0, "a", "bad", "c", "d")

    assert await sink.checkpoint.commit()

    assert sink.writers[0].written == ["a", "c", "d"]
    [letter] = sink.publisher.letters
    assert letter["kind"] == "rejected"
    assert letter["reason"] == "db: violates check constraint"
    assert (letter["origin"]["partition"], letter["origin"]["offset"]) == (0, 1)
    assert letter["key"] == b"bad"
    assert letter["payload"] == b'{"id":"bad"}'
    kinds = [event[0] for event in sink.events]
    assert kinds.index("dead_letter") < kinds.index("commit")
    assert sink.consumer.commits == [{P0: 4}]
    assert sink.sample("newswire_sink_dead_letters_total", kind="rejected") == 1
    assert sink.sample("newswire_sink_records_rejected_total", writer="db") == 1


async def test_a_writer_bug_on_one_record_is_tried_a_bounded_number_of_times() -> None:
    sink = Harness("db")
    attempts: list[int] = []

    def buggy(items: Sequence[BatchItem[str]]) -> BaseException | None:
        if any(item.value == "bad" for item in items):
            attempts.append(len(items))
            return KeyError("title")
        return None

    sink.writers[0].fail = buggy
    await sink.consume(P0, "a", "bad")

    assert await sink.checkpoint.commit()  # no deadline: only the bound ends the retries

    assert attempts[:3] == [2, 2, 2]  # the whole batch three times, then split
    assert sink.retries.count("flush") == 2
    assert sink.writers[0].written == ["a"]
    [letter] = sink.publisher.letters
    assert letter["reason"].startswith("db: writer bug: KeyError")
    assert sink.consumer.commits == [{P0: 2}]


async def test_a_dead_letter_that_is_not_acknowledged_commits_nothing() -> None:
    sink = Harness("db")
    sink.writers[0].fail = fail_when("bad", BatchRejected("db", "too long"))

    async def broker_down(**_: object) -> None:
        raise KafkaError("no broker")

    sink.publisher.dead_letter = broker_down  # type: ignore[method-assign]
    await sink.consume(P0, "a", "bad")

    assert not await sink.checkpoint.commit(deadline=soon())
    assert sink.consumer.commits == []
    assert "dead_letter" in sink.retries


async def test_a_failed_commit_is_tried_again_at_the_next_checkpoint() -> None:
    sink = Harness("db")
    await sink.consume(P0, "a")
    sink.consumer.commit_error = KafkaError("coordinator moved")

    assert await sink.checkpoint.commit()
    assert sink.consumer.commits == []
    assert sink.checkpoint.pending and sink.checkpoint.records == 0

    sink.consumer.commit_error = None
    assert await sink.checkpoint.commit()
    assert sink.consumer.commits == [{P0: 1}]
    assert not sink.checkpoint.pending


class BrokenFlush:
    """A writer (not a batching one) whose flush always fails with a bug."""

    name = "broken"

    async def add(self, *args: object) -> None:
        return None

    async def flush(self, partitions: Partitions = None) -> FlushResult:
        raise ZeroDivisionError("oops")

    def drop(self, partitions: Partitions) -> int:
        return 0

    async def close(self) -> None:
        return None


async def test_a_writer_that_cannot_split_and_keeps_failing_stops_the_sink() -> None:
    sink = Harness(others=[BrokenFlush()])
    await sink.consume(P0, "a")

    with pytest.raises(WriterBroken, match="broken"):
        await sink.checkpoint.commit()
    assert sink.consumer.commits == []


async def test_catching_up_flushes_and_a_trickle_waits_for_a_batch_worth_writing() -> None:
    sink = Harness("db")
    await sink.consume(P0, "a", "b", "c")
    limits = SinkSettings(batch_caught_up_records=3, batch_max_age_s=60.0)
    trickle = SinkSettings(batch_caught_up_records=4, batch_max_age_s=60.0)

    assert sink.checkpoint.due(limits, idle=False, caught_up=True)
    assert not sink.checkpoint.due(limits, idle=False, caught_up=False)  # more is on the way
    assert not sink.checkpoint.due(trickle, idle=False, caught_up=True)  # too few: wait
    assert sink.checkpoint.due(trickle, idle=True)  # ... until the topic goes quiet
    assert sink.checkpoint.due(trickle, idle=False, caught_up=True, just_caught_up=True)


async def test_a_commit_is_seen_in_process_with_its_offsets() -> None:
    sink = Harness("db")
    await sink.consume(P0, "a", "b")
    await sink.consume(P1, "c")
    assert not sink.metrics.commit_seen.is_set()

    assert await sink.checkpoint.commit()

    assert sink.metrics.commit_seen.is_set()
    assert sink.metrics.committed == {P0: 2, P1: 1}
    assert sink.sample("newswire_sink_commits_total", outcome="ok") == 1


async def test_a_dead_letter_not_sent_goes_out_before_a_later_commit() -> None:
    """The writer let go of the refused record when it refused it: a later flush does
    not report it again, so its unsent dead letter must stay queued, not vanish."""
    sink = Harness("db")
    sink.writers[0].fail = fail_when("bad", BatchRejected("db", "too long"))
    acknowledge = sink.publisher.dead_letter

    async def broker_down(**_: object) -> None:
        raise KafkaError("no broker")

    sink.publisher.dead_letter = broker_down  # type: ignore[method-assign]
    await sink.consume(P0, "a", "bad")
    assert not await sink.checkpoint.commit(deadline=soon())
    assert sink.checkpoint.pending

    sink.publisher.dead_letter = acknowledge  # type: ignore[method-assign]
    assert await sink.checkpoint.commit(deadline=soon())

    [letter] = sink.publisher.letters
    assert (letter["origin"]["offset"], letter["key"]) == (1, b"bad")
    kinds = [event[0] for event in sink.events]
    assert kinds.index("dead_letter") < kinds.index("commit")
    assert sink.consumer.commits == [{P0: 2}]
    assert not sink.checkpoint.pending


async def test_a_background_checkpoint_commits_what_it_took_and_no_more() -> None:
    sink = Harness("first", "second")
    await sink.consume(P0, "a", "b")
    await sink.consume(P1, "c")

    sink.checkpoint.launch()
    await sink.consume(P0, "d")  # handled while the checkpoint is under way
    assert not await sink.checkpoint.land()

    assert sink.consumer.commits == [{P0: 2, P1: 1}]  # what it took off, not d
    assert all({"a", "b", "c"} <= set(w.written) for w in sink.writers)
    assert sink.checkpoint.records == 1 and sink.checkpoint.pending
    assert await sink.checkpoint.commit()
    assert sink.consumer.commits[-1] == {P0: 3}
    assert [sorted(w.written) for w in sink.writers] == [["a", "b", "c", "d"]] * 2


async def test_a_background_checkpoint_that_fails_is_finished_with_retries() -> None:
    sink = Harness("first", "second")
    sink.writers[1].fail = lambda items: WriterError("database down")
    await sink.consume(P0, "a", "b")

    sink.checkpoint.launch()
    await sink.consume(P0, "c")
    assert await sink.checkpoint.land()  # it did not commit: its progress is back

    assert sink.consumer.commits == []
    assert sink.checkpoint.records == 3
    sink.writers[1].fail = lambda items: None
    assert await sink.checkpoint.commit()
    assert sink.consumer.commits == [{P0: 3}]
    assert sorted(sink.writers[1].written) == ["a", "b", "c"]


async def test_a_refusal_in_the_background_is_dead_lettered_before_any_commit() -> None:
    sink = Harness("db")
    sink.writers[0].fail = fail_when("bad", BatchRejected("db", "violates check constraint"))
    await sink.consume(P0, "a", "bad", "c")

    sink.checkpoint.launch()
    assert await sink.checkpoint.land()
    assert sink.consumer.commits == []  # the letter is not out yet

    assert await sink.checkpoint.commit()
    [letter] = sink.publisher.letters
    assert (letter["origin"]["offset"], letter["key"]) == (1, b"bad")
    kinds = [event[0] for event in sink.events]
    assert kinds.index("dead_letter") < kinds.index("commit")
    assert sink.consumer.commits == [{P0: 3}]


async def test_a_checkpoint_waits_for_the_one_in_the_background() -> None:
    sink = Harness("db")
    await sink.consume(P0, "a")
    sink.checkpoint.launch()
    with pytest.raises(RuntimeError, match="already under way"):
        sink.checkpoint.launch()
    await sink.consume(P1, "b")

    assert await sink.checkpoint.commit([P1], deadline=soon())

    assert sink.consumer.commits == [{P0: 1}, {P1: 1}]
    assert not sink.checkpoint.pending


async def test_a_cancelled_landing_tracks_what_the_checkpoint_took_again() -> None:
    """Cancelled while it waits for the background checkpoint (a revocation cut short,
    a shutdown), ``land`` must not lose the progress the checkpoint took off: the
    batch counts would drift and a later commit would pass records never flushed."""
    sink = Harness("db")
    release = asyncio.Event()
    entered = asyncio.Event()
    write = sink.writers[0].write

    async def slow_write(items: Sequence[BatchItem[str]]) -> FlushResult:
        entered.set()
        await release.wait()
        return await write(items)

    sink.writers[0].write = slow_write  # type: ignore[method-assign]
    await sink.consume(P0, "a", "b")
    sink.checkpoint.launch()
    await entered.wait()
    await sink.consume(P0, "c")  # tracked while the checkpoint is under way

    landing = asyncio.create_task(sink.checkpoint.land())
    await asyncio.sleep(0)
    landing.cancel()
    with pytest.raises(asyncio.CancelledError):
        await landing

    assert sink.checkpoint.records == 3  # a, b and c: nothing went missing
    assert sink.consumer.commits == []
    release.set()
    assert await sink.checkpoint.commit()
    assert sink.consumer.commits == [{P0: 3}]
    assert sorted(sink.writers[0].written) == ["a", "b", "c"]
    assert not sink.checkpoint.pending


async def test_a_background_commit_that_fails_is_counted_and_done_again() -> None:
    sink = Harness("db")
    await sink.consume(P0, "a")
    sink.consumer.commit_error = KafkaError("coordinator moved")

    sink.checkpoint.launch()
    assert await sink.checkpoint.land()  # not committed: its progress is back

    assert sink.sample("newswire_sink_commits_total", outcome="error") == 1
    sink.consumer.commit_error = None
    assert await sink.checkpoint.commit()
    assert sink.consumer.commits == [{P0: 1}]
    assert sink.sample("newswire_sink_commits_total", outcome="ok") == 1
    assert not sink.checkpoint.pending


async def test_a_timeout_inside_the_background_checkpoint_is_a_failure_to_finish() -> None:
    """A TimeoutError the background checkpoint raises itself (a commit or a driver
    timing out) is a failed checkpoint, finished with retries within the deadline;
    only a checkpoint still under way at the deadline is called off."""
    sink = Harness("db")
    await sink.consume(P0, "a")
    commit = sink.consumer.commit
    calls: list[dict[TopicPartition, int]] = []

    async def first_commit_times_out(offsets: dict[TopicPartition, int]) -> None:
        calls.append(offsets)
        if len(calls) == 1:
            raise TimeoutError("the commit timed out")
        await commit(offsets)

    sink.consumer.commit = first_commit_times_out  # type: ignore[method-assign]
    sink.checkpoint.launch()

    assert await sink.checkpoint.commit(deadline=soon(30.0))
    assert calls == [{P0: 1}, {P0: 1}]
    assert sink.consumer.commits == [{P0: 1}]
    assert sink.writers[0].written == ["a"]
    assert not sink.checkpoint.pending


async def test_a_called_off_checkpoint_has_wound_down_even_if_the_caller_is_cancelled() -> None:
    """Shutdown during a rebalance cancels the caller while it calls a checkpoint off:
    the checkpoint must have ended before the caller's cancellation goes on (its
    progress is restored next, and must not be while it can still write)."""
    from newswire.sink.checkpoint import _call_off

    winding_down = asyncio.Event()
    release = asyncio.Event()

    async def checkpoint() -> bool:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            winding_down.set()
            await release.wait()  # a flush finishing its file, a rollback
            raise
        return True

    task = asyncio.create_task(checkpoint())
    await asyncio.sleep(0)
    caller = asyncio.create_task(_call_off(task))
    await winding_down.wait()
    caller.cancel()  # the second cancellation
    await asyncio.sleep(0)
    assert not caller.done()  # still waiting for the checkpoint to end
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await caller
    assert task.done()
