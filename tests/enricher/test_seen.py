"""The dedupe table as deltas: what is written, and what a restore rebuilds from it.

The real restore (Faust replaying the changelog after a SIGKILL or a rebalance) is
exercised by tests/integration/test_chaos.py; here the table is a dict, as Faust's
memory store is once restored, and the rebuilt index is compared with the live one.
"""

from __future__ import annotations

import random
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from newswire.common.kafka import default_partition
from newswire.enricher.dedupe import SeenEntry, Verdict, decide, seen_entry_expired
from newswire.enricher.seen import (
    MAX_DELTA_ENTRIES,
    SeenStore,
    seen_delta_key,
    seen_key_partition,
)
from tests.enricher.test_batch import Event, Message, Table

NOW = 1_700_000_000.0  # 2023-11-14T22:13:20Z
WINDOW = 3600.0


def at(seconds: float) -> str:
    from datetime import UTC, datetime

    stamp = datetime.fromtimestamp(NOW + seconds, UTC).isoformat(timespec="milliseconds")
    return stamp.replace("+00:00", "Z")


def event(partition: int) -> Event:
    return Event(Message(None, None, partition=partition))


def store(table: Table | None = None, now: float = NOW) -> SeenStore:
    return SeenStore(Table() if table is None else table, window_s=WINDOW, clock=lambda: now)


def test_a_batch_writes_one_delta_per_partition_not_one_record_per_article() -> None:
    seen = store()
    entries = [(f"{i:032x}", SeenEntry("h", at(0), at(0)), event(i % 3)) for i in range(30)]
    seen.record(entries)
    table = seen._table
    assert len(table) == 3
    assert {seen_key_partition(key, 6) for key in table} == {0, 1, 2}
    assert all(len(value["e"]) == 10 for value in table.values())
    assert seen.get(f"{4:032x}") == SeenEntry("h", at(0), at(0))
    assert seen.get("0" * 31 + "z") is None


def test_a_large_batch_is_split_into_deltas_of_bounded_size() -> None:
    seen = store()
    n = MAX_DELTA_ENTRIES * 2 + 1
    seen.record((f"{i:032x}", SeenEntry("h", at(0), at(0)), event(0)) for i in range(n))
    sizes = sorted(len(value["e"]) for value in seen._table.values())
    assert sizes == [1, MAX_DELTA_ENTRIES, MAX_DELTA_ENTRIES]


def test_keys_name_their_partition_and_article_ids_keep_kafkas_placement() -> None:
    assert seen_key_partition(seen_delta_key(5), 6) == 5
    article = b"0123456789abcdef0123456789abcdef"
    assert seen_key_partition(article, 6) == default_partition(article, 6)


def test_a_delta_expires_with_its_newest_entry() -> None:
    seen = store()
    seen.record(
        [
            ("a" * 32, SeenEntry("h", at(0), at(0)), event(0)),
            ("b" * 32, SeenEntry("h", at(0), at(100)), event(0)),
        ]
    )
    (value,) = seen._table.values()
    assert not seen_entry_expired(value, NOW + 100 + WINDOW, window_s=WINDOW)
    assert seen_entry_expired(value, NOW + 101 + WINDOW, window_s=WINDOW)


def test_an_expired_entry_is_unseen_and_its_deletion_leaves_a_later_one() -> None:
    table = Table()
    old = store(table)
    first = SeenEntry("h1", at(0), at(0))
    old.record([("a" * 32, first, event(0))])
    later = store(table, now=NOW + WINDOW + 1)
    later.rebuild()
    assert later.get("a" * 32) is None, "past the window: unseen"
    (old_key,) = table
    second = SeenEntry("h2", at(WINDOW + 1), at(WINDOW + 1))
    later.record([("a" * 32, second, event(0))])
    assert later.forget(old_key, table.pop(old_key)) == 0, "replaced, not forgotten"
    assert later.get("a" * 32) == second


def test_entries_written_before_deltas_are_read() -> None:
    article = "c" * 32
    table = Table({article.encode(): SeenEntry("h", at(0), at(5), 2, 1).to_json()})
    seen = store(table)
    seen.rebuild()
    assert seen.get(article) == SeenEntry("h", at(0), at(5), 2, 1)


# A history: per step, (article number, content hash number, partition of that id).
steps = st.lists(
    st.lists(st.tuples(st.integers(0, 6), st.integers(0, 2)), min_size=1, max_size=8),
    min_size=1,
    max_size=8,
)


@settings(max_examples=60, deadline=None)
@given(batches=steps, order=st.randoms(use_true_random=False))
def test_a_restore_rebuilds_exactly_what_was_known(
    batches: list[list[tuple[int, int]]], order: random.Random
) -> None:
    """Whatever order the restored table yields its values in (and a crashed batch
    written twice), the rebuilt index holds the latest decision for every id."""
    live = store()
    clock = 0.0
    for batch in batches:
        pending: dict[str, tuple[SeenEntry, Any]] = {}
        for number, content in batch:
            clock += 0.001 * order.randint(0, 2)  # clocks may stand still
            article = f"{number:032x}"
            previous = pending[article][0] if article in pending else live.get(article)
            decision = decide(previous, f"h{content}", at(clock))
            pending[article] = (decision.entry, event(number % 3))
            assert decision.verdict in Verdict
        items = [(article, entry, ev) for article, (entry, ev) in pending.items()]
        live.record(items)
        if order.random() < 0.2:  # read again after a crash: the same decisions again
            live.record(items)
    values = list(live._table.items())
    order.shuffle(values)
    restored = store(Table(values))
    restored.rebuild()
    assert restored._index == live._index


def test_the_sweeps_deletion_forgets_the_ids_nobody_saw_since() -> None:
    seen = store()
    seen.record([("d" * 32, SeenEntry("h", at(0), at(0)), event(1))])
    ((key, value),) = seen._table.items()
    assert seen.forget(key, value) == 1
    assert "d" * 32 not in seen.article_ids()
