"""The JSON Lines writer's idempotency index, bounded by a window of write time.

The index answers "did this writer already write this (id, content hash)?" so a Kafka
redelivery adds no second line. It only needs to answer for as long as a redelivery
can still arrive, so it keeps the keys written in the last ``window_s`` seconds
(``SINK_INDEX_WINDOW_S``, by default the enricher's 7-day dedupe window) and forgets
older ones, in buckets of one UTC day of *write* time: memory and start-up work grow
with the window, not with the history on disk.

Why write time, not the record's ``fetched_at``: a redelivery is a record the sink
consumed again, so what bounds it is when the sink first consumed (wrote) it. The
enricher's dedupe window is measured the same way (on its clock, from when it last
saw the id): past it, the enricher itself emits the article again as new.

The edges are conservative by one day: a key written on UTC day ``d`` is kept while
``d >= day(now - window) - 1``, i.e. at least ``window`` plus one day and at most plus
two days. That absorbs whole-day bucketing and clocks that disagree by hours.

The cost: a record redelivered more than the window after it was first written is
written again, as a second line with the same id and content hash. Readers already
drop repeats on (id, content_hash) (the consumer contract in the README), and a
redelivery that late takes something like a reset of the sink's consumer group.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

DAY = timedelta(days=1)


def utc_day(timestamp: float) -> date:
    return datetime.fromtimestamp(timestamp, UTC).date()


def first_day_kept(now: float, window_s: float) -> date:
    """The oldest UTC day of write time whose keys are still kept (one day of slack)."""
    return utc_day(now - window_s) - DAY


class WindowedKeys:
    """Key digests in buckets by UTC day of write time; buckets past the window go."""

    def __init__(self, *, window_s: float, clock: Callable[[], float]) -> None:
        if window_s <= 0:
            raise ValueError("window_s must be positive")
        self._window_s = window_s
        self._clock = clock
        self._buckets: dict[date, set[bytes]] = {}

    @property
    def window_s(self) -> float:
        return self._window_s

    def first_day_kept(self) -> date:
        return first_day_kept(self._clock(), self._window_s)

    def today(self) -> date:
        return utc_day(self._clock())

    def __contains__(self, digest: object) -> bool:
        for bucket in self._buckets.values():  # a loop, not any(...): asked per record
            if digest in bucket:
                return True
        return False

    def __len__(self) -> int:
        return sum(len(bucket) for bucket in self._buckets.values())

    @property
    def days(self) -> list[date]:
        return sorted(self._buckets)

    def add(self, digest: bytes, day: date | None = None) -> None:
        """Remember ``digest`` as written on ``day`` (default: today). A key already in
        a bucket stays there: its life counts from its first write."""
        if digest in self:
            return
        self._buckets.setdefault(day or self.today(), set()).add(digest)

    def add_bucket(self, day: date, digests: set[bytes]) -> None:
        """Merge keys known not to be in another bucket (read back from disk at
        start-up, or just written after a check), without the per-key check."""
        bucket = self._buckets.setdefault(day, set())
        bucket |= digests

    def prune(self) -> int:
        """Drop the buckets older than the window; returns how many keys went."""
        first = self.first_day_kept()
        old = [day for day in self._buckets if day < first]
        return sum(len(self._buckets.pop(day)) for day in old)
