"""Clitic stripping: the forms an article token may take to match a taxonomy token.

A taxonomy token matches an article token if it equals the token or the token with its
allowed clitics stripped (Arabic و ف ب ل ك ال لل, pronoun suffixes and plural/dual
endings; Persian and Sorani plural, ezafe, pronoun and definite suffixes; English plural
and possessive). This is light morphology on purpose: no dictionary, no stemmer. An
operator writes «العراق» once and it matches «والعراق», «بالعراق» and «للعراق»; a
stem never gets shorter than three letters, so short words do not collapse into each
other. Stripping only ever *adds* candidate forms (every token is among its own), so
what an operator writes always matches itself.
"""

from __future__ import annotations

import functools
import re
from collections import defaultdict
from collections.abc import Callable, Iterable

from newswire.common.text import normalise_text


def _norm_all(items: Iterable[str]) -> tuple[str, ...]:
    """Affixes in comparison form, longest first."""
    return tuple(sorted({normalise_text(s) for s in items}, key=len, reverse=True))


_AR_CONJUNCTIONS = ("", "و", "ف")
_AR_PREPOSITIONS = ("", "ب", "ل", "ك")
_AR_ARTICLE = "ال"
# Pronoun suffixes, then number endings (sound plurals, dual, feminine plural), and the
# alef of the indefinite accusative: two rounds reach «قواتها» -> «قوات» and «جنودهم»,
# «أمريكيين» -> «أمريكي», «ضرباتها» -> «ضربات», «هجومًا» -> «هجوم».
_AR_SUFFIXES = _norm_all(["ها", "هم", "هما", "كم", "نا", "ه", "هن", "ين", "ون", "ان", "ات", "ا"])
# «شده» joined to a verbal noun is its passive participle, the same word as the spaced
# «شلیک شده» («موشک شلیک‌شده از ایران»: the missile fired from Iran).
_FA_SUFFIXES = _norm_all(
    ["ها", "های", "هایی", "ی", "ای", "یی", "ش", "شان", "ان", "اش", "هایش", "هایشان", "یش", "شده"]
)
_CKB_PREFIXES = _norm_all(["لە", "بە"])
_CKB_SUFFIXES = _norm_all(
    [
        "ەکە",
        "ەکان",
        "ەکانی",
        "ەکەی",
        "کە",
        "کان",
        "کانی",
        "ان",
        "انی",
        "ی",
        "ەی",
        "یەک",
        "ێک",
        "ێکی",
        "دا",
        "ەوە",
        "وە",
        "ش",
        "یش",
        "ە",
        "یان",
        "مان",
        "تان",
        "یەکان",
        "ییەکان",
        "ییەکە",
        "ەکانیان",
        "ەکەیان",
        # Verb endings a headline puts on a strike verb: the first-person clitic
        # («ڕاگرتنیم»), the perfect («هاویشتووە») and the pluperfect («هاوێژرابوو»).
        "م",
        "یم",
        "ووە",
        "بوو",
        "بووە",
        # The perfect with the directional «-ە», full or contracted: «هاویشتۆتە سەر»
        # (round 5, tretro2: an armed force's claim in the perfect).
        "ۆتە",
        "ۆتەوە",
        "ووەتە",
    ]
)
# Kurmanji (Latin script, compared without diacritics: ê -> e, î -> i): the oblique
# case and ezafe (Îranê, hêzên, êrîşa), plural, indefinite and definite endings.
# The indefinite after a vowel is «-yek» («manovrayek», «depoyeke»).
_KMR_SUFFIXES = _norm_all(
    ["e", "a", "i", "en", "an", "ek", "eke", "eki", "ya", "ye", "yen", "yan", "yi", "ane", "ine",
     "yek", "yeke", "yeki"]
)  # fmt: skip
_MIN_STEM = 3
_DIGITS = re.compile(r"\d+")
# The Kurmanji infinitive of "to do" joined to a noun makes a compound verbal noun
# («bombebarankirin», the passive «hat bombebarankirin»).
_KMR_VERBAL_NOUN = "kirin"


@functools.cache
def _by_last_letter(suffixes: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    """Suffixes grouped by their last letter: a word is only tried against its own."""
    groups: dict[str, list[str]] = defaultdict(list)
    for suffix in suffixes:
        groups[suffix[-1]].append(suffix)
    return {letter: tuple(group) for letter, group in groups.items()}


def _strip_suffixes(forms: Iterable[str], suffixes: tuple[str, ...], rounds: int = 1) -> set[str]:
    """The forms and, for ``rounds`` rounds, every form with one more suffix taken off
    (never below :data:`_MIN_STEM` letters): rounds stack a pronoun on a plural."""
    out = set(forms)
    frontier = set(out)
    groups = _by_last_letter(suffixes)
    for _ in range(rounds):
        frontier = {
            form[: -len(s)]
            for form in frontier
            if form
            for s in groups.get(form[-1], ())
            if len(form) - len(s) >= _MIN_STEM and form.endswith(s)
        }
        out |= frontier
    return out


def _arabic_prefix_forms(token: str) -> set[str]:
    """The token without conjunction, preposition and article, in every combination.

    ``لل`` is ل plus the article with its alef dropped (للعراق = ل + العراق), so it
    yields both the bare stem and the stem with ال restored.
    """
    forms = {token}
    for conj in _AR_CONJUNCTIONS:
        if not token.startswith(conj):
            continue
        after_conj = token[len(conj) :]
        for prep in _AR_PREPOSITIONS:
            if not after_conj.startswith(prep):
                continue
            rest = after_conj[len(prep) :]
            forms.add(rest)
            if rest.startswith(_AR_ARTICLE):
                forms.add(rest[len(_AR_ARTICLE) :])
            if prep == "ل" and rest.startswith("ل"):
                forms.update((rest[1:], _AR_ARTICLE + rest[1:]))
    return {f for f in forms if len(f) >= _MIN_STEM or f == token}


# The feminine dual writes the ة of its singular as ت: «مقاتلتان أمريكيتان» (two US jets),
# «غارتين» (two raids), and in construct «قاعدتي الشدادي» (the two bases of ...).
_AR_FEMININE_DUAL = ("تان", "تين", "تي")


def _arabic_dual_singulars(forms: Iterable[str]) -> set[str]:
    """The forms and, for a feminine dual, its singular in ة (compared as ه)."""
    out = set(forms)
    for form in forms:
        for ending in _AR_FEMININE_DUAL:
            if form.endswith(ending) and len(form) - len(ending) >= _MIN_STEM:
                out.add(form[: -len(ending)] + "ه")
    return out


@functools.lru_cache(maxsize=65536)
def _arabic_forms(token: str) -> frozenset[str]:
    """Prefix clitics off in every combination, a feminine dual back to its singular,
    then up to two suffixes."""
    prefixed = _arabic_dual_singulars(_arabic_prefix_forms(token))
    return frozenset(_strip_suffixes(prefixed, _AR_SUFFIXES, rounds=2))


@functools.lru_cache(maxsize=65536)
def _persian_forms(token: str) -> frozenset[str]:
    """One suffix off (plural, ezafe, pronoun); Persian writes no prefix clitics."""
    return frozenset(_strip_suffixes({token}, _FA_SUFFIXES))


@functools.lru_cache(maxsize=65536)
def _sorani_forms(token: str) -> frozenset[str]:
    """A preposition prefix off (لە, بە), then up to two suffixes (definite, plural,
    pronoun, postposition)."""
    prefixed = {token} | {
        token[len(p) :]
        for p in _CKB_PREFIXES
        if token.startswith(p) and len(token) - len(p) >= _MIN_STEM
    }
    forms = _strip_suffixes(prefixed, _CKB_SUFFIXES, rounds=2)
    return frozenset(forms) | _directional_perfect(prefixed) | _numeral(token, _CKB_SUFFIXES)


# The perfect with the directional «-ە», full or contracted: «کردووەتە», «کردۆتە» are the
# perfect of «کردە» ("made into": «کردۆتە ئامانج» = has targeted).
_CKB_DIRECTIONAL_PERFECT = _norm_all(["ووەتە", "ۆتە", "ووەتەوە", "ۆتەوە"])
_CKB_DIRECTIONAL = _norm_all(["ە"])[0]


def _directional_perfect(tokens: set[str]) -> frozenset[str]:
    """«کردۆتە» -> «کردە»: a claim in the perfect («… کردۆتە ئامانج») reads as the
    directional past the taxonomy lists («کردە ئامانج»), so no phrase needs every tense."""
    return frozenset(
        token[: -len(end)] + _CKB_DIRECTIONAL
        for token in tokens
        for end in _CKB_DIRECTIONAL_PERFECT
        if token.endswith(end) and len(token) - len(end) >= _MIN_STEM
    )


def _numeral(token: str, suffixes: tuple[str, ...]) -> frozenset[str]:
    """A numeral with a Kurdish ending («٢٢ی», «22an»: "Tower 22's") is the numeral,
    however short: the stem-length guard is for words, not digits."""
    digits = _DIGITS.match(token)
    if digits is None or digits.end() == len(token) or token[digits.end() :] not in suffixes:
        return frozenset()
    return frozenset((digits.group(),))


@functools.lru_cache(maxsize=65536)
def _kurmanji_forms(token: str) -> frozenset[str]:
    """Up to two suffixes off (a case or ezafe ending on a plural or indefinite):
    «Îranê» matches «Îran», «êrîşên» matches «êrîş»; a compound verbal noun in
    «-kirin» also matches its noun («topbarankirin», «mûşekbarankirina» -> «topbaran»,
    «mûşekbaran»), so the passive «hat … -kirin» of every «X kirin» verb is covered."""
    forms = _strip_suffixes({token}, _KMR_SUFFIXES, rounds=2) | _numeral(token, _KMR_SUFFIXES)
    forms.update(
        form[: -len(_KMR_VERBAL_NOUN)]
        for form in tuple(forms)
        if form.endswith(_KMR_VERBAL_NOUN) and len(form) - len(_KMR_VERBAL_NOUN) > _MIN_STEM
    )
    return frozenset(forms)


@functools.lru_cache(maxsize=65536)
def _english_forms(token: str) -> frozenset[str]:
    """Plural -s/-es/-ies stripped; possessives are removed before tokenising."""
    forms = {token}
    if len(token) > 4 and token.endswith("ies"):
        forms.add(token[:-3] + "y")
    if len(token) > 3 and token.endswith("es"):
        forms.add(token[:-2])
    if len(token) > 3 and token.endswith("s") and not token.endswith("ss"):
        forms.add(token[:-1])
    return frozenset(forms)


def _is_arabic_script(token: str) -> bool:
    """The token starts with a letter of the Arabic or Arabic Supplement block."""
    return "\u0600" <= token[0] <= "\u06ff" or "\u0750" <= token[0] <= "\u077f"


def _generic_forms(token: str) -> frozenset[str]:
    """For languages without their own rules: Arabic clitics on Arabic-script tokens,
    English plurals on Latin ones (good enough for names in French, Turkish, ...)."""
    if _is_arabic_script(token):
        return _arabic_forms(token)
    if token.isascii():
        return _english_forms(token)
    return frozenset((token,))


_FORMS: dict[str, Callable[[str], frozenset[str]]] = {
    "ar": _arabic_forms,
    "fa": _persian_forms,
    "ckb": _sorani_forms,
    "en": _english_forms,
    "kmr": _kurmanji_forms,
}


def candidate_forms(token: str, language: str) -> frozenset[str]:
    """Every form a taxonomy token may take to match this (normalised) article token."""
    return _FORMS.get(language, _generic_forms)(token)


#: Languages with clitic rules of their own (each gets its own compiled phrase index).
LANGUAGES_WITH_RULES = frozenset(_FORMS)

# An Arabic token with the article (الهجوم, والهجوم, بالهجوم, للهجوم): a noun.
_AR_DEFINITE = re.compile(r"[وف]?(?:[بكل]?ال|لل)")


def is_arabic_definite(token: str) -> bool:
    """The (normalised) token starts with the article, after any conjunction or
    preposition: a noun, not a verb (relations use it to attach the subject in vso)."""
    return _AR_DEFINITE.match(token) is not None
