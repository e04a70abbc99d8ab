"""How much of one text another contains, from MinHash: the near-duplicate judgement.

Syndicated copies are often *cut*: a wire copy drops the first and last paragraphs, so
its shingle set is mostly inside the original's, but the union is much larger than the
intersection and the Jaccard similarity falls (a copy that keeps half of a story and
60 % of its shingles has J = 0.25). So a pair is judged by its **containment** (overlap
coefficient) ``C = |A and B| / min(|A|, |B|)``, the share of the shorter text's shingles
found in the longer, together with its Jaccard similarity ``J``.

Estimator. Each article carries its distinct shingle count ``n``. MinHash estimates J;
from ``|A and B| = J (|A| + |B|) / (1 + J)`` (since ``|A or B| = |A| + |B| - |A and B|``)::

    C = J (n_a + n_b) / ((1 + J) min(n_a, n_b))

the same conversion as datasketch's MinHash LSH Ensemble (containment ``t`` at size
ratio ``x/q`` is Jaccard ``t / (1 + x/q - t)``) and LAZO's cardinality-coupled estimate.
It is a smooth function of J, so its standard error is ``dC/dJ`` times J's:
``dC/dJ = (n_a + n_b) / ((1 + J)**2 min(n_a, n_b))`` (:func:`containment_error`).
J comes from a b-bit sketch of the 128 MinHash values (:data:`SKETCH_BITS` low bits of
each): two values agree by chance with probability ``2**-b``, so with ``E`` the share of
equal values ``J = (E - 2**-b) / (1 - 2**-b)`` and ``sd(J) = sqrt(P (1 - P) / k) /
(1 - 2**-b)`` with ``P = J + (1 - J) 2**-b`` (Li and König, b-bit minwise hashing).

Decision (:func:`judge`): a near-duplicate when ``C >= threshold`` (0.5) and
``J >= JACCARD_FLOOR`` (0.08). The floor is what keeps C honest: C's error grows with
the size ratio, so a short text against a long one needs real Jaccard evidence, not a
chance agreement amplified by ``(n_a + n_b) / min``. A member without a shingle count
(a delta written before the count existed) is judged on the exact text only.

Candidates are found by LSH banding with :data:`PROBE_BANDS` bands of
:data:`PROBE_ROWS` row (see ``bands.probe_band_keys``); :func:`candidate_probability`
is the S-curve, :func:`s_curve` its table by J and by containment.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

#: Low bits kept of each MinHash value in the sketch members carry. 4 bits of 256 values:
#: at J = 0.01 (independent reports) the estimate's standard error is 0.017, so the
#: floor 0.08 is four of them away; 2 bits of 128 gave 0.052 there (a false floor pass
#: in 4 % of pairs).
SKETCH_BITS = 4

#: Bands used to find candidates across partitions: 16 bands of 1 MinHash value each
#: (the signature's first 16). One row is what finds low-Jaccard cut copies: a pair
#: at J = 0.2 shares a band with probability 0.97, at J = 0.15 with 0.93.
PROBE_BANDS = 16
PROBE_ROWS = 1

#: Containment at or above which a pair is a near-duplicate (with the floor below).
DEFAULT_CONTAINMENT = 0.5
#: Estimated Jaccard a pair needs besides its containment.
JACCARD_FLOOR = 0.08

CURVE_POINTS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


@dataclass(frozen=True, slots=True)
class Judgement:
    """The estimates for one pair and the verdict they give."""

    jaccard: float
    containment: float | None  # None: a side's shingle count is unknown
    near: bool


def containment(jaccard: float, n_a: int, n_b: int) -> float:
    """Overlap coefficient from Jaccard and the two distinct-shingle counts, in [0, 1]."""
    smaller = min(n_a, n_b)
    if smaller <= 0:
        return 0.0
    return min(1.0, jaccard * (n_a + n_b) / ((1.0 + jaccard) * smaller))


def jaccard_of(containment_value: float, ratio: float) -> float:
    """Jaccard of a pair of this containment whose shorter side is RATIO of the longer."""
    return containment_value * ratio / (1.0 + ratio - containment_value * ratio)


def jaccard_error(jaccard: float, *, perms: int, bits: int = SKETCH_BITS) -> float:
    """Standard error of the b-bit sketch estimate of J over PERMS MinHash values."""
    chance = 2.0**-bits
    agree = jaccard + (1.0 - jaccard) * chance
    return math.sqrt(agree * (1.0 - agree) / perms) / (1.0 - chance)


def containment_error(
    jaccard: float, n_a: int, n_b: int, *, perms: int, bits: int = SKETCH_BITS
) -> float:
    """Standard error of :func:`containment` (the delta method: dC/dJ times sd(J))."""
    slope = (n_a + n_b) / ((1.0 + jaccard) ** 2 * min(n_a, n_b))
    return slope * jaccard_error(jaccard, perms=perms, bits=bits)


def judge(
    jaccard: float, n_a: int | None, n_b: int | None, *, threshold: float = DEFAULT_CONTAINMENT
) -> Judgement:
    """Near-duplicate when the containment reaches THRESHOLD and J the floor."""
    if n_a is None or n_b is None:
        return Judgement(jaccard, None, False)
    overlap = containment(jaccard, n_a, n_b)
    return Judgement(jaccard, overlap, overlap >= threshold and jaccard >= JACCARD_FLOOR)


def candidate_probability(
    jaccard: float, *, bands: int = PROBE_BANDS, rows: int = PROBE_ROWS
) -> float:
    """Probability that two texts of this Jaccard similarity share a probe band."""
    return float(1.0 - (1.0 - jaccard**rows) ** bands)


@dataclass(frozen=True, slots=True)
class CurvePoint:
    """One row of the S-curve: candidate probability at a Jaccard value, and at a
    containment value for copies that keep all or half of the longer text."""

    value: float
    by_jaccard: float
    by_containment_full: float  # shorter side as long as the longer (J = C / (2 - C))
    by_containment_half: float  # shorter side half as long (J = C / (3 - C))


def s_curve(points: tuple[float, ...] = CURVE_POINTS) -> tuple[CurvePoint, ...]:
    """The stream's S-curve at each point, for the docs and ``newswire eval``."""
    return tuple(
        CurvePoint(
            v,
            candidate_probability(v),
            candidate_probability(jaccard_of(v, 1.0)),
            candidate_probability(jaccard_of(v, 0.5)),
        )
        for v in points
    )


def banding() -> str:
    """One line naming the stream's banding and decision rule."""
    return (
        f"LSH {PROBE_BANDS} bands x {PROBE_ROWS} row over MinHash values; "
        f"{SKETCH_BITS}-bit sketch; near-duplicate when containment >= threshold "
        f"and Jaccard >= {JACCARD_FLOOR}"
    )
