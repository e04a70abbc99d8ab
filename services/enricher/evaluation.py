"""``newswire eval``: the enricher's stages measured against hand-labelled fixtures.

:func:`run_eval` runs the real stages (:class:`LanguageIdentifier`, the shipped
:class:`TopicClassifier`, :class:`NearDuplicateDetector`) over a labelled topics file
(``tests/fixtures/eval/topics.jsonl`` format) and, optionally, labelled near-duplicate
pairs (``near_duplicates.jsonl``), prints a plain-text report and returns it as an
:class:`EvalReport`. Topics are classified with the *detected* language, as in the
pipeline, so a language error shows up in the topic scores too.

The metric maths is in small pure functions at the top (counts, precision / recall /
F1, accuracy, confusion matrices, summaries) so it is unit-tested on hand-computed
cases. Conventions: precision is undefined (``None``, printed ``-``) when nothing was
predicted, recall when there was nothing to find, F1 = 2tp / (2tp + fp + fn) when
either exists. The last printed line is machine-readable::

    min_topic_f1=0.912 language_accuracy=0.984 near_dup_precision=1.000 near_dup_recall=1.000
"""

from __future__ import annotations

import json
import math
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TextIO

from newswire.common.errors import NewswireError
from newswire.enricher.bands import probe_band_keys, sketch, sketch_similarity
from newswire.enricher.language import LanguageIdentifier
from newswire.enricher.similarity import NearDuplicateDetector
from newswire.enricher.topics import TopicClassifier

#: Upper bounds (exclusive) of the character-length buckets for language accuracy.
LENGTH_BUCKETS: tuple[tuple[int, str], ...] = (
    (100, "<100"),
    (300, "100-299"),
    (500, "300-499"),
)
LONGEST_BUCKET = ">=500"


class EvaluationDataError(NewswireError):
    """An evaluation file that cannot be read; names the file and line."""


# ====================================================================== pure metrics


@dataclass(frozen=True, slots=True)
class Counts:
    """Outcome counts of one binary decision (one topic, or near-duplicate yes/no)."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    def __add__(self, other: Counts) -> Counts:
        return Counts(
            self.tp + other.tp, self.fp + other.fp, self.fn + other.fn, self.tn + other.tn
        )

    @property
    def support(self) -> int:
        """Gold positives."""
        return self.tp + self.fn

    @property
    def predicted(self) -> int:
        return self.tp + self.fp

    @property
    def total(self) -> int:
        return self.tp + self.fp + self.fn + self.tn


@dataclass(frozen=True, slots=True)
class Scores:
    precision: float | None
    recall: float | None
    f1: float | None
    support: int


def ratio(numerator: int, denominator: int) -> float | None:
    """``numerator / denominator``, or None when the denominator is 0."""
    return numerator / denominator if denominator else None


def scores(counts: Counts) -> Scores:
    return Scores(
        precision=ratio(counts.tp, counts.tp + counts.fp),
        recall=ratio(counts.tp, counts.tp + counts.fn),
        f1=ratio(2 * counts.tp, 2 * counts.tp + counts.fp + counts.fn),
        support=counts.support,
    )


def binary_counts(gold: Sequence[bool], predicted: Sequence[bool]) -> Counts:
    _same_length(gold, predicted)
    tally = Counter(zip(gold, predicted, strict=True))
    return Counts(
        tp=tally[True, True], fp=tally[False, True], fn=tally[True, False], tn=tally[False, False]
    )


def multilabel_counts(
    gold: Sequence[Collection[str]], predicted: Sequence[Collection[str]], labels: Iterable[str]
) -> dict[str, Counts]:
    """Per label, the counts of treating "has this label" as a binary decision per item."""
    _same_length(gold, predicted)
    return {
        label: binary_counts([label in g for g in gold], [label in p for p in predicted])
        for label in labels
    }


def micro_average(counts: Iterable[Counts]) -> Scores:
    total = Counts()
    for item in counts:
        total = total + item
    return scores(total)


def macro_f1(per_label: Mapping[str, Scores]) -> float | None:
    """Mean F1 over the labels whose F1 is defined."""
    values = [s.f1 for s in per_label.values() if s.f1 is not None]
    return sum(values) / len(values) if values else None


@dataclass(frozen=True, slots=True)
class Accuracy:
    correct: int
    total: int

    @property
    def value(self) -> float | None:
        return ratio(self.correct, self.total)


def accuracy(gold: Sequence[str], predicted: Sequence[str]) -> Accuracy:
    _same_length(gold, predicted)
    return Accuracy(sum(g == p for g, p in zip(gold, predicted, strict=True)), len(gold))


def accuracy_by(
    groups: Sequence[str], gold: Sequence[str], predicted: Sequence[str]
) -> dict[str, Accuracy]:
    """Accuracy within each group, groups in first-seen order."""
    _same_length(groups, gold)
    members: dict[str, list[int]] = defaultdict(list)
    for i, group in enumerate(groups):
        members[group].append(i)
    return {
        group: accuracy([gold[i] for i in idx], [predicted[i] for i in idx])
        for group, idx in members.items()
    }


def confusion_matrix(gold: Sequence[str], predicted: Sequence[str]) -> dict[tuple[str, str], int]:
    """``(gold, predicted) -> count`` over the pairs that occur."""
    _same_length(gold, predicted)
    return dict(Counter(zip(gold, predicted, strict=True)))


def length_bucket(chars: int) -> str:
    for bound, name in LENGTH_BUCKETS:
        if chars < bound:
            return name
    return LONGEST_BUCKET


@dataclass(frozen=True, slots=True)
class Summary:
    """Five-number summary of a sample (nearest-rank quartiles)."""

    n: int
    minimum: float | None
    q1: float | None
    median: float | None
    q3: float | None
    maximum: float | None


def summarise(values: Iterable[float]) -> Summary:
    data = sorted(values)
    if not data:
        return Summary(0, None, None, None, None, None)

    def rank(q: float) -> float:  # nearest rank: the smallest value with >= q of the data
        return data[max(0, math.ceil(q * len(data)) - 1)]

    return Summary(len(data), data[0], rank(0.25), rank(0.5), rank(0.75), data[-1])


def _same_length(a: Sequence[Any], b: Sequence[Any]) -> None:
    if len(a) != len(b):
        raise ValueError(f"sequences differ in length: {len(a)} and {len(b)}")


# ====================================================================== fixture files


@dataclass(frozen=True, slots=True)
class TopicItem:
    id: str
    lang: str
    kind: str
    title: str | None
    text: str
    topics: frozenset[str]
    note: str = ""

    @property
    def chars(self) -> int:
        return len(self.text) + len(self.title or "")


@dataclass(frozen=True, slots=True)
class LabelledPair:
    id: str
    lang: str
    a: str  # body texts: dedupe compares bodies, titles are left out
    b: str
    near_duplicate: bool
    variation: str


def _json_lines(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise EvaluationDataError(f"{path}: cannot read: {exc}") from exc
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            raise EvaluationDataError(f"{path}:{number}: not JSON: {exc}") from exc
        if not isinstance(value, dict):
            raise EvaluationDataError(f"{path}:{number}: expected a JSON object")
        yield number, value


def _field(value: dict[str, Any], name: str, kind: type | tuple[type, ...], where: str) -> Any:
    if name not in value:
        raise EvaluationDataError(f"{where}: missing field {name!r}")
    if not isinstance(value[name], kind):
        raise EvaluationDataError(f"{where}: field {name!r} has the wrong type")
    return value[name]


def load_topic_items(path: Path) -> list[TopicItem]:
    items = []
    for number, value in _json_lines(path):
        where = f"{path}:{number}"
        title = _field(value, "title", (str, type(None)), where) if "title" in value else None
        topics = _field(value, "topics", list, where)
        if not all(isinstance(t, str) for t in topics):
            raise EvaluationDataError(f"{where}: topics must be strings")
        kind = value.get("kind") or ("headline" if title is None else "article")
        items.append(
            TopicItem(
                id=_field(value, "id", str, where),
                lang=_field(value, "lang", str, where),
                kind=str(kind),
                title=title,
                text=_field(value, "text", str, where),
                topics=frozenset(topics),
                note=str(value.get("note") or ""),
            )
        )
    if not items:
        raise EvaluationDataError(f"{path}: no items")
    return items


def load_pairs(path: Path) -> list[LabelledPair]:
    pairs = []
    for number, value in _json_lines(path):
        where = f"{path}:{number}"
        sides = [_field(value, side, dict, where) for side in ("a", "b")]
        texts = [
            _field(side, "text", str, f"{where}: side {name}")
            for side, name in zip(sides, "ab", strict=True)
        ]
        pairs.append(
            LabelledPair(
                id=_field(value, "id", str, where),
                lang=str(value.get("lang") or "-"),
                a=texts[0],
                b=texts[1],
                near_duplicate=_field(value, "near_duplicate", bool, where),
                variation=str(value.get("variation") or "-"),
            )
        )
    if not pairs:
        raise EvaluationDataError(f"{path}: no pairs")
    return pairs


# ====================================================================== report


@dataclass(frozen=True, slots=True)
class WrongTopic:
    topic: str
    score: float
    evidence: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class TopicError:
    item_id: str
    lang: str
    kind: str
    detected_language: str
    gold: frozenset[str]
    predicted: frozenset[str]
    false_positives: tuple[WrongTopic, ...]  # predicted, not labelled, with their evidence
    false_negatives: tuple[str, ...]  # labelled, not predicted
    note: str


@dataclass(frozen=True, slots=True)
class LanguageError:
    item_id: str
    gold: str
    predicted: str
    confidence: float
    kind: str
    chars: int
    excerpt: str


@dataclass(frozen=True, slots=True)
class PairOutcome:
    pair_id: str
    lang: str
    variation: str
    gold: bool
    predicted: bool
    exact: bool  # same normalised body text
    shared_bands: int  # LSH band keys in common
    similarity: float  # estimated Jaccard of the word shingles


@dataclass(frozen=True)
class NearDuplicateReport:
    detector: str
    lsh_threshold: float
    pairs: tuple[PairOutcome, ...]
    counts: Counts
    scores: Scores
    by_language: dict[str, Counts]
    by_variation: dict[str, Counts]
    positives: Summary  # estimated similarity of the gold near-duplicates
    negatives: Summary  # ... and of the gold non-duplicates


@dataclass(frozen=True)
class EvalReport:
    items: int
    topics: tuple[str, ...]
    topic_scores: dict[str, Scores]
    topic_scores_by_language: dict[str, dict[str, Scores]]
    topic_micro: Scores
    topic_macro_f1: float | None
    topic_errors: tuple[TopicError, ...]
    language_accuracy: Accuracy
    language_by_language: dict[str, Accuracy]
    language_by_kind: dict[str, Accuracy]
    language_by_length: dict[str, Accuracy]
    language_confusion: dict[tuple[str, str], int]
    language_errors: tuple[LanguageError, ...]
    near_duplicates: NearDuplicateReport | None = None

    @property
    def min_topic_f1(self) -> float | None:
        values = [s.f1 for s in self.topic_scores.values() if s.f1 is not None]
        return min(values) if values else None

    def summary_line(self) -> str:
        near = self.near_duplicates
        return (
            f"min_topic_f1={_num(self.min_topic_f1)} "
            f"language_accuracy={_num(self.language_accuracy.value)} "
            f"near_dup_precision={_num(near.scores.precision if near else None)} "
            f"near_dup_recall={_num(near.scores.recall if near else None)}"
        )


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
        near = _evaluate_pairs(pairs, detector or NearDuplicateDetector())
        report = replace(report, near_duplicates=near)
    print_report(report, out, topics_file=topics_file, pairs_file=near_duplicates_file)
    return report


def _evaluate_items(
    items: Sequence[TopicItem], languages: LanguageIdentifier, classifier: TopicClassifier
) -> EvalReport:
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
            language_errors.append(
                LanguageError(
                    item.id,
                    item.lang,
                    language.code,
                    language.confidence,
                    item.kind,
                    item.chars,
                    _excerpt(item.title, item.text),
                )
            )
        if topics != item.topics:
            errors.append(
                TopicError(
                    item_id=item.id,
                    lang=item.lang,
                    kind=item.kind,
                    detected_language=language.code,
                    gold=item.topics,
                    predicted=topics,
                    false_positives=tuple(
                        WrongTopic(m.id, m.score, m.evidence)
                        for m in matches
                        if m.id not in item.topics
                    ),
                    false_negatives=tuple(sorted(item.topics - topics)),
                    note=item.note,
                )
            )
    labels = _ordered_labels(classifier.topic_ids, (t for item in items for t in item.topics))
    gold = [item.topics for item in items]
    per_topic = multilabel_counts(gold, predicted, labels)
    by_language: dict[str, dict[str, Scores]] = {}
    for lang in _first_seen(item.lang for item in items):
        idx = [i for i, item in enumerate(items) if item.lang == lang]
        counts = multilabel_counts([gold[i] for i in idx], [predicted[i] for i in idx], labels)
        by_language[lang] = {label: scores(c) for label, c in counts.items()}
    gold_langs = [item.lang for item in items]
    topic_scores = {label: scores(c) for label, c in per_topic.items()}
    return EvalReport(
        items=len(items),
        topics=labels,
        topic_scores=topic_scores,
        topic_scores_by_language=by_language,
        topic_micro=micro_average(per_topic.values()),
        topic_macro_f1=macro_f1(topic_scores),
        topic_errors=tuple(errors),
        language_accuracy=accuracy(gold_langs, detected),
        language_by_language=accuracy_by(gold_langs, gold_langs, detected),
        language_by_kind=accuracy_by([item.kind for item in items], gold_langs, detected),
        language_by_length=_sorted_buckets(
            accuracy_by([length_bucket(item.chars) for item in items], gold_langs, detected)
        ),
        language_confusion=confusion_matrix(gold_langs, detected),
        language_errors=tuple(language_errors),
    )


def _evaluate_pairs(
    pairs: Sequence[LabelledPair], detector: NearDuplicateDetector
) -> NearDuplicateReport:
    """A pair is judged exactly as the stream judges it: same body hash, or a shared
    probe band (bands.probe_band_keys, what travels between workers) and a sketch
    similarity (what band buckets keep) at or above the detector's threshold."""
    outcomes = []
    for pair in pairs:
        a, b = detector.fingerprint(pair.a), detector.fingerprint(pair.b)
        exact = a.text_hash == b.text_hash
        shared = len(set(probe_band_keys(a.signature)) & set(probe_band_keys(b.signature)))
        similarity = sketch_similarity(sketch(a.signature), sketch(b.signature))
        predicted = exact or (shared > 0 and similarity >= detector.threshold)
        outcomes.append(
            PairOutcome(
                pair.id,
                pair.lang,
                pair.variation,
                pair.near_duplicate,
                predicted,
                exact,
                shared,
                similarity,
            )
        )

    def counts_where(keep: Callable[[PairOutcome], bool]) -> Counts:
        chosen = [o for o in outcomes if keep(o)]
        return binary_counts([o.gold for o in chosen], [o.predicted for o in chosen])

    total = counts_where(lambda o: True)
    return NearDuplicateReport(
        detector=repr(detector),
        lsh_threshold=detector.lsh_threshold,
        pairs=tuple(outcomes),
        counts=total,
        scores=scores(total),
        by_language={
            lang: counts_where(lambda o, lang=lang: o.lang == lang)
            for lang in _first_seen(o.lang for o in outcomes)
        },
        by_variation={
            variation: counts_where(lambda o, v=variation: o.variation == v)
            for variation in _first_seen(o.variation for o in outcomes)
        },
        positives=summarise(o.similarity for o in outcomes if o.gold),
        negatives=summarise(o.similarity for o in outcomes if not o.gold),
    )


def _ordered_labels(known: Iterable[str], seen: Iterable[str]) -> tuple[str, ...]:
    """The taxonomy's topics in its order, then gold labels it does not know (sorted)."""
    known = tuple(known)
    return known + tuple(sorted(set(seen) - set(known)))


def _first_seen(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))


def _sorted_buckets(by_bucket: dict[str, Accuracy]) -> dict[str, Accuracy]:
    order = [name for _, name in LENGTH_BUCKETS] + [LONGEST_BUCKET]
    return {name: by_bucket[name] for name in order if name in by_bucket}


def _excerpt(title: str | None, text: str, limit: int = 60) -> str:
    joined = " ".join(f"{title or ''} {text}".split())
    return joined if len(joined) <= limit else joined[: limit - 1] + "…"


# ====================================================================== printing


def _num(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _acc(value: Accuracy) -> str:
    return f"{_num(value.value)} ({value.correct}/{value.total})"


def print_report(
    report: EvalReport,
    out: TextIO,
    *,
    topics_file: Path | None = None,
    pairs_file: Path | None = None,
) -> None:
    def line(text: str = "") -> None:
        out.write(text + "\n")

    line(f"== topics: {report.items} items" + (f" from {topics_file}" if topics_file else ""))
    line(f"{'topic':<18}{'lang':<6}{'precision':>10}{'recall':>8}{'f1':>8}{'support':>9}")
    for topic in report.topics:
        rows = [("all", report.topic_scores[topic])] + [
            (lang, per[topic]) for lang, per in report.topic_scores_by_language.items()
        ]
        for lang, s in rows:
            line(
                f"{topic if lang == 'all' else '':<18}{lang:<6}{_num(s.precision):>10}"
                f"{_num(s.recall):>8}{_num(s.f1):>8}{s.support:>9}"
            )
    micro = report.topic_micro
    line(
        f"micro: precision={_num(micro.precision)} recall={_num(micro.recall)} "
        f"f1={_num(micro.f1)}  macro_f1={_num(report.topic_macro_f1)}"
    )

    line()
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

    line()
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

    near = report.near_duplicates
    if near is not None:
        line()
        line(
            f"== near-duplicates: {len(near.pairs)} pairs"
            + (f" from {pairs_file}" if pairs_file else "")
        )
        line(
            f"{near.detector}; LSH S-curve threshold (1/bands)^(1/rows) = {near.lsh_threshold:.3f}"
        )
        s = near.scores
        c = near.counts
        line(
            f"precision={_num(s.precision)} recall={_num(s.recall)} f1={_num(s.f1)} "
            f"(tp={c.tp} fp={c.fp} fn={c.fn} tn={c.tn})"
        )
        for lang, counts in near.by_language.items():
            ls = scores(counts)
            line(
                f"  {lang}: precision={_num(ls.precision)} recall={_num(ls.recall)} "
                f"pairs={counts.total}"
            )
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
                f"{_num(sims.minimum):>9}"
                f"{_num(sims.median):>8}{_num(sims.maximum):>7}"
            )
        for name, summary in (
            ("near-duplicates", near.positives),
            ("non-duplicates", near.negatives),
        ):
            line(
                f"similarity of {name} (n={summary.n}): min={_num(summary.minimum)} "
                f"q1={_num(summary.q1)} median={_num(summary.median)} q3={_num(summary.q3)} "
                f"max={_num(summary.maximum)}"
            )
        for o in near.pairs:
            if o.gold != o.predicted:
                kind = "FN" if o.gold else "FP"
                line(
                    f"  {kind} {o.pair_id} ({o.lang} {o.variation}) similarity={o.similarity:.3f} "
                    f"shared_bands={o.shared_bands} exact={o.exact}"
                )

    line()
    line(report.summary_line())


def _print_confusion(matrix: Mapping[tuple[str, str], int], line: Callable[[str], None]) -> None:
    gold = _first_seen(g for g, _ in sorted(matrix))
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
