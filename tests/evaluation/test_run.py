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
from newswire.enricher.overlap import (
    CURVE_POINTS,
    PROBE_BANDS,
    PROBE_ROWS,
    candidate_probability,
)
from newswire.enricher.topics import TopicMatch
from newswire.evaluation.data import load_pairs, load_topic_items
from newswire.evaluation.metrics import Accuracy, Scores
from newswire.evaluation.run import run_eval
from newswire.evaluation.split import load_frozen

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


def _has_row(text: str, label: str, *cells: str) -> bool:
    """A side-by-side row: the label, then each cell after at least one space."""
    pattern = re.escape(label) + "".join(r"\s+" + re.escape(cell) for cell in cells) + "$"
    return re.search(pattern, text, flags=re.MULTILINE) is not None


def _write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    return path


def test_run_eval_splits_by_event_and_prints_side_by_side(tmp_path: Path) -> None:
    topics = [
        {"id": "t1", "lang": "en", "title": None, "text": "baghdad troops",
         "topics": ["iraq", "us-forces"], "event": "ev-tuned"},
        {"id": "t2", "lang": "en", "title": None, "text": "baghdad market", "topics": []},
        {"id": "t3", "lang": "en", "title": None, "text": "baghdad troops",
         "topics": ["iraq"], "event": "ev-frozen"},
    ]  # fmt: skip
    body = "Rockets hit the base at dawn and the army said no soldier was hurt in the attack."
    other = "The central bank raised its rate by half a point to slow prices, the governor said."
    pairs = [
        {"id": "p1", "a": {"text": body}, "b": {"text": body}, "near_duplicate": True,
         "event": "nd-a", "events": ["nd-a"], "ops": ["headline"], "variation": "copy"},
        {"id": "p2", "a": {"text": body}, "b": {"text": other}, "near_duplicate": False,
         "event": "nd-b", "events": ["nd-b", "nd-c"], "variation": "same_topic_other_event"},
        {"id": "p3", "a": {"text": body}, "b": {"text": body}, "near_duplicate": True,
         "variation": "dateline"},
    ]  # fmt: skip
    topics_file = _write_jsonl(tmp_path / "topics.jsonl", topics)
    pairs_file = _write_jsonl(tmp_path / "pairs.jsonl", pairs)
    stubs: dict[str, Any] = {"languages": _StubLanguages(), "classifier": _StubClassifier()}

    # no split files yet: everything is tuning, nothing frozen
    out = io.StringIO()
    run_eval(topics_file, [pairs_file], out=out, **stubs)
    assert _has_row(out.getvalue(), "items", "3", "0")

    (tmp_path / "split").mkdir()
    (tmp_path / "split" / "topics.frozen.txt").write_text("# rule\nev-frozen\n", "utf-8")
    (tmp_path / "split" / "near_duplicates.frozen.txt").write_text("nd-c\n", "utf-8")
    out = io.StringIO()
    report = run_eval(topics_file, [pairs_file], out=out, **stubs)
    text = out.getvalue()
    # the headline report is the frozen split: t3, and p2 (one of its events is frozen)
    assert report.items == 1 and report.topic_scores["us-forces"].support == 0
    assert report.near_duplicates is not None
    assert [o.pair_id for o in report.near_duplicates.pairs] == ["p2"]
    assert _has_row(text, "items", "2", "1")
    assert _has_row(text, "iraq", "0.50/1.00/0.67 (1)", "1.00/1.00/1.00 (1)")
    assert _has_row(text, "recall", "1.000 (2/2)", "- (0/0)")
    assert _has_row(text, "false marks", "- (0/0)", "0.0% (0/1)")
    assert _has_row(text, "  legacy:dateline", "1.000 (1/1)", "- (0/0)")
    assert _has_row(text, "  same_topic_other_event", "- (0/0)", "0.0% (0/1)")
    assert "== exact word-shingle overlap, frozen split" in text
    assert "==== details of the tuning split" in text
    assert text.rstrip().splitlines()[-1] == report.summary_line()

    out = io.StringIO()
    tuning = run_eval(topics_file, [pairs_file], out=out, split="tuning", **stubs)
    assert tuning.items == 2 and "frozen" not in out.getvalue().split("==== details")[0]


# ------------------------------------------------------------------ run_eval on the fixtures


EVENT_PAIRS = FIXTURES / "near_duplicates_events.jsonl"


@pytest.fixture(scope="module")
def fixture_runs() -> dict[str, tuple[Any, str]]:
    runs = {}
    for split in ("tuning", "frozen", "both"):
        out = io.StringIO()
        report = run_eval(TOPICS, [PAIRS, EVENT_PAIRS], out=out, split=split)  # type: ignore[arg-type]
        runs[split] = (report, out.getvalue())
    return runs


def _in_unit_interval(value: float | None) -> bool:
    return value is None or 0.0 <= value <= 1.0


def test_fixture_splits_partition_the_data(fixture_runs) -> None:
    tuning, frozen = fixture_runs["tuning"][0], fixture_runs["frozen"][0]
    items = load_topic_items(TOPICS)
    frozen_events = load_frozen([FIXTURES / "split" / "topics.frozen.txt"])
    assert frozen.items == sum(item.event in frozen_events for item in items) > 0
    assert tuning.items + frozen.items == len(items)
    # supports are properties of the labels (fixture README), whatever the classifier does
    for topic in ("iraq", "us-forces", "iran-strikes", "strikes-on-iran"):
        assert tuning.topic_scores[topic].support + frozen.topic_scores[topic].support == sum(
            topic in item.topics for item in items
        )
    assert set(tuning.language_by_language) == {"ar", "en", "fa", "ckb", "kmr"}
    assert sum(tuning.language_confusion.values()) == tuning.items
    legacy = {p.id for p in load_pairs(PAIRS)}
    tuned = {o.pair_id for o in tuning.near_duplicates.pairs}
    held = {o.pair_id for o in frozen.near_duplicates.pairs}
    assert legacy <= tuned and not tuned & held
    assert len(tuned | held) == 63 + len(load_pairs(EVENT_PAIRS))
    assert held == {p.id for p in load_pairs(EVENT_PAIRS)} - tuned


def test_fixture_report_prints_both_splits_and_the_details(fixture_runs) -> None:
    report, text = fixture_runs["both"]
    for section in (
        "== topics by split", "== language accuracy by split", "== near-duplicates by split",
        "recall by operation", "false marks by kind of negative",
        "== exact word-shingle overlap, tuning split", "== exact word-shingle overlap, frozen",
        "==== details of the tuning split", "== topic errors", "confusion", "== near-dup",
    ):  # fmt: skip
        assert section in text
    assert text.rstrip().splitlines()[-1] == fixture_runs["frozen"][0].summary_line()
    assert report.items == fixture_runs["frozen"][0].items
    # the banding printed is the stream's own, and so is the S-curve under it
    assert f"LSH {PROBE_BANDS} bands x {PROBE_ROWS} row" in text
    lines = text.splitlines()
    curve = lines[lines.index(next(line for line in lines if line.startswith("S-curve at"))) + 1]
    expected = "".join(f"{candidate_probability(v):>6.3f}" for v in CURVE_POINTS)
    assert curve == f"{'by J':<12}{expected}"


def test_fixture_report_numbers_are_in_range(fixture_runs) -> None:
    for split in ("tuning", "frozen"):
        report, text = fixture_runs[split]
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
        values += [o.overlap.containment3 for o in near.pairs if o.overlap]
        assert all(_in_unit_interval(v) for v in values)
        for error in report.topic_errors:
            assert error.gold != error.predicted
            assert all(wrong.evidence for wrong in error.false_positives)
        match = SUMMARY.match(text.rstrip().splitlines()[-1])
        assert match is not None
        assert all(0.0 <= float(v) <= 1.0 for v in match.groups())
        assert float(match.group(1)) == pytest.approx(report.min_topic_f1, abs=5e-4)
