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
worth is :mod:`.scoring`'s business. It assembles each act's event from two steps, one
module each, so that the rules of one can be read without the other:

* :mod:`.relation_parties`: who may own an act and what it may hit, per sentence
  (actors, targets, object targets, and the marker scans that tell them apart);
* :mod:`.relation_owner`: which of those parties owns a given act and which object
  it hits (nearest actor, word-order ties, agent markers, barriers).

Rules in detail. An event is an act mention whose owner -- the nearest actor mention
(agent or rival) within ``within`` tokens in its sentence -- is not a rival, is an agent
if the relation needs one, and has a target phrase within ``within`` tokens if the
relation needs one (a target phrase, or an ``object_targets`` mention that is the act's
object, see :func:`.relation_owner.object_of`). Actor mentions inside a target phrase
or marked as targets are not actors; an actor right after an agent marker ("by") owns
the act before it; targets right after a source marker (from, من, از) are origins, not
targets; no link crosses a barrier word (condemned, foiled). ``word_order`` says how actors attach
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

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from newswire.enricher.topics.grammar import coordinated_agent, headline_speaker
from newswire.enricher.topics.matching import (
    ACT,
    AGENT,
    OBJECT,
    RIVAL,
    TARGET,
    Context,
    Match,
    gap,
    one_per_span,
)
from newswire.enricher.topics.relation_owner import (
    across_no_barrier,
    barrier_positions,
    object_of,
    owner_of,
)
from newswire.enricher.topics.relation_parties import (
    Parties,
    Scan,
    find_actors,
    find_objects,
    find_targets,
    target_spans_and_ends,
)
from newswire.enricher.topics.taxonomy import Relation, Section

_ByKind = dict[tuple[int, int], list[Match]]  # (relation slot, role kind) -> mentions


@dataclass(frozen=True, slots=True)
class RelationEvents:
    """The acts of one relation that count, and their evidence phrases in text order."""

    slot: int  # the relation's index in its section
    acts: tuple[Match, ...]
    evidence: list[str]


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
    scan = Scan(relation, markers, blocked, context)
    targets = find_targets(scan, raw_targets or (), act_sentences)
    objects = find_objects(scan, raw_objects or (), act_sentences)
    if relation.needs_target and not targets and not objects:
        return None
    actors, by_agent, marked_rivals = find_actors(
        scan,
        (agents or []) + by_kind.get((slot, RIVAL), []),
        act_sentences,
        target_spans_and_ends(targets, masked),
        acts,
    )
    barrier_words = scan.markers.barrier
    barriers = barrier_positions(barrier_words, context) if barrier_words else None
    act_words = frozenset(i for m in acts for i in m.words())
    party = min(agents or (), key=lambda m: m.start, default=None)
    parties = Parties(
        actors, by_agent, targets, objects, barriers, act_words,
        party if directed and _is_exchange(relation) else None,
        frozenset(marked_rivals),
    )  # fmt: skip
    return _counted(slot, acts, parties, relation, context)


def _counted(
    slot: int, acts: Sequence[Match], parties: Parties, relation: Relation, context: Context
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


def _event(
    act: Match, parties: Parties, relation: Relation, context: Context
) -> tuple[Match, ...] | None:
    """The act with its owner and target if it counts (its evidence), else None."""
    tokens = context.tokens
    sentence = tokens[act.start].sentence
    candidates = parties.actors.get(sentence, [])
    if parties.barriers is not None and candidates:
        candidates = across_no_barrier(act, candidates, parties, relation, tokens)
    owner = owner_of(act, candidates, parties, relation, context) or parties.party
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
        target = object_of(act, owner, parties.objects.get(sentence, ()), relation, tokens)
    if relation.needs_target and target is None:
        return None
    return tuple(m for m in (act, owner, target) if m is not None)
