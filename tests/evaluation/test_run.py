"""``newswire eval`` end to end: with stub stages (errors listed with their evidence), and
one run on the real fixture files that checks the report is complete (not that the
stages meet their targets)."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import pytest

from newswire.enricher.language import LanguageResult
from newswire.enricher.topics import TopicMatch
from newswire.evaluation.metrics import Accuracy, Scores
from newswire.evaluation.run import run_eval

FIXTURES = Path(__file__).parent.parent / "fixtures" / "eval"
TOPICS = FIXTURES / "topics.jsonl"
PAIRS = FIXTURES / "near_duplicates.jsonl"
SUMMARY = re.compile(
    r"^min_topic_f1=(\S+) language_accuracy=(\S+) near_dup_precision=(\S+) near_dup_recall=(\S+)$"
)


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
    assert report.items == 532
    assert set(report.topics) >= {"iraq", "us-forces", "iran-strikes", "strikes-on-iran"}
    # supports are properties of the labels (fixture README), whatever the classifier does
    supports = {topic: report.topic_scores[topic].support for topic in report.topics}
    assert supports == {"iraq": 270, "us-forces": 209, "iran-strikes": 114, "strikes-on-iran": 105}
    assert set(report.topic_scores_by_language) == {"ar", "en", "fa", "ckb", "kmr"}
    assert set(report.language_by_language) == {"ar", "en", "fa", "ckb", "kmr"}
    assert set(report.language_by_kind) == {"headline", "article"}
    assert sum(a.total for a in report.language_by_length.values()) == 532
    assert sum(report.language_confusion.values()) == 532
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
