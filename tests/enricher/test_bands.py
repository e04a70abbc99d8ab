import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from newswire.enricher.bands import (
    BucketIndex,
    Delta,
    Member,
    Probe,
    answer_probe,
    best_candidate,
    delta_expired,
    sketch,
    sketch_similarity,
)

WEEK = 7 * 24 * 3600.0


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
    return Probe(article_id, "3:abc", text_hash, sketch(sig), at, 0)


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
    members = [Member("x", "other", sketch(_signature(1)), 1.0, "x")]
    assert best_candidate("mine", sketch(_signature(2)), members, threshold=0.5) is None


def test_capacity_below_two_is_refused() -> None:
    with pytest.raises(ValueError, match="capacity"):
        answer_probe([], _probe("a"), window_s=WEEK, capacity=1, threshold=0.5)


def test_member_and_probe_round_trip_json() -> None:
    probe = _probe("a")
    assert Probe.from_json(probe.to_json()) == probe
    member = probe_member = Member("a", "t", probe.sketch, 1.0, "a")
    assert Member.from_json(member.to_json()) == probe_member


# -- the bucket index and the deltas it is rebuilt from ---------------------------------


def _banded(article_id: str, band: str, at: float) -> Probe:
    return Probe(article_id, band, "t-" + article_id, sketch(_signature(7)), at, 0)


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
        deltas.append(Delta(0, newcomer.seen_at, ((band, newcomer),)))
    rebuilt = BucketIndex(window_s=WEEK, capacity=capacity, threshold=0.5)
    rebuilt.load_all(reversed(deltas), including=1)  # any order: replayed by time
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
    delta = Delta(2, 1000.0, (("1:x", newcomer),))
    assert Delta.from_json(delta.to_json()) == delta
    assert not delta_expired(delta.to_json(), 1100.0, window_s=100.0)
    assert delta_expired(delta.to_json(), 1100.5, window_s=100.0)


def test_pruning_drops_members_past_the_window_and_forget_drops_everything() -> None:
    index = BucketIndex(window_s=100.0, capacity=4, threshold=0.5)
    index.answer(0, _banded("old", "1:x", 1000.0))
    index.answer(0, _banded("new", "2:y", 1090.0))
    index.prune(1150.0)
    assert [m.article_id for m in index.answer(0, _banded("n2", "2:y", 1150.0))[1]] == ["new"]
    assert index.answer(0, _banded("n3", "1:x", 1150.0))[1] == []
    index.forget()
    assert not index.loaded(0)
