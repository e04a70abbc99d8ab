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


def run_eval(
    topics_file: Path,
    near_duplicates_file: Path | None,
    *,
    out: TextIO,
    languages: LanguageIdentifier | None = None,
    classifier: TopicClassifier | None = None,
    detector: NearDuplicateDetector | None = None,
) -> EvalReport:
    """Evaluate the stages on the fixture files and print the report to ``out``.

    The stages default to the ones the enricher builds (shipped taxonomy, default
    detector). Raises :class:`EvaluationDataError` for an unreadable or malformed file.
    """
    items = load_topic_items(topics_file)
    pairs = load_pairs(near_duplicates_file) if near_duplicates_file is not None else None
    languages = languages or LanguageIdentifier()
    classifier = classifier or TopicClassifier.from_file()
    report = _evaluate_items(items, languages, classifier)
    if pairs is not None:
        near = evaluate_pairs(pairs, detector or NearDuplicateDetector())
        report = replace(report, near_duplicates=near)
    print_report(report, out, topics_file=topics_file, pairs_file=near_duplicates_file)
    return report


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
