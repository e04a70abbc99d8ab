"""The plain-text report of ``newswire eval``: tables a person reads, then one line a
script reads (:meth:`EvalReport.summary_line`)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from pathlib import Path
from typing import TextIO

from newswire.evaluation.metrics import Accuracy, first_seen, scores, summarise
from newswire.evaluation.report import EvalReport, NearDuplicateReport, number


def _acc(value: Accuracy) -> str:
    """An accuracy with the counts behind it: ``0.984 (187/190)``."""
    return f"{number(value.value)} ({value.correct}/{value.total})"


Line = Callable[..., None]  # writes one line of the report (no argument: an empty line)


def print_report(
    report: EvalReport,
    out: TextIO,
    *,
    topics_file: Path | None = None,
    pairs_files: Sequence[Path] = (),
    summary: bool = True,
) -> None:
    """Topics, topic errors, language, near-duplicates (if measured), then the summary
    (unless ``summary`` is false: the caller prints its own last line)."""

    def line(text: str = "") -> None:
        out.write(text + "\n")

    _print_topics(report, line, topics_file)
    line()
    _print_topic_errors(report, line)
    line()
    _print_language(report, line)
    if report.near_duplicates is not None:
        line()
        _print_near_duplicates(report.near_duplicates, line, pairs_files)
    if summary:
        line()
        line(report.summary_line())


def _print_topics(report: EvalReport, line: Line, topics_file: Path | None) -> None:
    """Per topic: precision, recall, F1 and support, overall then per language."""
    line(f"== topics: {report.items} items" + (f" from {topics_file}" if topics_file else ""))
    line(f"{'topic':<18}{'lang':<6}{'precision':>10}{'recall':>8}{'f1':>8}{'support':>9}")
    for topic in report.topics:
        rows = [("all", report.topic_scores[topic])] + [
            (lang, per[topic]) for lang, per in report.topic_scores_by_language.items()
        ]
        for lang, s in rows:
            line(
                f"{topic if lang == 'all' else '':<18}{lang:<6}{number(s.precision):>10}"
                f"{number(s.recall):>8}{number(s.f1):>8}{s.support:>9}"
            )
    micro = report.topic_micro
    line(
        f"micro: precision={number(micro.precision)} recall={number(micro.recall)} "
        f"f1={number(micro.f1)}  macro_f1={number(report.topic_macro_f1)}"
    )


def _print_topic_errors(report: EvalReport, line: Line) -> None:
    """Per topic its false positives (with the evidence that made them) and negatives."""
    line(
        f"== topic errors: {len(report.topic_errors)} of {report.items} items "
        "differ from the labels"
    )
    for topic in report.topics:
        fps = [(e, w) for e in report.topic_errors for w in e.false_positives if w.topic == topic]
        fns = [e for e in report.topic_errors if topic in e.false_negatives]
        if not fps and not fns:
            continue
        line(f"{topic}: {len(fps)} false positives, {len(fns)} false negatives")
        for error, wrong in fps:
            line(
                f"  FP {error.item_id} ({error.lang} {error.kind}) score={wrong.score:.2f} "
                f"gold={_labels(error.gold)} evidence: {', '.join(wrong.evidence)}"
            )
        for error in fns:
            line(
                f"  FN {error.item_id} ({error.lang} {error.kind}, "
                f"detected {error.detected_language}) "
                f"predicted={_labels(error.predicted)} note: {_clip(error.note, 90)}"
            )


def _print_language(report: EvalReport, line: Line) -> None:
    """Language accuracy, by group, the confusion matrix, and every miss."""
    line(f"== language: accuracy {_acc(report.language_accuracy)}")
    for title, groups in (
        ("by language", report.language_by_language),
        ("by kind", report.language_by_kind),
        ("by length (chars)", report.language_by_length),
    ):
        line(f"{title}: " + "  ".join(f"{name} {_acc(a)}" for name, a in groups.items()))
    _print_confusion(report.language_confusion, line)
    for error in report.language_errors:
        line(
            f"  {error.item_id} ({error.kind}, {error.chars} chars) "
            f"{error.gold} -> {error.predicted} "
            f"confidence={error.confidence:.2f}: {error.excerpt}"
        )


def _print_near_duplicates(
    near: NearDuplicateReport, line: Line, pairs_files: Sequence[Path]
) -> None:
    """Near-duplicate precision and recall, per language and variation, the similarity
    spread of both classes, and every pair judged wrongly."""
    line(
        f"== near-duplicates: {len(near.pairs)} pairs"
        + (f" from {', '.join(map(str, pairs_files))}" if pairs_files else "")
    )
    line(f"{near.detector}; {near.banding}")
    _print_curve(near, line)
    s = near.scores
    c = near.counts
    line(
        f"precision={number(s.precision)} recall={number(s.recall)} f1={number(s.f1)} "
        f"(tp={c.tp} fp={c.fp} fn={c.fn} tn={c.tn})"
    )
    for lang, counts in near.by_language.items():
        ls = scores(counts)
        line(
            f"  {lang}: precision={number(ls.precision)} recall={number(ls.recall)} "
            f"pairs={counts.total}"
        )
    _print_variations(near, line)
    for name, summary in (
        ("near-duplicates", near.positives),
        ("non-duplicates", near.negatives),
    ):
        line(
            f"similarity of {name} (n={summary.n}): min={number(summary.minimum)} "
            f"q1={number(summary.q1)} median={number(summary.median)} q3={number(summary.q3)} "
            f"max={number(summary.maximum)}"
        )
    for o in near.pairs:
        if o.gold != o.predicted:
            kind = "FN" if o.gold else "FP"
            line(
                f"  {kind} {o.pair_id} ({o.lang} {o.variation}) similarity={o.similarity:.3f} "
                f"containment={number(o.containment)} shared_bands={o.shared_bands} "
                f"exact={o.exact}"
            )


def _print_curve(near: NearDuplicateReport, line: Line) -> None:
    """The S-curve: probability that a pair becomes a candidate (shares a probe band),
    by Jaccard and by containment for a copy as long as its original or half as long."""
    line(f"{'S-curve at':<12}" + "".join(f"{p.value:>6.1f}" for p in near.curve))
    for label, values in (
        ("by J", [p.by_jaccard for p in near.curve]),
        ("by C, 1:1", [p.by_containment_full for p in near.curve]),
        ("by C, 1:2", [p.by_containment_half for p in near.curve]),
    ):
        line(f"{label:<12}" + "".join(f"{v:>6.3f}" for v in values))


def _print_variations(near: NearDuplicateReport, line: Line) -> None:
    """Per kind of rewrite: how many pairs, how many judged duplicates, similarity range."""
    line(
        f"{'variation':<24}{'pairs':>6}{'said dup':>9}{'exact':>6}"
        f"{'sim min':>9}{'median':>8}{'max':>7}"
    )
    for variation, counts in near.by_variation.items():
        chosen = [o for o in near.pairs if o.variation == variation]
        sims = summarise(o.similarity for o in chosen)
        exact = sum(o.exact for o in chosen)
        line(
            f"{variation:<24}{counts.total:>6}{counts.predicted:>9}{exact:>6}"
            f"{number(sims.minimum):>9}"
            f"{number(sims.median):>8}{number(sims.maximum):>7}"
        )


def _print_confusion(matrix: Mapping[tuple[str, str], int], line: Line) -> None:
    """Rows gold, columns detected; the gold languages first, then languages only detected."""
    gold = first_seen(g for g, _ in sorted(matrix))
    predicted = sorted({p for _, p in matrix} | set(gold), key=lambda p: (p not in gold, p))
    width = max([len(p) for p in predicted] + [4]) + 2
    line("confusion (rows gold, columns detected):")
    line(f"{'':<8}" + "".join(f"{p:>{width}}" for p in predicted))
    for g in gold:
        line(f"{g:<8}" + "".join(f"{matrix.get((g, p), 0) or '.':>{width}}" for p in predicted))


def _labels(labels: Collection[str]) -> str:
    return "{" + ",".join(sorted(labels)) + "}"


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
