"""The dedupe table: one changelog record per batch and partition, an index in memory.

Exact dedupe needs, per article id, the last :class:`SeenEntry` written. Kept as one
table key per article, that was one changelog record (one send, one broker request
on the embedded profile's one-record batches) per article: as many writes as the
enriched topic itself. Here a settled batch writes, per news.raw partition it read,
one :class:`SeenDelta` holding the entries of that batch's articles on that partition,
keyed by a fresh batch key (``batch:<uuid>/<partition>``) on that partition's
changelog, as the band buckets keep one delta per probe message (buckets.py). What
is looked up is :class:`SeenStore`'s index in memory: article id -> latest entry.

Restore and rebalance: Faust restores the table (the deltas) from its changelog as
before, then calls :meth:`SeenStore.rebuild` (a recovery callback, which Faust runs
before it resumes the partitions), which rebuilds the index from every delta of the
partitions held. An id in several deltas (updated, redelivered, or a batch read again
after a crash) keeps the entry with the most decisions behind it (revisions plus
redeliveries grow by one with each decision on an id), then the latest ``last seen``.

Expiry is unchanged: a delta carries ``l``, the newest ``last seen`` of its entries,
so the sweeper deletes it with :func:`newswire.enricher.dedupe.seen_entry_expired`
once every entry in it is past the window; lookups treat an expired entry as unseen
before that, and the sweep's deletions drop them from the index
(:meth:`SeenStore.forget`). Values written
before this (one entry per article-id key) are read as one-entry deltas, so an
upgrade keeps what was seen.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import faust

from newswire.common.kafka import default_partition
from newswire.enricher.dedupe import SeenEntry, last_seen_expired
from newswire.enricher.scope import writes_for

log = logging.getLogger(__name__)

DELTA_PREFIX = b"batch:"
#: Entries per delta at most: about 150 bytes each, so a delta stays far below any
#: message limit however large the batches are.
MAX_DELTA_ENTRIES = 1000
#: The delta layout (``"e"``: article id -> entry).
SEEN_DELTA_VERSION = 1


def seen_delta_key(partition: int) -> bytes:
    """A fresh key for one delta: the partition it is on is part of it (no value to
    parse to know where a sweep's tombstone goes). Never an article id (32 hex)."""
    return DELTA_PREFIX + f"{uuid.uuid4().hex}/{partition}".encode()


def seen_key_partition(key: bytes, partitions: int) -> int:
    """The changelog partition of a table key: a delta's names it; an entry written
    before deltas existed is keyed by article id, placed like news.raw's records."""
    if key.startswith(DELTA_PREFIX):
        return int(key.rsplit(b"/", 1)[1])
    return default_partition(key, partitions)


def delta_value(partition: int, entries: Mapping[str, SeenEntry]) -> dict[str, Any]:
    """The table value of one delta; ``l`` is what expiry reads (seen_entry_expired)."""
    return {
        "v": SEEN_DELTA_VERSION,
        "p": partition,
        "l": max(entry.last_seen_at for entry in entries.values()),
        "e": {article_id: entry.to_json() for article_id, entry in entries.items()},
    }


def stored_entries(key: bytes, value: Any) -> Iterator[tuple[str, SeenEntry]]:
    """The (article id, entry) pairs a table value holds: a delta's, or the one entry
    of a value written before deltas (keyed by its article id)."""
    if not isinstance(value, dict):
        return
    if "e" in value:
        for article_id, data in value["e"].items():
            yield article_id, SeenEntry.from_json(data)
    elif "h" in value:
        yield key.decode(), SeenEntry.from_json(value)


def later(a: SeenEntry, b: SeenEntry) -> bool:
    """Is A the later decision on one id than B? Each decision adds one revision or
    one redelivery, so their sum orders an id's entries whatever the clocks said."""
    return (a.revisions + a.redeliveries, a.last_seen_at) > (
        b.revisions + b.redeliveries,
        b.last_seen_at,
    )


def entry_expired(entry: SeenEntry, now: float, *, window_s: float) -> bool:
    """Past the window an id counts as unseen, whether or not a sweep removed it yet."""
    return last_seen_expired(entry.last_seen_at, now, window_s=window_s)


class SeenStore:
    """What the batch handler knows of ids seen: reads from memory, writes deltas.

    The index is read from the stage thread while the loop writes it; every change
    is one dict operation or the swap of the whole dict, atomic under the GIL.
    """

    def __init__(
        self,
        table: Any,
        *,
        window_s: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._table = table
        self._window_s = window_s
        self._clock = clock
        self._index: dict[str, SeenEntry] = {}

    def get(self, article_id: str) -> SeenEntry | None:
        """The id's entry, None if unseen or expired (even before a sweep removes it)."""
        entry = self._index.get(article_id)
        if entry is None or entry_expired(entry, self._clock(), window_s=self._window_s):
            return None
        return entry

    def article_ids(self) -> set[str]:
        return set(self._index)

    def record(self, entries: Iterable[tuple[str, SeenEntry, faust.EventT]]) -> None:
        """Store ENTRIES (id, entry, the event it was decided for) of a settled batch:
        one delta per partition (and per MAX_DELTA_ENTRIES), on that partition's
        changelog. No await: the index and the table move together."""
        by_partition: dict[int, tuple[faust.EventT, dict[str, SeenEntry]]] = {}
        for article_id, entry, event in entries:
            partition = event.message.partition
            _, own = by_partition.setdefault(partition, (event, {}))
            own[article_id] = entry
        for partition, (event, own) in by_partition.items():
            items = list(own.items())
            for start in range(0, len(items), MAX_DELTA_ENTRIES):
                chunk = dict(items[start : start + MAX_DELTA_ENTRIES])
                with writes_for(event):  # the delta goes to this partition's changelog
                    self._table[seen_delta_key(partition)] = delta_value(partition, chunk)
            self._index.update(own)

    def rebuild(self) -> None:
        """The index again from every value in the table (after Faust restored it)."""
        index: dict[str, SeenEntry] = {}
        skipped, now = 0, self._clock()
        for key, value in list(self._table.items()):
            try:
                for article_id, entry in stored_entries(key, value):
                    if entry_expired(entry, now, window_s=self._window_s):
                        continue  # unseen now, and it must not outrank a fresh entry
                    known = index.get(article_id)
                    if known is None or later(entry, known):
                        index[article_id] = entry
            except (KeyError, TypeError, ValueError, AttributeError):
                skipped += 1
        if skipped:
            log.warning("seen table: %d values unreadable, ignored", skipped)
        self._index = index
        log.info("seen table: %d article ids known after recovery", len(index))

    def forget(self, key: bytes, value: Any) -> int:
        """The sweep deleted KEY (VALUE past the window): its entries leave the index
        unless a later delta replaced them there (the sweeper's on_deleted hook).
        Returns how many ids were forgotten."""
        forgotten = 0
        for article_id, entry in stored_entries(key, value):
            if self._index.get(article_id) == entry:
                self._index.pop(article_id, None)
                forgotten += 1
        return forgotten
