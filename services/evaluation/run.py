"""``newswire eval``: the enricher's stages run over the labelled fixture files.

:func:`run_eval` runs the real stages (:class:`LanguageIdentifier`, the shipped
:class:`TopicClassifier`, :class:`NearDuplicateDetector` with the stream's own
near-duplicate decision, see :mod:`.near_duplicates`) over a labelled topics file and,
optionally, labelled near-duplicate pairs, prints a plain-text report and returns it
as an :class:`EvalReport`. Topics are classified with the *detected* language, as in
the pipeline, so a language error shows up in the topic scores too.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TextIO

from newswire.enricher.language import LanguageIdentifier, LanguageResult
from newswire.enricher.similarity import NearDuplicateDetector
from newswire.enricher.topics import TopicClassifier, TopicMatch
from newswire.evaluation.data import TopicItem, load_pairs, load_topic_items
from newswire.evaluation.metrics import (
    Scores,
    accuracy,
    accuracy_by,
    confusion_matrix,
    first_seen,
    length_bucket,
    macro_f1,
    micro_average,
    multilabel_counts,
    scores,
    sorted_buckets,
)
from newswire.evaluation.near_duplicates import evaluate_pairs
from newswire.evaluation.printing import print_report
from newswire.evaluation.report import EvalReport, LanguageError, TopicError, WrongTopic
from newswire.evaluation.side_by_side import print_overlap, print_side_by_side
from newswire.evaluation.split import (
    PAIRS_SPLIT,
    SPLITS,
    TOPICS_SPLIT,
    SplitChoice,
    load_frozen,
    split_file,
    split_of,
)


def run_eval(
    topics_file: Path,
    near_duplicates_files: Path | Sequence[Path] | None,
    *,
    out: TextIO,
    split: SplitChoice = "both",
    languages: LanguageIdentifier | None = None,
    classifier: TopicClassifier | None = None,
    detector: NearDuplicateDetector | None = None,
) -> EvalReport:
    """Evaluate the stages on the fixture files, split by event, and print the report.

    The splits come from the ``split/*.frozen.txt`` files beside the data (see
    :mod:`.split`). Printed: the chosen splits side by side, the exact shingle overlap
    of each class of pair, the detailed errors of one split (tuning, unless only the
    frozen split was asked for), and last the summary line of the *headline* split:
    frozen when it holds anything, else tuning. Returns the headline split's report.
    The stages default to the ones the enricher builds (shipped taxonomy, default
    detector). Raises :class:`EvaluationDataError` for an unreadable or malformed file.
    """
    items = load_topic_items(topics_file)
    files = _as_list(near_duplicates_files)
    pairs = [pair for file in files for pair in load_pairs(file)] if files else None
    topic_frozen = load_frozen([split_file(topics_file, TOPICS_SPLIT)])
    pair_frozen = load_frozen([split_file(file, PAIRS_SPLIT) for file in files])
    languages = languages or LanguageIdentifier()
    classifier = classifier or TopicClassifier.from_file()
    detector = detector or NearDuplicateDetector()
    reports: dict[str, EvalReport] = {}
    for name in SPLITS if split == "both" else (split,):
        chosen = [item for item in items if split_of([item.event], topic_frozen) == name]
        report = _evaluate_items(chosen, languages, classifier)
        if pairs is not None:
            mine = [p for p in pairs if split_of([p.event, *p.events], pair_frozen) == name]
            report = replace(report, near_duplicates=evaluate_pairs(mine, detector))
        reports[name] = report
    return _print(reports, out, topics_file, files)


def _as_list(files: Path | Sequence[Path] | None) -> list[Path]:
    if files is None:
        return []
    return [files] if isinstance(files, Path) else list(files)


def _print(
    reports: dict[str, EvalReport], out: TextIO, topics_file: Path, files: Sequence[Path]
) -> EvalReport:
    """Side by side, overlaps, one split's details, the headline summary line."""

    def line(text: str = "") -> None:
        out.write(text + "\n")

    print_side_by_side(reports, line)
    for name, report in reports.items():
        if report.near_duplicates is not None:
            line()
            print_overlap(name, report.near_duplicates, line)
    detailed = "tuning" if "tuning" in reports else "frozen"
    line()
    line(f"==== details of the {detailed} split")
    print_report(reports[detailed], out, topics_file=topics_file, pairs_files=files, summary=False)
    frozen = reports.get("frozen")
    has_frozen = frozen is not None and (
        frozen.items > 0 or bool(frozen.near_duplicates and frozen.near_duplicates.pairs)
    )
    headline = "frozen" if has_frozen else detailed
    line()
    line(f"==== summary of the {headline} split")
    line(reports[headline].summary_line())
    return reports[headline]


def _evaluate_items(
    items: Sequence[TopicItem], languages: LanguageIdentifier, classifier: TopicClassifier
) -> EvalReport:
    """Identify each item's language, classify it in that language, compare with the
    labels; the report without its near-duplicate part."""
    detected: list[str] = []
    predicted: list[frozenset[str]] = []
    errors: list[TopicError] = []
    language_errors: list[LanguageError] = []
    for item in items:
        language = languages.identify(item.text, title=item.title)
        matches = classifier.classify(title=item.title, text=item.text, language=language.code)
        topics = frozenset(m.id for m in matches)
        detected.append(language.code)
        predicted.append(topics)
        if language.code != item.lang:
            language_errors.append(_language_error(item, language))
        if topics != item.topics:
            errors.append(_topic_error(item, language.code, matches))
    labels = _ordered_labels(classifier.topic_ids, (t for item in items for t in item.topics))
    gold = [item.topics for item in items]
    per_topic = multilabel_counts(gold, predicted, labels)
    topic_scores = {label: scores(c) for label, c in per_topic.items()}
    gold_langs = [item.lang for item in items]
    return EvalReport(
        items=len(items),
        topics=labels,
        topic_scores=topic_scores,
        topic_scores_by_language=_scores_by_language(items, predicted, labels),
        topic_micro=micro_average(per_topic.values()),
        topic_macro_f1=macro_f1(topic_scores),
        topic_errors=tuple(errors),
        language_accuracy=accuracy(gold_langs, detected),
        language_by_language=accuracy_by(gold_langs, gold_langs, detected),
        language_by_kind=accuracy_by([item.kind for item in items], gold_langs, detected),
        language_by_length=sorted_buckets(
            accuracy_by([length_bucket(item.chars) for item in items], gold_langs, detected)
        ),
        language_confusion=confusion_matrix(gold_langs, detected),
        language_errors=tuple(language_errors),
    )


def _scores_by_language(
    items: Sequence[TopicItem], predicted: Sequence[frozenset[str]], labels: Sequence[str]
) -> dict[str, dict[str, Scores]]:
    """Per labelled language (first-seen order), the per-topic scores of its items."""
    by_language: dict[str, dict[str, Scores]] = {}
    for lang in first_seen(item.lang for item in items):
        idx = [i for i, item in enumerate(items) if item.lang == lang]
        counts = multilabel_counts(
            [items[i].topics for i in idx], [predicted[i] for i in idx], labels
        )
        by_language[lang] = {label: scores(c) for label, c in counts.items()}
    return by_language


def _language_error(item: TopicItem, language: LanguageResult) -> LanguageError:
    """A wrongly identified item, with how sure the identifier was and how long it is."""
    return LanguageError(
        item.id,
        item.lang,
        language.code,
        language.confidence,
        item.kind,
        item.chars,
        _excerpt(item.title, item.text),
    )


def _topic_error(item: TopicItem, detected: str, matches: Sequence[TopicMatch]) -> TopicError:
    """An item whose topics differ from its labels, with the evidence of each wrong one."""
    topics = frozenset(m.id for m in matches)
    return TopicError(
        item_id=item.id,
        lang=item.lang,
        kind=item.kind,
        detected_language=detected,
        gold=item.topics,
        predicted=topics,
        false_positives=tuple(
            WrongTopic(m.id, m.score, m.evidence) for m in matches if m.id not in item.topics
        ),
        false_negatives=tuple(sorted(item.topics - topics)),
        note=item.note,
    )


def _ordered_labels(known: Iterable[str], seen: Iterable[str]) -> tuple[str, ...]:
    """The taxonomy's topics in its order, then gold labels it does not know (sorted)."""
    known = tuple(known)
    return known + tuple(sorted(set(seen) - set(known)))


def _excerpt(title: str | None, text: str, limit: int = 60) -> str:
    """Title and text on one line, cut to ``limit`` characters."""
    joined = " ".join(f"{title or ''} {text}".split())
    return joined if len(joined) <= limit else joined[: limit - 1] + "…"
