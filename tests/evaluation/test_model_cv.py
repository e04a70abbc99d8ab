"""The model-versus-rules measurement: it reads the tuning split only, its folds never
split an event, its combinations never remove a rule label, and the old-rules runner
gives what the rules give in-process."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from newswire.evaluation.data import EvaluationDataError, TopicItem
from newswire.evaluation.model_candidates import LABELS, STRIKES, CharLogistic
from newswire.evaluation.model_cv import (
    COMBINATIONS,
    check_disjoint,
    direction,
    event_folds,
    gated,
    main,
    model_labels,
    snapshot_rules,
    tuning_items,
    union,
)
from newswire.evaluation.rule_outputs import RuleOutput, rule_outputs
from tests.evaluation.model_strategies import EVAL, REPO, labels, probabilities


def _item(item_id: str, event: str, topics: frozenset[str] = frozenset()) -> dict[str, object]:
    return {"id": item_id, "lang": "en", "kind": "headline", "title": None,
            "text": f"headline {item_id}", "topics": sorted(topics), "event": event}  # fmt: skip


def _write(folder: Path, items: list[dict[str, object]], frozen: list[str] | None) -> Path:
    path = folder / "topics.jsonl"
    path.write_text("".join(json.dumps(i) + "\n" for i in items), encoding="utf-8")
    if frozen is not None:
        (folder / "split").mkdir()
        (folder / "split" / "topics.frozen.txt").write_text("\n".join(frozen) + "\n")
    return path


# ------------------------------------------------------------------ the split


def test_frozen_events_never_reach_the_measurement(tmp_path: Path) -> None:
    path = _write(tmp_path, [_item("a", "kept"), _item("b", "hidden")], frozen=["hidden"])
    assert [i.id for i in tuning_items(path)] == ["a"]


def test_a_missing_split_file_is_refused_not_guessed(tmp_path: Path) -> None:
    path = _write(tmp_path, [_item("a", "kept")], frozen=None)
    with pytest.raises(EvaluationDataError, match="missing"):
        tuning_items(path)


def test_the_shipped_fixture_measures_no_frozen_event() -> None:
    frozen = set((EVAL / "split" / "topics.frozen.txt").read_text().split())
    assert frozen  # the split exists, so the filter below is not vacuous
    assert not {i.event for i in tuning_items(EVAL / "topics.jsonl")} & frozen


def test_main_says_one_line_and_exits_2_without_a_split(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, [_item("a", "kept")], frozen=None)
    assert main([str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1


def test_a_missing_topics_file_is_named_not_the_split(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([str(tmp_path / "missing.jsonl")]) == 2
    assert capsys.readouterr().err == f"error: {tmp_path / 'missing.jsonl'}: no such file\n"


# ------------------------------------------------------------------ folds


@settings(deadline=None)  # the first example imports scikit-learn
@given(st.lists(st.sampled_from("abcdefgh"), min_size=8, max_size=40), st.integers(2, 4))
def test_event_folds_never_split_an_event(events: list[str], folds: int) -> None:
    items = [TopicItem(str(k), "en", "headline", None, "t", frozenset(), event=e)
             for k, e in enumerate(events)]  # fmt: skip
    if len(set(events)) < folds:
        return
    splits = event_folds(items, folds)
    check_disjoint(items, splits)
    assert sorted(k for _, test in splits for k in test) == list(range(len(items)))


def test_a_straddling_event_is_caught() -> None:
    items = [TopicItem(str(k), "en", "headline", None, "t", frozenset(), event="same")
             for k in range(2)]  # fmt: skip
    with pytest.raises(AssertionError, match="straddles"):
        check_disjoint(items, [([0], [1])])


# ------------------------------------------------------------------ combinations


@given(labels, labels, probabilities, st.floats(0.05, 0.95))
def test_no_combination_removes_a_rule_label(
    given_labels: frozenset[str], partial: frozenset[str], p: dict[str, float], cut: float
) -> None:
    rules = RuleOutput(given_labels, partial)
    for combine in COMBINATIONS.values():
        assert rules.labels <= combine(rules, p, cut) <= rules.labels | model_labels(p, cut)


@given(labels, labels, probabilities, st.floats(0.05, 0.95))
def test_gated_adds_only_strike_labels_and_only_on_strike_evidence(
    given_labels: frozenset[str], partial: frozenset[str], p: dict[str, float], cut: float
) -> None:
    rules = RuleOutput(given_labels, partial)
    added = gated(rules, p, cut) - rules.labels
    assert added <= set(STRIKES)
    if not partial & set(STRIKES):
        assert not added


def test_direction_decides_only_when_the_rules_left_it_open() -> None:
    confident = {"iraq": 0.9, "us-forces": 0.9, "iran-strikes": 0.1, "strikes-on-iran": 0.8}
    open_ = RuleOutput(frozenset({"iraq"}), frozenset({"iraq", "iran-strikes"}))
    assert direction(open_, confident, 0.5) == {"iraq", "strikes-on-iran"}
    decided = RuleOutput(frozenset({"iran-strikes"}), frozenset({"iran-strikes"}))
    assert direction(decided, confident, 0.5) == {"iran-strikes"}
    assert union(decided, confident, 0.5) == {"iran-strikes", "iraq", "us-forces",
                                              "strikes-on-iran"}  # fmt: skip


# ------------------------------------------------------------------ real parts


def test_the_char_model_learns_and_is_deterministic() -> None:
    items = tuning_items(EVAL / "topics.jsonl")
    texts = [f"{i.title}\n{i.text}" if i.title else i.text for i in items]
    rows = [[int(label in i.topics) for label in LABELS] for i in items]
    first = CharLogistic().fit(texts, rows).predict_proba(texts[:20])
    again = CharLogistic().fit(texts, rows).predict_proba(texts[:20])
    assert first == again
    right = sum(
        (p >= 0.5) == bool(y)
        for ps, r in zip(first, rows, strict=False)
        for p, y in zip(ps, r, strict=True)
    )
    assert right / (20 * len(LABELS)) > 0.9  # fits what it was trained on


def test_rules_at_a_commit_run_from_that_commits_source() -> None:
    items = tuning_items(EVAL / "topics.jsonl")[:12]
    records = [{"title": i.title, "text": i.text} for i in items]
    # HEAD's committed rules in a child process equal the same rules in-process.
    assert snapshot_rules(REPO, "HEAD", items) == rule_outputs(records)


def test_an_unknown_commit_is_an_error_not_a_traceback() -> None:
    with pytest.raises(EvaluationDataError, match="git"):
        snapshot_rules(REPO, "no-such-commit-anywhere", [])


def test_main_prints_every_system_on_a_small_tuning_file(tmp_path: Path) -> None:
    kept = tuning_items(EVAL / "topics.jsonl")[:120]
    rows = [{"id": i.id, "lang": i.lang, "kind": i.kind, "title": i.title, "text": i.text,
             "topics": sorted(i.topics), "event": i.event} for i in kept]  # fmt: skip
    path = _write(tmp_path, rows, frozen=[])
    out = io.StringIO()
    assert main([str(path), "--folds", "3", "--model", "charlr C=4"], out=out) == 0
    report = out.getvalue()
    for system in ("rules", "model charlr C=4", "union", "gated", "direction"):
        assert f"| {system}" in report
    assert "ms per article" in report
