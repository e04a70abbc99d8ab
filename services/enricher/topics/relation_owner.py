"""Relations, second step: which party owns an act, and which object it hits.

Given the parties of an act's sentence (:mod:`.relation_parties`), the owner is the
nearest actor within ``within`` tokens that no barrier word (condemned, foiled) cuts
off; the relation's word order (svo, vso, sov) settles ties, actors in later clauses,
verb-final subjects and the object right before or after the act. Kept apart from
finding the parties: these rules run once per act and branch on the word order, where
the parties are found once per relation and article; each tuning round has touched
one or the other, rarely both. The rules as a whole: :mod:`.relations`.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence

from newswire.enricher.topics.grammar import (
    COORDINATORS,
    SPEECH_VERBS,
    after_last_speech_verb,
    another_act_first,
    claiming_speaker,
    closes_verb_group,
    genitive_of,
    in_subordinate_clause,
    kurmanji_direct_object,
    kurmanji_ergative_agent,
    passive_subject,
    persian_passive,
    persian_passive_object,
    verb_final_subject,
)
from newswire.enricher.topics.matching import AGENT, Context, Match, gap
from newswire.enricher.topics.morphology import is_arabic_definite
from newswire.enricher.topics.relation_parties import Parties
from newswire.enricher.topics.taxonomy import Relation
from newswire.enricher.topics.tokens import Token


def object_of(
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


def owner_of(
    act: Match,
    actors: Sequence[Match],
    parties: Parties,
    relation: Relation,
    context: Context,
) -> Match | None:
    """The nearest actor within ``within`` tokens (the sentence's actors); one after an
    agent marker behind the act wins outright; in verb-final word order with none near,
    the sentence's first actor before the act (a verb-final sentence's subject, with a
    long object in between). Ties: see :mod:`.relations`."""
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


def barrier_positions(words: frozenset[str], context: Context) -> list[int]:
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


def across_no_barrier(
    act: Match,
    actors: Sequence[Match],
    parties: Parties,
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
    elif relation.word_order == "svo" and _reduced_passive_barrier(act, barriers, tokens):
        actors = [m for m in actors if not _reporting_defender(m, act, parties, tokens)]
    return [
        m
        for m in actors
        if not (
            _any_between(barriers, after_last_speech_verb(m.end, act.start, tokens), act.start)
            if m.end <= act.start
            else _any_between(barriers, act.end, m.start)
        )
    ]


# English reduced passive: "attack foiled", "attack on X was repelled" -- a barrier
# participle closing the act's noun phrase (right after it, or after "was/were" within a
# short PP), in its clause, with no relative clause between ("drones that were shot down"
# is another verb's).
_EN_PASSIVE_AUX = frozenset({"was", "were", "is", "are", "been", "being"})
_EN_RELATIVE = frozenset({"that", "which", "who"})
_DEFENDED_REACH = 5


def _reduced_passive_barrier(act: Match, barriers: list[int], tokens: Sequence[Token]) -> bool:
    """svo: the act is reported as defended against ("Tehran says attack repelled",
    "... says drone attack on Isfahan factory was foiled")."""
    clause = tokens[act.start].clause
    if act.end < len(tokens) and _any_between(barriers, act.end, act.end + 1):
        return tokens[act.end].clause == clause
    for i in range(act.end, min(act.end + _DEFENDED_REACH, len(tokens) - 1)):
        if tokens[i].clause != clause or tokens[i].form in _EN_RELATIVE:
            return False
        if tokens[i].form in _EN_PASSIVE_AUX:
            return tokens[i + 1].clause == clause and _any_between(barriers, i + 1, i + 2)
    return False


def _reporting_defender(m: Match, act: Match, parties: Parties, tokens: Sequence[Token]) -> bool:
    """The speaker who reports that an act was defended against ("Tehran says attack
    repelled"), with a speech verb between it and the act: the defender, not the
    attacker. A possessor right before the strike noun keeps it ("Israel says Iranian
    missile attack foiled": a launched attack counts even when foiled)."""
    if m.start >= act.end or m.start in parties.by_agent:
        return False
    return any(tokens[i].form in SPEECH_VERBS for i in range(m.end, act.start))
