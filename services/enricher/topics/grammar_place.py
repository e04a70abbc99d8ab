"""Where a strike landed and where it came from, read from the words around a party.

Kurmanji place ezafe: the country or city after a place name owns the place.

«Îsraîlê li Kirmaşana Îranê baregehek bombebaran kir»: «Kirmaşana Îranê» is "Iran's
Kermanshah", one noun phrase. The feminine ezafe «-a» on the place name (and the linker
«ya»/«a» after a place phrase) ties the next word to the place, so Iran there is where
the strike landed, never the striker. Kept apart from :mod:`.grammar` (coordination and
verb-final clauses) so the rules of each stay short.

Kurmanji agent frame: «ji aliyê … ve» encloses the whole agent noun phrase, however long
its ezafe chain («ji aliyê balafirên B-2 yên Amerîkayê ve hat bombebarankirin»: the US
struck), beyond the reach a single marker word has.

English apposition: "Tehran, struck overnight by Israeli missiles, vows ..." -- a
participle with its "by" opening the clause right after a mention says the mention was
hit, as "Tehran struck by ..." does in one clause.

English origin: "hit by missiles fired from Iran" -- an actor phrase opening with
"from" right after a passive act names where the weapons were launched, the striker,
never the act's object.

Only the feminine ezafe is read: the masculine ezafe «-ê» is also the oblique case
(«li Hewlêrê Îranê ...» can be "in Erbil, Iran ..."), so it proves nothing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from newswire.enricher.topics.matching import Match
from newswire.enricher.topics.tokens import Token

# Accent-folded Kurmanji: a Latin word whose feminine ezafe «-a» follows its stem.
_KMR_FEMININE_EZAFE = re.compile(r"^[a-z]{3,}a$")
_KMR_LINKERS = frozenset({"ya", "a"})


def kurmanji_place_owner(m: Match, ends: frozenset[int], tokens: Sequence[Token]) -> bool:
    """The mention is the ezafe complement of a place just before it: a target span
    (or an excluded place, both in ``ends``) ending in the feminine ezafe «-a», or a
    place followed by the linker «ya»/«a» («Serawana Îranê», «... ya Îranê»)."""
    start = m.start
    if start < 1 or tokens[start - 1].clause != tokens[start].clause:
        return False
    before = tokens[start - 1].form
    if start in ends and _KMR_FEMININE_EZAFE.match(before):
        return True
    return (
        before in _KMR_LINKERS
        and start - 1 in ends
        and tokens[start - 2].clause == tokens[start].clause
    )


_EN_ORIGIN = "from"
_EN_APPOSITIVE_PARTICIPLES = frozenset(
    {"hit", "struck", "targeted", "bombed", "attacked", "shelled", "pounded", "raided", "rocked"}
)
_EN_APPOSITIVE_BY_REACH = 3  # words between the participle and its "by" ("struck overnight by")


def english_origin(m: Match, tokens: Sequence[Token]) -> bool:
    """The mention is an origin phrase ("from Iran", "from Iranian territory"): where the
    act came from, so never the object an English act has right after it."""
    return tokens[m.start].form == _EN_ORIGIN


# Accent-folded «ji aliyê … ve»; the longest ezafe chain read between them.
_KMR_FRAME_OPEN = ("ji", "aliye")
_KMR_FRAME_CLOSE = "ve"
_KMR_FRAME_REACH = 6


def kurmanji_agent_frame(m: Match, tokens: Sequence[Token]) -> bool:
    """The mention stands inside «ji aliyê … ve» in its clause: the opening pair before
    it (no «ve» closing the frame first) and the closing «ve» after it."""
    clause = tokens[m.start].clause
    opened = False
    for i in range(m.start - 1, max(m.start - 1 - _KMR_FRAME_REACH, 0), -1):
        if tokens[i].clause != clause or tokens[i].form == _KMR_FRAME_CLOSE:
            return False
        if (tokens[i - 1].form, tokens[i].form) == _KMR_FRAME_OPEN:
            opened = True
            break
    if not opened:
        return False
    for i in range(m.end, min(m.end + 3, len(tokens))):
        if tokens[i].clause != clause:
            return False
        if tokens[i].form == _KMR_FRAME_CLOSE:
            return True
    return False


def english_appositive_passive(m: Match, tokens: Sequence[Token]) -> bool:
    """The clause right after the mention opens with a strike participle and its "by"
    ("Tehran, struck overnight by ..."): the mention is what was hit."""
    i = m.end
    if i >= len(tokens) or tokens[i].clause == tokens[m.start].clause:
        return False
    if tokens[i].form not in _EN_APPOSITIVE_PARTICIPLES:
        return False
    clause = tokens[i].clause
    for j in range(i + 1, min(i + 2 + _EN_APPOSITIVE_BY_REACH, len(tokens))):
        if tokens[j].clause != clause:
            return False
        if tokens[j].form == "by":
            return True
    return False
