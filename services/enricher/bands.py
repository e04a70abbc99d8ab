"""Cross-partition near-duplicate lookup: LSH band buckets, probes and replies.

Two copies of a wire story arrive under different ids, so on different partitions
and perhaps different workers. Each article's LSH band keys are sent as *probes* to
an internal topic partitioned by band key; whoever owns a band's partition keeps the
band's bucket (recent members), answers with the members it already holds, and adds
the newcomer. Copies that share any band therefore always meet in one bucket,
whichever partition they came from. The buckets live in memory; what each probe
message added is one delta in a changelogged table, from which a worker that takes
over a partition rebuilds them (:mod:`newswire.enricher.buckets`).

Buckets hold a compact sketch per member (4 bits of each of 256 MinHash values, 128
bytes) and its distinct shingle count, not the full signature, so the table stays
small; together they estimate how much of the shorter text the longer contains
(:mod:`newswire.enricher.overlap`), which separates cut copies of one story from
independent reports and follow-ups.

Wire format: a member or probe is a JSON list; the shingle count is appended after the
original fields and read as the first integer there (by type, so other appended fields
may sit before or after it). A probe names every band key of its article that lives on
one band partition (exchange v2, see neardup.py): it is answered once, the article
joins all those buckets as one member, and a delta holds that member once with its
band keys. A v1 probe named one band key (a string where v2 has a list); both read.
Deltas written before it existed (five-element members, six-element probes, 2-bit
sketches) are read with an unknown count: such a member still matches an exact copy
of its text, never a near one (its sketch is not comparable), and it expires with the
window. The probe band keys changed with the banding too, so new probes do not reach
the old buckets.

Everything here is pure; the Faust wiring lives in ``app.py``.
"""

from __future__ import annotations

import base64
import functools
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from newswire.enricher.clusters import ClusterBook, Head, Placement, place, published_labels
from newswire.enricher.overlap import PROBE_BANDS, PROBE_ROWS, SKETCH_BITS, judge
from newswire.enricher.similarity import band_keys


def probe_band_keys(signature: np.ndarray) -> tuple[str, ...]:
    return band_keys(signature[: PROBE_BANDS * PROBE_ROWS], PROBE_BANDS)


def sketch(signature: np.ndarray) -> bytes:
    """The low SKETCH_BITS bits of every MinHash value, packed (b-bit MinHash)."""
    low = (np.asarray(signature) & ((1 << SKETCH_BITS) - 1)).astype(np.uint8)
    bits = np.unpackbits(low[:, None], axis=1)[:, -SKETCH_BITS:]
    return np.packbits(bits.ravel()).tobytes()


_GROUPS_PER_BYTE = 8 // SKETCH_BITS  # SKETCH_BITS divides 8: groups never straddle bytes
#: For each byte of ``a XOR b``: how many of its SKETCH_BITS-bit groups are zero, i.e.
#: how many sketch values agree. One table lookup per byte instead of unpacking bits
#: (a bucket owner compares a probe with up to capacity members per band).
_EQUAL_GROUPS = np.array(
    [
        sum((x >> shift) & ((1 << SKETCH_BITS) - 1) == 0 for shift in range(0, 8, SKETCH_BITS))
        for x in range(256)
    ],
    dtype=np.int64,
)


def sketch_similarity(a: bytes, b: bytes) -> float:
    """Jaccard estimate from two sketches: equal b-bit values happen by chance with
    probability 2^-b, so P(equal) = J + (1 - J) 2^-b, solved for J and clipped.
    0.0 for sketches of different lengths (one of another format)."""
    if len(a) != len(b) or not a:
        return 0.0
    differing = np.bitwise_xor(np.frombuffer(a, dtype=np.uint8), np.frombuffer(b, dtype=np.uint8))
    equal = int(_EQUAL_GROUPS[differing].sum()) / (len(a) * _GROUPS_PER_BYTE)
    chance = 2.0**-SKETCH_BITS
    return float(min(1.0, max(0.0, (equal - chance) / (1.0 - chance))))


#: Recently decoded sketches kept for sharing (about 0.4 MiB at most).
_SHARED_SKETCHES = 2048


@functools.lru_cache(maxsize=_SHARED_SKETCHES)
def _decoded(encoded: str) -> bytes:
    """A sketch from its base64 form, one object for equal forms: an article's members
    in the band buckets of one worker (16 bands) then hold one 128-byte sketch, not 16;
    the ids are shared the same way with :func:`sys.intern`."""
    return base64.b64decode(encoded)


@functools.lru_cache(maxsize=_SHARED_SKETCHES)
def _encoded(sketch: bytes) -> str:
    """A sketch's base64 form, made once while the sketch is in use: a member is written
    into its delta and into every reply that tells of it, a probe into each band
    partition it asks (bytes cache their hash, so a lookup costs one compare)."""
    return base64.b64encode(sketch).decode()


def _extension(data: Sequence[Any], start: int) -> dict[str, Any]:
    """The cluster fields appended to a wire list as one JSON object after position
    START; found by type, not position, so other fields appended beside it do not
    move it. Absent in lists written before story keys existed."""
    return next((item for item in data[start:] if isinstance(item, dict)), {})


@dataclass(frozen=True, slots=True)
class Member:
    """One article remembered in a band bucket, with the story cluster it joined.

    ``story_at`` orders the story's copies (published, else fetched; see
    clusters.py); ``head_id``/``head_at`` are the cluster's earliest article as known
    when it joined; ``merged`` the clusters it absorbed. All four are None/empty in
    members written before they existed (:attr:`key`, :attr:`head` fall back).
    """

    article_id: str
    text_hash: str
    sketch: bytes
    seen_at: float  # epoch seconds
    cluster_id: str
    story_at: float | None = None
    head_id: str | None = None
    head_at: float | None = None
    merged: tuple[str, ...] = ()
    shingles: int | None = None  # distinct shingle count; None in an old-format delta
    #: The cluster it was filed under when it joined, told only when the partition's book
    #: resolved ``cluster_id`` to another (a survivor): evidence of where the article
    #: itself was placed (clusters.py :func:`published_labels`), which a merge is not.
    filed: str | None = None

    @property
    def key(self) -> Head:
        """Its story key; members of the old format use the time they were seen."""
        return Head(self.seen_at if self.story_at is None else self.story_at, self.article_id)

    @property
    def head(self) -> Head:
        """The head it knew; an old-format member knew only its cluster's root, which
        came no later than itself."""
        if self.head_id is not None and self.head_at is not None:
            return Head(self.head_at, self.head_id)
        return (
            self.key if self.cluster_id == self.article_id else Head(self.key.at, self.cluster_id)
        )

    def to_json(self) -> list[Any]:
        data: list[Any] = [
            self.article_id,
            self.text_hash,
            _encoded(self.sketch),
            self.seen_at,
            self.cluster_id,
            self.shingles,
        ]
        ext: dict[str, Any] = {}
        if self.story_at is not None:
            ext["k"] = self.story_at
        if self.head_id is not None and self.head != self.key:  # a head need not name itself
            ext |= {"h": self.head_id, "hk": self.head_at}
        if self.merged:
            ext["mc"] = list(self.merged)
        if self.filed is not None and self.filed != self.cluster_id:
            ext["f"] = self.filed
        if ext:
            data.append(ext)
        return data

    @classmethod
    def from_json(cls, data: Sequence[Any]) -> Member:
        ext = _extension(data, 5)
        story = _float_or_none(ext.get("k"))
        head_id, head_at = ext.get("h"), _float_or_none(ext.get("hk"))
        if story is not None and head_id is None:  # a head, written without naming itself
            head_id, head_at = data[0], story
        return cls(
            sys.intern(data[0]),
            sys.intern(data[1]),
            _decoded(data[2]),
            float(data[3]),
            sys.intern(data[4]),
            story,
            head_id,
            head_at,
            tuple(ext.get("mc", ())),
            shingles=_shingle_count(data, 5),
            filed=ext.get("f"),
        )


def _float_or_none(value: Any) -> float | None:
    return None if value is None else float(value)


@dataclass(frozen=True, slots=True)
class Probe:
    """An article asking the buckets of BAND_KEYS who is already there: all its band
    keys (what the worker makes), or those on one band partition (what it sends)."""

    article_id: str
    band_keys: tuple[str, ...]
    text_hash: str
    sketch: bytes
    seen_at: float
    reply_partition: int  # the news.raw partition the article came from
    story_at: float | None = None  # published, else fetched (clusters.py); None: seen_at
    shingles: int | None = None  # distinct shingle count; None from an old worker

    @property
    def key(self) -> Head:
        return Head(self.seen_at if self.story_at is None else self.story_at, self.article_id)

    def to_json(self) -> list[Any]:
        data: list[Any] = [
            self.article_id,
            list(self.band_keys),
            self.text_hash,
            _encoded(self.sketch),
            self.seen_at,
            self.reply_partition,
            self.shingles,
        ]
        if self.story_at is not None:
            data.append({"k": self.story_at})
        return data

    @classmethod
    def from_json(cls, data: Sequence[Any]) -> Probe:
        """A v2 probe (a list of band keys) or a v1 one (one band key, a string)."""
        story = _float_or_none(_extension(data, 6).get("k"))
        bands = data[1]
        return cls(
            sys.intern(data[0]),
            (bands,) if isinstance(bands, str) else tuple(bands),
            sys.intern(data[2]),
            _decoded(data[3]),
            float(data[4]),
            int(data[5]),
            story,
            shingles=_shingle_count(data, 6),
        )


def _shingle_count(data: Sequence[Any], start: int) -> int | None:
    """The shingle count: the first integer after position START, found by type, not
    position, so other fields appended beside it (a JSON object of cluster fields) do
    not move it. None when the list predates it (an old-format delta): unknown, so the
    member is judged on its exact text only."""
    return next((v for v in data[start:] if isinstance(v, int) and not isinstance(v, bool)), None)


@dataclass(frozen=True, slots=True)
class Candidate:
    article_id: str
    similarity: float
    seen_at: float
    cluster_id: str
    exact: bool  # same normalised text: a duplicate, not a near-duplicate


@dataclass(frozen=True, slots=True)
class Match:
    """A member (one version of it, as one bucket told) that is the same story."""

    member: Member
    candidate: Candidate


def matches(
    text_hash: str,
    own_sketch: bytes,
    heard: Iterable[Member],
    *,
    threshold: float,
    own_shingles: int | None = None,
) -> list[Match]:
    """Every heard member version that is an exact-text copy or similar at or above the
    threshold. Each article is scored once, but every version of it is kept: buckets on
    different partitions may know it under different cluster names, and a record that
    lists them all lets consumers and buckets resolve each name to the survivor."""
    scores: dict[str, Candidate | None] = {}
    found: list[Match] = []
    for member in heard:
        if member.article_id not in scores:
            scores[member.article_id] = _score(
                text_hash, own_sketch, own_shingles, member, threshold
            )
        scored = scores[member.article_id]
        if scored is not None:
            found.append(Match(member, replace(scored, cluster_id=member.cluster_id)))
    return found


def _score(
    text_hash: str,
    own_sketch: bytes,
    own_shingles: int | None,
    member: Member,
    threshold: float,
) -> Candidate | None:
    """An exact-text copy, or a member that contains enough of the shorter text
    (:func:`~newswire.enricher.overlap.judge`: containment at or above THRESHOLD with
    the Jaccard floor; the candidate's similarity is that containment estimate); None
    otherwise. Without OWN_SHINGLES, or for a member without its count, only exact
    copies are found."""
    if member.text_hash == text_hash:
        return Candidate(member.article_id, 1.0, member.seen_at, member.cluster_id, True)
    if member.shingles is None or own_shingles is None:
        return None
    verdict = judge(
        sketch_similarity(own_sketch, member.sketch),
        own_shingles,
        member.shingles,
        threshold=threshold,
    )
    if verdict.near and verdict.containment is not None:
        return Candidate(
            member.article_id, verdict.containment, member.seen_at, member.cluster_id, False
        )
    return None


def closest(found: Iterable[Match]) -> Candidate | None:
    """The earliest exact-text copy if any, else the most similar match; None when
    nothing matched."""
    candidates = [m.candidate for m in found]
    exact = [c for c in candidates if c.exact]
    if exact:
        return min(exact, key=lambda c: (c.seen_at, c.article_id))
    if candidates:
        return max(candidates, key=lambda c: (c.similarity, -c.seen_at))
    return None


def best_candidate(
    text_hash: str,
    own_sketch: bytes,
    heard: Iterable[Member],
    *,
    threshold: float,
    own_shingles: int | None = None,
) -> Candidate | None:
    """The earliest exact-text copy if any, else the member that contains the most of
    the shorter text (:func:`_score`); None when the article is new."""
    return closest(
        matches(text_hash, own_sketch, heard, threshold=threshold, own_shingles=own_shingles)
    )


def placement(article_id: str, at: float, found: Iterable[Match]) -> Placement:
    """The newcomer's record's cluster given every match it heard (clusters.py
    :func:`place`), each matched article under the labels its own record could have
    published (:func:`~newswire.enricher.clusters.published_labels`)."""
    versions = (
        (
            m.member.article_id,
            m.member.filed or m.member.cluster_id,
            m.member.cluster_id,
            m.member.head,
        )
        for m in found
    )
    return place(article_id, at, published_labels(versions))


def local_placement(article_id: str, at: float, found: Iterable[Match]) -> Placement:
    """The cluster a band partition files a newcomer under, from its own matches as
    they are labelled there: what its book learns and later copies hear there."""
    return place(article_id, at, ((m.member.cluster_id, m.member.head) for m in found))


def answer_probe(
    bucket: Sequence[Member],
    probe: Probe,
    *,
    window_s: float,
    capacity: int,
    threshold: float,
    book: ClusterBook | None = None,
) -> tuple[list[Member], list[Member]]:
    """(the bucket after the probe joins it, the earlier members the probe should hear
    of): :func:`join_buckets` on one bucket."""
    _, (updated,), heard = join_buckets(
        [bucket], probe, window_s=window_s, capacity=capacity, threshold=threshold, book=book
    )
    return updated, heard


def join_buckets(
    buckets: Sequence[Sequence[Member]],
    probe: Probe,
    *,
    window_s: float,
    capacity: int,
    threshold: float,
    book: ClusterBook | None = None,
) -> tuple[Member, list[list[Member]], list[Member]]:
    """(the newcomer, each of BUCKETS after it joins, the earlier members it hears of).

    BUCKETS are those of the probe's band keys on one band partition. Members older
    than the dedupe window are forgotten; the probe's own id is never its own
    candidate (a re-processed record would find itself) and replaces its older entry;
    a bucket keeps the ``capacity`` most recent members but always the oldest, the
    story's first copy. A member in several of the buckets is heard once. The members
    heard are told as BOOK (the partition's cluster knowledge) resolves them: survivor
    cluster, earliest head. The newcomer is placed among its matches in these buckets
    — an approximation across partitions that is exact for copies; the worker places
    it on all answers, and the record says so — and BOOK learns its head and merges.
    The newcomer is one member in all the buckets it joins.
    """
    if capacity < 2:
        raise ValueError(f"band capacity must be at least 2, got {capacity}")
    horizon = probe.seen_at - window_s
    alive = [
        [m for m in bucket if m.seen_at >= horizon and m.article_id != probe.article_id]
        for bucket in buckets
    ]
    earlier = alive[0] if len(alive) == 1 else list(dict.fromkeys(m for a in alive for m in a))
    heard = earlier if book is None else [resolved(m, book) for m in earlier]
    found = matches(
        probe.text_hash, probe.sketch, heard, threshold=threshold, own_shingles=probe.shingles
    )
    placed = local_placement(probe.article_id, probe.key.at, found)
    newcomer = Member(
        probe.article_id,
        probe.text_hash,
        probe.sketch,
        probe.seen_at,
        placed.cluster_id,
        probe.key.at,
        placed.head.article_id,
        placed.head.at,
        placed.merged,
        shingles=probe.shingles,
    )
    if book is not None:
        book.learn(newcomer.cluster_id, newcomer.head, newcomer.merged)
    return newcomer, [bounded([*a, newcomer], capacity) for a in alive], heard


def bounded(bucket: list[Member], capacity: int) -> list[Member]:
    """BUCKET cut to its CAPACITY most recent members, keeping the oldest (the story's
    first copy)."""
    if len(bucket) > capacity:
        return [bucket[0], *bucket[-(capacity - 1) :]]
    return bucket


def resolved(member: Member, book: ClusterBook) -> Member:
    """MEMBER as BOOK knows it now: its surviving cluster and earliest known head."""
    cluster_id, head = book.resolve(member.cluster_id, member.head)
    if cluster_id == member.cluster_id and head == member.head:
        return member
    filed = member.filed or member.cluster_id
    return replace(
        member, cluster_id=cluster_id, head_id=head.article_id, head_at=head.at, filed=filed
    )


def learn_all(book: ClusterBook, members: Iterable[Member]) -> None:
    for member in members:
        book.learn(member.cluster_id, member.head, member.merged)
