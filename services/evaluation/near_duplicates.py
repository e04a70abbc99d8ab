"""Labelled pairs judged by the stream's own near-duplicate decision.

The evaluation must measure what the enricher does, so it does not decide anything
itself: for each pair, the first text's probes fill band buckets
(:func:`~newswire.enricher.bands.answer_probe`, as the bucket owners do), the second
text's probes hear of it where a probe band is shared, and
:func:`~newswire.enricher.bands.best_candidate` decides, exactly as
``BatchHandler._finalise`` does before :func:`~newswire.enricher.pipeline.with_candidate`
marks the record ``duplicate`` (same body text) or ``near_duplicate``. Only the
buckets differ: a dict here, a changelogged table spread over workers in the stream.

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
    answer_probe,
    best_candidate,
    probe_band_keys,
    sketch,
    sketch_similarity,
)
from newswire.enricher.overlap import banding, judge, s_curve
from newswire.enricher.similarity import Fingerprint, NearDuplicateDetector
from newswire.evaluation.data import LabelledPair
from newswire.evaluation.metrics import Counts, binary_counts, first_seen, scores, summarise
from newswire.evaluation.overlap import overlap
from newswire.evaluation.report import NearDuplicateReport, PairOutcome

# Two articles per lookup: no dedupe window or bucket capacity could forget the first.
_WINDOW_S = math.inf
_CAPACITY = 2


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
    buckets (None: a new article), and in how many band buckets it heard of ``first``."""
    buckets: dict[str, list[Member]] = {}
    _probe(buckets, "first", first, seen_at=0.0, threshold=threshold)
    heard = _probe(buckets, "second", second, seen_at=1.0, threshold=threshold)
    own_sketch = sketch(second.signature)
    found = best_candidate(
        second.text_hash, own_sketch, heard, threshold=threshold, own_shingles=second.shingles
    )
    return found, len(heard)


def _probe(
    buckets: dict[str, list[Member]],
    article_id: str,
    fingerprint: Fingerprint,
    *,
    seen_at: float,
    threshold: float,
) -> list[Member]:
    """Send an article's probes to the buckets as the stream does (one per probe band,
    carrying the article's sketch); returns the earlier members it hears of."""
    own_sketch = sketch(fingerprint.signature)
    heard: list[Member] = []
    for band in probe_band_keys(fingerprint.signature):
        probe = Probe(
            article_id,
            (band,),
            fingerprint.text_hash,
            own_sketch,
            seen_at,
            0,
            shingles=fingerprint.shingles,
        )
        buckets[band], earlier = answer_probe(
            buckets.get(band, []),
            probe,
            window_s=_WINDOW_S,
            capacity=_CAPACITY,
            threshold=threshold,
        )
        heard.extend(earlier)
    return heard
