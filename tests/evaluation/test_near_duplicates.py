"""Pairs are judged by the stream's own decision (band buckets, then best_candidate),
not by a second copy of it in the evaluation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from newswire.enricher.bands import Probe, probe_band_keys, sketch, sketch_similarity
from newswire.enricher.buckets import BucketIndex
from newswire.enricher.neardup import probes_by_partition
from newswire.enricher.overlap import PROBE_BANDS, containment
from newswire.enricher.similarity import NearDuplicateDetector
from newswire.evaluation.data import LabelledPair, load_pairs
from newswire.evaluation.near_duplicates import (
    BAND_PARTITIONS,
    evaluate_pairs,
    stream_candidate,
)

PAIRS = Path(__file__).parent.parent / "fixtures" / "eval" / "near_duplicates.jsonl"
STORY = (
    "Officials in Baghdad said on Monday that talks on the withdrawal of foreign forces "
    "would resume next week after a pause of several months, according to a statement."
)


@pytest.fixture(scope="module")
def detector() -> NearDuplicateDetector:
    return NearDuplicateDetector()


def test_a_copy_is_a_duplicate_and_a_rewrite_a_near_duplicate(
    detector: NearDuplicateDetector,
) -> None:
    first = detector.fingerprint(STORY)
    copy, shared = stream_candidate(first, detector.fingerprint(STORY), threshold=0.5)
    assert copy is not None and copy.exact and copy.similarity == 1.0 and shared == PROBE_BANDS
    rewrite = detector.fingerprint(STORY.replace("Monday", "Tuesday"))
    near, _ = stream_candidate(first, rewrite, threshold=0.5)
    assert near is not None and not near.exact
    jaccard = sketch_similarity(sketch(first.signature), sketch(rewrite.signature))
    assert near.similarity == containment(jaccard, first.shingles, rewrite.shingles)


def test_unrelated_texts_are_new(detector: NearDuplicateDetector) -> None:
    other = "Markets closed higher in Tokyo as exporters gained on a weaker yen."
    candidate, _ = stream_candidate(
        detector.fingerprint(STORY), detector.fingerprint(other), threshold=0.5
    )
    assert candidate is None


def test_texts_without_words_are_never_duplicates(detector: NearDuplicateDetector) -> None:
    # No words, no probe bands (band_keys gives none), so the two never meet in a
    # bucket: the stream marks the second "new", and so does the evaluation now.
    blank = detector.fingerprint("  \n")
    assert probe_band_keys(blank.signature) == ()
    assert stream_candidate(blank, detector.fingerprint(" "), threshold=0.5) == (None, 0)
    pair = LabelledPair("blank", "-", " ", " ", near_duplicate=True, variation="-")
    (outcome,) = evaluate_pairs([pair], detector).pairs
    assert outcome.exact and not outcome.predicted


def test_shared_bands_are_the_buckets_where_the_second_heard_of_the_first(
    detector: NearDuplicateDetector,
) -> None:
    for pair in load_pairs(PAIRS)[:12]:
        a, b = detector.fingerprint(pair.a), detector.fingerprint(pair.b)
        _, shared = stream_candidate(a, b, threshold=detector.threshold)
        assert shared == len(set(probe_band_keys(a.signature)) & set(probe_band_keys(b.signature)))


def test_the_lookup_is_the_streams_one_probe_per_article_and_band_partition(
    detector: NearDuplicateDetector, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Exchange v2, as the stream runs it: the bucket owners' BucketIndex answers one
    probe per article and band partition (not one per band, the retired v1 path)."""
    asked: list[tuple[int, str, int]] = []
    real = BucketIndex.answer

    def answer(self: BucketIndex, partition: int, probe: Probe) -> Any:
        asked.append((partition, probe.article_id, len(probe.band_keys)))
        return real(self, partition, probe)

    monkeypatch.setattr(BucketIndex, "answer", answer)
    first = detector.fingerprint(STORY)
    stream_candidate(first, detector.fingerprint(STORY + " More."), threshold=0.5)
    per_article = probes_by_partition(
        [Probe("x", probe_band_keys(first.signature), "", b"", 0.0, 0)], BAND_PARTITIONS
    )
    assert 1 < len(per_article) < PROBE_BANDS, "the banding spreads over a few partitions"
    for article in ("first", "second"):
        mine = [(p, n) for p, who, n in asked if who == article]
        assert len(mine) == len(per_article), "one probe per band partition"
        assert sum(n for _, n in mine) == PROBE_BANDS, "naming every band key once"
