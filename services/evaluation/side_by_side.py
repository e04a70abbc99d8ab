"""The tuning and frozen splits printed side by side, and the exact shingle overlap of
each class of near-duplicate pair.

Why side by side: a figure measured on data the team tuned on flatters; the same
figure on the frozen split next to it shows how much. One column per split chosen
(``newswire eval --split``), in the order tuning, frozen.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

from newswire.evaluation.metrics import Accuracy, Scores, first_seen, summarise
from newswire.evaluation.overlap import Overlap
from newswire.evaluation.report import EvalReport, NearDuplicateReport, PairOutcome, number

Line = Callable[..., None]
_LABEL = 32  # width of the row label column
_CELL = 22  # width of one split's cell


def _fraction(numerator: int, denominator: int) -> str:
    """``0.700 (63/90)``, or ``- (0/0)`` when there is nothing to count."""
    value = numerator / denominator if denominator else None
    return f"{number(value)} ({numerator}/{denominator})"


def _percent(numerator: int, denominator: int) -> str:
    """``1.2% (3/245)``: false marks as a share of the negatives and as a count."""
    value = "-" if not denominator else f"{100 * numerator / denominator:.1f}%"
    return f"{value} ({numerator}/{denominator})"


def _row(label: str, cells: Iterable[str]) -> str:
    return f"{label:<{_LABEL}}" + "".join(f"{cell:>{_CELL}}" for cell in cells)


def print_side_by_side(reports: Mapping[str, EvalReport], line: Line) -> None:
    """Topics, language and near-duplicates, one column per split."""
    names = list(reports)
    _print_topics(reports, names, line)
    line()
    _print_language(reports, names, line)
    nears = {name: r.near_duplicates for name, r in reports.items()}
    if all(near is not None for near in nears.values()):
        line()
        _print_near_duplicates({n: near for n, near in nears.items() if near}, names, line)


def _table(
    title: str, names: Sequence[str], rows: Iterable[tuple[str, Iterable[str]]]
) -> list[str]:
    """A titled table: a header row of split names, then one row per label."""
    return [title, _row("split", names)] + [_row(label, cells) for label, cells in rows]


def _print_topics(reports: Mapping[str, EvalReport], names: Sequence[str], line: Line) -> None:
    topics = first_seen(t for n in names for t in reports[n].topics)
    rows = [("items", [str(reports[n].items) for n in names])] + [
        (topic, [_prf(reports[n].topic_scores.get(topic)) for n in names]) for topic in topics
    ]
    for text in _table("== topics by split: precision / recall / f1 (support)", names, rows):
        line(text)


def _prf(s: Scores | None) -> str:
    if s is None:
        return "-"
    return f"{number(s.precision, 2)}/{number(s.recall, 2)}/{number(s.f1, 2)} ({s.support})"


def _print_language(reports: Mapping[str, EvalReport], names: Sequence[str], line: Line) -> None:
    languages = first_seen(lang for n in names for lang in reports[n].language_by_language)
    rows = [("all", [_acc(reports[n].language_accuracy) for n in names])] + [
        (lang, [_acc(reports[n].language_by_language.get(lang)) for n in names])
        for lang in languages
    ]
    for text in _table("== language accuracy by split", names, rows):
        line(text)


def _acc(value: Accuracy | None) -> str:
    return _fraction(value.correct, value.total) if value else "- (0/0)"


def _print_near_duplicates(
    nears: Mapping[str, NearDuplicateReport], names: Sequence[str], line: Line
) -> None:
    """Recall by operation, false marks by negative kind, per split."""
    line("== near-duplicates by split")
    line(_row("split", names))
    line(_row("pairs", (str(len(nears[n].pairs)) for n in names)))
    line(_row("recall", (_fraction(nears[n].counts.tp, nears[n].counts.support) for n in names)))
    negatives = {n: nears[n].counts.fp + nears[n].counts.tn for n in names}
    line(_row("false marks", (_percent(nears[n].counts.fp, negatives[n]) for n in names)))
    pairs = [o for n in names for o in nears[n].pairs]
    line("recall by operation (a copy counts under each of its operations):")
    for op in first_seen(c for o in pairs if o.gold for c in o.classes):
        chosen = {n: [o for o in nears[n].pairs if o.gold and op in o.classes] for n in names}
        cells = (_fraction(sum(o.predicted for o in chosen[n]), len(chosen[n])) for n in names)
        line(_row(f"  {op}", cells))
    line("false marks by kind of negative:")
    for kind in first_seen(o.variation for o in pairs if not o.gold):
        chosen = {
            n: [o for o in nears[n].pairs if not o.gold and o.variation == kind] for n in names
        }
        cells = (_percent(sum(o.predicted for o in chosen[n]), len(chosen[n])) for n in names)
        line(_row(f"  {kind}", cells))


_FIGURES: tuple[tuple[str, Callable[[Overlap], float]], ...] = (
    ("jaccard3", lambda o: o.jaccard3),
    ("contain3", lambda o: o.containment3),
    ("jaccard4", lambda o: o.jaccard4),
    ("contain4", lambda o: o.containment4),
)


def print_overlap(split: str, near: NearDuplicateReport, line: Line) -> None:
    """Per class of pair, min/median/max of the exact shingle Jaccard and containment
    (the overlap coefficient), so an operating point can be read off."""
    line(f"== exact word-shingle overlap, {split} split: min/median/max per class")
    line(f"{'class':<34}{'n':>4}" + "".join(f"{name:>17}" for name, _ in _FIGURES))
    measured = [o for o in near.pairs if o.overlap is not None]
    rows: list[tuple[str, list[PairOutcome]]] = [
        ("positives: all", [o for o in measured if o.gold]),
        ("negatives: all", [o for o in measured if not o.gold]),
    ]
    for gold, prefix in ((True, "pos"), (False, "neg")):
        chosen = [o for o in measured if o.gold == gold]
        for name in first_seen(c for o in chosen for c in o.classes):
            rows.append((f"{prefix}: {name}", [o for o in chosen if name in o.classes]))
    for label, outcomes in rows:
        cells = []
        for _, figure in _FIGURES:
            s = summarise(figure(o.overlap) for o in outcomes if o.overlap is not None)
            cells.append(f"{number(s.minimum, 2)}/{number(s.median, 2)}/{number(s.maximum, 2)}")
        line(f"{label:<34}{len(outcomes):>4}" + "".join(f"{c:>17}" for c in cells))
