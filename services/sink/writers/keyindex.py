"""The JSON Lines writer's idempotency index, bounded by a window of write time.

The index answers "did this writer already write this (id, content hash)?" so a Kafka
redelivery adds no second line. It only needs to answer for as long as a redelivery
can still arrive, so it keeps the keys written in the last ``window_s`` seconds
(``SINK_INDEX_WINDOW_S``, by default the enricher's 7-day dedupe window) and forgets
older ones, in buckets of *write* time: memory and start-up work grow with the
window, not with the history on disk.

Why write time, not the record's ``fetched_at``: a redelivery is a record the sink
consumed again, so what bounds it is when the sink first consumed (wrote) it. The
enricher's dedupe window is measured the same way (on its clock, from when it last
saw the id): past it, the enricher itself emits the article again as new.

Bucket width follows the window: a quarter of it, at least one second and at most one
UTC day (:func:`bucket_width`). Buckets are aligned on the epoch, so with the default
7-day window they are exactly the UTC days of write time. The edges are conservative
by one bucket: a key written in bucket ``b`` is kept while
``b >= bucket(now - window) - 1``, i.e. at least ``window`` plus one bucket and at
most plus two buckets (with the default window: plus one to two days, which also
absorbs clocks that disagree by hours; with a window of minutes, plus a minute or
so, so a short window's index reaches a plateau instead of holding a day).

The cost: a record redelivered more than the window after it was first written is
written again, as a second line with the same id and content hash. Readers already
drop repeats on (id, content_hash) (the consumer contract in the README), and a
redelivery that late takes something like a reset of the sink's consumer group.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

DAY = timedelta(days=1)
DAY_S = 86400.0
#: The narrowest bucket: below it a bucket would hold less than a flush's worth.
MIN_BUCKET_S = 1.0


def utc_day(timestamp: float) -> date:
    return datetime.fromtimestamp(timestamp, UTC).date()


def bucket_width(window_s: float) -> float:
    """Seconds of write time per bucket: a quarter of the window, within [1 s, 1 day]."""
    return min(DAY_S, max(MIN_BUCKET_S, window_s / 4))


def bucket_of(timestamp: float, width_s: float) -> int:
    """The bucket (epoch-aligned, WIDTH_S wide) that holds keys written at TIMESTAMP."""
    return math.floor(timestamp / width_s)


def first_bucket_kept(now: float, window_s: float) -> int:
    """The oldest bucket whose keys are still kept (one bucket of slack)."""
    return bucket_of(now - window_s, bucket_width(window_s)) - 1


def first_time_kept(now: float, window_s: float) -> float:
    """Start (epoch seconds) of the oldest bucket kept: keys written since are known."""
    return first_bucket_kept(now, window_s) * bucket_width(window_s)


def first_day_kept(now: float, window_s: float) -> date:
    """The UTC day of the oldest write time kept (with the default window: the oldest
    UTC day, one day of slack included)."""
    return utc_day(first_time_kept(now, window_s))


class WindowedKeys:
    """Key digests in buckets of write time (:func:`bucket_width`); buckets past the
    window go."""

    def __init__(self, *, window_s: float, clock: Callable[[], float]) -> None:
        if window_s <= 0:
            raise ValueError("window_s must be positive")
        self._window_s = window_s
        self._width_s = bucket_width(window_s)
        self._clock = clock
        self._buckets: dict[int, set[bytes]] = {}

    @property
    def window_s(self) -> float:
        return self._window_s

    @property
    def bucket_s(self) -> float:
        return self._width_s

    def first_time_kept(self) -> float:
        return first_time_kept(self._clock(), self._window_s)

    def first_day_kept(self) -> date:
        return first_day_kept(self._clock(), self._window_s)

    def bucket(self, timestamp: float | None = None) -> int:
        """The bucket of write time TIMESTAMP (default: now)."""
        return bucket_of(self._clock() if timestamp is None else timestamp, self._width_s)

    def __contains__(self, digest: object) -> bool:
        for bucket in self._buckets.values():  # a loop, not any(...): asked per record
            if digest in bucket:
                return True
        return False

    def __len__(self) -> int:
        return sum(len(bucket) for bucket in self._buckets.values())

    @property
    def days(self) -> list[date]:
        """The UTC days the buckets held start on, oldest first."""
        return sorted({utc_day(b * self._width_s) for b in self._buckets})

    @property
    def buckets(self) -> int:
        return len(self._buckets)

    def add(self, digest: bytes, written_at: float | None = None) -> None:
        """Remember ``digest`` as written at ``written_at`` (default: now). A key already
        in a bucket stays there: its life counts from its first write."""
        if digest in self:
            return
        self._buckets.setdefault(self.bucket(written_at), set()).add(digest)

    def add_bucket(self, written_at: float, digests: set[bytes]) -> None:
        """Merge keys written at WRITTEN_AT and known not to be in another bucket (read
        back from disk at start-up, or just written after a check), without the
        per-key check."""
        bucket = self._buckets.setdefault(self.bucket(written_at), set())
        bucket |= digests

    def prune(self) -> int:
        """Drop the buckets older than the window; returns how many keys went."""
        first = first_bucket_kept(self._clock(), self._window_s)
        old = [b for b in self._buckets if b < first]
        return sum(len(self._buckets.pop(b)) for b in old)
