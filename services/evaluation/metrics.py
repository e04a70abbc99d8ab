"""The metric maths of ``newswire eval``, as small pure functions.

Pure so that each is unit-tested on hand-computed cases: counts, precision / recall /
F1, accuracy, confusion matrices, summaries. Conventions: precision is undefined
(``None``, printed ``-``) when nothing was predicted, recall when there was nothing to
find, F1 = 2tp / (2tp + fp + fn) when either exists.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

#: Upper bounds (exclusive) of the character-length buckets for language accuracy.
LENGTH_BUCKETS: tuple[tuple[int, str], ...] = (
    (100, "<100"),
    (300, "100-299"),
    (500, "300-499"),
)
LONGEST_BUCKET = ">=500"


@dataclass(frozen=True, slots=True)
class Counts:
    """Outcome counts of one binary decision (one topic, or near-duplicate yes/no)."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    def __add__(self, other: Counts) -> Counts:
        return Counts(
            self.tp + other.tp, self.fp + other.fp, self.fn + other.fn, self.tn + other.tn
        )

    @property
    def support(self) -> int:
        """Gold positives."""
        return self.tp + self.fn

    @property
    def predicted(self) -> int:
        return self.tp + self.fp

    @property
    def total(self) -> int:
        return self.tp + self.fp + self.fn + self.tn


@dataclass(frozen=True, slots=True)
class Scores:
    precision: float | None
    recall: float | None
    f1: float | None
    support: int


def ratio(numerator: int, denominator: int) -> float | None:
    """``numerator / denominator``, or None when the denominator is 0."""
    return numerator / denominator if denominator else None


def scores(counts: Counts) -> Scores:
    """Precision, recall and F1 of the counts, each None where it is undefined."""
    return Scores(
        precision=ratio(counts.tp, counts.tp + counts.fp),
        recall=ratio(counts.tp, counts.tp + counts.fn),
        f1=ratio(2 * counts.tp, 2 * counts.tp + counts.fp + counts.fn),
        support=counts.support,
    )


def binary_counts(gold: Sequence[bool], predicted: Sequence[bool]) -> Counts:
    """Outcome counts of paired gold and predicted yes/no decisions."""
    _same_length(gold, predicted)
    tally = Counter(zip(gold, predicted, strict=True))
    return Counts(
        tp=tally[True, True], fp=tally[False, True], fn=tally[True, False], tn=tally[False, False]
    )


def multilabel_counts(
    gold: Sequence[Collection[str]], predicted: Sequence[Collection[str]], labels: Iterable[str]
) -> dict[str, Counts]:
    """Per label, the counts of treating "has this label" as a binary decision per item."""
    _same_length(gold, predicted)
    return {
        label: binary_counts([label in g for g in gold], [label in p for p in predicted])
        for label in labels
    }


def micro_average(counts: Iterable[Counts]) -> Scores:
    """Scores of all the counts pooled: frequent labels weigh more."""
    total = Counts()
    for item in counts:
        total = total + item
    return scores(total)


def macro_f1(per_label: Mapping[str, Scores]) -> float | None:
    """Mean F1 over the labels whose F1 is defined."""
    values = [s.f1 for s in per_label.values() if s.f1 is not None]
    return sum(values) / len(values) if values else None


@dataclass(frozen=True, slots=True)
class Accuracy:
    correct: int
    total: int

    @property
    def value(self) -> float | None:
        return ratio(self.correct, self.total)


def accuracy(gold: Sequence[str], predicted: Sequence[str]) -> Accuracy:
    """Share of items whose prediction equals the gold label."""
    _same_length(gold, predicted)
    return Accuracy(sum(g == p for g, p in zip(gold, predicted, strict=True)), len(gold))


def accuracy_by(
    groups: Sequence[str], gold: Sequence[str], predicted: Sequence[str]
) -> dict[str, Accuracy]:
    """Accuracy within each group, groups in first-seen order."""
    _same_length(groups, gold)
    members: dict[str, list[int]] = defaultdict(list)
    for i, group in enumerate(groups):
        members[group].append(i)
    return {
        group: accuracy([gold[i] for i in idx], [predicted[i] for i in idx])
        for group, idx in members.items()
    }


def confusion_matrix(gold: Sequence[str], predicted: Sequence[str]) -> dict[tuple[str, str], int]:
    """``(gold, predicted) -> count`` over the pairs that occur."""
    _same_length(gold, predicted)
    return dict(Counter(zip(gold, predicted, strict=True)))


def length_bucket(chars: int) -> str:
    """The name of the length bucket (characters) a text falls in."""
    for bound, name in LENGTH_BUCKETS:
        if chars < bound:
            return name
    return LONGEST_BUCKET


@dataclass(frozen=True, slots=True)
class Summary:
    """Five-number summary of a sample (nearest-rank quartiles)."""

    n: int
    minimum: float | None
    q1: float | None
    median: float | None
    q3: float | None
    maximum: float | None


def summarise(values: Iterable[float]) -> Summary:
    """Minimum, nearest-rank quartiles and maximum; all None for no values."""
    data = sorted(values)
    if not data:
        return Summary(0, None, None, None, None, None)

    def rank(q: float) -> float:  # nearest rank: the smallest value with >= q of the data
        return data[max(0, math.ceil(q * len(data)) - 1)]

    return Summary(len(data), data[0], rank(0.25), rank(0.5), rank(0.75), data[-1])


def _same_length(a: Sequence[Any], b: Sequence[Any]) -> None:
    if len(a) != len(b):
        raise ValueError(f"sequences differ in length: {len(a)} and {len(b)}")


def first_seen(values: Iterable[str]) -> list[str]:
    """The distinct values in the order they first appear (report rows follow the data)."""
    return list(dict.fromkeys(values))


def sorted_buckets(by_bucket: dict[str, Accuracy]) -> dict[str, Accuracy]:
    """Length buckets from shortest to longest, whatever order they were met in."""
    order = [name for _, name in LENGTH_BUCKETS] + [LONGEST_BUCKET]
    return {name: by_bucket[name] for name in order if name in by_bucket}
