"""Exact word-shingle overlap of two texts, measured without the detector.

Why exact and separate: the detector estimates resemblance from MinHash sketches
built on its own normalisation; to choose an operating point one needs the true
figures of each class of pair. A syndicated copy that was cut is judged by how much
of the shorter text the longer contains (the overlap coefficient,
``|A & B| / min(|A|, |B|)``), a rewrite by resemblance (Jaccard, ``|A & B| / |A | B|``).
Words are runs of Unicode word characters, case-folded; a text shorter than ``k``
words is one shingle.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

WORD = re.compile(r"\w+")
SIZES = (3, 4)


def shingles(text: str, k: int) -> frozenset[tuple[str, ...]]:
    """The set of ``k``-word shingles of the text."""
    words = WORD.findall(text.casefold())
    if len(words) <= k:
        return frozenset({tuple(words)}) if words else frozenset()
    return frozenset(tuple(words[i : i + k]) for i in range(len(words) - k + 1))


def jaccard(a: frozenset[tuple[str, ...]], b: frozenset[tuple[str, ...]]) -> float:
    """``|A & B| / |A | B|`` (intersection over union); 0 for two empty sets."""
    union = len(a | b)
    return len(a & b) / union if union else 0.0


def containment(a: frozenset[tuple[str, ...]], b: frozenset[tuple[str, ...]]) -> float:
    """The overlap coefficient ``|A & B| / min(|A|, |B|)``; 0 when either is empty."""
    smaller = min(len(a), len(b))
    return len(a & b) / smaller if smaller else 0.0


@dataclass(frozen=True, slots=True)
class Overlap:
    """Jaccard and containment of a pair at 3- and 4-word shingles."""

    jaccard3: float
    containment3: float
    jaccard4: float
    containment4: float


def overlap(a: str, b: str) -> Overlap:
    """The exact overlap figures of two texts."""
    figures: list[float] = []
    for k in SIZES:
        sa, sb = shingles(a, k), shingles(b, k)
        figures += [jaccard(sa, sb), containment(sa, sb)]
    return Overlap(*figures)
