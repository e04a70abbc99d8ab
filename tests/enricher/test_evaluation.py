"""``newswire eval``: the metric maths on hand-computed toy sets, the fixture loaders, and
one run on the real fixture files that checks the report is complete (not that the
stages meet their targets)."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import pytest

from newswire.enricher.evaluation import (
    Accuracy,
    Counts,
    EvaluationDataError,
    Scores,
    accuracy,
    accuracy_by,
    binary_counts,
    confusion_matrix,
    length_bucket,
    load_pairs,
    load_topic_items,
    macro_f1,
    micro_average,
    multilabel_counts,
    ratio,
    run_eval,
    scores,
    summarise,
)
from newswire.enricher.language import LanguageResult
from newswire.enricher.topics import TopicMatch

FIXTURES = Path(__file__).parent.parent / "fixtures" / "eval"
TOPICS = FIXTURES / "topics.jsonl"
PAIRS = FIXTURES / "near_duplicates.jsonl"
SUMMARY = re.compile(
    r"^min_topic_f1=(\S+) language_accuracy=(\S+) near_dup_precision=(\S+) near_dup_recall=(\S+)$"
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


# ------------------------------------------------------------------ loaders


def test_loaders_read_the_fixtures() -> None:
    items = load_topic_items(TOPICS)
    pairs = load_pairs(PAIRS)
    assert len(items) == 190 and len(pairs) == 63
    assert {item.kind for item in items} == {"headline", "article"}
    assert sum(p.near_duplicate for p in pairs) == 37


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"id": "x"\n', ":1: not JSON"),
        ("[1, 2]\n", ":1: expected a JSON object"),
        ('\n{"id": "x", "lang": "ar", "text": "t"}\n', ":2: missing field 'topics'"),
        ('{"id": "x", "lang": "ar", "text": 5, "topics": []}\n', "field 'text' has the wrong type"),
        ('{"id": "x", "lang": "ar", "text": "t", "topics": [1]}\n', "topics must be strings"),
        ("\n\n", "no items"),
    ],
)
def test_malformed_topic_files_name_the_line(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "topics.jsonl"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(EvaluationDataError, match=re.escape(message)):
        load_topic_items(path)


def test_malformed_pair_file(tmp_path: Path) -> None:
    path = tmp_path / "pairs.jsonl"
    path.write_text(json.dumps({"id": "p", "a": {"text": "x"}, "b": {}}) + "\n", encoding="utf-8")
    with pytest.raises(EvaluationDataError, match="side b: missing field 'text'"):
        load_pairs(path)
    with pytest.raises(EvaluationDataError, match="cannot read"):
        load_pairs(tmp_path / "missing.jsonl")


# ------------------------------------------------------------------ run_eval with stubs


class _StubLanguages:
    def identify(self, text: str, *, title: str | None = None, declared: str | None = None):
        code = "fa" if "wrong-language" in text else "en"
        return LanguageResult(code, 0.9, "Latn", None, False)


class _StubClassifier:
    topic_ids = ("iraq", "us-forces")

    def classify(self, *, title: str | None, text: str, language: str) -> list[TopicMatch]:
        found = []
        if "baghdad" in text:
            found.append(TopicMatch("iraq", 0.8, ("baghdad",)))
        if "troops" in text:
            found.append(TopicMatch("us-forces", 0.6, ("troops",)))
        return found


def test_run_eval_lists_errors_with_evidence(tmp_path: Path) -> None:
    rows = [
        {"id": "t1", "lang": "en", "kind": "headline", "title": None,
         "text": "baghdad troops", "topics": ["iraq", "us-forces"]},
        {"id": "t2", "lang": "en", "kind": "headline", "title": None,
         "text": "baghdad market", "topics": []},
        {"id": "t3", "lang": "en", "kind": "article", "title": "T",
         "text": "wrong-language troops", "topics": ["iraq", "us-forces"], "note": "hard"},
    ]  # fmt: skip
    path = tmp_path / "topics.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    out = io.StringIO()
    stubs: dict[str, Any] = {"languages": _StubLanguages(), "classifier": _StubClassifier()}
    report = run_eval(path, None, out=out, **stubs)
    text = out.getvalue()
    # iraq: tp=1 (t1) fp=1 (t2) fn=1 (t3) -> P = R = F1 = 0.5; us-forces: all right
    assert report.topic_scores["iraq"] == Scores(0.5, 0.5, 0.5, 2)
    assert report.topic_scores["us-forces"] == Scores(1.0, 1.0, 1.0, 2)
    assert report.min_topic_f1 == 0.5
    assert report.language_accuracy == Accuracy(2, 3)
    assert report.language_confusion == {("en", "en"): 2, ("en", "fa"): 1}
    assert "FP t2 (en headline) score=0.80 gold={} evidence: baghdad" in text
    assert "FN t3 (en article, detected fa) predicted={us-forces} note: hard" in text
    assert "t3 (article, 22 chars) en -> fa" in text
    assert text.rstrip().splitlines()[-1] == (
        "min_topic_f1=0.500 language_accuracy=0.667 near_dup_precision=- near_dup_recall=-"
    )


# ------------------------------------------------------------------ run_eval on the fixtures


@pytest.fixture(scope="module")
def fixture_run() -> tuple[object, str]:
    out = io.StringIO()
    report = run_eval(TOPICS, PAIRS, out=out)
    return report, out.getvalue()


def _in_unit_interval(value: float | None) -> bool:
    return value is None or 0.0 <= value <= 1.0


def test_fixture_report_is_complete(fixture_run) -> None:
    report, text = fixture_run
    assert report.items == 190
    assert set(report.topics) >= {"iraq", "us-forces", "iran-strikes", "strikes-on-iran"}
    # supports are properties of the labels (fixture README), whatever the classifier does
    supports = {topic: report.topic_scores[topic].support for topic in report.topics}
    assert supports == {"iraq": 99, "us-forces": 66, "iran-strikes": 45, "strikes-on-iran": 28}
    assert set(report.topic_scores_by_language) == {"ar", "en", "fa", "ckb"}
    assert set(report.language_by_language) == {"ar", "en", "fa", "ckb"}
    assert set(report.language_by_kind) == {"headline", "article"}
    assert sum(a.total for a in report.language_by_length.values()) == 190
    assert sum(report.language_confusion.values()) == 190
    near = report.near_duplicates
    assert near is not None and len(near.pairs) == 63
    assert near.counts.total == 63
    assert set(near.by_variation) == {
        "dateline", "byline", "headline", "trimmed_last_paragraph",
        "few_words_changed", "combined", "independent_report",
    }  # fmt: skip
    assert near.positives.n == 37 and near.negatives.n == 26
    for section in ("== topics", "== topic errors", "== language", "confusion", "== near-dup"):
        assert section in text


def test_fixture_report_numbers_are_in_range(fixture_run) -> None:
    report, text = fixture_run
    values: list[float | None] = [report.topic_micro.precision, report.topic_micro.f1]
    for s in report.topic_scores.values():
        values += [s.precision, s.recall, s.f1]
    for per_language in report.topic_scores_by_language.values():
        for s in per_language.values():
            values += [s.precision, s.recall, s.f1]
    values += [a.value for a in report.language_by_length.values()]
    near = report.near_duplicates
    values += [near.scores.precision, near.scores.recall, near.positives.minimum]
    values += [o.similarity for o in near.pairs]
    assert all(_in_unit_interval(v) for v in values)
    for error in report.topic_errors:
        assert error.gold != error.predicted
        assert all(wrong.evidence for wrong in error.false_positives)
    match = SUMMARY.match(text.rstrip().splitlines()[-1])
    assert match is not None
    assert all(0.0 <= float(v) <= 1.0 for v in match.groups())
    assert float(match.group(1)) == pytest.approx(report.min_topic_f1, abs=5e-4)
