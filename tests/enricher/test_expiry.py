"""The sweep's rules: only expired keys, only on partitions it holds an event of, a slice at a time.

The table here is a plain dict with Faust's mapping interface; the real table and its
changelog are exercised by tests/integration/test_pipeline.py::test_ids_expire_after_the_window.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import pytest
from faust.streams import current_event

from newswire.enricher.buckets import delta_key_partition
from newswire.enricher.expiry import ExpirySweeper, key_partition


class DictTable(dict):
    """Records the partition of Faust's current event at each delete, as a real table
    places the tombstone by it."""

    name = "test-table"

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.tombstone_partitions: list[int | None] = []

    def __delitem__(self, key: bytes) -> None:
        event = current_event()
        self.tombstone_partitions.append(event.message.partition if event else None)
        super().__delitem__(key)


@dataclass
class Message:
    partition: int


@dataclass
class Event:
    message: Message


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _keys_on(partition: int, count: int, partitions: int = 3) -> list[bytes]:
    keys = [f"k{i}".encode() for i in range(200)]
    return [k for k in keys if key_partition(k, partitions) == partition][:count]


def _sweeper(
    table: DictTable, clock: Clock, active: set[int] | None = None, **kw: Any
) -> ExpirySweeper:
    held = {0, 1, 2} if active is None else active
    return ExpirySweeper(
        table=table,
        partitions=3,
        is_expired=lambda value, now: value < now - 100,
        every_s=60,
        clock=clock,
        is_active=lambda partition: partition in held,
        **kw,
    )


def test_only_expired_keys_of_held_partitions_go() -> None:
    table = DictTable()
    old_p0, old_p1 = _keys_on(0, 3), _keys_on(1, 3)
    fresh_p0 = _keys_on(0, 5)[3:]
    for key in old_p0 + old_p1:
        table[key] = 0.0
    for key in fresh_p0:
        table[key] = 990.0
    clock = Clock()
    sweeper = _sweeper(table, clock)
    assert sweeper.sweep([Event(Message(0))]) == 0, "not due before every_s"
    clock.now += 61
    assert sweeper.sweep([Event(Message(0))]) == 3
    assert set(table) == set(old_p1 + fresh_p0), "no event of partition 1 yet: its keys stay"
    assert table.tombstone_partitions == [0, 0, 0], (
        "each tombstone goes out under an event of its partition"
    )
    assert current_event() is None, "the event is current only for the delete itself"


def test_a_round_is_worked_through_in_slices() -> None:
    table = DictTable({key: 0.0 for key in _keys_on(2, 10)})
    clock = Clock()
    sweeper = _sweeper(table, clock, slice_size=4)
    clock.now += 61
    done = [sweeper.sweep([Event(Message(2))]) for _ in range(4)]
    assert done == [4, 4, 2, 0] and not table


def test_a_quiet_partition_is_swept_with_its_last_event_while_still_held() -> None:
    table = DictTable({key: 0.0 for key in _keys_on(1, 2) + _keys_on(2, 2)})
    clock = Clock()
    held = {0, 1, 2}
    sweeper = _sweeper(table, clock, active=held)
    sweeper.sweep([Event(Message(1)), Event(Message(2))])  # events seen, round not due
    held.discard(2)  # partition 2 revoked since
    clock.now += 61
    assert sweeper.sweep([]) == 2
    assert set(table) == set(_keys_on(2, 2)), (
        "never write tombstones for a partition no longer held"
    )


def test_a_table_placed_by_its_keys_is_swept_by_the_partition_each_key_names() -> None:
    """The band deltas: keys are not placed by Kafka's partitioner but name the partition."""
    table = DictTable({b"batch-a/0": (0, 0.0), b"batch-b/2": (2, 0.0), b"batch-c/2": (2, 990.0)})
    clock = Clock()
    sweeper = ExpirySweeper(
        table=table,
        partitions=3,
        is_expired=lambda value, now: value[1] < now - 100,
        every_s=60,
        clock=clock,
        is_active=lambda partition: True,
        partition_of_key=delta_key_partition,
    )
    clock.now += 61
    assert sweeper.sweep([Event(Message(2))]) == 1
    assert set(table) == {b"batch-a/0", b"batch-c/2"}, "no event of partition 0: its delta stays"
    assert table.tombstone_partitions == [2]


class BrokenTable(DictTable):
    def keys(self) -> Any:
        raise RuntimeError("store unreadable")


def test_a_failing_guarded_sweep_is_counted_and_waits_a_round(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An agent calls the guarded sweep for every event: a broken sweep must neither
    stop it nor log on every event."""
    clock, failures = Clock(), []
    sweeper = _sweeper(BrokenTable(), clock, on_failure=lambda: failures.append(1))
    clock.now += 61
    with caplog.at_level(logging.ERROR):
        assert sweeper.sweep_guarded([Event(Message(0))]) == 0  # type: ignore[list-item]
        assert sweeper.sweep_guarded([Event(Message(0))]) == 0  # type: ignore[list-item]
    assert failures == [1]
    assert (
        sum("expiry sweep of table test-table failed" in r.getMessage() for r in caplog.records)
        == 1
    )
    clock.now += 61
    sweeper.sweep_guarded([Event(Message(0))])  # type: ignore[list-item]
    assert failures == [1, 1], "tried again a sweep interval later"
