"""Containment judgement: the estimator within its stated error, cut copies found as
often as the S-curve promises, unrelated texts left alone.

The statistical tests judge many generated pairs at once and compare the count with a
binomial bound (expected minus four standard deviations), so they test the promise,
not one lucky draw."""

from __future__ import annotations

import itertools
import math
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from newswire.enricher.bands import (
    probe_band_keys,
    sketch,
    sketch_similarity,
)
from newswire.enricher.overlap import (
    JACCARD_FLOOR,
    PROBE_BANDS,
    candidate_probability,
    containment,
    containment_error,
    jaccard_of,
    judge,
    s_curve,
)
from newswire.enricher.similarity import (
    Fingerprint,
    NearDuplicateDetector,
    exact_containment,
    exact_jaccard,
)
from newswire.evaluation.near_duplicates import stream_candidate

STATISTICAL = settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.too_slow])
DETECTOR = NearDuplicateDetector()
_SYLLABLES = ["ka", "ri", "mo", "tel", "san", "dur", "vi", "lo", "ne", "pah", "qu", "zem"]


def _text(rng: random.Random, words: int) -> str:
    """Words from a large random vocabulary, in paragraphs of 30: like prose to MinHash,
    and two such texts share a 3-shingle only by a rare chance."""
    vocab = ["".join(rng.choices(_SYLLABLES, k=rng.randint(2, 4))) for _ in range(words)]
    paragraphs = [" ".join(vocab[i : i + 30]) for i in range(0, words, 30)]
    return "\n\n".join(paragraphs)


def _cut(text: str, share: float, end: str) -> str:
    """Drop SHARE of the words from the head, the tail or both ends."""
    words = text.split(" ")
    drop = int(share * len(words))
    if end == "head":
        return " ".join(words[drop:])
    if end == "tail":
        return " ".join(words[: len(words) - drop])
    return " ".join(words[drop // 2 : len(words) - (drop - drop // 2)])


def _found(original: Fingerprint, copy: Fingerprint) -> bool:
    """The stream's decision for COPY with ORIGINAL in the band buckets."""
    return stream_candidate(original, copy, threshold=DETECTOR.threshold)[0] is not None


def _lower_bound(probabilities: list[float]) -> float:
    mean = sum(probabilities)
    sd = math.sqrt(sum(p * (1 - p) for p in probabilities))
    return mean - 4 * sd - 1


# ----------------------------------------------------------------------- the formulae


@given(st.integers(1, 5000), st.integers(1, 5000), st.data())
def test_containment_inverts_the_jaccard_of_two_sets(n_a: int, n_b: int, data) -> None:
    overlap = data.draw(st.integers(0, min(n_a, n_b)))
    jaccard = overlap / (n_a + n_b - overlap)
    assert containment(jaccard, n_a, n_b) == pytest.approx(overlap / min(n_a, n_b), abs=1e-9)
    ratio = min(n_a, n_b) / max(n_a, n_b)
    assert jaccard_of(overlap / min(n_a, n_b), ratio) == pytest.approx(jaccard, abs=1e-9)


def test_the_s_curve_rises_and_reaches_its_ends() -> None:
    assert candidate_probability(0.0) == 0.0 and candidate_probability(1.0) == 1.0
    curve = s_curve()
    for earlier, later in itertools.pairwise(curve):
        assert earlier.by_jaccard <= later.by_jaccard
        assert earlier.by_containment_half <= earlier.by_containment_full <= earlier.by_jaccard
    # the operating point: a copy keeping half of the story and 60 % of its shingles
    assert candidate_probability(jaccard_of(0.6, 0.5)) > 0.98


def test_a_floor_pass_by_chance_is_rare_for_independent_reports() -> None:
    """Independent reports sit at J <= 0.03; the floor is 3 standard errors above."""
    from newswire.enricher.overlap import jaccard_error

    assert JACCARD_FLOOR - 0.03 >= 2.5 * jaccard_error(0.03, perms=DETECTOR.num_perm)


# ------------------------------------------------------------------ statistical checks


@STATISTICAL
@given(seed=st.integers(0, 2**32 - 1))
def test_the_estimator_is_within_its_stated_error(seed: int) -> None:
    """Over 120 pairs of cut and changed copies, the containment estimate from the
    sketch is within 3 of its stated standard errors at least as often as a normal
    estimate would be with four standard deviations to spare."""
    rng = random.Random(seed)
    inside = 0
    trials = 120
    for _ in range(trials):
        text = _text(rng, rng.randint(90, 240))
        copy = _cut(text, rng.uniform(0.0, 0.6), rng.choice(["head", "tail", "both"]))
        words = copy.split(" ")
        for _ in range(rng.randint(0, 12)):  # changed words lower J and C
            words[rng.randrange(len(words))] = "changed" + str(rng.randint(0, 99))
        copy = " ".join(words)
        a, b = DETECTOR.fingerprint(text), DETECTOR.fingerprint(copy)
        estimate = containment(
            sketch_similarity(sketch(a.signature), sketch(b.signature)), a.shingles, b.shingles
        )
        truth = exact_containment(text, copy)
        jaccard = exact_jaccard(text, copy)
        error = containment_error(jaccard, a.shingles, b.shingles, perms=DETECTOR.num_perm)
        inside += abs(estimate - truth) <= 3 * error + 0.01
    assert inside >= _lower_bound([0.997] * trials)


@STATISTICAL
@given(seed=st.integers(0, 2**32 - 1))
def test_copies_cut_up_to_half_from_either_end_are_found_as_the_s_curve_promises(
    seed: int,
) -> None:
    rng = random.Random(seed)
    promised: list[float] = []
    found = 0
    for _ in range(100):
        text = _text(rng, rng.randint(60, 300))
        copy = _cut(text, rng.uniform(0.0, 0.5), rng.choice(["head", "tail", "both"]))
        if rng.random() < 0.5:
            copy = "BAGHDAD (Wire) - " + copy
        promised.append(candidate_probability(exact_jaccard(text, copy)))
        found += _found(DETECTOR.fingerprint(text), DETECTOR.fingerprint(copy))
    assert found >= _lower_bound(promised)
    assert found >= 97  # the curve promises > 0.99 for each of these copies


#: Stock phrases of four words: many distinct shared shingles, so that which of them
#: is some text's minimum is left to chance, as with real boilerplate.
_COMMON = [_text(random.Random(f"stock-{i}"), 4) for i in range(40)]


def _with_common_phrases(rng: random.Random, words: int) -> str:
    """An unrelated text that still shares stock phrases with the others, so pairs
    meet in band buckets now and then and the containment check must refuse them."""
    text = _text(rng, words).split(" ")
    for phrase in rng.sample(_COMMON, 10):
        text.insert(rng.randrange(len(text)), phrase)
    return " ".join(text)


@STATISTICAL
@given(seed=st.integers(0, 2**32 - 1))
def test_unrelated_texts_are_not_marked(seed: int) -> None:
    """Independent texts of any lengths, a short one against a long one included
    (where containment is most easily inflated), sharing stock phrases: at most 1 %
    marked, though some of them do become candidates."""
    rng = random.Random(seed)
    marked = candidates = 0
    trials = 150
    for _ in range(trials):
        a = DETECTOR.fingerprint(_with_common_phrases(rng, rng.randint(40, 400)))
        b = DETECTOR.fingerprint(_with_common_phrases(rng, rng.randint(40, 400)))
        candidates += bool(set(probe_band_keys(a.signature)) & set(probe_band_keys(b.signature)))
        marked += _found(a, b)
    assert candidates > 0  # the check was exercised, not just the banding
    assert marked <= trials // 100


def test_a_follow_up_reusing_one_paragraph_is_not_a_near_duplicate() -> None:
    rng = random.Random(12)
    marked = 0
    for _ in range(60):
        story = _text(rng, 150)
        background = story.split("\n\n")[2]
        follow_up = _text(rng, 150) + "\n\n" + background
        verdict = judge(
            DETECTOR.similarity(DETECTOR.fingerprint(story), DETECTOR.fingerprint(follow_up)),
            DETECTOR.fingerprint(story).shingles,
            DETECTOR.fingerprint(follow_up).shingles,
        )
        marked += verdict.near
    assert marked <= 1


def test_probe_bands_cover_the_signature_prefix() -> None:
    fingerprint = DETECTOR.fingerprint(_text(random.Random(1), 100))
    assert len(probe_band_keys(fingerprint.signature)) == PROBE_BANDS
