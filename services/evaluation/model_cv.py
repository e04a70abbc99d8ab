"""Does a small text model help the topic rules? Measured on the tuning split only.

Issue 12 asks to *measure before choosing* a model for what the rules miss on unseen
events (mostly the two strike labels). This is that measurement; it ships no model::

    python -m newswire.evaluation.model_cv tests/fixtures/eval/topics.jsonl \
        [--folds 5] [--as-of 13111ee] [--cut 0.5]

**Only the tuning split is read.** Items whose event is listed in
``split/topics.frozen.txt`` are dropped before anything else, and a missing split
file is an error (without it every frozen item would pass as tuning). Two
experiments stand in for unseen events:

* **cv** - group k-fold by ``event`` over the tuning items: each fold's model is
  trained on the other folds' events. The *current* rules were tuned on all these
  items, so their row is in-sample and flatters them; the model's is honest.
* **as-of COMMIT** - the way it really happened: the rules *as they were* at COMMIT
  (before the new items existed, run from that commit's source by
  :mod:`.rule_outputs`) and a model trained on the events known at COMMIT, both
  scored on the tuning events that did not exist then. Neither side has seen them.

Systems, per label: ``rules``; ``model`` (probability >= cut); ``union`` (rules plus
every model label); ``gated`` (rules plus a model strike label only where the rules
saw some strike evidence, a strike topic scored above zero); ``direction`` (only
where the rules saw strike evidence but gave no strike label, the model picks). No
combination removes a rule label. ``changed`` counts items whose labels differ from
the rules'. Needs ``pip install -e '.[model]'``; the stream never imports this.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from newswire.evaluation.data import EvaluationDataError, TopicItem, load_topic_items
from newswire.evaluation.metrics import Scores, first_seen, multilabel_counts, scores
from newswire.evaluation.model_candidates import (
    CANDIDATES,
    LABELS,
    STRIKES,
    Candidate,
    model_text,
)
from newswire.evaluation.rule_outputs import RuleOutput, rule_outputs
from newswire.evaluation.split import TOPICS_SPLIT, load_frozen, split_file, split_of

Labels = frozenset[str]
Probabilities = dict[str, float]
Cut = float | Mapping[str, float]  # one cut for every label, or a cut per label
Fold = tuple[list[int], list[int]]  # (train, test) item indices


@dataclass(frozen=True, slots=True)
class Experiment:
    """Items, the train/test folds over them, and the rules' output per item."""

    name: str
    items: list[TopicItem]
    folds: list[Fold]
    rules: dict[int, RuleOutput]  # for every test index

    @property
    def tested(self) -> list[int]:
        return sorted(k for _, test in self.folds for k in test)


def tuning_items(path: Path) -> list[TopicItem]:
    """The labelled items outside the frozen split; refuses to run without the split
    file, because without it every frozen item would pass as tuning."""
    split = split_file(path, TOPICS_SPLIT)
    if not split.exists():
        raise EvaluationDataError(f"{split}: missing; refusing to guess the frozen split")
    frozen = load_frozen([split])
    return [i for i in load_topic_items(path) if split_of([i.event], frozen) == "tuning"]


def _group(item: TopicItem) -> str:
    return item.event or item.id


def event_folds(items: Sequence[TopicItem], folds: int) -> list[Fold]:
    """Group k-fold by event (deterministic: sklearn's GroupKFold without shuffling)."""
    from sklearn.model_selection import GroupKFold

    groups = [_group(i) for i in items]
    splits = GroupKFold(n_splits=folds).split(list(range(len(items))), groups=groups)
    return [(list(map(int, train)), list(map(int, test))) for train, test in splits]


def check_disjoint(items: Sequence[TopicItem], folds: Sequence[Fold]) -> None:
    """No event may be on both sides of a fold: that would leak the answer."""
    for train, test in folds:
        if {_group(items[k]) for k in train} & {_group(items[k]) for k in test}:
            raise AssertionError("an event straddles the training and the test side")


def out_of_fold(experiment: Experiment, make: Candidate) -> dict[int, Probabilities]:
    """Per test item, each label's probability from a model that never saw its event."""
    items = experiment.items
    texts = [model_text(i.title, i.text) for i in items]
    rows = [[int(label in i.topics) for label in LABELS] for i in items]
    found: dict[int, Probabilities] = {}
    for train, test in experiment.folds:
        model = make().fit([texts[k] for k in train], [rows[k] for k in train])
        for k, row in zip(test, model.predict_proba([texts[k] for k in test]), strict=True):
            found[k] = dict(zip(LABELS, row, strict=True))
    return found


def model_labels(probabilities: Probabilities, cut: Cut) -> Labels:
    """The labels whose probability reaches ``cut`` (a label missing from a per-label
    cut is never given)."""
    if isinstance(cut, Mapping):
        return frozenset(
            label for label, p in probabilities.items() if p >= cut.get(label, math.inf)
        )
    return frozenset(label for label, p in probabilities.items() if p >= cut)


def union(rules: RuleOutput, probabilities: Probabilities, cut: Cut) -> Labels:
    """Rules plus every label the model gives."""
    return rules.labels | model_labels(probabilities, cut)


def gated(rules: RuleOutput, probabilities: Probabilities, cut: Cut) -> Labels:
    """Rules plus a model strike label where the rules saw a strike at all."""
    if not rules.partial & set(STRIKES):
        return rules.labels
    return rules.labels | (model_labels(probabilities, cut) & set(STRIKES))


def direction(rules: RuleOutput, probabilities: Probabilities, cut: Cut) -> Labels:
    """Where the rules saw a strike but gave no strike label, the model picks which."""
    if rules.labels & set(STRIKES) or not rules.partial & set(STRIKES):
        return rules.labels
    return rules.labels | (model_labels(probabilities, cut) & set(STRIKES))


COMBINATIONS: dict[str, Callable[[RuleOutput, Probabilities, Cut], Labels]] = {
    "union": union,
    "gated": gated,
    "direction": direction,
}


@dataclass(frozen=True, slots=True)
class Row:
    """One system's per-label scores, the strike labels' F1 per language, how many
    items it labels unlike the rules, and per label the labels it added over the
    rules that were right and wrong (what a model on top of the rules really buys)."""

    scores: dict[str, Scores]
    by_language: dict[str, dict[str, Scores]]
    changed: int
    added: dict[str, tuple[int, int]]


def system_row(
    items: Sequence[TopicItem], predicted: Sequence[Labels], rules: Sequence[Labels]
) -> Row:
    gold = [i.topics for i in items]
    counts = multilabel_counts(gold, predicted, LABELS)
    by_language = {}
    for language in first_seen(i.lang for i in items):
        mine = [k for k, i in enumerate(items) if i.lang == language]
        strikes = multilabel_counts([gold[k] for k in mine], [predicted[k] for k in mine], STRIKES)
        by_language[language] = {label: scores(c) for label, c in strikes.items()}
    added = {
        label: (
            sum(
                label in p - r and label in g
                for g, p, r in zip(gold, predicted, rules, strict=True)
            ),
            sum(
                label in p - r and label not in g
                for g, p, r in zip(gold, predicted, rules, strict=True)
            ),
        )
        for label in LABELS
    }
    return Row(
        {label: scores(c) for label, c in counts.items()},
        by_language,
        sum(p != r for p, r in zip(predicted, rules, strict=True)),
        added,
    )


def evaluate(
    experiment: Experiment, candidates: dict[str, Candidate], cut: float
) -> dict[str, Row]:
    """Every system's row on the experiment's test items."""
    check_disjoint(experiment.items, experiment.folds)
    tested = experiment.tested
    items = [experiment.items[k] for k in tested]
    rules = [experiment.rules[k] for k in tested]
    base = [r.labels for r in rules]
    rows = {"rules": system_row(items, base, base)}
    for name, make in candidates.items():
        found = out_of_fold(experiment, make)
        probabilities = [found[k] for k in tested]
        rows[f"model {name}"] = system_row(
            items, [model_labels(p, cut) for p in probabilities], base
        )
        for combination, combine in COMBINATIONS.items():
            predicted = [combine(r, p, cut) for r, p in zip(rules, probabilities, strict=True)]
            rows[f"{combination} {name}"] = system_row(items, predicted, base)
    return rows


def cv_experiment(items: list[TopicItem], folds: int) -> Experiment:
    """Group k-fold by event with the current rules (in-sample for the rules)."""
    records = [{"title": i.title, "text": i.text} for i in items]
    rules = dict(enumerate(rule_outputs(records)))
    return Experiment(f"cv: {folds} folds by event", items, event_folds(items, folds), rules)


def as_of_experiment(items: list[TopicItem], topics: Path, commit: str) -> Experiment:
    """Train on the events known at ``commit``, test on the tuning events added after
    it, with the rules as they were at ``commit``."""
    repo = repo_root(topics)
    relative = topics.resolve().relative_to(repo).as_posix()
    old = _git(repo, "show", f"{commit}:{relative}").decode("utf-8")
    known_ids = {json.loads(line)["id"] for line in old.splitlines() if line.strip()}
    known = {_group(i) for i in items if i.id in known_ids}
    train = [k for k, i in enumerate(items) if _group(i) in known]
    test = [k for k, i in enumerate(items) if _group(i) not in known]
    if not train or not test:
        raise EvaluationDataError(f"{commit}: no tuning events were added after it")
    outputs = snapshot_rules(repo, commit, [items[k] for k in test])
    name = f"as-of {commit}: {len(known)} old events train, {len(test)} new items test"
    return Experiment(name, items, [(train, test)], dict(zip(test, outputs, strict=True)))


def snapshot_rules(repo: Path, commit: str, items: Sequence[TopicItem]) -> list[RuleOutput]:
    """The rules (taxonomy *and* code) as they were at ``commit``, over the items: that
    commit's source is laid out as the ``newswire`` package in a temporary folder and
    :mod:`.rule_outputs` runs against it in a child process."""
    archive = _git(repo, "archive", commit, "services", "schemas")
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(root / "tree", filter="data")
        package = root / "pkg" / "newswire"
        shutil.copytree(root / "tree" / "services", package)
        shutil.copytree(root / "tree" / "schemas", package / "schemas", dirs_exist_ok=True)
        script = root / "rule_outputs.py"
        shutil.copy(Path(__file__).with_name("rule_outputs.py"), script)
        lines = [json.dumps({"id": i.id, "title": i.title, "text": i.text}) for i in items]
        done = subprocess.run(
            [sys.executable, str(script)],
            input="\n".join(lines),
            capture_output=True,
            text=True,
            cwd=root,
            env={**os.environ, "PYTHONPATH": str(root / "pkg")},
            check=False,
        )
    if done.returncode != 0:
        raise EvaluationDataError(f"rules at {commit} failed: {done.stderr.strip()[-500:]}")
    header, *rows = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    if not Path(header["package"]).is_relative_to(Path(folder).resolve()):
        raise EvaluationDataError(f"rules at {commit}: ran {header['package']}, not the commit")
    if [r["id"] for r in rows] != [i.id for i in items]:
        raise EvaluationDataError(f"rules at {commit}: output does not match the items")
    return [
        RuleOutput(
            frozenset(r["labels"]), frozenset(r["partial"]), tuple(sorted(r["scores"].items()))
        )
        for r in rows
    ]


def repo_root(path: Path) -> Path:
    """The top of the git work tree holding ``path`` (git archive wants it)."""
    return Path(_git(path.parent, "rev-parse", "--show-toplevel").decode().strip()).resolve()


def _git(where: Path, *args: str) -> bytes:
    done = subprocess.run(["git", "-C", str(where), *args], capture_output=True, check=False)
    if done.returncode != 0:
        raise EvaluationDataError(f"git {args[0]}: {done.stderr.decode().strip()}")
    return done.stdout


def cost(items: Sequence[TopicItem], make: Candidate) -> tuple[float, int]:
    """Median milliseconds to score one article (one call each, as the stream would)
    with a model trained on all the items, and the size of the model as shipped."""
    texts = [model_text(i.title, i.text) for i in items]
    rows = [[int(label in i.topics) for label in LABELS] for i in items]
    model = make().fit(texts, rows)
    times = []
    for text in texts:
        start = time.perf_counter()
        model.predict_proba([text])
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), model.size_bytes()


def _fmt(value: float | None) -> str:
    return "   -" if value is None else f"{value:.2f}"


def print_table(title: str, rows: dict[str, Row], out: TextIO) -> None:
    """Per system: P/R/F1 per label and the items it changed; then the labels each
    system added over the rules (right/wrong); then the strike labels' F1 by language."""
    print(f"\n## {title}\n", file=out)
    print(
        f"| system | {' | '.join(f'{label} P / R / F1' for label in LABELS)} | changed |", file=out
    )
    print("|---" * (len(LABELS) + 2) + "|", file=out)
    for system, row in rows.items():
        cells = " | ".join(
            f"{_fmt(s.precision)} / {_fmt(s.recall)} / {_fmt(s.f1)}"
            for s in (row.scores[label] for label in LABELS)
        )
        print(f"| {system} | {cells} | {row.changed} |", file=out)
    print(f"\nadded over the rules, right/wrong: {', '.join(LABELS)}", file=out)
    for system, row in rows.items():
        if system != "rules":
            added = "  ".join(f"{r}/{w}" for r, w in (row.added[label] for label in LABELS))
            print(f"  {system:<22} {added}", file=out)
    languages = list(next(iter(rows.values())).by_language)
    print(f"\nF1 by language, {' then '.join(STRIKES)}: {' '.join(languages)}", file=out)
    for system, row in rows.items():
        cells = "  ".join(
            " ".join(_fmt(row.by_language[language][label].f1) for language in languages)
            for label in STRIKES
        )
        print(f"  {system:<22} {cells}", file=out)


def refuse(exc: EvaluationDataError | ImportError) -> int:
    """One line on stderr and exit status 2: bad input, or the model extra missing."""
    extra = " (install the model extra: pip install -e '.[model]')"
    print(f"error: {exc}{extra if isinstance(exc, ImportError) else ''}", file=sys.stderr)
    return 2


def main(argv: Sequence[str] | None = None, out: TextIO = sys.stdout) -> int:
    """Print the tables and each model's speed and size; 2 on bad input."""
    parser = argparse.ArgumentParser(prog="python -m newswire.evaluation.model_cv")
    parser.add_argument("topics", type=Path, help="labelled topics file; only tuning is read")
    parser.add_argument("--folds", type=int, default=5, help="event folds of the cv (5)")
    parser.add_argument("--as-of", help="also: rules and known events as of this commit")
    parser.add_argument("--cut", type=float, default=0.5, help="model probability cut (0.5)")
    parser.add_argument("--model", action="append", choices=sorted(CANDIDATES))
    args = parser.parse_args(argv)
    candidates = {name: CANDIDATES[name] for name in args.model or CANDIDATES}
    try:
        if not args.topics.is_file():
            raise EvaluationDataError(f"{args.topics}: no such file")
        items = tuning_items(args.topics)
        events = len({_group(i) for i in items})
        if not 2 <= args.folds <= events:
            raise EvaluationDataError(f"--folds must be between 2 and {events} (events)")
        experiments = [cv_experiment(items, args.folds)]
        if args.as_of:
            experiments.append(as_of_experiment(items, args.topics, args.as_of))
    except (EvaluationDataError, ImportError) as exc:
        return refuse(exc)
    print(f"tuning split: {len(items)} items, {events} events; cut p >= {args.cut}", file=out)
    for experiment in experiments:
        print_table(experiment.name, evaluate(experiment, candidates, args.cut), out)
    print("\n## cost (trained on all tuning items)", file=out)
    for name, make in candidates.items():
        median, size = cost(items, make)
        print(f"{name:<14} median {median:.3f} ms per article, {size / 1e6:.2f} MB", file=out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
