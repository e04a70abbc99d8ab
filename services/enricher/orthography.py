"""Script and orthography evidence for language identification.

The model behind :mod:`.language` reads character n-grams and knows nothing about
writing systems, so on a headline it can give real probability to a language that is
not even written in the text's script, or to a neighbour whose alphabet lacks letters
the text uses. This module holds the letter facts that condition its distribution:

* :func:`script_filter`: a code whose writing systems do not include the text's
  dominant script is dropped (a Latin-script headline is not Urdu, whatever its
  n-grams say). This is certain evidence, so the result is renormalised and reported.
* :func:`arabic_filter` and :func:`latin_filter`: letters that exist in only some
  orthographies (Sorani ڕ ڵ ێ ۆ ە, Kurmanji ê, Turkish ı ğ). These are heuristics with
  thresholds; :mod:`.language` lets them choose the code but not raise its confidence.

Every filter returns the input unchanged rather than an empty distribution: letters
none of the rules anticipated leave the model's own verdict standing.
"""

# ruff: noqa: RUF002, RUF003 - Arabic-script and accented letters are this module's subject matter.

from __future__ import annotations

import functools
import unicodedata
from collections import Counter
from collections.abc import Iterable

# Unicode name word -> ISO 15924 code, for the scripts of the languages the model knows.
_SCRIPT_BY_NAME: dict[str, str] = {
    "ARABIC": "Arab",
    "LATIN": "Latn",
    "CYRILLIC": "Cyrl",
    "HEBREW": "Hebr",
    "GREEK": "Grek",
    "ARMENIAN": "Armn",
    "GEORGIAN": "Geor",
    "DEVANAGARI": "Deva",
    "BENGALI": "Beng",
    "GURMUKHI": "Guru",
    "GUJARATI": "Gujr",
    "ORIYA": "Orya",
    "TAMIL": "Taml",
    "TELUGU": "Telu",
    "KANNADA": "Knda",
    "MALAYALAM": "Mlym",
    "SINHALA": "Sinh",
    "THAI": "Thai",
    "LAO": "Laoo",
    "TIBETAN": "Tibt",
    "MYANMAR": "Mymr",
    "KHMER": "Khmr",
    "ETHIOPIC": "Ethi",
    "HANGUL": "Hang",
    "HIRAGANA": "Hira",
    "KATAKANA": "Kana",
    "CJK": "Hani",
    "SYRIAC": "Syrc",
    "THAANA": "Thaa",
    "MONGOLIAN": "Mong",
    "TIFINAGH": "Tfng",
    "CHEROKEE": "Cher",
}

# Project code (after folding, see language._fold_label) -> the dominant scripts its
# text can have. Codes not listed are written in Latin script: that is true of every
# other label py3langid 0.4.0 has. Serbian and Uzbek are written in two scripts.
_ARAB = frozenset({"Arab"})
_CYRL = frozenset({"Cyrl"})
_DEVA = frozenset({"Deva"})
_HAN = frozenset({"Hani"})
_LATN = frozenset({"Latn"})
CODE_SCRIPTS: dict[str, frozenset[str]] = {
    **dict.fromkeys(("ar", "fa", "ckb", "ur", "ps", "ug"), _ARAB),
    **dict.fromkeys(("ru", "uk", "bg", "be", "mk", "kk", "ky", "mn", "tg", "tt", "ba"), _CYRL),
    **dict.fromkeys(("hi", "mr", "ne", "sa", "gom"), _DEVA),
    **dict.fromkeys(("zh", "wuu", "yue"), _HAN | {"Jpan"}),  # Han-only Japanese looks Chinese
    "sr": _CYRL | _LATN,
    "uz": _LATN | _CYRL | _ARAB,  # with uzs folded in: Southern Uzbek is Arabic-script
    "he": frozenset({"Hebr"}),
    "el": frozenset({"Grek"}),
    "grc": frozenset({"Grek"}),
    "hy": frozenset({"Armn"}),
    "ka": frozenset({"Geor"}),
    "bn": frozenset({"Beng"}),
    "as": frozenset({"Beng"}),
    "pa": frozenset({"Guru"}),
    "gu": frozenset({"Gujr"}),
    "or": frozenset({"Orya"}),
    "ta": frozenset({"Taml"}),
    "te": frozenset({"Telu"}),
    "kn": frozenset({"Knda"}),
    "ml": frozenset({"Mlym"}),
    "si": frozenset({"Sinh"}),
    "th": frozenset({"Thai"}),
    "lo": frozenset({"Laoo"}),
    "dz": frozenset({"Tibt"}),
    "my": frozenset({"Mymr"}),
    "km": frozenset({"Khmr"}),
    "am": frozenset({"Ethi"}),
    "ja": frozenset({"Jpan", "Hani"}),
    "ko": frozenset({"Kore", "Hang"}),
}

# A marker set rules a language out only when it makes up this share of the letters of
# its script, so that one quoted Kurdish, Urdu or Turkish name does not flip an article.
MARKER_SHARE = 0.02

# Letters that decide between the Arabic-script languages this service cares about.
_SORANI_LETTERS = frozenset("ڕڵێۆە")
_URDU_LETTERS = frozenset("ےۓٹڈںڑہۃ")
_PERSO_ARABIC_LETTERS = frozenset("پچژگ")  # fa, ckb, ur; absent from Standard Arabic
_CORE_ARABIC_SCRIPT = frozenset({"ar", "fa", "ckb", "ur"})
# Every letter the four core orthographies use. A text made only of these letters gives
# a non-core label (Pashto, Uyghur, Southern Uzbek, ...) no positive evidence at all.
_CORE_INVENTORY = frozenset(
    [chr(c) for c in range(0x0621, 0x064B)] + list("ٱٹپچڈڑژکگںھہۃیےۓڕڵێۆەۀ")
)

# Latin-script Kurdish (Hawar alphabet) against the Turkic Latin orthographies.
_KURMANJI_LETTERS = frozenset("êÊ")  # in the Hawar alphabet, in no Turkic alphabet
_HAWAR_LETTERS = frozenset("êîûçşÊÎÛÇŞ")  # the Hawar alphabet's letters beyond ASCII
_TURKIC_LETTERS = frozenset("ığĞöÖüÜəƏ")  # ı ğ ö ü ə: not in the Hawar alphabet
#: Share of Kurmanji letters assumed to be Hawar letters (measured: 0.135).
HAWAR_RATE = 0.10
_TURKIC_CODES = frozenset({"tr", "az", "crh", "tk", "tt", "ba", "kk", "ky", "uz"})


@functools.lru_cache(maxsize=8192)
def char_script(ch: str) -> str | None:
    """ISO 15924 code of one letter, from its Unicode name (cached: few distinct letters)."""
    words = unicodedata.name(ch, "").split(" ", 2)[:2]
    for word in words:  # the second word covers FULLWIDTH LATIN and the like
        script = _SCRIPT_BY_NAME.get(word)
        if script is not None:
            return script
    return None


def dominant_script(letters: Iterable[str]) -> str | None:
    """The script most of the letters are written in; Japanese and Korean mixes merged.

    Kana with Han is written ``Jpan`` and Hangul with Han ``Kore`` (ISO 15924 codes for
    those mixed writing systems), so the Han characters in Japanese do not make it Chinese.
    """
    counts = Counter(s for s in map(char_script, letters) if s is not None)
    if not counts:
        return None
    script = counts.most_common(1)[0][0]
    if script in {"Hani", "Hira", "Kana"} and (counts["Hira"] or counts["Kana"]):
        return "Jpan"
    if script in {"Hani", "Hang"} and counts["Hang"] and counts["Hani"]:
        return "Kore"
    return script


def scripts_of(code: str) -> frozenset[str]:
    """The dominant scripts a text in ``code`` can have (Latin unless listed)."""
    return CODE_SCRIPTS.get(code, _LATN)


def _renormalised(probabilities: dict[str, float], ruled_out: set[str]) -> dict[str, float]:
    """The distribution without ``ruled_out``; unchanged if nothing with mass is left."""
    kept = {code: p for code, p in probabilities.items() if code not in ruled_out}
    total = sum(kept.values())
    if total <= 0.0:
        return probabilities
    return {code: p / total for code, p in kept.items()}


def script_filter(probabilities: dict[str, float], script: str | None) -> dict[str, float]:
    """Condition on the dominant script: drop every code that is not written in it.

    On a four-word English headline the model spreads its mass over dozens of labels,
    some of them (Urdu, Hindi, Arabic) written in scripts the text does not contain;
    a deployment prior (see :func:`.language.apply_prior`) must not be able to lift one
    of those above the Latin-script labels. Text without letters is left alone.
    """
    if script is None:
        return probabilities
    return _renormalised(
        probabilities, {code for code in probabilities if script not in scripts_of(code)}
    )


def arabic_filter(probabilities: dict[str, float], letters: list[str]) -> dict[str, float]:
    """Drop the labels that the Arabic-script letters rule out, renormalise the rest.

    Rules (letters counted over the Arabic-script letters of the sample):

    1. A label outside ar/fa/ckb/ur needs at least one letter outside those four
       orthographies (e.g. Pashto ښ ځ ړ, Uyghur ۇ ۈ ۋ). Short Persian headlines
       otherwise drift to Pashto or Southern Uzbek.
    2. ``ckb`` needs a Sorani letter (ڕ ڵ ێ ۆ ە): ە is Sorani's everyday vowel letter
       (لە، بە، کە، ئەو), so text without any of them reads better as Persian. There is
       no such rule for Urdu: short Urdu such as «تیل کی قیمت» has no Urdu-only letter.
    3. Sorani letters at >= 2 % rule out ar, fa and ur; Urdu letters at >= 2 % rule
       out ar, fa and ckb; پ چ ژ گ at >= 2 % rule out ar.
    """
    arabic = [ch for ch in letters if char_script(ch) == "Arab"]
    if not arabic:
        return probabilities
    counts = Counter(arabic)
    share = 1.0 / len(arabic)

    def present(markers: frozenset[str]) -> int:
        return sum(counts[ch] for ch in markers)

    sorani, urdu, perso = (
        present(m) for m in (_SORANI_LETTERS, _URDU_LETTERS, _PERSO_ARABIC_LETTERS)
    )
    has_foreign_letter = any(ch not in _CORE_INVENTORY for ch in counts)
    ruled_out: set[str] = set()
    if not has_foreign_letter:
        ruled_out |= {code for code in probabilities if code not in _CORE_ARABIC_SCRIPT}
    if not sorani:
        ruled_out.add("ckb")
    if sorani * share >= MARKER_SHARE:
        ruled_out |= {"ar", "fa", "ur"}
    if urdu * share >= MARKER_SHARE:
        ruled_out |= {"ar", "fa", "ckb"}
    if perso * share >= MARKER_SHARE:
        ruled_out.add("ar")
    return _renormalised(probabilities, ruled_out)


def hawar_evidence(probabilities: dict[str, float], letters: list[str]) -> dict[str, float]:
    """Weigh ``kmr`` by the chance of its text having none of ê î û ç ş, then renormalise.

    Published Kurmanji writes the Hawar letters constantly (the ezafe ``-ê``/``-ên``,
    ``û`` "and", ``jî``): they are 13.5 % of the letters of the tuning split's Kurmanji
    items. An English headline naming "Kurdistan" or "TikTok" has n-grams the model
    files under Kurdish and none of these letters. So text of ``n`` Latin letters
    without any of them has likelihood ``(1 - HAWAR_RATE) ** n`` under Kurmanji and
    about 1 under the other Latin-script languages; ``HAWAR_RATE`` (0.10) is set below
    the measured rate so that Kurmanji typed without diacritics is only penalised, not
    excluded. This is a likelihood, so it is part of the reported confidence.
    """
    if "kmr" not in probabilities:
        return probabilities
    latin = [ch for ch in letters if char_script(ch) == "Latn"]
    if not latin or any(ch in _HAWAR_LETTERS for ch in latin):
        return probabilities
    weighted = dict(probabilities)
    weighted["kmr"] *= (1.0 - HAWAR_RATE) ** len(latin)
    total = sum(weighted.values())
    if total <= 0.0:
        return probabilities
    return {code: p / total for code, p in weighted.items()}


def latin_filter(probabilities: dict[str, float], letters: list[str]) -> dict[str, float]:
    """Kurmanji against the Turkic Latin orthographies, by letters only one side has.

    1. ê at >= 2 % of the Latin letters rules out the Turkic codes (tr, az, crh, tk,
       ...): it is Kurmanji's commonest long vowel (``ê`` the ezafe ending, ``dibêje``)
       and no Turkic alphabet has it.
    2. ı ğ ö ü ə at >= 2 % rule out ``kmr`` unless ê is also present: the Hawar
       alphabet has none of them, but a Kurmanji text quoting ``Erdoğan`` or
       ``Türkiye`` still has its own ê elsewhere.

    The absence of all Hawar letters is weighed by :func:`hawar_evidence` instead.
    ç ş î û are shared with Turkish (î and û in loanwords), so they decide nothing
    between Kurmanji and Turkish.
    """
    latin = [ch for ch in letters if char_script(ch) == "Latn"]
    if not latin:
        return probabilities
    kurmanji = sum(ch in _KURMANJI_LETTERS for ch in latin)
    turkic = sum(ch in _TURKIC_LETTERS for ch in latin)
    ruled_out: set[str] = set()
    if kurmanji / len(latin) >= MARKER_SHARE:
        ruled_out |= _TURKIC_CODES
    if not kurmanji and turkic / len(latin) >= MARKER_SHARE:
        ruled_out.add("kmr")
    return _renormalised(probabilities, ruled_out)
