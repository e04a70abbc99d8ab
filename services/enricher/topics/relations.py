"""Relations: which act mentions count for a topic, and the evidence of each.

A relation (actor -> act -> target) attributes each act, e.g. a strike word, to the
nearest actor mention in its sentence (an "agent" of the topic or a "rival"); actor
mentions right after a target marker (على, on, به, بۆ سەر ...) or before an object marker
(را) are targets, not actors; "by" picks the owner; no link crosses a barrier word
(condemned, foiled); the relation's word order (svo, vso, sov) settles ties, objects and
verb-final subjects. An act counts for the topic when its owner is not a rival (an agent
if asked) and, if asked, a target is near. This is what keeps "Israel strikes Iran" out
of iran-strikes and "Iran strikes Israel" out of strikes-on-iran.

This module only decides *which* acts count (:func:`relation_events`); what they are
worth is :mod:`.scoring`'s business.

Rules in detail. An event is an act mention whose owner -- the nearest actor mention
(agent or rival) within ``within`` tokens in its sentence -- is not a rival, is an agent
if the relation needs one, and has a target phrase within ``within`` tokens if the
relation needs one (a target phrase, or an ``object_targets`` mention that is the act's
object, see :func:`_object_of`). Actor mentions inside a target phrase or marked as
targets are not actors; an actor right after an agent marker ("by") owns the act before
it; targets right after a source marker (from, من, از) are origins, not targets; no link
crosses a barrier word (condemned, foiled). ``word_order`` says how actors attach
(without one, ties go to the earlier actor and nothing else applies):

* svo (English): an actor right after an act is its object ("Iran hit Jaish al-Adl
  bases"); on a tie the earlier actor (the subject) wins.
* vso (Arabic): the subject may follow the verb («ضربت إيران»); on a tie the earlier
  actor wins («إسرائيل تضرب إيران») except after a definite noun, whose actor follows it
  («أدان العراق الهجوم الإيراني»).
* sov (Persian, Sorani, Kurmanji): on a tie the later actor wins (ezafe/genitive:
  «حمله اسرائیل», «هێرشی ئیسرائیلی») but only inside the act's clause; with no actor
  near, the sentence's first actor before a verb-final act owns it (a long object
  between); an actor right before the act with another actor opening its clause is the
  object (S O V: «ئیسرائیل تارانی بۆردومان کرد»); a barrier after the act in its clause
  makes the actors before it that verb's subjects.

In every word order, an actor joined by "and" to a target is one more target
(«کرماشان و تاران»), and a rival owner joined by "and" to an agent shares the act with
it ("Iran and Israel traded strikes").
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from newswire.enricher.topics.grammar import (
    COORDINATORS,
    after_last_speech_verb,
    another_act_first,
    arabic_nisba,
    claiming_speaker,
    closes_verb_group,
    coordinated_agent,
    coordinated_with_target,
    english_passive_subject,
    genitive_of,
    headline_speaker,
    in_subordinate_clause,
    kurdish_possessor,
    kurmanji_direct_object,
    kurmanji_ergative_agent,
    object_gaps,
    passive_subject,
    persian_passive,
    persian_passive_object,
    possessor_of_act,
    relative_subject,
    verb_final_speaker,
    verb_final_subject,
)
from newswire.enricher.topics.matching import (
    ACT,
    AGENT,
    OBJECT,
    RIVAL,
    TARGET,
    Context,
    MarkerWords,
    Match,
    gap,
    one_per_span,
    overlaps,
)
from newswire.enricher.topics.morphology import is_arabic_definite
from newswire.enricher.topics.taxonomy import Relation, Section
from newswire.enricher.topics.tokens import Token

_ByKind = dict[tuple[int, int], list[Match]]  # (relation slot, role kind) -> mentions


@dataclass(frozen=True, slots=True)
class RelationEvents:
    """The acts of one relation that count, and their evidence phrases in text order."""

    slot: int  # the relation's index in its section
    acts: tuple[Match, ...]
    evidence: list[str]


@dataclass(frozen=True, slots=True)
class _Scan:
    """One relation in one article: its marker words, and the token positions marker
    scans stop at (acts and excluded spans)."""

    relation: Relation
    markers: MarkerWords
    blocked: frozenset[int]
    context: Context


@dataclass(frozen=True, slots=True)
class _Parties:
    """Per sentence that has an act: who may own an act, and what it may hit."""

    actors: dict[int, list[Match]]
    by_agent: set[int]  # starts of actors introduced by an agent marker ("by Iran")
    targets: dict[int, list[Match]]
    objects: dict[int, list[tuple[Match, bool]]]  # (mention, marked as a target)
    barriers: list[int] | None  # sorted positions of barrier words, if the relation has any
    act_words: frozenset[int]  # token positions inside act mentions
    party: Match | None = None  # exchanges: the article's party, for an act naming none
    marked_rivals: frozenset[int] = frozenset()  # starts of rivals a marker makes targets


def relation_events(
    section: Section, live: Sequence[Match], masked: Sequence[tuple[int, int]], context: Context
) -> list[RelationEvents]:
    """Per relation of the section with at least one counted act, its events."""
    by_kind: _ByKind = defaultdict(list)
    for m in live:
        if m.role.kind >= ACT:
            by_kind[m.role.slot, m.role.kind].append(m)
    # Exchanges (no word order) last: "Tit-for-tat strikes escalate" names no party;
    # once the topic's own direction has an event, the article's party is the one.
    order = sorted(range(len(section.relations)), key=lambda i: _is_exchange(section.relations[i]))
    found: list[RelationEvents] = []
    for slot in order:
        relation = section.relations[slot]
        events = _events(slot, relation, by_kind, masked, context, bool(found))
        if events is not None:
            found.append(events)
    return sorted(found, key=lambda e: e.slot)


def _is_exchange(relation: Relation) -> bool:
    """A relation with no word order whose owner must be an agent: an exchange."""
    return relation.needs_agent and not relation.word_order


def _events(
    slot: int,
    relation: Relation,
    by_kind: _ByKind,
    masked: Sequence[tuple[int, int]],
    context: Context,
    directed: bool = False,
) -> RelationEvents | None:
    """One relation's counted acts; None when none counts. ``directed``: the topic
    already has an event of its own direction in the article."""
    acts = by_kind.get((slot, ACT))
    agents = by_kind.get((slot, AGENT))
    raw_targets = by_kind.get((slot, TARGET))
    raw_objects = by_kind.get((slot, OBJECT))
    if (
        not acts
        or (relation.needs_agent and not agents)
        or (relation.needs_target and not raw_targets and not raw_objects)
    ):
        return None
    acts = one_per_span(acts)
    tokens = context.tokens
    act_sentences = {tokens[m.start].sentence for m in acts}
    # Marker scans stop at an act («سپاه این حملات را»: را marks the attacks, not the
    # IRGC) -- except at a target marker that ends the act's phrase («صواريخ … على
    # إسرائيل»: Israel is still what is hit) -- and ignore marker words inside excluded
    # spans («به گفته سپاه»).
    markers = context.compiled.markers[context.topic, slot]
    forms = context.forms
    blocked = frozenset(
        i for m in acts for i in m.words() if not (i == m.end - 1 and forms[i] & markers.target)
    ).union(*(range(start, end) for start, end in masked))
    scan = _Scan(relation, markers, blocked, context)
    targets = _targets(scan, raw_targets or (), act_sentences)
    objects = _objects(scan, raw_objects or (), act_sentences)
    if relation.needs_target and not targets and not objects:
        return None
    actors, by_agent, marked_rivals = _actors(
        scan,
        (agents or []) + by_kind.get((slot, RIVAL), []),
        act_sentences,
        _target_ends(targets, masked),
        acts,
    )
    barrier_words = scan.markers.barrier
    barriers = _barrier_positions(barrier_words, context) if barrier_words else None
    act_words = frozenset(i for m in acts for i in m.words())
    party = min(agents or (), key=lambda m: m.start, default=None)
    parties = _Parties(
        actors, by_agent, targets, objects, barriers, act_words,
        party if directed and _is_exchange(relation) else None,
        frozenset(marked_rivals),
    )  # fmt: skip
    return _counted(slot, acts, parties, relation, context)


def _counted(
    slot: int, acts: Sequence[Match], parties: _Parties, relation: Relation, context: Context
) -> RelationEvents | None:
    """The acts that count, with the phrases of their acts, owners and targets."""
    counted: list[Match] = []
    phrases: list[tuple[int, str]] = []
    for act in acts:
        event = _event(act, parties, relation, context)
        if event is not None:
            counted.append(act)
            phrases.extend((m.start, m.role.phrase) for m in event)
    if not counted:
        return None
    return RelationEvents(slot, tuple(counted), [p for _, p in sorted(phrases)])


def _targets(
    scan: _Scan, raw_targets: Iterable[Match], act_sentences: set[int]
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


def _objects(
    scan: _Scan, raw_objects: Iterable[Match], act_sentences: set[int]
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
            )
            objects[tokens[o.start].sentence].append((o, marked))
    return objects


def _target_ends(
    targets: dict[int, list[Match]], masked: Sequence[tuple[int, int]]
) -> tuple[list[tuple[int, int]], frozenset[int]]:
    """Target spans, and where every target or excluded span (a target phrase another
    topic masks, «کرماشان») ends: what an actor coordinated with one is part of."""
    spans = [(t.start, t.end) for ts in targets.values() for t in ts]
    return spans, frozenset(end for _, end in spans) | frozenset(end for _, end in masked)


def _actors(
    scan: _Scan,
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
            or kurdish_possessor(m, tokens)
            or overlaps(m, objects_in_gaps)
            or (m.start in heads and arabic_nisba(m, tokens))
        ):
            continue
        marker = _marker_before(m, before_or_by, relation.marker_reach, scan)
        if marker & markers.agent:
            by_agent.add(m.start)
        elif (
            (
                marker
                and not possessor_of_act(m, svo_act_starts, tokens)
                and not verb_final_speaker(m, tokens)
            )
            or (
                markers.object
                and _marker_after(m, markers.object, relation.object_marker_reach, scan)
            )
            or (act_ends and _right_after_act(m, act_ends, relation.marker_reach, tokens))
            or (act_ends and english_passive_subject(m, tokens))
        ):
            if marker and m.role.kind == RIVAL:
                marked_rivals.add(m.start)
            continue
        actors[tokens[m.start].sentence].append(m)
    return actors, by_agent, marked_rivals


def _event(
    act: Match, parties: _Parties, relation: Relation, context: Context
) -> tuple[Match, ...] | None:
    """The act with its owner and target if it counts (its evidence), else None."""
    tokens = context.tokens
    sentence = tokens[act.start].sentence
    candidates = parties.actors.get(sentence, [])
    if parties.barriers is not None and candidates:
        candidates = _across_no_barrier(act, candidates, parties, relation, tokens)
    owner = _owner(act, candidates, parties, relation, context) or parties.party
    if owner is None and relation.word_order == "sov" and relation.needs_agent:
        owner = headline_speaker(
            act, parties.actors.get(sentence, []), parties.marked_rivals, tokens
        )
    if owner is not None and owner.role.kind == RIVAL:
        owner = coordinated_agent(owner, candidates, tokens)
        if owner is None:
            return None
    if relation.needs_agent and owner is None:
        return None
    target = min(
        (t for t in parties.targets.get(sentence, ()) if gap(act, t) <= relation.within),
        key=lambda t: gap(act, t),
        default=None,
    )
    if target is None and parties.objects:
        target = _object_of(act, owner, parties.objects.get(sentence, ()), relation, tokens)
    if relation.needs_target and target is None:
        return None
    return tuple(m for m in (act, owner, target) if m is not None)


def _marker_before(m: Match, words: frozenset[str], reach: int, scan: _Scan) -> frozenset[str]:
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


def _marker_after(m: Match, words: frozenset[str], reach: int, scan: _Scan) -> bool:
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


def _object_of(
    act: Match,
    owner: Match | None,
    objects: Iterable[tuple[Match, bool]],
    relation: Relation,
    tokens: Sequence[Token],
) -> Match | None:
    """An object-target mention that is the act's object: marked as a target within
    ``within`` tokens («على إيران», «به ایران»); in svo right after the act ("struck
    Iran"); in vso right after the act when its owner comes first («إسرائيل تضرب
    إيران»; in «ضربت إيران أهدافا» Iran is the subject); in sov right before the act
    when its owner comes first («ئیسرائیل تارانی بۆردومان کرد»)."""
    for o, marked in objects:
        if o.start < act.end and act.start < o.end:
            continue
        if marked and gap(act, o) <= relation.within:
            return o
        if relation.word_order == "svo" and act.end <= o.start <= act.end + 1:
            return o
        if (
            relation.word_order == "vso"
            and o.start == act.end
            and owner is not None
            and owner.end <= act.start
        ):
            return o
        if (
            relation.word_order == "sov"
            and o.end == act.start
            and owner is not None
            and owner.end <= o.start
        ) or (relation.word_order == "sov" and kurmanji_direct_object(o, owner, act, tokens)):
            return o
        if relation.word_order == "sov" and persian_passive_object(o, act, tokens):
            return o
    return None


def _owner(
    act: Match,
    actors: Sequence[Match],
    parties: _Parties,
    relation: Relation,
    context: Context,
) -> Match | None:
    """The nearest actor within ``within`` tokens (the sentence's actors); one after an
    agent marker behind the act wins outright; in verb-final word order with none near,
    the sentence's first actor before the act (a verb-final sentence's subject, with a
    long object in between). Ties: see the module docstring."""
    near = [m for m in actors if gap(act, m) <= relation.within]
    tokens = context.tokens
    if relation.word_order == "sov":
        # Verb-final: an actor after the act is its genitive («حمله اسرائیل»), which
        # never reaches past the act's clause («... bombebaran kir, Îranê jî ...»).
        near = [m for m in near if m.end <= act.start or genitive_of(act, m, tokens)]
    elif relation.word_order:
        # An actor in a later clause is that clause's subject, often the source that
        # reports what hit it ("Drones hit a workshop in Isfahan; Tehran says ..."). An
        # exchange (no word order: no direction) may name its parties anywhere.
        clause = tokens[act.start].clause
        near = [
            m
            for m in near
            if m.end <= act.start
            or (
                tokens[m.start].clause == clause
                and not (relation.word_order == "svo" and in_subordinate_clause(act, m, tokens))
                and not (
                    relation.word_order == "vso" and another_act_first(act, m, parties.act_words)
                )
            )
        ]
    # "by X" follows the act, except in verb-final order («لەلایەن ئێرانەوە کرایە ئامانج»).
    marked = [
        m
        for m in near
        if m.start in parties.by_agent and (m.start >= act.end or relation.word_order == "sov")
    ]
    if marked:
        near = marked
    if not near:
        if relation.word_order == "sov":
            return min(
                (m for m in actors if m.end <= act.start), key=lambda m: m.start, default=None
            )
        if relation.word_order and relation.needs_agent:
            speaker = claiming_speaker(act, actors, tokens)
            if speaker is not None and speaker.role.kind == AGENT:
                return speaker
        return None
    if relation.word_order == "sov":
        later_wins = True
    elif relation.word_order == "vso":
        later_wins = is_arabic_definite(context.tokens[act.start].form)
    else:
        later_wins = False
    best = min(near, key=lambda m: (gap(act, m), (m.start < act.start) == later_wins))
    if relation.word_order == "sov" and best.end <= act.start:
        best = kurmanji_ergative_agent(best, act, actors, tokens) or best
    if relation.word_order == "sov" and best.end == act.start:
        return verb_final_subject(best, act, actors, parties.act_words, context.tokens) or best
    return best


def _barrier_positions(words: frozenset[str], context: Context) -> list[int]:
    """Sorted positions of the article's tokens that are barrier words (cached per
    article: the topics of one language share their barrier lists)."""
    positions = context.barrier_positions.get(words)
    if positions is None:
        positions = [i for i, f in enumerate(context.forms) if f & words]
        context.barrier_positions[words] = positions
    return positions


def _any_between(positions: list[int], start: int, end: int) -> bool:
    """A position in [start, end), by bisection of the sorted list."""
    return bisect.bisect_left(positions, start) < bisect.bisect_left(positions, end)


def _across_no_barrier(
    act: Match,
    actors: Sequence[Match],
    parties: _Parties,
    relation: Relation,
    tokens: Sequence[Token],
) -> list[Match]:
    """Actors whose link to the act crosses no barrier word («إيران تعلن إحباط هجوم»:
    Iran foiled the attack). Verb-final: a barrier in or after the act in its clause is
    the verb of the actors before the act («ایران حمله ... را محکوم کرد»), or makes
    the act passive («... hat lêdan», «... پێکرا»): only an agent marked as such («ji
    aliyê X ve», «لەلایەن X») may own it from before."""
    barriers = parties.barriers or []
    if relation.word_order == "sov":
        # The act's verb group: to the end of its clause or the next "and" («... حمله
        # کرد و چهار نفر کشته شدند»: the killed are the next verb's subject).
        clause_end = act.end
        while (
            not closes_verb_group(act, tokens)
            and clause_end < len(tokens)
            and tokens[clause_end].clause == tokens[act.start].clause
            and tokens[clause_end].form not in COORDINATORS
        ):
            clause_end += 1
        if _any_between(barriers, act.start, clause_end):
            actors = [m for m in actors if m.start >= act.end or m.start in parties.by_agent]
        elif persian_passive(act, tokens):
            actors = [m for m in actors if not passive_subject(m, act, parties.by_agent, tokens)]
    return [
        m
        for m in actors
        if not (
            _any_between(barriers, after_last_speech_verb(m.end, act.start, tokens), act.start)
            if m.end <= act.start
            else _any_between(barriers, act.end, m.start)
        )
    ]
