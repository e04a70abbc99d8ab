"""Scoring one topic of one article from its matches.

In the units of the taxonomy's ``scoring`` section: each mention of a term entry (or
event of a relation, see :mod:`.relations`) adds its weight times the zone weight
(title > lead > body); the k-th strongest mention of the same entry is multiplied by
``repeat_decay**k``, so repetition adds less and less; exclude penalties are
subtracted; ``score = 1 - exp(-raw / saturation)``. With the shipped settings one body
mention of a weight-1 term scores 0.22, below every threshold: a passing mention never
makes a topic.

Before anything is added up, excluded phrases mask what they cover (a veto drops the
topic outright) and the co-occurrence gate (``requires``) must be met.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from newswire.common.contract import TopicRecord
from newswire.enricher.topics.matching import (
    EXCLUDE,
    GROUP,
    TERM,
    Context,
    Match,
    gap,
    one_per_span,
)
from newswire.enricher.topics.relations import relation_events
from newswire.enricher.topics.taxonomy import Scoring, Section, Topic
from newswire.enricher.topics.tokens import Token


@dataclass(frozen=True, slots=True)
class TopicMatch:
    """A topic assigned to an article, with the taxonomy phrases that made it."""

    id: str
    score: float
    evidence: tuple[str, ...]  # matched phrases as written in the taxonomy, strongest first

    def as_record(self) -> TopicRecord:
        """One item of the enriched-article ``topics`` array."""
        return {"id": self.id, "score": self.score, "evidence": list(self.evidence)}


# (total, sort key, evidence phrases in text order)
_Total = tuple[float, int, list[str]]


def score_topic(
    topic: Topic, section: Section, matches: Sequence[Match], context: Context
) -> TopicMatch | None:
    """Mask excluded spans, apply the co-occurrence gate, add up weighted mentions and
    relation events; None when the topic does not reach its threshold."""
    tokens, scoring = context.tokens, context.scoring
    excludes = [m for m in matches if m.role.kind == EXCLUDE]
    if any(section.excludes[m.role.slot].veto for m in excludes):
        return None
    masked = _mask_spans(section, excludes, tokens)
    masked_tokens = frozenset().union(*(range(start, end) for start, end in masked))
    live = [
        m
        for m in matches
        if m.role.kind != EXCLUDE and _survives(m, excludes, masked, masked_tokens)
    ]
    terms = _gated_terms(topic, section, live, tokens)
    if terms is None:
        return None
    per_entry: dict[int, list[Match]] = defaultdict(list)
    for m in terms:
        per_entry[m.role.slot].append(m)
    totals = _term_totals(section, per_entry, tokens, scoring)
    if section.relations:
        totals.extend(_relation_totals(section, live, masked, context))
    totals.sort(key=lambda item: (-item[0], item[1]))
    evidence = tuple(dict.fromkeys(p for _, _, phrases in totals for p in phrases))
    raw = sum(total for total, _, _ in totals) - _penalties(section, excludes, tokens, scoring)
    score = round(1.0 - math.exp(-max(raw, 0.0) / scoring.saturation), 4)
    if score < topic.threshold or not evidence:
        return None
    return TopicMatch(topic.id, score, evidence)


def _gated_terms(
    topic: Topic, section: Section, live: Sequence[Match], tokens: Sequence[Token]
) -> list[Match] | None:
    """The term mentions that count: None if a ``requires`` group has no mention at
    all; with ``requires_within``, only terms near a mention of every group."""
    groups: list[list[Match]] = [[] for _ in section.requires]
    for m in live:
        if m.role.kind == GROUP:
            groups[m.role.slot].append(m)
    if any(not group for group in groups):
        return None
    terms = [m for m in live if m.role.kind == TERM]
    if topic.within is not None and groups:
        terms = [m for m in terms if _near_all_groups(m, groups, topic.within, tokens)]
    return terms


def _near_all_groups(
    match: Match, groups: Sequence[Sequence[Match]], within: int, tokens: Sequence[Token]
) -> bool:
    """A mention of every group within ``within`` tokens of the match, in its sentence."""
    sentence = tokens[match.start].sentence
    return all(
        any(tokens[g.start].sentence == sentence and gap(match, g) <= within for g in group)
        for group in groups
    )


def _diminishing_sum(values: Iterable[float], decay: float) -> float:
    """The strongest value in full, the next times ``decay``, then ``decay**2`` ..."""
    return sum(v * decay**k for k, v in enumerate(sorted(values, reverse=True)))


def _extent_end(tokens: Sequence[Token], start: int, unit: str) -> int:
    """End of the clause or sentence that token ``start`` is in."""
    key = (lambda t: t.clause) if unit == "clause" else (lambda t: t.sentence)
    value, end = key(tokens[start]), start
    while end < len(tokens) and key(tokens[end]) == value:
        end += 1
    return end


# ``extends: place`` masks a venue phrase («vigil in», «تجمع في») and the place name after it:
# up to two words (Bandar Abbas, «بندر عباس»), never past the clause.
_PLACE_WORDS = 2


def _place_end(tokens: Sequence[Token], end: int) -> int:
    """End of the place name that follows a venue phrase ending at ``end``: where people
    met is no target of the strike they remember (round 5, class venue)."""
    if end == 0 or end >= len(tokens):
        return end
    clause = tokens[end - 1].clause
    stop = end
    while stop < min(len(tokens), end + _PLACE_WORDS) and tokens[stop].clause == clause:
        stop += 1
    return stop


def _mask_end(tokens: Sequence[Token], m: Match, unit: str) -> int:
    """Where an exclude's mask ends: its own words, its place name, or its clause/sentence."""
    if unit == "phrase":
        return m.end
    if unit == "place":
        return _place_end(tokens, m.end)
    return _extent_end(tokens, m.start, unit)


def _mask_spans(
    section: Section, excludes: Sequence[Match], tokens: Sequence[Token]
) -> list[tuple[int, int]]:
    """Excluded phrases; ``extends: clause|sentence`` masks to the end of that unit,
    ``extends: place`` also the place name after the phrase."""
    spans = []
    for m in excludes:
        spans.append((m.start, _mask_end(tokens, m, section.excludes[m.role.slot].extends)))
    return spans


def _survives(
    m: Match,
    excludes: Sequence[Match],
    masked: Sequence[tuple[int, int]],
    masked_tokens: frozenset[int],
) -> bool:
    """Not inside any masked span -- unless the match is a longer phrase that contains
    the excluded phrase itself: «من الأراضي الإيرانية» (an origin) outlives the exclude
    «الأراضي الإيرانية» (a target), as the longest phrase wins everywhere else."""
    if masked_tokens.isdisjoint(range(m.start, m.end)):
        return True
    for x, (start, end) in zip(excludes, masked, strict=True):
        if m.start < end and start < m.end:
            if m.start <= x.start and x.end <= m.end and m.end - m.start > x.end - x.start:
                continue
            return False
    return True


def _term_totals(
    section: Section,
    per_entry: Mapping[int, list[Match]],
    tokens: Sequence[Token],
    scoring: Scoring,
) -> list[_Total]:
    """Per term entry: its diminishing sum of weighted mentions, and their phrases."""
    totals: list[_Total] = []
    for slot, entry_matches in per_entry.items():
        mentions = one_per_span(entry_matches)
        weight = section.terms[slot].weight
        total = _diminishing_sum(
            (weight * scoring.zone_weight(tokens[m.start].zone) for m in mentions),
            scoring.repeat_decay,
        )
        phrases = [m.role.phrase for m in sorted(mentions, key=lambda m: m.start)]
        totals.append((total, slot, phrases))
    return totals


def _relation_totals(
    section: Section, live: Sequence[Match], masked: Sequence[tuple[int, int]], context: Context
) -> list[_Total]:
    """Per relation with events: the diminishing sum of its events' weights (each the
    relation's weight times its act's zone weight), and their phrases. Relations sort
    after the term entries on a tie."""
    tokens, scoring = context.tokens, context.scoring
    totals: list[_Total] = []
    for events in relation_events(section, live, masked, context):
        weight = section.relations[events.slot].weight
        total = _diminishing_sum(
            (weight * scoring.zone_weight(tokens[act.start].zone) for act in events.acts),
            scoring.repeat_decay,
        )
        totals.append((total, len(section.terms) + events.slot, events.evidence))
    return totals


def _penalties(
    section: Section, excludes: Sequence[Match], tokens: Sequence[Token], scoring: Scoring
) -> float:
    """Exclude penalties, per entry diminishing like mentions, in zone-weighted units."""
    per_entry: dict[int, list[Match]] = defaultdict(list)
    for m in excludes:
        if section.excludes[m.role.slot].penalty > 0:
            per_entry[m.role.slot].append(m)
    return sum(
        _diminishing_sum(
            (
                section.excludes[slot].penalty * scoring.zone_weight(tokens[m.start].zone)
                for m in one_per_span(ms)
            ),
            scoring.repeat_decay,
        )
        for slot, ms in per_entry.items()
    )
