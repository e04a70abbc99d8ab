import json
from collections.abc import Iterable
from dataclasses import replace

import numpy as np
import pytest
from faust.serializers import codecs as faust_codecs
from hypothesis import given
from hypothesis import strategies as st

from newswire.enricher.bands import (
    Member,
    Probe,
    answer_probe,
    best_candidate,
    learn_all,
    sketch,
    sketch_similarity,
)
from newswire.enricher.buckets import (
    BucketIndex,
    Delta,
    delta_expired,
    delta_key,
    delta_key_partition,
)
from newswire.enricher.clusters import ClusterBook
from newswire.enricher.overlap import SKETCH_BITS

WEEK = 7 * 24 * 3600.0


def _stored(deltas: Iterable[Delta]) -> list[tuple[bytes, bytes]]:
    """The delta table's items (key, value), as the responder hands them to load_all."""
    return [(delta_key(f"batch-{n}", d.partition), d.to_bytes()) for n, d in enumerate(deltas)]


def _signature(seed: int, n: int = 128) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 2**32, size=n, dtype=np.uint64)


def _probe(
    article_id: str,
    *,
    text_hash: str = "t",
    signature: np.ndarray | None = None,
    at: float = 1000.0,
) -> Probe:
    sig = _signature(hash(article_id) % 1000) if signature is None else signature
    return Probe(article_id, ("3:abc",), text_hash, sketch(sig), at, 0, shingles=100)


def test_sketch_of_identical_signatures_is_fully_similar() -> None:
    sig = _signature(1)
    assert sketch_similarity(sketch(sig), sketch(sig)) == 1.0


def test_unrelated_signatures_estimate_near_zero() -> None:
    assert sketch_similarity(sketch(_signature(1)), sketch(_signature(2))) < 0.2


@given(st.integers(0, 10_000), st.floats(0.0, 1.0))
def test_sketch_estimates_the_share_of_equal_minhash_values(seed: int, share: float) -> None:
    a = _signature(seed)
    b = _signature(seed + 1)
    same = int(share * len(a))
    b[:same] = a[:same]
    estimate = sketch_similarity(sketch(a), sketch(b))
    assert 0.0 <= estimate <= 1.0
    assert abs(estimate - share) < 0.35  # 128 two-bit values: coarse but unbiased


def test_probe_joins_bucket_and_hears_earlier_members() -> None:
    first = _probe("a")
    bucket, heard = answer_probe([], first, window_s=WEEK, capacity=4, threshold=0.5)
    assert heard == [] and [m.article_id for m in bucket] == ["a"] and bucket[0].cluster_id == "a"
    bucket, heard = answer_probe(
        bucket, _probe("b", text_hash="t", at=1001.0), window_s=WEEK, capacity=4, threshold=0.5
    )
    assert [m.article_id for m in heard] == ["a"]
    assert bucket[-1].cluster_id == "a", "an exact copy joins the first article's cluster"


def test_reprocessed_probe_never_finds_itself() -> None:
    bucket, _ = answer_probe([], _probe("a"), window_s=WEEK, capacity=4, threshold=0.5)
    bucket, heard = answer_probe(
        bucket, _probe("a", at=1002.0), window_s=WEEK, capacity=4, threshold=0.5
    )
    assert heard == [] and len(bucket) == 1


def test_members_expire_after_the_window() -> None:
    bucket, _ = answer_probe([], _probe("old", at=0.0), window_s=100.0, capacity=4, threshold=0.5)
    _, heard = answer_probe(
        bucket, _probe("new", at=500.0), window_s=100.0, capacity=4, threshold=0.5
    )
    assert heard == []


@given(
    st.lists(st.text(alphabet="abcdef", min_size=1, max_size=3), min_size=1, max_size=40),
    st.integers(2, 6),
)
def test_bucket_is_bounded_and_keeps_the_first_copy(ids: list[str], capacity: int) -> None:
    bucket: list[Member] = []
    for i, article_id in enumerate(ids):
        bucket, _ = answer_probe(
            bucket, _probe(article_id, at=float(i)), window_s=WEEK, capacity=capacity, threshold=0.5
        )
        assert len(bucket) <= capacity
        assert len({m.article_id for m in bucket}) == len(bucket)
    assert bucket[-1].article_id == ids[-1]


def test_exact_copies_beat_near_ones_and_the_earliest_wins() -> None:
    sig = _signature(7)
    members = [
        Member("late-exact", "same", sketch(sig), 20.0, "root"),
        Member("early-exact", "same", sketch(sig), 10.0, "root"),
        Member("near", "other", sketch(sig), 5.0, "near"),
    ]
    chosen = best_candidate("same", sketch(sig), members, threshold=0.5)
    assert chosen is not None and chosen.article_id == "early-exact" and chosen.exact


def test_no_candidate_below_threshold() -> None:
    members = [Member("x", "other", sketch(_signature(1)), 1.0, "x", shingles=100)]
    assert (
        best_candidate("mine", sketch(_signature(2)), members, threshold=0.5, own_shingles=100)
        is None
    )


def _sharing(share: float, seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    a, b = _signature(seed), _signature(seed + 1)
    same = int(share * a.size)
    b[:same] = a[:same]
    return a, b


@pytest.mark.parametrize(
    ("share", "own", "theirs", "near"),
    [
        (0.45, 200, 200, True),  # containment 0.62: a rewrite
        (0.25, 100, 200, True),  # a copy of half the story: containment 0.75
        (0.25, 200, 200, False),  # containment 0.4: a follow-up sharing a paragraph
        (0.03, 20, 1000, False),  # a containment of 1 from a chance agreement: floor
    ],
)
def test_a_member_is_judged_by_containment(share: float, own: int, theirs: int, near: bool) -> None:
    a, b = _sharing(share)
    members = [Member("x", "other", sketch(a), 1.0, "root", shingles=theirs)]
    found = best_candidate("mine", sketch(b), members, threshold=0.5, own_shingles=own)
    assert (found is not None) is near
    if found is not None:
        assert not found.exact and found.cluster_id == "root" and 0.5 <= found.similarity <= 1


def test_the_member_containing_most_wins() -> None:
    # The same Jaccard against a longer member means a larger intersection.
    a, b = _sharing(0.45)
    members = [
        Member("whole", "w", sketch(a), 1.0, "whole", shingles=200),
        Member("cut", "c", sketch(a), 2.0, "cut", shingles=110),
    ]
    found = best_candidate("mine", sketch(b), members, threshold=0.5, own_shingles=100)
    assert found is not None and found.article_id == "whole" and found.similarity > 0.9


def test_without_shingle_counts_only_exact_copies_are_found() -> None:
    sig = _signature(5)
    members = [Member("x", "other", sketch(sig), 1.0, "x", shingles=None)]
    assert best_candidate("mine", sketch(sig), members, threshold=0.5, own_shingles=80) is None
    members = [Member("x", "other", sketch(sig), 1.0, "x", shingles=80)]
    assert best_candidate("mine", sketch(sig), members, threshold=0.5) is None


# A delta as the previous release wrote it: five-element members with a 2-bit sketch of
# 128 values (32 bytes), 8x2 band keys. A running deployment has these in its changelog.
OLD_SKETCH = "A" * 43 + "="
OLD_DELTA = {
    "p": 3,
    "at": 1000.0,
    "m": [
        ["0:89b48d5ee8299541", ["old-a", "hash-a", OLD_SKETCH, 1000.0, "old-a"]],
        ["1:102bb3d282682fb0", ["old-a", "hash-a", OLD_SKETCH, 1000.0, "old-a"]],
    ],
}


def test_old_format_deltas_are_read_with_an_unknown_size() -> None:
    delta = Delta.from_json(OLD_DELTA)
    assert [m.shingles for _, m in delta.joined] == [None, None]
    assert len(delta.joined[0][1].sketch) == 32
    old_probe = ["old-b", "0:89b48d5ee8299541", "hash-b", OLD_SKETCH, 1001.0, 4]
    assert Probe.from_json(old_probe).shingles is None
    assert Member.from_json(["a", "t", OLD_SKETCH, 1.0, "a", "junk"]).shingles is None
    assert Member.from_json(["a", "t", OLD_SKETCH, 1.0, "a", True]).shingles is None


def test_a_delta_the_json_codec_wrote_reads_as_the_raw_table_value() -> None:
    """The table's values were dicts through Faust's json codec; they are now the same
    JSON kept as bytes (raw codec): a changelog written before loads unchanged."""
    written_before = faust_codecs.dumps("json", OLD_DELTA)
    assert Delta.from_bytes(written_before) == Delta.from_json(OLD_DELTA)
    assert delta_expired(written_before, 1000.0 + WEEK + 1, window_s=WEEK)


def test_the_count_is_found_beside_other_appended_fields() -> None:
    """Another change appends a JSON object of cluster fields to the same lists; the
    count is read by type, whichever of the two comes first."""
    member = Member("a", "t", b"\x00" * 128, 1.0, "a", shingles=42).to_json()
    assert Member.from_json([*member[:5], {"k": 5.0}, 42]).shingles == 42
    assert Member.from_json([*member[:5], 42, {"k": 5.0}]).shingles == 42
    probe = _probe("p").to_json()
    assert Probe.from_json([*probe[:6], {"k": 5.0}, 100]).shingles == 100


def test_old_members_match_exact_copies_only() -> None:
    index = BucketIndex(window_s=WEEK, capacity=4, threshold=0.5)
    index.load_all([(delta_key("old", 3), json.dumps(OLD_DELTA).encode())], including=3)
    exact = Probe(
        "new-1", ("0:89b48d5ee8299541",), "hash-a", sketch(_signature(1)), 1002.0, 0, shingles=90
    )
    newcomer, heard = index.answer(3, exact)
    assert [m.article_id for m in heard] == ["old-a"] and newcomer.cluster_id == "old-a"
    found = best_candidate("hash-a", exact.sketch, heard, threshold=0.5, own_shingles=90)
    assert found is not None and found.exact
    other = Probe(
        "new-2", ("1:102bb3d282682fb0",), "hash-c", sketch(_signature(1)), 1003.0, 0, shingles=90
    )
    newcomer, heard = index.answer(3, other)
    assert [m.article_id for m in heard] == ["old-a"] and newcomer.cluster_id == "new-2"


def test_capacity_below_two_is_refused() -> None:
    with pytest.raises(ValueError, match="capacity"):
        answer_probe([], _probe("a"), window_s=WEEK, capacity=1, threshold=0.5)


def test_member_and_probe_round_trip_json() -> None:
    probe = _probe("a")
    assert Probe.from_json(probe.to_json()) == probe
    assert probe.to_json()[6] == 100  # after the original fields: additive, old lists read
    member = Member("a", "t", probe.sketch, 1.0, "a", shingles=120)
    assert Member.from_json(member.to_json()) == member
    assert member.to_json()[5] == 120


# -- the bucket index and the deltas it is rebuilt from ---------------------------------


def _banded(article_id: str, band: str, at: float) -> Probe:
    return Probe(article_id, (band,), "t-" + article_id, sketch(_signature(7)), at, 0, shingles=100)


@given(
    st.lists(
        st.tuples(st.sampled_from("abcdef"), st.sampled_from(["1:x", "2:y", "3:z"])),
        max_size=30,
    ),
    st.integers(2, 5),
)
def test_buckets_rebuilt_from_the_deltas_answer_as_the_live_ones(
    probes: list[tuple[str, str]], capacity: int
) -> None:
    """A worker taking over a partition rebuilds its buckets from the deltas alone; the
    next probe must hear the same members it would have heard from the live buckets."""
    live = BucketIndex(window_s=WEEK, capacity=capacity, threshold=0.5)
    deltas: list[Delta] = []
    for n, (article, band) in enumerate(probes):
        newcomer, _ = live.answer(0, _banded(article, band, 1000.0 + n))
        deltas.append(Delta(0, newcomer.seen_at, (((band,), newcomer),)))
    rebuilt = BucketIndex(window_s=WEEK, capacity=capacity, threshold=0.5)
    rebuilt.load_all(_stored(reversed(deltas)), including=1)  # any order: replayed by time
    assert rebuilt.loaded(1)  # it has no deltas: empty, but loaded
    for band in ("1:x", "2:y", "3:z"):
        probe = _banded("newcomer", band, 5000.0)
        heard_live = {m.article_id for m in live.answer(0, probe)[1]}
        heard_rebuilt = {m.article_id for m in rebuilt.answer(0, probe)[1]}
        assert heard_rebuilt == heard_live
        assert rebuilt.answer(1, _banded("other", band, 5001.0))[1] == []


def test_a_delta_round_trips_and_expires_with_its_newest_member() -> None:
    index = BucketIndex(window_s=100.0, capacity=4, threshold=0.5)
    newcomer, _ = index.answer(2, _banded("a", "1:x", 1000.0))
    delta = Delta(2, 1000.0, ((("1:x",), newcomer),))
    assert Delta.from_json(delta.to_json()) == delta
    assert Delta.from_bytes(delta.to_bytes()) == delta
    assert not delta_expired(delta.to_bytes(), 1100.0, window_s=100.0)
    assert delta_expired(delta.to_bytes(), 1100.5, window_s=100.0)
    assert delta_key_partition(delta_key("batch-7/x", delta.partition)) == delta.partition


def test_pruning_drops_members_past_the_window_and_forget_drops_everything() -> None:
    index = BucketIndex(window_s=100.0, capacity=4, threshold=0.5)
    index.answer(0, _banded("old", "1:x", 1000.0))
    index.answer(0, _banded("new", "2:y", 1090.0))
    index.prune(1150.0)
    assert [m.article_id for m in index.answer(0, _banded("n2", "2:y", 1150.0))[1]] == ["new"]
    assert index.answer(0, _banded("n3", "1:x", 1150.0))[1] == []
    index.forget()
    assert not index.loaded(0)


def test_pruning_rebuilds_the_cluster_book_only_of_partitions_that_lost_members() -> None:
    """The rebuild walks every member of a partition on the probe path: a partition
    that lost none keeps the book it has; one that lost some forgets their clusters."""
    index = BucketIndex(window_s=100.0, capacity=4, threshold=0.5)
    index.answer(0, _banded("old", "1:x", 1000.0))
    index.answer(1, _banded("new", "2:y", 1090.0))
    kept, rebuilt = index._books[1], index._books[0]
    index.prune(1150.0)
    assert index._books[1] is kept
    assert index._books[0] is not rebuilt and len(index._books[0]) == 0


@given(st.integers(0, 10_000), st.floats(0.0, 1.0))
def test_sketch_similarity_counts_equal_low_bits_exactly(seed: int, share: float) -> None:
    """The byte-table count equals the share of equal SKETCH_BITS-bit values, computed
    the slow way from the signatures themselves."""
    a, b = _sharing(share, seed)
    equal = float(np.mean((a & (2**SKETCH_BITS - 1)) == (b & (2**SKETCH_BITS - 1))))
    chance = 2.0**-SKETCH_BITS
    expected = min(1.0, max(0.0, (equal - chance) / (1 - chance)))
    assert sketch_similarity(sketch(a), sketch(b)) == pytest.approx(expected, abs=1e-12)


def test_an_articles_members_share_one_sketch_and_one_id() -> None:
    """Sixteen bands hold sixteen members of each article: decoded, they share the
    sketch bytes and the id strings instead of holding sixteen copies."""
    one = _probe("shared-article").to_json()
    other = [*one[:1], ["9:other"], *one[2:]]
    # through JSON, as off the wire: equal strings, distinct objects
    first, second = (Probe.from_json(json.loads(json.dumps(p))) for p in (one, other))
    assert first.sketch is second.sketch and first.article_id is second.article_id
    member = json.dumps(Member("m", "t", first.sketch, 1.0, "m", shingles=3).to_json())
    a, b = Member.from_json(json.loads(member)), Member.from_json(json.loads(member))
    assert a.sketch is b.sketch and a.text_hash is b.text_hash and a.cluster_id is b.cluster_id


# -- exchange v2: one probe per article and band partition ----------------------------


@given(
    st.lists(
        st.tuples(st.sampled_from("abcdefgh"), st.sets(st.sampled_from("pqrstu"), min_size=1)),
        max_size=25,
    ),
    st.integers(2, 4),
)
def test_one_probe_with_its_band_keys_hears_what_a_probe_per_band_heard(
    arrivals: list[tuple[str, set[str]]], capacity: int
) -> None:
    """The buckets' membership does not depend on how an article's band keys were sent:
    one probe naming them all hears the same articles as one probe per band did (each
    of them once), and leaves the same articles in every bucket."""
    per_band = BucketIndex(window_s=WEEK, capacity=capacity, threshold=0.5)
    per_article = BucketIndex(window_s=WEEK, capacity=capacity, threshold=0.5)
    for n, (article, bands) in enumerate(arrivals):
        keys = tuple(sorted(bands))
        probe = Probe(article, keys, "t-" + article, sketch(_signature(7)), 1000.0 + n, 0, None, 9)
        singly = {
            m.article_id
            for band in keys
            for m in per_band.answer(0, Probe(article, (band,), *_tail(probe)))[1]
        }
        newcomer, heard = per_article.answer(0, probe)
        assert len(heard) == len(set(heard)), "a member in several buckets is heard once"
        assert {m.article_id for m in heard} == singly
        assert all(per_article._buckets[0][band][-1] is newcomer for band in keys)
    for band, bucket in per_band._buckets.get(0, {}).items():
        assert [m.article_id for m in per_article._buckets[0][band]] == [
            m.article_id for m in bucket
        ]


def _tail(probe: Probe) -> tuple[object, ...]:
    return (probe.text_hash, probe.sketch, probe.seen_at, probe.reply_partition, None, 9)


def test_a_v2_delta_holds_each_member_once_and_a_v1_reader_skips_it() -> None:
    index = BucketIndex(window_s=WEEK, capacity=4, threshold=0.5)
    newcomer, _ = index.answer(1, _banded_all("a", ("1:x", "2:y", "3:z"), 1000.0))
    delta = Delta(1, 1000.0, ((("1:x", "2:y", "3:z"), newcomer),))
    stored = delta.to_json()
    assert stored["v"] == 2 and len(stored["e"]) == 1 and "m" not in stored
    assert Delta.from_bytes(delta.to_bytes()) == delta
    rebuilt = BucketIndex(window_s=WEEK, capacity=4, threshold=0.5)
    rebuilt.load_all(_stored([delta]), including=1)
    for band in ("1:x", "2:y", "3:z"):
        heard = rebuilt.answer(1, _banded_all("b", (band,), 1001.0))[1]
        assert [m.article_id for m in heard] == ["a"]


def test_loading_more_partitions_leaves_the_loaded_ones_as_they_are() -> None:
    """The first probe of each partition after a rebalance loads it; partitions loaded
    before are current and are not rebuilt from their deltas again."""
    index = BucketIndex(window_s=WEEK, capacity=4, threshold=0.5)
    index.load_all([], including=0)
    newcomer, _ = index.answer(0, _banded_all("a", ("1:x",), 1000.0))
    live = index._buckets[0]
    stale = Delta(0, 900.0, (((("1:x",)), replace(newcomer, article_id="stale")),))
    index.load_all(_stored([stale]), including=1)
    assert index._buckets[0] is live and [m.article_id for m in live["1:x"]] == ["a"]
    assert index.loaded(1)


def test_a_loaded_partitions_deltas_are_not_parsed_and_unreadable_items_are_skipped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The key names the partition: the deltas of a loaded partition are skipped before
    their value is parsed, and a broken item costs only itself."""
    index = BucketIndex(window_s=WEEK, capacity=4, threshold=0.5)
    newcomer, _ = index.answer(2, _banded_all("a", ("1:x",), 1000.0))
    kept = Delta(2, 1000.0, ((("1:x",), newcomer),))
    index.forget()
    index.load_all([], including=0)
    parsed: list[bytes] = []
    real = Delta.from_bytes

    def counting(stored: bytes) -> Delta:
        parsed.append(stored)
        return real(stored)

    monkeypatch.setattr(Delta, "from_bytes", counting)
    loaded_partition = Delta(0, 999.0, ((("1:x",), replace(newcomer, article_id="stale")),))
    items = [
        (delta_key("loaded", 0), loaded_partition.to_bytes()),
        (b"no-partition", kept.to_bytes()),
        (delta_key("broken", 1), b"{}"),
        (delta_key("kept", 2), kept.to_bytes()),
    ]
    index.load_all(items, including=1)
    assert parsed == [b"{}", kept.to_bytes()], "only the partitions not loaded are parsed"
    assert index.loaded(1) and index.loaded(2)
    assert index.answer(0, _banded_all("b", ("1:x",), 1001.0))[1] == []
    heard = index.answer(2, _banded_all("b", ("1:x",), 1001.0))[1]
    assert [m.article_id for m in heard] == ["a"]


def _banded_all(article_id: str, bands: tuple[str, ...], at: float) -> Probe:
    return Probe(article_id, bands, "t-" + article_id, sketch(_signature(7)), at, 0, shingles=100)


def test_a_withdrawn_member_is_heard_by_nobody_live_or_rebuilt() -> None:
    """A member whose record was refused is taken back out: a later copy hears nothing
    of it, in the live buckets and in buckets rebuilt from the deltas (the withdrawal
    stored as a delta of its own, in any order); a later version of the same article,
    joined at another time, stays."""
    copy = _signature(7)
    live = BucketIndex(window_s=WEEK, capacity=4, threshold=0.5)
    kept, _ = live.answer(0, _probe("kept", signature=_signature(8), at=999.0))
    refused, _ = live.answer(0, _probe("refused", signature=copy, at=1000.0))
    assert live.withdraw(0, "refused", ("3:abc",), 1000.0)
    assert not live.withdraw(0, "refused", ("3:abc",), 1000.0), "withdrawn once"
    withdrawal = Delta(0, 1000.0, (), (("refused", 1000.0),))
    assert Delta.from_bytes(withdrawal.to_bytes()) == withdrawal
    deltas = [Delta(0, m.seen_at, ((("3:abc",), m),)) for m in (kept, refused)]
    rebuilt = BucketIndex(window_s=WEEK, capacity=4, threshold=0.5)
    rebuilt.load_all(_stored([withdrawal, *deltas]), including=0)
    for index in (live, rebuilt):
        heard = index.answer(0, _probe("its-copy", signature=copy, at=1001.0))[1]
        assert [m.article_id for m in heard] == ["kept"]
    again, _ = live.answer(0, _probe("refused", signature=copy, at=1002.0))
    rebuilt = BucketIndex(window_s=WEEK, capacity=4, threshold=0.5)
    rebuilt.load_all(
        _stored([withdrawal, *deltas, Delta(0, 1002.0, ((("3:abc",), again),))]), including=0
    )
    heard = rebuilt.answer(0, _probe("late", signature=copy, at=1003.0))[1]
    assert "refused" in {m.article_id for m in heard}, "the later version is not withdrawn"


def test_withdrawing_a_head_forgets_it_in_the_cluster_book() -> None:
    """The refused article was earlier in story time than the copy already there, so
    it became its cluster's head: withdrawn, a later copy is told of the cluster with
    its real head again, not a head nobody was sent."""
    sig = _signature(11)

    def probe(article_id: str, at: float, story_at: float) -> Probe:
        return Probe(article_id, ("3:abc",), "same", sketch(sig), at, 0, story_at, shingles=100)

    index = BucketIndex(window_s=WEEK, capacity=4, threshold=0.5)
    index.answer(0, probe("sent", 1000.0, story_at=500.0))
    refused, _ = index.answer(0, probe("refused", 1001.0, story_at=100.0))
    assert refused.head.article_id == "refused"
    index.withdraw(0, "refused", ("3:abc",), 1001.0)
    heard = index.answer(0, probe("third", 1002.0, story_at=900.0))[1]
    assert [(m.article_id, m.head.article_id) for m in heard] == [("sent", "sent")]


@given(
    st.lists(
        st.tuples(
            st.sampled_from("abcdef"),
            st.lists(st.sampled_from(["1:x", "2:y", "3:z", "4:w"]), min_size=1, unique=True),
            st.sampled_from([7, 8]),
        ),
        max_size=25,
    )
)
def test_the_rebuilt_cluster_book_learns_each_version_once_as_if_from_every_member(
    probes: list[tuple[str, list[str], int]],
) -> None:
    """The rebuild after a prune learns each article version once, not once per band it
    sits in: the book answers as one learnt from every member of every bucket."""
    index = BucketIndex(window_s=WEEK, capacity=3, threshold=0.5)
    for n, (article, bands, signature) in enumerate(probes):
        probe = Probe(article, tuple(bands), "t-" + article, sketch(_signature(signature)),
                      1000.0 + n, 0, shingles=100)  # fmt: skip
        index.answer(0, probe)
    index._relearn(0)
    every = ClusterBook()
    members = [m for bucket in index._buckets.get(0, {}).values() for m in bucket]
    learn_all(every, sorted(members, key=lambda m: m.seen_at))
    clusters = {m.cluster_id for m in members} | {c for m in members for c in m.merged}
    for cluster in sorted(clusters):
        claim = (9e9, "~")
        assert index._books[0].resolve(cluster, claim) == every.resolve(cluster, claim)
