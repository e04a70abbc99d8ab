"""Would a small text model, trained on more data, have lifted the topic rules on the
blind dev files? Two pre-registered "as-of" experiments (``MODELS.md``)::

    python -m newswire.evaluation.model_rounds A      # round 4
    python -m newswire.evaluation.model_rounds B      # round 5
    python -m newswire.evaluation.model_rounds A B    # both, then the bar over both
    python -m newswire.evaluation.model_rounds B0     # B, trained without round 4

* **A**: the rules as of ``639464d`` (before any dev file's rules) and a model trained
  on the tuning split only, both scored on the six round-4 dev files.
* **B**: the rules as of ``fc52819`` (after round 4, before round 5) and a model
  trained on the tuning split and the six round-4 dev files, both scored on the
  three round-5 dev files.

Neither side has seen the scored files. **Everything a system chooses, it chooses on
its training items** (group k-fold by event, out-of-fold probabilities): the ``fit``
cut per label (best model F1) and the ``high`` cut per strike label (the lowest cut
with out-of-fold precision >= 0.9 on at least 5 predictions). The scored files only
score. The frozen split is dropped by :func:`.model_cv.tuning_items` before any text
is read. Needs scikit-learn (``pip install -e '.[model]'``).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from newswire.evaluation.data import EvaluationDataError, TopicItem, load_topic_items
from newswire.evaluation.metrics import multilabel_counts, scores
from newswire.evaluation.model_candidates import (
    LABELS,
    ROUND_CANDIDATES,
    STRIKES,
    RoundCandidate,
    model_text,
)
from newswire.evaluation.model_cv import (
    COMBINATIONS,
    Cut,
    Labels,
    Probabilities,
    Row,
    check_disjoint,
    event_folds,
    model_labels,
    print_table,
    refuse,
    repo_root,
    snapshot_rules,
    system_row,
    tuning_items,
)
from newswire.evaluation.rule_outputs import RuleOutput

ROUND_4 = ("tplace", "tdir", "tretro", "tmix", "tsoi", "tirs")
ROUND_5 = ("tus", "tretro2", "tsoi2")
GRID = tuple(round(0.05 * k, 2) for k in range(1, 20))
HIGH_PRECISION = 0.9
HIGH_MIN_PREDICTED = 5
#: The bar, fixed before the runs: each strike label's F1 up by this much ...
BAR_GAIN = 0.02
#: ... and no label's F1 down by more than this, and no new direction swap.
BAR_LOSS = 0.01


@dataclass(frozen=True, slots=True)
class Round:
    """Rules as of ``commit``; train on the tuning split plus ``train_dev``; score on
    ``scored``."""

    name: str
    commit: str
    train_dev: tuple[str, ...]
    scored: tuple[str, ...]


ROUNDS = {
    "A": Round("A", "639464d", (), ROUND_4),
    "B": Round("B", "fc52819", ROUND_4, ROUND_5),
    # not part of the bar: B's rules and scored files with A's training items, to see
    # what the 704 round-4 items bought the model
    "B0": Round("B0", "fc52819", (), ROUND_5),
}


@dataclass(frozen=True, slots=True)
class Data:
    """A round's training and scored items, with the as-of rules' output for each."""

    train: list[TopicItem]
    scored: list[TopicItem]
    train_rules: list[RuleOutput]
    scored_rules: list[RuleOutput]


def load_round(spec: Round, topics: Path, repo: Path) -> Data:
    """The items of a round (tuning split and dev files) and the old rules over them."""
    dev = topics.parent / "dev"
    train = tuning_items(topics)
    for name in spec.train_dev:
        train += load_topic_items(dev / f"topics.{name}.jsonl")
    scored = [i for name in spec.scored for i in load_topic_items(dev / f"topics.{name}.jsonl")]
    outputs = snapshot_rules(repo, spec.commit, train + scored)
    return Data(train, scored, outputs[: len(train)], outputs[len(train) :])


# ------------------------------------------------------------------ cuts


def best_f1_cut(probabilities: Sequence[float], gold: Sequence[bool]) -> float:
    """The grid cut with the best F1 (ties: the higher cut, fewer additions)."""

    def f1(cut: float) -> float:
        tp = sum(p >= cut and g for p, g in zip(probabilities, gold, strict=True))
        fp = sum(p >= cut and not g for p, g in zip(probabilities, gold, strict=True))
        fn = sum(p < cut and g for p, g in zip(probabilities, gold, strict=True))
        return 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0

    return max(reversed(GRID), key=f1)


def high_cut(probabilities: Sequence[float], gold: Sequence[bool]) -> float | None:
    """The lowest grid cut whose precision is >= :data:`HIGH_PRECISION` on at least
    :data:`HIGH_MIN_PREDICTED` predictions; None: no cut is that sure."""
    for cut in GRID:
        hits = [g for p, g in zip(probabilities, gold, strict=True) if p >= cut]
        if len(hits) >= HIGH_MIN_PREDICTED and sum(hits) / len(hits) >= HIGH_PRECISION:
            return cut
    return None


@dataclass(frozen=True, slots=True)
class Cuts:
    """The cuts a candidate chose on its training items."""

    fit: dict[str, float]
    high: dict[str, float]  # strike labels that have a sure enough cut


def choose_cuts(
    make: RoundCandidate, items: Sequence[TopicItem], rules: Sequence[RuleOutput], folds: int
) -> Cuts:
    """Cuts from out-of-fold probabilities of group k-fold by event, training items only."""
    splits = event_folds(items, folds)
    check_disjoint(items, splits)
    texts = [model_text(i.title, i.text) for i in items]
    rows = [[int(label in i.topics) for label in LABELS] for i in items]
    found: dict[int, list[float]] = {}
    for train, test in splits:
        model = make().fit([texts[k] for k in train], [rules[k] for k in train],
                           [rows[k] for k in train])  # fmt: skip
        predicted = model.predict_proba([texts[k] for k in test], [rules[k] for k in test])
        found.update(zip(test, predicted, strict=True))
    fit, high = {}, {}
    for column, label in enumerate(LABELS):
        p = [found[k][column] for k in range(len(items))]
        gold = [bool(r[column]) for r in rows]
        fit[label] = best_f1_cut(p, gold)
        sure = high_cut(p, gold) if label in STRIKES else None
        if sure is not None:
            high[label] = sure
    return Cuts(fit, high)


# ------------------------------------------------------------------ systems


def strikes_only(rules: RuleOutput, probabilities: Probabilities, cut: Cut) -> Labels:
    """Rules plus the model's strike labels (never the other labels)."""
    return rules.labels | (model_labels(probabilities, cut) & set(STRIKES))


def fill(rules: RuleOutput, probabilities: Probabilities, cut: Cut) -> Labels:
    """Rules plus the model's strike labels, only where the rules gave no strike label
    (designed after the pre-registered systems were scored: a model label next to a
    rule strike label was mostly the wrong direction)."""
    if rules.labels & set(STRIKES):
        return rules.labels
    return strikes_only(rules, probabilities, cut)


def swaps(gold: Sequence[Labels], predicted: Sequence[Labels]) -> set[int]:
    """Items whose gold has one strike label and not the other, predicted with the
    other one: a strike on Iran called Iran's strike, or the reverse."""
    found = set()
    for k, (g, p) in enumerate(zip(gold, predicted, strict=True)):
        for mine, other in (STRIKES, STRIKES[::-1]):
            if mine in g and other not in g and other in p:
                found.add(k)
    return found


@dataclass(frozen=True, slots=True)
class Verdict:
    """One system against the rules on one round: F1 change per label, new swaps."""

    gains: dict[str, float]
    new_swaps: int

    @property
    def passes(self) -> bool:
        return (
            all(self.gains[label] >= BAR_GAIN for label in STRIKES)
            and all(gain >= -BAR_LOSS for gain in self.gains.values())
            and self.new_swaps == 0
        )


def verdict(rules: Row, system: Row, new_swaps: int) -> Verdict:
    """How a system compares with the rules under the bar."""
    gains = {
        label: (system.scores[label].f1 or 0.0) - (rules.scores[label].f1 or 0.0)
        for label in LABELS
    }
    return Verdict(gains, new_swaps)


Combine = Callable[[RuleOutput, Probabilities, Cut], Labels]


def systems(cuts: Cuts) -> dict[str, tuple[Combine, Cut]]:
    """Every system built from one candidate, with the cut it uses."""
    found: dict[str, tuple[Combine, Cut]] = {
        "model": (lambda _r, p, c: model_labels(p, c), cuts.fit),
        **{name: (combine, cuts.fit) for name, combine in COMBINATIONS.items()},
        "strikes": (strikes_only, cuts.fit),
        "high": (strikes_only, cuts.high),
        "fill": (fill, cuts.high),  # not pre-registered (MODELS.md)
    }
    return found


@dataclass(frozen=True, slots=True)
class Result:
    """A round's rows per system, verdicts, and the cuts each candidate chose."""

    rows: dict[str, Row]
    verdicts: dict[str, Verdict]
    cuts: dict[str, Cuts]


def run_round(
    data: Data, candidates: Mapping[str, RoundCandidate], folds: int, progress: TextIO
) -> Result:
    """Choose cuts on the training items, fit on all of them, score the scored files."""
    gold = [i.topics for i in data.scored]
    base = [r.labels for r in data.scored_rules]
    rule_row = system_row(data.scored, base, base)
    rows, verdicts, chosen = {"rules": rule_row}, {}, {}
    texts = [model_text(i.title, i.text) for i in data.train]
    targets = [[int(label in i.topics) for label in LABELS] for i in data.train]
    scored_texts = [model_text(i.title, i.text) for i in data.scored]
    for name, make in candidates.items():
        print(f"  {name} ...", file=progress, flush=True)
        chosen[name] = cuts = choose_cuts(make, data.train, data.train_rules, folds)
        model = make().fit(texts, data.train_rules, targets)
        probabilities = [
            dict(zip(LABELS, p, strict=True))
            for p in model.predict_proba(scored_texts, data.scored_rules)
        ]
        for system, (combine, cut) in systems(cuts).items():
            predicted = [
                combine(r, p, cut) for r, p in zip(data.scored_rules, probabilities, strict=True)
            ]
            key = f"{system} {name}"
            rows[key] = system_row(data.scored, predicted, base)
            new = swaps(gold, predicted) - swaps(gold, base)
            verdicts[key] = verdict(rule_row, rows[key], len(new))
    return Result(rows, verdicts, chosen)


# ------------------------------------------------------------------ printing


def print_verdicts(result: Result, out: TextIO) -> None:
    """Per system: F1 change per label over the rules, new swaps, pass or not."""
    print(f"\nF1 change over the rules ({', '.join(LABELS)}), new swaps, bar:", file=out)
    for key, v in result.verdicts.items():
        gains = " ".join(f"{v.gains[label]:+.2f}" for label in LABELS)
        print(f"  {key:<30} {gains}  swaps +{v.new_swaps}  {'PASS' if v.passes else '-'}",
              file=out)  # fmt: skip


def print_cuts(result: Result, out: TextIO) -> None:
    """The cuts each candidate chose on its training items."""
    print("\ncuts chosen on the training items (fit per label; high per strike label):", file=out)
    for name, cuts in result.cuts.items():
        fit = " ".join(f"{cuts.fit[label]:.2f}" for label in LABELS)
        high = " ".join(f"{cuts.high[s]:.2f}" if s in cuts.high else "none" for s in STRIKES)
        print(f"  {name:<22} fit {fit}  high {high}", file=out)


def print_rules_swaps(data: Data, out: TextIO) -> None:
    """How many scored items the rules themselves swap, and the scored set's size."""
    gold = [i.topics for i in data.scored]
    base = [r.labels for r in data.scored_rules]
    labelled = multilabel_counts(gold, base, LABELS)
    support = " ".join(f"{label} {scores(c).support}" for label, c in labelled.items())
    print(f"scored support: {support}; the rules swap {len(swaps(gold, base))}", file=out)


def cost(data: Data, make: RoundCandidate) -> tuple[float, int]:
    """Median milliseconds to score one article (one call each, as the stream would)
    with the model trained on the round, and its size."""
    texts = [model_text(i.title, i.text) for i in data.train]
    rows = [[int(label in i.topics) for label in LABELS] for i in data.train]
    model = make().fit(texts, data.train_rules, rows)
    times = []
    for item, rules in zip(data.scored, data.scored_rules, strict=True):
        start = time.perf_counter()
        model.predict_proba([model_text(item.title, item.text)], [rules])
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), model.size_bytes()


def main(argv: Sequence[str] | None = None, out: TextIO = sys.stdout) -> int:
    """Run the rounds asked for; with both, say which systems pass the bar in both."""
    parser = argparse.ArgumentParser(prog="python -m newswire.evaluation.model_rounds")
    parser.add_argument("rounds", nargs="+", choices=sorted(ROUNDS))
    parser.add_argument("--topics", type=Path, default=Path("tests/fixtures/eval/topics.jsonl"))
    parser.add_argument("--folds", type=int, default=5, help="event folds for the cuts (5)")
    parser.add_argument("--model", action="append", choices=sorted(ROUND_CANDIDATES))
    parser.add_argument("--cost", action="store_true", help="also time each candidate")
    args = parser.parse_args(argv)
    candidates = {name: ROUND_CANDIDATES[name] for name in args.model or ROUND_CANDIDATES}
    results = {}
    try:
        if not args.topics.is_file():
            raise EvaluationDataError(f"{args.topics}: no such file")
        repo = repo_root(args.topics.resolve())
        for spec in (ROUNDS[name] for name in dict.fromkeys(args.rounds)):
            data = load_round(spec, args.topics, repo)
            title = (f"round {spec.name}: rules as of {spec.commit}, {len(data.train)} items "
                     f"train, {len(data.scored)} scored ({' '.join(spec.scored)})")  # fmt: skip
            print(f"\n# {title}", file=out)
            print_rules_swaps(data, out)
            results[spec.name] = result = run_round(data, candidates, args.folds, sys.stderr)
            print_table(title, result.rows, out)
            print_verdicts(result, out)
            print_cuts(result, out)
            if args.cost:
                for name, make in candidates.items():
                    median, size = cost(data, make)
                    print(f"  cost {name}: median {median:.3f} ms per article, "
                          f"{size / 1e6:.2f} MB", file=out)  # fmt: skip
    except (EvaluationDataError, ImportError) as exc:
        return refuse(exc)
    if {"A", "B"} <= results.keys():
        bar = [results["A"], results["B"]]
        passing = [key for key in bar[0].verdicts if all(r.verdicts[key].passes for r in bar)]
        print(f"\npasses the bar in A and B: {', '.join(passing) or 'none'}", file=out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
