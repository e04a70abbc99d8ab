"""The as-of rounds: cuts are chosen by rule on training data, the bar is the one fixed
in advance, a swap is a swap, additions never touch a rule label, and each round's
rules really predate the files it scores."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from newswire.evaluation.metrics import Scores
from newswire.evaluation.model_candidates import LABELS, STRIKES, TextModel, rule_row
from newswire.evaluation.model_cv import Row, model_labels, tuning_items
from newswire.evaluation.model_rounds import (
    GRID,
    HIGH_MIN_PREDICTED,
    HIGH_PRECISION,
    ROUNDS,
    Verdict,
    best_f1_cut,
    fill,
    high_cut,
    main,
    strikes_only,
    swaps,
    verdict,
)
from newswire.evaluation.rule_outputs import RuleOutput
from tests.evaluation.model_strategies import EVAL, REPO, labels, probabilities

scored = st.lists(st.tuples(st.floats(0, 1), st.booleans()), min_size=1, max_size=60)


# ------------------------------------------------------------------ cuts


def test_best_f1_cut_separates_a_separable_label() -> None:
    p = [0.1, 0.2, 0.3, 0.7, 0.8, 0.9]
    gold = [False, False, False, True, True, True]
    assert 0.3 < best_f1_cut(p, gold) <= 0.7


def test_best_f1_cut_prefers_the_higher_cut_on_a_tie() -> None:
    # every cut between 0.35 and 0.8 gives the same F1: the highest adds least
    assert best_f1_cut([0.3, 0.8], [False, True]) == 0.8


@given(scored)
def test_high_cut_is_sure_enough_on_enough_items_and_the_lowest_such(
    pairs: list[tuple[float, bool]],
) -> None:
    p, gold = [x for x, _ in pairs], [g for _, g in pairs]
    cut = high_cut(p, gold)

    def sure(c: float) -> bool:
        hits = [g for x, g in pairs if x >= c]
        return len(hits) >= HIGH_MIN_PREDICTED and sum(hits) / len(hits) >= HIGH_PRECISION

    if cut is None:
        assert not any(sure(c) for c in GRID)
    else:
        assert sure(cut)
        assert not any(sure(c) for c in GRID if c < cut)


# ------------------------------------------------------------------ systems


@given(labels, labels, probabilities, st.floats(0.05, 0.95))
def test_strikes_only_adds_strike_labels_and_keeps_every_rule_label(
    given_labels: frozenset[str], partial: frozenset[str], p: dict[str, float], cut: float
) -> None:
    rules = RuleOutput(given_labels, partial)
    combined = strikes_only(rules, p, cut)
    assert rules.labels <= combined
    assert combined - rules.labels <= set(STRIKES)


@given(labels, labels, probabilities, st.floats(0.05, 0.95))
def test_fill_adds_a_strike_label_only_where_the_rules_gave_none(
    given_labels: frozenset[str], partial: frozenset[str], p: dict[str, float], cut: float
) -> None:
    rules = RuleOutput(given_labels, partial)
    combined = fill(rules, p, cut)
    assert rules.labels <= combined <= strikes_only(rules, p, cut)
    if given_labels & set(STRIKES):
        assert combined == rules.labels


def test_a_label_without_a_cut_of_its_own_is_never_given() -> None:
    p = dict.fromkeys(LABELS, 1.0)
    assert model_labels(p, {"strikes-on-iran": 0.9}) == {"strikes-on-iran"}


def test_swaps_are_one_direction_called_the_other() -> None:
    on_iran, by_iran = frozenset({"strikes-on-iran"}), frozenset({"iran-strikes"})
    both = on_iran | by_iran
    gold = [on_iran, by_iran, both, on_iran, frozenset()]
    predicted = [on_iran | by_iran, by_iran | on_iran, frozenset(), frozenset(), by_iran]
    # 0: extra iran-strikes on a strike on Iran; 1: the reverse; 2: an exchange, never a
    # swap; 3: a miss is not a swap; 4: no strike in gold, a false label, not a swap
    assert swaps(gold, predicted) == {0, 1}


def _row(f1: dict[str, float]) -> Row:
    return Row({label: Scores(None, None, f1[label], 1) for label in LABELS}, {}, 0, {})


def test_the_bar_needs_both_strike_gains_no_loss_and_no_new_swap() -> None:
    rules = _row(dict.fromkeys(LABELS, 0.8))
    good = {"iraq": 0.795, "us-forces": 0.8, "iran-strikes": 0.83, "strikes-on-iran": 0.825}
    assert verdict(rules, _row(good), 0).passes
    assert not verdict(rules, _row(good), 1).passes
    assert not verdict(rules, _row({**good, "iran-strikes": 0.81}), 0).passes
    assert not verdict(rules, _row({**good, "us-forces": 0.785}), 0).passes
    assert Verdict(dict.fromkeys(LABELS, 0.0), 0).passes is False


# ------------------------------------------------------------------ honesty of the rounds


def _has(commit: str, path: str) -> bool:
    done = subprocess.run(["git", "-C", str(REPO), "cat-file", "-e", f"{commit}:{path}"],
                          capture_output=True, check=False)  # fmt: skip
    return done.returncode == 0


@pytest.mark.parametrize("name", sorted(ROUNDS))
def test_a_rounds_rules_predate_the_files_it_scores_and_know_those_it_trains_on(
    name: str,
) -> None:
    spec = ROUNDS[name]
    for dev in spec.scored:
        assert (EVAL / "dev" / f"topics.{dev}.jsonl").is_file()
        assert not _has(spec.commit, f"tests/fixtures/eval/dev/topics.{dev}.jsonl")
    for dev in spec.train_dev:
        assert _has(spec.commit, f"tests/fixtures/eval/dev/topics.{dev}.jsonl")
    assert not set(spec.scored) & set(spec.train_dev)


def test_main_says_one_line_and_exits_2_on_a_missing_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["A", "--topics", str(tmp_path / "none.jsonl")]) == 2
    assert capsys.readouterr().err == f"error: {tmp_path / 'none.jsonl'}: no such file\n"


# ------------------------------------------------------------------ candidates


def test_rule_features_read_label_evidence_and_score_per_label() -> None:
    rules = RuleOutput(frozenset({"iraq"}), frozenset({"iraq", "us-forces"}),
                       (("iraq", 3.0), ("us-forces", 0.5)))  # fmt: skip
    row = rule_row(rules)
    assert len(row) == 3 * len(LABELS)
    assert row[:3] == [1.0, 1.0, pytest.approx(1.386, abs=1e-3)]
    assert row[3:5] == [0.0, 1.0] and row[-3:] == [0.0, 0.0, 0.0]


@pytest.mark.parametrize("features", ["char2-5", "word1-2", "hash2-5"])
def test_a_round_candidate_learns_and_is_deterministic(features: str) -> None:
    items = tuning_items(EVAL / "topics.jsonl")
    texts = [f"{i.title}\n{i.text}" if i.title else i.text for i in items]
    rows = [[int(label in i.topics) for label in LABELS] for i in items]
    rules = [RuleOutput(frozenset(), frozenset())] * len(items)
    model = TextModel(features, rule_features=True)
    first = model.fit(texts, rules, rows).predict_proba(texts[:20], rules[:20])
    again = TextModel(features, rule_features=True).fit(texts, rules, rows)
    assert first == again.predict_proba(texts[:20], rules[:20])
    right = sum((p >= 0.5) == bool(y) for ps, r in zip(first, rows, strict=False)
                for p, y in zip(ps, r, strict=True))  # fmt: skip
    assert right / (20 * len(LABELS)) > 0.9  # fits what it was trained on
