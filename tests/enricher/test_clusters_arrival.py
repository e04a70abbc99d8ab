"""The tester's sequence (s8 finding 1): a copy, then its earlier original, then a
second copy. The original becomes the head inside the copy's cluster; the second copy
must keep that cluster's id and report no merge, whichever band partitions the three
share, live and after the buckets are rebuilt from their deltas."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from newswire.enricher.bands import Member, Probe, matches, placement
from newswire.enricher.buckets import BucketIndex, Delta, delta_key
from newswire.enricher.clusters import Head, Placement

WEEK = 7 * 24 * 3600.0
#: Band partitions: the copies share a band with the original on partition 0 only,
#: the original has a band of its own on partition 1 that the second copy shares.
SHARED, ORIGINAL_ONLY = 0, 1


def _probe(article_id: str, bands: tuple[str, ...], seen_at: float, story_at: float) -> Probe:
    return Probe(article_id, bands, "same-text", b"\x01", seen_at, 0, story_at)


def _ask(
    index: BucketIndex, deltas: list[Delta], probe: Probe, by_partition: dict[int, tuple[str, ...]]
) -> list[Member]:
    """The probe cut per band partition, as the exchange sends it; the members heard."""
    heard: list[Member] = []
    for partition, bands in by_partition.items():
        own = Probe(
            probe.article_id, bands, probe.text_hash, probe.sketch, probe.seen_at, 0, probe.story_at
        )
        newcomer, members = index.answer(partition, own)
        deltas.append(Delta(partition, probe.seen_at, ((bands, newcomer),)))
        heard.extend(members)
    return heard


def _place(probe: Probe, heard: list[Member]) -> Placement:
    found = matches(probe.text_hash, probe.sketch, heard, threshold=0.5)
    return placement(probe.article_id, probe.key.at, found)


def _index() -> BucketIndex:
    return BucketIndex(window_s=WEEK, capacity=8, threshold=0.5)


def test_a_copy_after_a_late_original_keeps_the_cluster_id_and_merges_nothing() -> None:
    index, deltas = _index(), list[Delta]()
    copy1 = _probe("7f1b981c", ("a",), 1.0, 36000.0)  # published 10:00
    orig = _probe("5264f0fe", ("a", "b"), 2.0, 7200.0)  # published 02:00
    copy2 = _probe("954882cf", ("a", "b"), 3.0, 54000.0)  # published 15:00

    assert _place(copy1, _ask(index, deltas, copy1, {SHARED: ("a",)})) == Placement(
        "7f1b981c", Head(36000.0, "7f1b981c")
    )
    placed = _place(orig, _ask(index, deltas, orig, {SHARED: ("a",), ORIGINAL_ONLY: ("b",)}))
    assert placed == Placement("7f1b981c", Head(7200.0, "5264f0fe"))

    heard = _ask(index, deltas, copy2, {SHARED: ("a",), ORIGINAL_ONLY: ("b",)})
    assert _place(copy2, heard) == Placement("7f1b981c", Head(7200.0, "5264f0fe"))


def test_the_rebuilt_buckets_give_the_same_answer() -> None:
    index, deltas = _index(), list[Delta]()
    copy1 = _probe("7f1b981c", ("a",), 1.0, 36000.0)
    orig = _probe("5264f0fe", ("a", "b"), 2.0, 7200.0)
    _ask(index, deltas, copy1, {SHARED: ("a",)})
    _ask(index, deltas, orig, {SHARED: ("a",), ORIGINAL_ONLY: ("b",)})

    rebuilt = _index()
    rebuilt.load_all(
        [(delta_key(f"m{n}", d.partition), d.to_bytes()) for n, d in enumerate(deltas)],
        including=SHARED,
    )
    copy2 = _probe("954882cf", ("a", "b"), 3.0, 54000.0)
    heard = _ask(rebuilt, [], copy2, {SHARED: ("a",), ORIGINAL_ONLY: ("b",)})
    assert _place(copy2, heard) == Placement("7f1b981c", Head(7200.0, "5264f0fe"))


_IDS = st.text("0123456789abcdef", min_size=8, max_size=8)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(_IDS, min_size=3, max_size=3, unique=True),
    st.permutations(range(3)),
    st.sampled_from([(0, 0), (0, 1), (1, 0)]),
    st.none() | st.integers(0, 1),
)
def test_three_copies_in_any_order_share_the_first_cluster_id_and_merge_nothing(
    ids: list[str], order: list[int], partitions: tuple[int, int], restart: int | None
) -> None:
    """The tester's three articles (two copies and the earlier original, which alone has
    band "b" besides the shared "a") in every arrival order, the bands on one or two
    partitions, any ids (they break ties), the buckets optionally rebuilt from their
    deltas: every record carries the first record's cluster id and no merge."""
    stories = [36000.0, 7200.0, 54000.0]  # copy1 10:00, original 02:00, copy2 15:00
    bands = [("a",), ("a", "b"), ("a", "b")]
    index, deltas, placed = _index(), list[Delta](), list[Placement]()
    for step, n in enumerate(order):
        probe = _probe(ids[n], bands[n], float(step + 1), stories[n])
        cut: dict[int, tuple[str, ...]] = {}
        for band in bands[n]:
            p = partitions[band == "b"]
            cut[p] = (*cut.get(p, ()), band)
        placed.append(_place(probe, _ask(index, deltas, probe, cut)))
        if restart == step:
            index = _index()
            index.load_all(
                [(delta_key(f"m{k}", d.partition), d.to_bytes()) for k, d in enumerate(deltas)],
                including=0,
            )
    first = ids[order[0]]
    assert [p.cluster_id for p in placed] == [first] * 3
    assert [p.merged for p in placed] == [()] * 3
    assert placed[-1].head == Head(7200.0, ids[1])
