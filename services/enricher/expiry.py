"""Bounded memory for the enricher's tables: keys older than the dedupe window go.

Faust deletes a table key by writing a tombstone to the changelog partition of the
*current event*, so a sweep can only delete keys of partitions it holds an event
of (named with :func:`newswire.enricher.scope.writes_for`). Agents call
:meth:`ExpirySweeper.sweep` with the events of each batch; the sweeper remembers the
latest event per partition (a quiet partition still gets swept) and checks that the
partition is still actively assigned before writing, which keeps it off revoked and
standby partitions. It works through a snapshot of the keys a slice at a time, so no
call blocks the stream for long.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import faust
from faust.types import TableT

from newswire.common.kafka import default_partition
from newswire.enricher.scope import writes_for

log = logging.getLogger(__name__)

#: Given a stored value and "now" (epoch seconds), is the key past the window?
IsExpired = Callable[[Any, float], bool]
#: Given a key, the partition whose changelog holds it (for tables whose keys are not
#: placed by Kafka's partitioner but name their partition).
KeyPartition = Callable[[bytes], int]


def key_partition(key: bytes, partitions: int) -> int:
    """Kafka's default partitioner: where a key's records (and changelog) live."""
    return default_partition(key, partitions)


class ExpirySweeper:
    """Deletes expired keys of one table, a bounded slice per call, at most every ``every_s``."""

    def __init__(
        self,
        *,
        table: TableT,
        partitions: int,
        is_expired: IsExpired,
        every_s: float,
        is_active: Callable[[int], bool],
        slice_size: int = 5000,
        clock: Callable[[], float] = time.time,
        partition_of_key: KeyPartition | None = None,
        on_failure: Callable[[], None] = lambda: None,
        on_deleted: Callable[[bytes, Any], int] | None = None,
    ) -> None:
        self._table = table
        #: Told of each key deleted with its value (an index kept beside the table);
        #: says how many entries of that index went with it.
        self._on_deleted = on_deleted
        self._on_failure = on_failure
        self._partitions = partitions
        self._is_expired = is_expired
        self._every_s = every_s
        self._is_active = is_active
        self._latest: dict[int, faust.EventT] = {}
        self._slice_size = slice_size
        self._clock = clock
        self._partition_of_key = partition_of_key
        self._next_round_at = clock() + every_s
        self._pending: Iterator[bytes] | None = None
        self.deleted = 0

    def sweep(self, events: Sequence[faust.EventT]) -> int:
        """Delete up to one slice of expired keys on the actively held partitions."""
        now = self._clock()
        self._latest.update((event.message.partition, event) for event in events)
        if self._pending is None:
            if now < self._next_round_at:
                return 0
            self._pending = iter(list(self._table.keys()))
        by_partition = {p: e for p, e in self._latest.items() if self._is_active(p)}
        deleted = forgotten = 0
        for _ in range(self._slice_size):
            key = next(self._pending, None)
            if key is None:
                self._pending = None
                self._next_round_at = now + self._every_s
                break
            event, value = self._event_and_value(key, by_partition)
            if event is not None and value is not None and self._is_expired(value, now):
                with writes_for(event):  # the tombstone goes to the key's own partition
                    del self._table[key]
                if self._on_deleted is not None:
                    forgotten += self._on_deleted(key, value)
                deleted += 1
        self.deleted += deleted
        if deleted and self._on_deleted is not None:
            log.info(
                "expired %d keys from table %s; %d ids forgotten with them",
                deleted,
                self._table.name,
                forgotten,
            )
        elif deleted:
            log.info("expired %d keys from table %s", deleted, self._table.name)
        return deleted

    def sweep_guarded(self, events: Sequence[faust.EventT]) -> int:
        """:meth:`sweep`, for callers whose own work must go on whatever it does (an
        agent answering probes, a batch just settled): a failure is logged, counted by
        ON_FAILURE and tried again a sweep interval later. Expired entries count as absent
        before they are swept, so a late sweep only keeps them on disk longer."""
        try:
            return self.sweep(events)
        except Exception:
            self._pending = None  # the next round starts over, one sweep interval on
            self._next_round_at = self._clock() + self._every_s
            self._on_failure()
            log.exception("expiry sweep of table %s failed; tried again later", self._table.name)
            return 0

    def _event_and_value(
        self, key: bytes, by_partition: dict[int, faust.EventT]
    ) -> tuple[faust.EventT | None, Any]:
        """The event of the key's partition if held, and its value, looked up only on a
        partition we hold actively."""
        if self._partition_of_key is None:
            event = by_partition.get(key_partition(key, self._partitions))
        else:
            event = by_partition.get(self._partition_of_key(key))
        return event, (self._table.get(key) if event is not None else None)
