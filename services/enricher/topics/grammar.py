"""Grammar of coordination and verb-final clauses, shared by the relation rules.

"and" joins two things hit («کرماشان و تاران»: both are targets) or two strikers
(«ئێران و ئیسرائیل ... هێرش»: joint subjects); in subject-object-verb clauses the actor
right before the verb is its object when another actor opens the clause, and an actor
after the act is its genitive only inside the act's clause. See :mod:`.relations`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from newswire.common.text import normalise_text
from newswire.enricher.topics.matching import AGENT, Match
from newswire.enricher.topics.tokens import Token, tokenise

# "and" in the shipped languages (Kurmanji «û» is compared as «u»); Arabic writes
# «و» on the next word.
COORDINATORS = frozenset({"and", "و", "u"})
AR_ATTACHED_AND = "و"


def coordinated_with_target(
    m: Match, ends: frozenset[int], act_starts: frozenset[int], tokens: Sequence[Token]
) -> bool:
    """The mention is the second half of "target and X" («کرماشان و تاران», «أصفهان
    وطهران», "Natanz and Tehran"): one more thing hit, not a party that strikes --
    unless (Arabic) an act follows it closely or starts with it (``act_starts``: «... في
    طهران وإيران ترد بصواريخ»: the subject of the next clause; «... في طهران وصواريخ فتاح
    على إسرائيل»: the named weapons are the next act's own)."""
    start = m.start
    if any(m.start <= a <= m.end + 2 for a in act_starts):
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


# A claim names its speaker once and then refers to it: "the Guards said ... that
# their missile units had targeted ...", «أعلن الحرس الثوري ... أن وحداته استهدفت».
# Comparison forms (Arabic folded: أ/إ -> ا, ة -> ه).
SPEECH_VERBS = frozenset(
    {
        "said", "says", "say", "announced", "announces", "announce", "claimed", "claims",
        "claim", "stated", "declared",
        "confirmed", "قال", "قالت", "يقول", "تقول", "اعلن", "اعلنت", "يعلن", "تعلن", "اكد",
        "اكدت", "يؤكد", "تؤكد", "ذكر", "ذكرت", "صرح", "تبنى", "تبنت", "وقال", "وقالت",
        "واعلن", "واعلنت", "واكد", "واكدت",
        # Persian, Sorani, Kurmanji (verb-final: the speech verb ends the speaker's clause)
        "اعلام", "گفت", "ڕايگهياند", "وتي", "ragihand", "got", "daxuyand",
    }
)  # fmt: skip
_PRONOUN_WORDS = frozenset({"it", "its", "they", "their", "انه", "انها", "انهم", "بانه", "بانها"})
# A denial between the speaker and the act: "Iran said it was not behind the attack".
_DENIALS = frozenset(
    {"not", "no", "never", "nothing", "denied", "denies", "لم", "لا", "ليس", "لن", "نفى", "نفت"}
)
_AR_OWN_FORCES = re.compile(
    r"^و?(وحدات|قوات|صواريخ|طائرات|مسيرات|مقاتلات|منصات|جنود|عناصر|مقاتلي|مدفعيت)(ه|ها|هم)$"
)
_CLAUSE_OPENERS = frozenset({"ku", "كه", "which", "that", "الذي", "التي"})
SPEAKER_REACH = 30  # tokens from the speaker to the act, inside one sentence
_PRONOUN_REACH = 5  # tokens from the reference to the act


def _refers_back(form: str) -> bool:
    return form in _PRONOUN_WORDS or bool(_AR_OWN_FORCES.match(form))


def speaks(m: Match, tokens: Sequence[Token]) -> bool:
    """A speech verb stands next to the mention ("X said", «أعلن X», «X يعلن»)."""
    around = range(max(0, m.start - 2), min(len(tokens), m.end + 2))
    return any(tokens[i].form in SPEECH_VERBS for i in around)


def claiming_speaker(act: Match, actors: Sequence[Match], tokens: Sequence[Token]) -> Match | None:
    """svo/vso: the speaker of a claim owns an act that has no actor near it, when a
    pronoun close before the act refers back to it ("X said ... their units targeted",
    «أعلن X ... أن وحداته استهدفت»). Only the last actor before the act may be the
    speaker (no other party between), and a speech verb must stand next to it."""
    sentence = tokens[act.start].sentence
    before = [m for m in actors if m.end <= act.start and tokens[m.start].sentence == sentence]
    if not before:
        return None
    speaker = max(before, key=lambda m: m.start)
    if act.start - speaker.end > SPEAKER_REACH:
        return None
    if not speaks(speaker, tokens):
        return None
    if any(tokens[i].form in _DENIALS for i in range(speaker.end, act.start)):
        return None
    reference = range(max(speaker.end, act.start - _PRONOUN_REACH), act.start)
    return speaker if any(_refers_back(tokens[i].form) for i in reference) else None


# Relativisers (comparison forms): the mention right after one is the relative
# clause's subject ("the attack, which Tehran claimed"), not what the act before it
# hit. Only the unambiguous ones: "that", «که» and «ku» also introduce reported
# speech ("officials said that Tehran was hit").
RELATIVISERS = frozenset({"which", "who", "whom", "الذي", "التي", "الذين", "اللذين"})


def relative_subject(m: Match, tokens: Sequence[Token]) -> bool:
    """The mention opens a relative clause (right after a relativiser)."""
    return m.start >= 1 and tokens[m.start - 1].form in RELATIVISERS


def after_last_speech_verb(start: int, end: int, tokens: Sequence[Token]) -> int:
    """Where to look for barriers between a speaker (ending at ``start``) and its act
    (at ``end``): after a speech verb that closes a relative clause describing the
    statement («Sipaha Pasdaran di daxuyaniyekê de ku hat weşandin ragihand ku ...»:
    the passive «hat» is the statement's, not the act's), else from ``start``. Only a
    relative clause: "Iran condemned the raid and said ..." keeps its barrier."""
    for i in range(end - 1, start - 1, -1):
        if tokens[i].form in SPEECH_VERBS:
            if any(tokens[j].form in _CLAUSE_OPENERS for j in range(start, i)):
                return i + 1
            return start
    return start


# Sorani and Kurmanji only: a strike act that holds one of these finite active verbs
# («... bombebaran kir», «... بە مووشەک پێکا») closes its own verb group, so a passive
# auxiliary later in the clause is another verb's («Baregeha ku Sipah ... bombebaran kir
# ji nû ve hat avakirin»: it was rebuilt, not hit by the IRGC). Persian «کرد» is not
# listed: fa keeps the clause-wide verb group.
KURDISH_FINITE_ACTIVE = frozenset(
    tokenise("kir kirin kiriye kirine xist xistin da dan daye dane girt girtin avêt avêtin "
             "şand şandin", "kmr")
    + tokenise("کردیان کردمان هاویشت هاوێشت هاویشتیان پێکا پێکای پێکایان", "ckb")
)  # fmt: skip


def closes_verb_group(act: Match, tokens: Sequence[Token]) -> bool:
    """The act holds a Sorani/Kurmanji finite active verb («bombebaran kir», «kir
    hedef»): its verb group ends with it."""
    return any(tokens[i].form in KURDISH_FINITE_ACTIVE for i in act.words())


def kurmanji_ergative_agent(
    best: Match, act: Match, actors: Sequence[Match], tokens: Sequence[Token]
) -> Match | None:
    """Kurmanji past transitive (ergative): the agent stands in the oblique case
    («Îranê», «Îsraîlê»), the object in the direct case («Îsraîl», «Îran»), whichever
    is nearer the verb: «Îranê Îsraîl bi mûşekan bombebaran kir» is Iran's strike. When
    the actor chosen (``best``, before a past verb that ends the act) is direct, an
    earlier oblique actor in its clause owns the act; with none, an earlier actor that
    opens the clause does (S O V: the case ending is often not written, «Supaha Pasdaran
    Îsraîl bi mûşekan kir hedef»). Latin script only: Kurmanji is the only verb-final
    language written so."""
    word = tokens[best.end - 1].form
    if not (word.isascii() and closes_verb_group(act, tokens)) or _oblique(word):
        return None
    clause = tokens[act.start].clause
    earlier = [
        m
        for m in sorted(actors, key=lambda m: m.start)
        if m.end <= best.start
        and tokens[m.start].clause == clause
        and tokens[m.end - 1].form.isascii()
        and not joined(m, best, tokens)
    ]
    oblique = next((m for m in earlier if _oblique(tokens[m.end - 1].form)), None)
    if oblique is not None:
        return oblique
    opening = earlier[0] if earlier else None
    if opening is not None and (opening.start == 0 or tokens[opening.start - 1].clause != clause):
        return opening
    return None


# Kurmanji oblique endings (comparison forms): «-ê» in the singular, and the plural
# «-an» of a people's name («Îraniyan», «Amerîkiyan»: "the Iranians"); a bare «-an» is
# not, since many place names end in it («Îran», «Tehran»).
_KMR_OBLIQUE_ENDINGS = ("e", "iyan")


def _oblique(word: str) -> bool:
    return word.endswith(_KMR_OBLIQUE_ENDINGS)


def _direct(m: Match, tokens: Sequence[Token]) -> bool:
    """A Latin-script (Kurmanji) mention in the direct case (no oblique «-ê», «-iyan»)."""
    word = tokens[m.end - 1].form
    return word.isascii() and not _oblique(word)


def kurmanji_direct_object(
    o: Match, owner: Match | None, act: Match, tokens: Sequence[Token]
) -> bool:
    """Kurmanji past transitive: a direct-case mention between an oblique owner -- or,
    the case unwritten, an owner that opens the clause -- and the past verb, in the act's
    clause, is its object even with words between it and the verb («Îsraîlê Tehran bi
    balafiran bombebaran kir», «Îsraîl Tehran bi balafiran bombebaran kir»)."""
    if owner is None or not tokens[owner.end - 1].form.isascii():
        return False
    clause = tokens[act.start].clause
    opens_clause = tokens[owner.start].clause == clause and (
        owner.start == 0 or tokens[owner.start - 1].clause != clause
    )
    return (
        owner.end <= o.start < act.start
        and tokens[o.start].clause == clause
        and _direct(o, tokens)
        and (not _direct(owner, tokens) or opens_clause)
        and closes_verb_group(act, tokens)
    )


# English function words: one of them between an actor and a strike noun ends the
# noun phrase ("hits back at Iran with strikes": Iran does not own the strikes).
_EN_FUNCTION_WORDS = frozenset(
    {"with", "at", "after", "before", "for", "by", "from", "to", "as", "over", "than", "the",
     "a", "an", "and", "or", "but", "in", "on", "of", "into", "against", "amid", "despite"}
)  # fmt: skip


# Modifiers an English noun phrase puts between a possessor and its head noun ("Iran's
# 2020 missile barrage", "Israel's June drone strikes"): at most two.
_POSSESSOR_MODIFIERS = 2


def possessor_of_act(m: Match, act_starts: frozenset[int], tokens: Sequence[Token]) -> bool:
    """svo: the mention stands right before an act noun (at most two modifiers between,
    no function word, in its clause): its possessor or adjective, which owns the act
    even after a target marker ("inquiry into Iran's missile attack", "report on
    Iranian drone strikes", "hurt in Iran's 2020 missile barrage")."""
    clause = tokens[m.start].clause
    for head in range(m.end, min(m.end + _POSSESSOR_MODIFIERS + 1, len(tokens))):
        if tokens[head].clause != clause:
            return False
        if head in act_starts:
            return True
        if tokens[head].form in _EN_FUNCTION_WORDS:
            return False
    return False


# English subordinators: an actor after one, behind the act, is the subject of another
# clause ("IRGC says its salvo hit Israel as the IDF reports striking Tehran": the IDF
# does not own "hit"). "after"/"before" too: "struck Haifa after Israel hit Isfahan".
_EN_SUBORDINATORS = frozenset(
    {"as", "while", "whereas", "when", "whilst", "but", "although", "though", "because",
     "since", "after", "before", "until", "amid"}
)  # fmt: skip


def in_subordinate_clause(act: Match, m: Match, tokens: Sequence[Token]) -> bool:
    """svo: an English subordinator stands between the act and a mention after it."""
    return any(tokens[i].form in _EN_SUBORDINATORS for i in range(act.end, m.start))


# Persian passive: a light verb of becoming right after the strike noun («بمباران شد»,
# «موشک‌باران شدند», «هدف … قرار گرفت», «مورد حمله هوایی قرار گرفتند»): the subject
# before it is what was hit, not who struck. Comparison forms (ZWNJ folded away).
_FA_PASSIVE_AUX = frozenset(tokenise("شد شدند شده شده‌اند شده‌است گردید گردیدند می‌شود می‌شوند", "fa"))
_FA_PLACED = normalise_text("قرار")
_FA_FROM = normalise_text("از")
_FA_GOT = frozenset(tokenise("گرفت گرفتند گرفته گرفته‌اند می‌گیرد می‌گیرند", "fa"))


def persian_passive(act: Match, tokens: Sequence[Token]) -> bool:
    """The act is a Persian passive: «شد/شدند/گردید» right after it, or «قرار گرفت»
    inside it or at most one word after it, in its clause."""
    clause = tokens[act.start].clause
    words = [i for i in range(act.start, min(act.end + 3, len(tokens)))
             if tokens[i].clause == clause]  # fmt: skip
    for i in words:
        form = tokens[i].form
        if i == act.end and form in _FA_PASSIVE_AUX:
            return True
        if form == _FA_PLACED and i + 1 in words and tokens[i + 1].form in _FA_GOT:
            return i <= act.end + 1
    return False


def passive_subject(m: Match, act: Match, by_agent: set[int], tokens: Sequence[Token]) -> bool:
    """Before a Persian passive act, the mention is its subject (what was hit) -- not
    the ezafe owner inside the act («هدف موشک‌های ایران قرار گرفت»), a speaker before a
    colon («سپاه: ...»), an agent («توسط», «از سوی») or an origin («موشکی از خاک ایران
    شلیک شد»: where the weapon came from)."""
    return not (
        m.start > act.start
        or tokens[m.start].clause != tokens[act.start].clause
        or m.start in by_agent
        or tokens[m.start].form == _FA_FROM
    )


# Sorani and Kurmanji (comparison forms). Verb-final: the noun phrase right before a
# speech verb is its subject, the speaker, even when a place noun heads it («بنکەی
# حەمزەی سوپای پاسداران ڕایگەیاند ...», "the IRGC's Hamza base announced").
KURDISH_SPEECH_VERBS = frozenset(
    tokenise("ڕایگەیاند ڕایانگەیاند ڕادەگەیەنێت گوتی گوتیان وتی وتیان دەڵێت", "ckb")
    + tokenise("ragihand ragihandin ragihandiye got gotin daxuyand dibêje", "kmr")
)  # fmt: skip
# "Belonging to X" («سەر بە X», «ser bi X», «girêdayî X»): X owns the noun before it.
_KURDISH_BELONGING = (
    tuple(tokenise("سەر بە", "ckb")),
    tuple(tokenise("ser bi", "kmr")),
    tuple(tokenise("girêdayî", "kmr")),
)


def verb_final_speaker(m: Match, tokens: Sequence[Token]) -> bool:
    """A Sorani/Kurmanji speech verb right after the mention, in its clause: the mention
    is the speaker (an actor), not a target marked by the place noun before it."""
    return (
        m.end < len(tokens)
        and tokens[m.end].form in KURDISH_SPEECH_VERBS
        and tokens[m.end].clause == tokens[m.start].clause
    )


def kurdish_possessor(m: Match, tokens: Sequence[Token]) -> bool:
    """The mention follows «سەر بە», «ser bi» or «girêdayî» ("belonging to"): it names
    whose the site before it is («کۆگایەکی سەر بە سوپای پاسداران»), never who struck --
    the «بە» in it is no agent marker."""
    for words in _KURDISH_BELONGING:
        start = m.start - len(words)
        if start >= 0 and all(
            tokens[start + k].form == word and tokens[start + k].clause == tokens[m.start].clause
            for k, word in enumerate(words)
        ):
            return True
    return False


# Sorani and Kurmanji passive auxiliaries and passive strike verbs (comparison forms).
KURDISH_PASSIVES = frozenset(
    tokenise("hat hatin hate hatine hatiye", "kmr")
    + tokenise("کرا کرایە کران کرانە پێکرا پێکران کوترا کوتران لێدرا لێدران هاوێژرا هاوێژران",
               "ckb")
)  # fmt: skip


def headline_speaker(
    act: Match, actors: Sequence[Match], marked_rivals: frozenset[int], tokens: Sequence[Token]
) -> Match | None:
    """A Kurdish claim headline «X: <the other side's site> was hit» («Sipaha Pasdaran:
    baregeheke Îsraîlê ... hat hedefgirtin»): the agent X, alone in the sentence's first
    clause, owns a passive act in the next clause when that clause names a rival as what
    was hit (``marked_rivals``: starts of rivals a place noun marks). With its own site
    («baregeheke me») or no rival named, X is the victim or a reporter: None."""
    clause, sentence = tokens[act.start].clause, tokens[act.start].sentence
    if not any(
        tokens[i].clause == clause and tokens[i].form in KURDISH_PASSIVES
        for i in range(act.start, len(tokens))
        if tokens[i].sentence == sentence
    ):
        return None
    if not any(tokens[i].clause == clause for i in marked_rivals):
        return None
    for m in actors:
        opens_sentence = m.start == 0 or tokens[m.start - 1].sentence != sentence
        if (
            m.role.kind == AGENT
            and opens_sentence
            and m.end < act.start
            and tokens[m.end].clause == clause
            and tokens[m.start].clause != clause
        ):
            return m
    return None


def object_gaps(
    acts: Sequence[Match], forms: Sequence[frozenset[str]], target_words: frozenset[str]
) -> list[tuple[int, int]]:
    """Verb-final: the gaps of acts that open with a place noun («بنکە … لێدا»): the
    words between are that object's adjectives and places («بنکەیەکی ئیسرائیلیمان ...
    لێدا», "we hit an Israeli base"), what was hit, never who struck."""
    return [gap for m in acts if m.gaps and forms[m.start] & target_words for gap in m.gaps]


def persian_passive_object(o: Match, act: Match, tokens: Sequence[Token]) -> bool:
    """What stands right before (at most one word) a Persian passive act is what was
    hit («کارگاه‌های تهران بمباران شد»)."""
    return (
        o.end <= act.start <= o.end + 1
        and tokens[o.start].clause == tokens[act.start].clause
        and persian_passive(act, tokens)
    )


def another_act_first(act: Match, m: Match, act_words: frozenset[int]) -> bool:
    """vso: another act stands between the act and an actor after it, or starts with
    the actor («غارات على … طهران وصواريخ فتاح على إسرائيل»): the actor is that act's."""
    return any(i in act_words for i in range(act.end, m.start + 1))


# English passive: "Tehran was hit (by ...)", the headline's "Haifa rocked by ...". The
# participles of striking and of being shaken; without an auxiliary "by" must follow,
# so "Iran hit Israel" (active, its object after) is untouched.
_EN_PASSIVE_AUX = frozenset({"was", "were", "is", "are", "been", "being", "be", "gets", "got"})
_EN_PARTICIPLES = frozenset(
    {"hit", "struck", "targeted", "bombed", "attacked", "shelled", "pounded", "raided",
     "strafed", "bombarded", "hammered", "battered", "rocked", "shaken", "jolted", "rattled"}
)  # fmt: skip


def english_passive_subject(m: Match, tokens: Sequence[Token]) -> bool:
    """svo: the mention is the subject of an English passive: an auxiliary and a
    participle ("Tehran was struck overnight"), or a headline participle with its agent
    ("Tehran rocked by airstrikes"): what was hit."""
    clause, i = tokens[m.start].clause, m.end
    aux = i < len(tokens) and tokens[i].form in _EN_PASSIVE_AUX and tokens[i].clause == clause
    i += aux
    if i >= len(tokens) or tokens[i].form not in _EN_PARTICIPLES or tokens[i].clause != clause:
        return False
    return aux or (i + 1 < len(tokens) and tokens[i + 1].form == "by")


# Arabic relative (nisba) adjective endings, comparison forms (ة folded to ه): «إيراني»,
# «إيرانية», «إيرانيون», «إيرانيين», «إيرانيات».
_AR_NISBA = re.compile(r"ي(?:ه|ون|ين|ات)?$")


def arabic_nisba(m: Match, tokens: Sequence[Token]) -> bool:
    """vso: the mention is one Arabic nisba adjective; called for a mention right after
    another actor, whose adjective it is («قراصنة إيرانيون»: the hackers are the actor,
    not Iran; «شرطة إيرانية»). The noun before it decides."""
    return m.end - m.start == 1 and bool(_AR_NISBA.search(tokens[m.start].form))
