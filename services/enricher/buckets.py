"""The band buckets of the band partitions a worker answers for, and the deltas they
are rebuilt from.

The buckets live in memory (:class:`BucketIndex`); what each probe message added to a
band partition is one :class:`Delta` in a changelogged table, from which a worker that
takes over the partition rebuilds them. The matching and placing a bucket does is in
:mod:`newswire.enricher.bands`; the Faust wiring in ``neardup.py`` and ``app.py``.

Pure: no Faust, no I/O.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import orjson

from newswire.enricher.bands import Member, Probe, bounded, join_buckets, learn_all
from newswire.enricher.clusters import ClusterBook

#: Delta layouts: v1 listed a member per band (``"m"``: [band key, member]); v2 lists a
#: member once with its band keys (``"e"``: [[band keys], member]). A v1 reader finds no
#: ``"m"`` in a v2 delta and skips it (a rollback forgets the newer buckets, no crash).
DELTA_VERSION = 2


@dataclass(frozen=True, slots=True)
class Delta:
    """What one probe message added to the buckets of one band partition: the only
    record of the buckets on the changelog (one per probe message, not one per band
    per article). The buckets themselves are an index in memory, rebuilt from the
    deltas of the partition (:class:`BucketIndex`)."""

    partition: int
    newest: float  # seen_at of its newest member: the delta expires with it
    #: (the band keys it joined on this partition, newcomer), in the order answered
    joined: tuple[tuple[tuple[str, ...], Member], ...]
    #: Members taken back out of the buckets (:meth:`BucketIndex.withdraw`), each as
    #: (article id, seen_at): their records were never delivered. Empty in the deltas of
    #: probe messages; absent from deltas written before withdrawals existed.
    withdrawn: tuple[tuple[str, float], ...] = ()

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "v": DELTA_VERSION,
            "p": self.partition,
            "at": self.newest,
            "e": [[list(bands), member.to_json()] for bands, member in self.joined],
        }
        if self.withdrawn:
            data["w"] = [list(item) for item in self.withdrawn]
        return data

    def to_bytes(self) -> bytes:
        """The table's value: the JSON the changelog holds, kept as bytes in memory too.
        A parsed delta (a dict of lists of strings) costs about three times its JSON, and
        the buckets already hold the members as objects."""
        return orjson.dumps(self.to_json())

    @classmethod
    def from_bytes(cls, stored: bytes) -> Delta:
        return cls.from_json(orjson.loads(stored))

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Delta:
        """A v2 delta, or a v1 one (a member per band: each read as joining one band)."""
        if "e" in data:
            joined = tuple((tuple(bands), Member.from_json(m)) for bands, m in data["e"])
        else:
            joined = tuple(((band,), Member.from_json(m)) for band, m in data["m"])
        withdrawn = tuple((str(a), float(at)) for a, at in data.get("w", ()))
        return cls(int(data["p"]), float(data["at"]), joined, withdrawn)


def delta_expired(stored: bytes, now: float, *, window_s: float) -> bool:
    """A stored delta is expired once its newest member is older than the window."""
    return now - float(orjson.loads(stored)["at"]) > window_s


def delta_key(batch_id: str, partition: int) -> bytes:
    """A delta's table key: the probe message's batch and the band partition it was
    answered on, which is also the changelog partition that holds it (the key is not
    placed by Kafka's partitioner)."""
    return f"{batch_id}/{partition}".encode()


def delta_key_partition(key: bytes) -> int:
    """The band partition a delta's key names (:func:`delta_key`): no value to parse."""
    return int(key.rsplit(b"/", 1)[1])


class BucketIndex:
    """The band buckets of the band partitions this worker answers for, in memory.

    Rebuilt per partition from that partition's deltas (:meth:`load`) the first time a
    probe for it arrives after a rebalance, then kept up to date by :meth:`answer`.
    Members past the window are dropped when their bucket is probed, and all at once
    by :meth:`prune`. Each partition also has a :class:`ClusterBook` (merges and
    earliest heads), learnt from the same members, so it is rebuilt with them.
    """

    def __init__(self, *, window_s: float, capacity: int, threshold: float) -> None:
        if capacity < 2:
            raise ValueError(f"band capacity must be at least 2, got {capacity}")
        self._window_s = window_s
        self._capacity = capacity
        self._threshold = threshold
        self._buckets: dict[int, dict[str, list[Member]]] = {}
        self._books: dict[int, ClusterBook] = {}

    def loaded(self, partition: int) -> bool:
        return partition in self._buckets

    def load(self, partition: int, deltas: Iterable[Delta]) -> None:
        """Rebuild PARTITION's buckets from DELTAS, its own (any order: replayed by time).

        A member some delta withdrew is left out, wherever the withdrawal lies in the
        changelog: it is named by id and the time it joined, so a later version of the
        same article (joined at another time) stays."""
        buckets: dict[str, list[Member]] = {}
        book = ClusterBook()
        deltas = list(deltas)
        withdrawn = {item for d in deltas for item in d.withdrawn}
        joined = [
            entry
            for d in deltas
            for entry in d.joined
            if (entry[1].article_id, entry[1].seen_at) not in withdrawn
        ]
        for bands, member in sorted(joined, key=lambda entry: entry[1].seen_at):
            for band in bands:
                bucket = [m for m in buckets.get(band, []) if m.article_id != member.article_id]
                buckets[band] = bounded([*bucket, member], self._capacity)
            learn_all(book, [member])
        self._buckets[partition] = buckets
        self._books[partition] = book

    def load_all(self, stored: Iterable[tuple[bytes, bytes]], *, including: int) -> None:
        """Rebuild every partition not loaded yet that has deltas, in one pass over the
        delta table's STORED items (key, value) (a worker takes several partitions at
        once after a rebalance), and INCLUDING even without any.

        The one filter: a delta's key names its partition (:func:`delta_key`), so the
        deltas of a loaded partition are skipped unparsed. A loaded partition is
        current (every answer since its load is in memory); parsing its deltas again
        at the first probe of each partition after a rebalance would parse every
        delta of every partition each time. An item that cannot be read is skipped."""
        by_partition: dict[int, list[Delta]] = {} if self.loaded(including) else {including: []}
        for key, value in stored:
            with contextlib.suppress(KeyError, TypeError, ValueError, IndexError):
                partition = delta_key_partition(key)
                if not self.loaded(partition):
                    by_partition.setdefault(partition, []).append(Delta.from_bytes(value))
        for partition, own in by_partition.items():
            self.load(partition, own)

    def answer(self, partition: int, probe: Probe) -> tuple[Member, list[Member]]:
        """(the newcomer the probe adds to the buckets of its band keys, the earlier
        members it hears of)."""
        buckets = self._buckets.setdefault(partition, {})
        newcomer, updated, heard = join_buckets(
            [buckets.get(band, []) for band in probe.band_keys],
            probe,
            window_s=self._window_s,
            capacity=self._capacity,
            threshold=self._threshold,
            book=self._books.setdefault(partition, ClusterBook()),
        )
        buckets.update(zip(probe.band_keys, updated, strict=True))
        return newcomer, heard

    def withdraw(
        self, partition: int, article_id: str, band_keys: Iterable[str], seen_at: float
    ) -> bool:
        """Take ARTICLE_ID (the member that joined at SEEN_AT) out of the buckets of
        BAND_KEYS: its record was never delivered (refused as too large), so no later
        article may be placed as its copy. True if it was there. The partition's cluster
        book is learnt again without it (it may have been a head or merged clusters)."""
        buckets = self._buckets.get(partition, {})
        removed = False
        for band in band_keys:
            bucket = buckets.get(band, [])
            kept = [m for m in bucket if not (m.article_id == article_id and m.seen_at == seen_at)]
            if len(kept) < len(bucket):
                removed = True
                _put(buckets, band, kept)
        if removed:
            self._relearn(partition)
        return removed

    def prune(self, now: float) -> None:
        """Drop members past the window; rebuild the cluster book of each partition that
        lost any (it forgets clusters no member remembers: memory stays bounded). The
        rebuild walks every member of the partition, on the probe path, so a partition
        that lost none keeps its book."""
        horizon = now - self._window_s
        for partition, buckets in self._buckets.items():
            dropped = False
            for band in list(buckets):
                alive = [m for m in buckets[band] if m.seen_at >= horizon]
                dropped = dropped or len(alive) < len(buckets[band])
                _put(buckets, band, alive)
            if dropped:
                self._relearn(partition)

    def _relearn(self, partition: int) -> None:
        """PARTITION's cluster book learnt again from the members its buckets hold.

        Each article version is learnt once, though its members sit in up to 16 band
        buckets: learning the same member again changes nothing (its head is already
        claimed, its merges already joined), and walking all 16 made the rebuild, on
        the event loop at every prune, 16 times dearer (0.6 s at 20,000 articles in
        the window, so about 20 s every sweep at 700,000)."""
        buckets = self._buckets.get(partition, {})
        book = self._books[partition] = ClusterBook()
        versions = {(m.article_id, m.seen_at): m for bucket in buckets.values() for m in bucket}
        learn_all(book, sorted(versions.values(), key=lambda m: m.seen_at))

    def forget(self) -> None:
        """After a rebalance: every partition is loaded again from its deltas."""
        self._buckets.clear()
        self._books.clear()


def _put(buckets: dict[str, list[Member]], band: str, members: list[Member]) -> None:
    """BAND's bucket holds MEMBERS now; an empty bucket is dropped (memory stays bounded)."""
    if members:
        buckets[band] = members
    else:
        del buckets[band]
