"""Labelled pairs judged by the stream's own near-duplicate decision.

The evaluation must measure what the enricher does, so it does not decide anything
itself: for each pair, the first text probes the band buckets as a worker's batch
does (exchange v2: one probe per article and band partition, cut by
:func:`~newswire.enricher.neardup.probes_by_partition` and answered by a
:class:`~newswire.enricher.buckets.BucketIndex`, as the bucket owners do), the
second text's probes hear of it where a probe band is shared, and
:func:`~newswire.enricher.bands.best_candidate` decides on everything heard, exactly
as ``BatchHandler._finalise`` does before
:func:`~newswire.enricher.pipeline.with_candidate` marks the record ``duplicate``
(same body text) or ``near_duplicate``. Only the transport differs: a function call
here, two internal topics between workers in the stream.

A pair counts as judged a near-duplicate when the stream finds a candidate (either
mark). The shared band count, the sketch's Jaccard estimate and the containment
estimate are reported beside the verdict for diagnosis; they do not decide it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from newswire.enricher.bands import (
    Candidate,
    Member,
    Probe,
    best_candidate,
    probe_band_keys,
    sketch,
    sketch_similarity,
)
from newswire.enricher.buckets import BucketIndex
from newswire.enricher.neardup import probes_by_partition
from newswire.enricher.overlap import banding, judge, s_curve
from newswire.enricher.similarity import Fingerprint, NearDuplicateDetector
from newswire.evaluation.data import LabelledPair
from newswire.evaluation.metrics import Counts, binary_counts, first_seen, scores, summarise
from newswire.evaluation.overlap import overlap
from newswire.evaluation.report import NearDuplicateReport, PairOutcome

# Two articles per lookup: no dedupe window or bucket capacity could forget the first.
_WINDOW_S = math.inf
_CAPACITY = 2
#: Band partitions the probes are cut into, any number will do (the stream uses the raw
#: topic's partition count): the verdict does not depend on it, an article hears of
#: another on whichever partition a band is shared.
BAND_PARTITIONS = 3


def evaluate_pairs(
    pairs: Sequence[LabelledPair], detector: NearDuplicateDetector
) -> NearDuplicateReport:
    """Judge every pair as the stream would, then count by language and by variation."""
    outcomes = [_outcome(pair, detector) for pair in pairs]

    def counts_of(chosen: list[PairOutcome]) -> Counts:
        return binary_counts([o.gold for o in chosen], [o.predicted for o in chosen])

    total = counts_of(outcomes)
    return NearDuplicateReport(
        detector=repr(detector),
        banding=banding(),
        curve=s_curve(),
        pairs=tuple(outcomes),
        counts=total,
        scores=scores(total),
        by_language={
            lang: counts_of([o for o in outcomes if o.lang == lang])
            for lang in first_seen(o.lang for o in outcomes)
        },
        by_variation={
            variation: counts_of([o for o in outcomes if o.variation == variation])
            for variation in first_seen(o.variation for o in outcomes)
        },
        positives=summarise(o.similarity for o in outcomes if o.gold),
        negatives=summarise(o.similarity for o in outcomes if not o.gold),
    )


def _outcome(pair: LabelledPair, detector: NearDuplicateDetector) -> PairOutcome:
    """The stream's verdict on side b, side a having come first, with diagnostics."""
    a, b = detector.fingerprint(pair.a), detector.fingerprint(pair.b)
    candidate, shared = stream_candidate(a, b, threshold=detector.threshold)
    jaccard = sketch_similarity(sketch(a.signature), sketch(b.signature))
    return PairOutcome(
        pair.id,
        pair.lang,
        pair.variation,
        pair.near_duplicate,
        candidate is not None,
        a.text_hash == b.text_hash,
        shared,
        jaccard,
        judge(jaccard, a.shingles, b.shingles, threshold=detector.threshold).containment,
        ops=pair.ops or ((f"legacy:{pair.variation}",) if pair.near_duplicate else ()),
        overlap=overlap(pair.a, pair.b),
    )


def stream_candidate(
    first: Fingerprint, second: Fingerprint, *, threshold: float
) -> tuple[Candidate | None, int]:
    """What the enricher decides for ``second`` when ``first`` is already in the band
    buckets (None: a new article), and in how many band buckets it heard of ``first``
    (the probe band keys the two share)."""
    index = BucketIndex(window_s=_WINDOW_S, capacity=_CAPACITY, threshold=threshold)
    _ask(index, "first", first, seen_at=0.0)
    heard = _ask(index, "second", second, seen_at=1.0)
    found = best_candidate(
        second.text_hash,
        sketch(second.signature),
        heard,
        threshold=threshold,
        own_shingles=second.shingles,
    )
    shared = set(probe_band_keys(first.signature)) & set(probe_band_keys(second.signature))
    return found, len(shared)


def _ask(
    index: BucketIndex, article_id: str, fingerprint: Fingerprint, *, seen_at: float
) -> list[Member]:
    """The article's probe, cut per band partition and answered as the stream does;
    returns the earlier members it hears of (each once per partition, as the worker
    collects them)."""
    probe = Probe(
        article_id,
        probe_band_keys(fingerprint.signature),
        fingerprint.text_hash,
        sketch(fingerprint.signature),
        seen_at,
        0,
        shingles=fingerprint.shingles,
    )
    heard: list[Member] = []
    for partition, own in probes_by_partition([probe], BAND_PARTITIONS).items():
        for part in own:
            heard.extend(index.answer(partition, part)[1])
    return heard
