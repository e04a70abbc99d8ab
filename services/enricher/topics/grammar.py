"""Grammar of coordination and verb-final clauses, shared by the relation rules.

"and" joins two things hit («کرماشان و تاران»: both are targets) or two strikers
(«ئێران و ئیسرائیل ... هێرش»: joint subjects); in subject-object-verb clauses the actor
right before the verb is its object when another actor opens the clause, and an actor
after the act is its genitive only inside the act's clause. See :mod:`.relations`.
"""

from __future__ import annotations

from collections.abc import Sequence

from newswire.enricher.topics.matching import AGENT, Match
from newswire.enricher.topics.tokens import Token

# "and" in the shipped languages (Kurmanji «û» is compared as «u»); Arabic writes
# «و» on the next word.
COORDINATORS = frozenset({"and", "و", "u"})
AR_ATTACHED_AND = "و"


def coordinated_with_target(
    m: Match, ends: frozenset[int], act_starts: frozenset[int], tokens: Sequence[Token]
) -> bool:
    """The mention is the second half of "target and X" («کرماشان و تاران», «أصفهان
    وطهران», "Natanz and Tehran"): one more thing hit, not a party that strikes --
    unless (Arabic) an act follows it closely (``act_starts``: «... في طهران وإيران ترد
    بصواريخ»: the subject of the next clause)."""
    start = m.start
    if any(m.end <= a <= m.end + 2 for a in act_starts):
        return False
    if start in ends and tokens[start].form.startswith(AR_ATTACHED_AND):
        return True
    return (
        start >= 1
        and start - 1 in ends
        and tokens[start - 1].form in COORDINATORS
        and tokens[start - 1].clause == tokens[start].clause
    )


def joined(first: Match, second: Match, tokens: Sequence[Token]) -> bool:
    """``first`` and ``second`` are "X and Y" (or Arabic «X وY»), in one clause."""
    if second.start == first.end:
        return tokens[second.start].form.startswith(AR_ATTACHED_AND)
    return (
        second.start == first.end + 1
        and tokens[first.end].form in COORDINATORS
        and tokens[first.end].clause == tokens[second.start].clause
    )


def coordinated_agent(
    owner: Match, candidates: Sequence[Match], tokens: Sequence[Token]
) -> Match | None:
    """An agent that shares the rival owner's act as a joint subject ("Iran and Israel
    traded strikes", «ئێران و ئیسرائیل هێرش دەکەنە سەر یەکتر»): each owns the act."""
    for m in candidates:
        if m.role.kind == AGENT and (joined(m, owner, tokens) or joined(owner, m, tokens)):
            return m
    return None


def genitive_of(act: Match, after: Match, tokens: Sequence[Token]) -> bool:
    """Verb-final: an actor after the act owns it as its genitive («حمله اسرائیل») only
    in the act's clause and with no "and" between -- «... مووشەکباران کرد و ئیسرائیل
    ...» starts the next verb's subject."""
    clause = tokens[act.start].clause
    return tokens[after.start].clause == clause and all(
        tokens[i].form not in COORDINATORS for i in range(act.end, after.start)
    )


def verb_final_subject(
    before: Match,
    act: Match,
    actors: Sequence[Match],
    act_words: frozenset[int],
    tokens: Sequence[Token],
) -> Match | None:
    """Subject, object, verb: with another actor earlier in the clause, the actor right
    before a verb-final act is its object («ئیسرائیل تارانی بۆردومان کرد», «Îsraîl
    Tehran bombebaran kir»): the clause's first actor owns the act -- unless the two
    are joined by "and" (joint subjects) or another act stands between them (the
    earlier actor is that act's subject: «... بۆردومان کرد و ئێران ... هاویشت»)."""
    clause = tokens[act.start].clause
    earlier = [
        m
        for m in actors
        if m.end <= before.start
        and tokens[m.start].clause == clause
        and not joined(m, before, tokens)
        and act_words.isdisjoint(range(m.end, before.start))
    ]
    return min(earlier, key=lambda m: m.start, default=None)
