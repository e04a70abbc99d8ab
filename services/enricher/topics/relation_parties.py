"""Relations, first step: the parties of the acts in an article -- who may own an act
and what it may hit -- per sentence that has an act.

Kept apart from choosing an act's owner (:mod:`.relation_owner`): this runs once per
relation and article and decides what each mention *is* before any act picks its
owner. An actor mention right after a target marker (على, on, به, بۆ سەر ...), before
an object marker (را), inside a target phrase or coordinated with a target is something
hit, not a striker; a target right after a source marker (from, من, از) is where the
act came from. Every marker scan stays inside the mention's clause and stops at an act
or an excluded span. The rules as a whole: :mod:`.relations`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from newswire.enricher.topics.grammar import (
    arabic_nisba,
    coordinated_with_target,
    english_passive_subject,
    kurdish_possessor,
    object_gaps,
    possessor_of_act,
    relative_subject,
    verb_final_speaker,
)
from newswire.enricher.topics.grammar_place import (
    english_appositive_passive,
    english_origin,
    kurmanji_agent_frame,
    kurmanji_place_owner,
)
from newswire.enricher.topics.matching import (
    RIVAL,
    Context,
    MarkerWords,
    Match,
    one_per_span,
    overlaps,
)
from newswire.enricher.topics.taxonomy import Relation
from newswire.enricher.topics.tokens import Token


@dataclass(frozen=True, slots=True)
class Scan:
    """One relation in one article: its marker words, and the token positions marker
    scans stop at (acts and excluded spans)."""

    relation: Relation
    markers: MarkerWords
    blocked: frozenset[int]
    context: Context


@dataclass(frozen=True, slots=True)
class Parties:
    """Per sentence that has an act: who may own an act, and what it may hit."""

    actors: dict[int, list[Match]]
    by_agent: set[int]  # starts of actors introduced by an agent marker ("by Iran")
    targets: dict[int, list[Match]]
    objects: dict[int, list[tuple[Match, bool]]]  # (mention, marked as a target)
    barriers: list[int] | None  # sorted positions of barrier words, if the relation has any
    act_words: frozenset[int]  # token positions inside act mentions
    party: Match | None = None  # exchanges: the article's party, for an act naming none
    marked_rivals: frozenset[int] = frozenset()  # starts of rivals a marker makes targets


def find_targets(
    scan: Scan, raw_targets: Iterable[Match], act_sentences: set[int]
) -> dict[int, list[Match]]:
    """Target mentions by sentence, in sentences with an act; one right after a source
    marker is where the act came from, one right after a relativiser is the subject of
    a relative clause ("the attack, which Tehran claimed"): neither is what it hit."""
    tokens, source = scan.context.tokens, scan.markers.source
    targets: dict[int, list[Match]] = defaultdict(list)
    for t in one_per_span(raw_targets):
        if (
            tokens[t.start].sentence in act_sentences
            and not relative_subject(t, tokens)
            and not (source and _marker_before(t, source, scan.relation.marker_reach, scan))
        ):
            targets[tokens[t.start].sentence].append(t)
    return targets


def find_objects(
    scan: Scan, raw_objects: Iterable[Match], act_sentences: set[int]
) -> dict[int, list[tuple[Match, bool]]]:
    """Object-target mentions by sentence, each with whether a marker makes it a target
    («على إيران», «ایران را»)."""
    tokens, relation, markers = scan.context.tokens, scan.relation, scan.markers
    objects: dict[int, list[tuple[Match, bool]]] = defaultdict(list)
    for o in raw_objects:
        if tokens[o.start].sentence in act_sentences and not relative_subject(o, tokens):
            marked = (
                bool(_marker_before(o, markers.target, relation.marker_reach, scan))
                or (
                    bool(markers.object)
                    and _marker_after(o, markers.object, relation.object_marker_reach, scan)
                )
                or (relation.word_order == "svo" and english_passive_subject(o, tokens))
                or (relation.word_order == "svo" and english_appositive_passive(o, tokens))
            )
            objects[tokens[o.start].sentence].append((o, marked))
    return objects


def target_spans_and_ends(
    targets: dict[int, list[Match]], masked: Sequence[tuple[int, int]]
) -> tuple[list[tuple[int, int]], frozenset[int]]:
    """Target spans, and where every target or excluded span (a target phrase another
    topic masks, «کرماشان») ends: what an actor coordinated with one is part of."""
    spans = [(t.start, t.end) for ts in targets.values() for t in ts]
    return spans, frozenset(end for _, end in spans) | frozenset(end for _, end in masked)


def find_actors(
    scan: Scan,
    mentions: Iterable[Match],
    act_sentences: set[int],
    target_ends: tuple[list[tuple[int, int]], frozenset[int]],
    acts: Sequence[Match],
) -> tuple[dict[int, list[Match]], set[int], set[int]]:
    """Agent and rival mentions that may own an act, by sentence; the starts of
    those an agent marker introduces; the starts of rivals a target marker marks.
    Mentions inside a target phrase, after a target marker, before an object marker,
    coordinated with a target or (svo) right after an act are what is hit."""
    tokens, relation, markers = scan.context.tokens, scan.relation, scan.markers
    target_spans, ends = target_ends
    # Arabic coordinates clauses with «و» on the next subject («... وإيران ترد»); a
    # verb-final object always has its verb after it, an English passive too.
    act_starts = frozenset(a.start for a in acts) if relation.word_order == "vso" else frozenset()
    act_ends = frozenset(m.end for m in acts) if relation.word_order == "svo" else frozenset()
    svo_act_starts = frozenset(m.start for m in acts) if act_ends else frozenset()
    before_or_by = markers.target | markers.agent
    objects_in_gaps = (
        object_gaps(acts, scan.context.forms, markers.target)
        if relation.word_order == "sov"
        else []
    )
    genitive_starts = _act_genitive_starts(acts, relation)
    actors: dict[int, list[Match]] = defaultdict(list)
    by_agent: set[int] = set()
    marked_rivals: set[int] = set()
    kept = one_per_span(mentions)
    heads = frozenset(m.end for m in kept) if relation.word_order == "vso" else frozenset()
    for m in kept:
        if (
            tokens[m.start].sentence not in act_sentences
            or overlaps(m, target_spans)
            or coordinated_with_target(m, ends, act_starts, tokens)
            or kurmanji_place_owner(m, ends, tokens)
            or kurdish_possessor(m, tokens)
            or overlaps(m, objects_in_gaps)
            or (m.start in heads and arabic_nisba(m, tokens))
        ):
            continue
        marker = _marker_before(m, before_or_by, relation.marker_reach, scan)
        if marker & markers.agent or (
            relation.word_order == "sov" and kurmanji_agent_frame(m, tokens)
        ):
            by_agent.add(m.start)
        elif (
            (
                marker
                and not possessor_of_act(m, svo_act_starts, tokens)
                and not verb_final_speaker(m, tokens)
            )
            or (
                markers.object
                and m.start not in genitive_starts
                and _marker_after(m, markers.object, relation.object_marker_reach, scan)
            )
            or (
                act_ends
                and _right_after_act(m, act_ends, relation.marker_reach, tokens)
                and not english_origin(m, tokens)
            )
            or (act_ends and english_passive_subject(m, tokens))
            or (act_ends and english_appositive_passive(m, tokens))
        ):
            if marker and m.role.kind == RIVAL:
                marked_rivals.add(m.start)
            continue
        actors[tokens[m.start].sentence].append(m)
    return actors, by_agent, marked_rivals


def _act_genitive_starts(acts: Sequence[Match], relation: Relation) -> frozenset[int]:
    """Verb-final: where an actor right after a strike noun would start -- its ezafe
    genitive («حمله موشکی سپاه»). An object marker after it («یاد قربانیان حمله موشکی
    سپاه را») closes the whole object, whose head is the act: the actor owns the act and
    is not the object («ایران خسارت حمله هوایی اسرائیل را برآورد کرد»: Israel's attack)."""
    if relation.word_order != "sov":
        return frozenset()
    return frozenset(a.end for a in acts)


def _marker_before(m: Match, words: frozenset[str], reach: int, scan: Scan) -> frozenset[str]:
    """The marker words among ``words`` found within ``reach`` words before the mention,
    in its clause, scanning back until an act or an excluded span (``blocked``)."""
    tokens, forms = scan.context.tokens, scan.context.forms
    clause = tokens[m.start].clause
    for i in range(m.start - 1, max(m.start - 2 - reach, -1), -1):
        if tokens[i].clause != clause or i in scan.blocked:
            break
        found = forms[i] & words
        if found:
            return found
    return frozenset()


def _marker_after(m: Match, words: frozenset[str], reach: int, scan: Scan) -> bool:
    """An (object) marker within ``reach`` words after the mention, in its clause."""
    tokens, forms = scan.context.tokens, scan.context.forms
    clause = tokens[m.start].clause
    for i in range(m.end, min(m.end + 1 + reach, len(tokens))):
        if tokens[i].clause != clause or i in scan.blocked:
            return False
        if forms[i] & words:
            return True
    return False


def _right_after_act(
    m: Match, act_ends: frozenset[int], reach: int, tokens: Sequence[Token]
) -> bool:
    """The mention follows an act within ``reach`` words, in one clause: its object."""
    clause = tokens[m.start].clause
    for end in range(m.start, max(m.start - 1 - reach, 0), -1):
        if tokens[end - 1].clause != clause:
            return False
        if end in act_ends:
            return True
    return False
