"""What ``newswire eval`` found: the report's records, and its machine-readable line."""

from __future__ import annotations

from dataclasses import dataclass

from newswire.enricher.overlap import CurvePoint
from newswire.evaluation.metrics import Accuracy, Counts, Scores, Summary
from newswire.evaluation.overlap import Overlap


@dataclass(frozen=True, slots=True)
class WrongTopic:
    """A topic predicted against the labels, with the evidence that made it."""

    topic: str
    score: float
    evidence: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class TopicError:
    """An item whose predicted topics differ from its labels."""

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
    """An item whose language was identified wrongly."""

    item_id: str
    gold: str
    predicted: str
    confidence: float
    kind: str
    chars: int
    excerpt: str


@dataclass(frozen=True, slots=True)
class PairOutcome:
    """One labelled pair: the verdict, and the figures that explain it."""

    pair_id: str
    lang: str
    variation: str
    gold: bool
    predicted: bool
    exact: bool  # same normalised body text
    shared_bands: int  # LSH band keys in common
    similarity: float  # estimated Jaccard of the word shingles
    containment: float | None = None  # estimated share of the shorter text in the longer
    ops: tuple[str, ...] = ()  # how a positive was made (legacy pairs: legacy:<variation>)
    overlap: Overlap | None = None  # exact word-shingle overlap, for choosing a threshold

    @property
    def classes(self) -> tuple[str, ...]:
        """The report rows the pair counts in: each operation of a positive, the kind
        of a negative."""
        return self.ops if self.gold else (self.variation,)


@dataclass(frozen=True)
class NearDuplicateReport:
    """Near-duplicate detection on the labelled pairs, overall and by group."""

    detector: str
    banding: str  # the stream's banding and decision rule (overlap.banding)
    curve: tuple[CurvePoint, ...]  # the stream's S-curve (overlap.s_curve)
    pairs: tuple[PairOutcome, ...]
    counts: Counts
    scores: Scores
    by_language: dict[str, Counts]
    by_variation: dict[str, Counts]
    positives: Summary  # estimated similarity of the gold near-duplicates
    negatives: Summary  # ... and of the gold non-duplicates


@dataclass(frozen=True)
class EvalReport:
    """Everything one ``newswire eval`` run measured."""

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
        """The weakest topic's F1: one bad topic should not hide behind the average."""
        values = [s.f1 for s in self.topic_scores.values() if s.f1 is not None]
        return min(values) if values else None

    def summary_line(self) -> str:
        """The report's last line, for scripts and CI: the four headline figures."""
        near = self.near_duplicates
        return (
            f"min_topic_f1={number(self.min_topic_f1)} "
            f"language_accuracy={number(self.language_accuracy.value)} "
            f"near_dup_precision={number(near.scores.precision if near else None)} "
            f"near_dup_recall={number(near.scores.recall if near else None)}"
        )


def number(value: float | None, digits: int = 3) -> str:
    """A metric as printed: fixed digits, ``-`` when undefined."""
    return "-" if value is None else f"{value:.{digits}f}"
