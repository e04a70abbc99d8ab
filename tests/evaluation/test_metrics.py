"""The metric maths of ``newswire eval`` on hand-computed toy sets."""

from __future__ import annotations

import pytest

from newswire.evaluation.metrics import (
    Accuracy,
    Counts,
    Scores,
    accuracy,
    accuracy_by,
    binary_counts,
    confusion_matrix,
    length_bucket,
    macro_f1,
    micro_average,
    multilabel_counts,
    ratio,
    scores,
    summarise,
)

# ------------------------------------------------------------------ metric maths


def test_scores_hand_computed() -> None:
    # tp=3 fp=1 fn=2: P = 3/4, R = 3/5, F1 = 2PR/(P+R) = 0.9/1.35 = 2/3
    s = scores(Counts(tp=3, fp=1, fn=2, tn=7))
    assert s.precision == pytest.approx(0.75)
    assert s.recall == pytest.approx(0.6)
    assert s.f1 == pytest.approx(2 / 3)
    assert s.support == 5


def test_scores_when_undefined() -> None:
    assert scores(Counts()) == Scores(None, None, None, 0)
    only_missed = scores(Counts(fn=4))  # nothing predicted: precision undefined
    assert (only_missed.precision, only_missed.recall, only_missed.f1) == (None, 0.0, 0.0)
    only_wrong = scores(Counts(fp=2))  # nothing to find: recall undefined
    assert (only_wrong.precision, only_wrong.recall, only_wrong.f1) == (0.0, None, 0.0)
    assert ratio(1, 0) is None and ratio(1, 4) == 0.25


def test_multilabel_toy_set_hand_computed() -> None:
    gold = [{"a", "b"}, {"a"}, set(), {"b"}]
    predicted = [{"a"}, {"a", "b"}, {"b"}, set()]
    counts = multilabel_counts(gold, predicted, ["a", "b", "c"])
    assert counts["a"] == Counts(tp=2, fp=0, fn=0, tn=2)
    assert counts["b"] == Counts(tp=0, fp=2, fn=2, tn=0)
    assert counts["c"] == Counts(tn=4)
    per_label = {label: scores(c) for label, c in counts.items()}
    assert per_label["a"] == Scores(1.0, 1.0, 1.0, 2)
    assert per_label["b"] == Scores(0.0, 0.0, 0.0, 2)
    assert per_label["c"] == Scores(None, None, None, 0)
    micro = micro_average(counts.values())  # tp=2 fp=2 fn=2
    assert (micro.precision, micro.recall, micro.f1) == (0.5, 0.5, 0.5)
    assert macro_f1(per_label) == 0.5  # c has no F1 and is left out
    assert macro_f1({}) is None


def test_binary_counts() -> None:
    gold = [True, True, False, False, True]
    predicted = [True, False, True, False, True]
    assert binary_counts(gold, predicted) == Counts(tp=2, fp=1, fn=1, tn=1)
    with pytest.raises(ValueError):
        binary_counts([True], [True, False])


def test_counts_add_up() -> None:
    total = Counts(1, 2, 3, 4) + Counts(10, 20, 30, 40)
    assert total == Counts(11, 22, 33, 44)
    assert (total.support, total.predicted, total.total) == (44, 33, 110)


def test_accuracy_and_groups() -> None:
    gold = ["ar", "ar", "fa", "ckb", "fa"]
    predicted = ["ar", "fa", "fa", "ckb", "ar"]
    overall = accuracy(gold, predicted)
    assert overall == Accuracy(3, 5) and overall.value == pytest.approx(0.6)
    assert accuracy([], []).value is None
    by_language = accuracy_by(gold, gold, predicted)
    assert by_language == {"ar": Accuracy(1, 2), "fa": Accuracy(1, 2), "ckb": Accuracy(1, 1)}
    by_kind = accuracy_by(["h", "a", "a", "h", "a"], gold, predicted)
    assert by_kind == {"h": Accuracy(2, 2), "a": Accuracy(1, 3)}


def test_confusion_matrix() -> None:
    matrix = confusion_matrix(["ar", "ar", "fa", "fa", "fa"], ["ar", "fa", "fa", "fa", "ur"])
    assert matrix == {("ar", "ar"): 1, ("ar", "fa"): 1, ("fa", "fa"): 2, ("fa", "ur"): 1}


@pytest.mark.parametrize(
    ("chars", "bucket"),
    [(0, "<100"), (99, "<100"), (100, "100-299"), (299, "100-299"), (300, "300-499"),
     (499, "300-499"), (500, ">=500"), (10_000, ">=500")],
)  # fmt: skip
def test_length_buckets(chars: int, bucket: str) -> None:
    assert length_bucket(chars) == bucket


def test_summarise_nearest_rank() -> None:
    summary = summarise([0.9, 0.1, 0.5, 0.3, 0.7, 0.2, 0.8, 0.4])
    # sorted 0.1 0.2 0.3 0.4 0.5 0.7 0.8 0.9; ranks ceil(q*8): 2, 4, 6
    assert (summary.n, summary.minimum, summary.maximum) == (8, 0.1, 0.9)
    assert (summary.q1, summary.median, summary.q3) == (0.2, 0.4, 0.7)
    assert summarise([0.5]).median == 0.5
    assert summarise([]).n == 0 and summarise([]).median is None
