"""Language identification for article text: py3langid plus an orthographic check.

py3langid (0.4.0, model in the wheel) gives a probability for each of its 140 labels.
We turn that into one code for the record:

* **Labels are folded to the project's code scheme.** ISO 639-1 where one exists, else
  ISO 639-3. The model's ``sdh`` label is what it returns for Sorani (central Kurdish,
  Arabic script) text, so it becomes ``ckb``; ``ku`` is its label for Latin-script
  Kurmanji, so it becomes ``kmr``. A bare ``ku`` is never emitted: it names a
  macrolanguage whose two main members are mutually unintelligible and use different
  scripts. The dialect labels ``ary``/``arz`` go into ``ar``: written news is Modern
  Standard Arabic and those labels take a share of its probability on short text.
  The probabilities of folded labels are added up, so ``confidence`` stays a
  probability.
* **Arabic-script orthography overrides the model on letters it cannot explain.** On
  headline-length text the model sometimes prefers Pashto or Southern Uzbek for Persian,
  or gives Persian and Urdu nearly equal odds. Some letters settle it: ڕ ڵ ێ ۆ ە exist
  only in Sorani among our languages, ے ٹ ڈ ں ڑ ہ only in Urdu, and پ چ ژ گ never in
  Standard Arabic. :func:`_orthographic_filter` removes the labels whose orthography
  contradicts the letters present and renormalises the rest, i.e. it conditions the
  model's distribution on the letters. See its docstring for the exact rules. The
  reported confidence stays the model's probability for the chosen code, so a short
  headline that needed the letters to decide keeps a modest confidence.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from newswire.common.contract import LanguageRecord

UNDETERMINED = "und"

# Model label -> project code. Labels not listed are already ISO 639-1 or have no 639-1
# code (then they stay 639-3). ``ku`` is resolved by script in _fold_label.
_LABEL_FOLDS: dict[str, str] = {
    "sdh": "ckb",  # the model's label for Sorani (Arabic-script central Kurdish)
    "ary": "ar",
    "arz": "ar",
    "uzs": "uz",  # Southern Uzbek is a member of the uz macrolanguage
    "gug": "gn",
    "hbo": "he",  # Biblical Hebrew on a news feed is Modern Hebrew misread
    "zxx": UNDETERMINED,  # "no linguistic content"
}

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
# A marker set rules a language out only when it makes up this share of the
# Arabic-script letters, so that one quoted Kurdish or Urdu name does not flip an article.
_MARKER_SHARE = 0.02

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

_URL_OR_EMAIL = re.compile(r"(?:https?://|www\.)\S+|\S+@\S+\.\w+", re.IGNORECASE)

# ISO 639-2/3 codes and legacy codes a source may declare -> our scheme.
_DECLARED_ALIASES: dict[str, str] = {
    "ara": "ar",
    "arb": "ar",
    "fas": "fa",
    "per": "fa",
    "pes": "fa",
    "prs": "fa",
    "eng": "en",
    "tur": "tr",
    "fra": "fr",
    "fre": "fr",
    "heb": "he",
    "iw": "he",
    "rus": "ru",
    "urd": "ur",
    "deu": "de",
    "ger": "de",
    "spa": "es",
    "ind": "id",
    "in": "id",
    "ji": "yi",
    "kur": "ku",
    "sdh": "ckb",
    "uzs": "uz",
}


@dataclass(frozen=True, slots=True)
class LanguageResult:
    """The language verdict for one article, as written into the enriched record."""

    code: str  # ISO 639-1 where one exists, else ISO 639-3; 'und' when undetermined
    confidence: float  # 0..1, the model's probability of ``code`` (folded labels summed)
    script: str | None  # ISO 15924 code of the dominant script of the letters
    declared: str | None  # the source's declared language in the same scheme
    conflict: bool  # a declared language was given and differs from ``code``

    def as_record(self) -> LanguageRecord:
        """The ``language`` object of the enriched-article schema."""
        return {
            "code": self.code,
            "confidence": self.confidence,
            "script": self.script,
            "declared": self.declared,
            "conflict": self.conflict,
        }


@functools.cache
def _model() -> Any:
    """The py3langid identifier, loaded once per process: unpacking takes ~0.5 s."""
    from py3langid.langid import MODEL_FILE
    from py3langid.langid import LanguageIdentifier as _Py3LangId

    return _Py3LangId.from_model_file(MODEL_FILE, norm_probs=True)


class LanguageIdentifier:
    """Detects the language of an article from a bounded prefix of title + text.

    Stateless after construction and safe to share; the model is loaded (once per
    process) when the first instance is built, not on the first article.
    """

    def __init__(
        self, *, prefix_chars: int = 600, min_letters: int = 6, min_probability: float = 0.15
    ) -> None:
        if prefix_chars < 1:
            raise ValueError(f"prefix_chars must be positive, got {prefix_chars}")
        self._prefix_chars = prefix_chars
        self._min_letters = min_letters
        self._min_probability = min_probability
        self._model = _model()

    def identify(
        self, text: str, *, title: str | None = None, declared: str | None = None
    ) -> LanguageResult:
        """Detect the language; the detected code wins over a declared one."""
        sample = self._sample(text, title)
        letters = [ch for ch in sample if ch.isalpha()]
        script = dominant_script(letters)
        code, confidence = self._detect(sample, letters, script)
        declared_code = normalise_declared(declared, detected=code, script=script)
        conflict = declared_code is not None and code != UNDETERMINED and declared_code != code
        return LanguageResult(code, confidence, script, declared_code, conflict)

    def _sample(self, text: str, title: str | None) -> str:
        """Title and text, URLs removed, cut to the prefix that language ID reads.

        A bounded prefix keeps the cost per article flat; a few hundred characters
        are already enough for the model to be sure, and titles are short.
        """
        joined = f"{title}\n{text}" if title else text
        return _URL_OR_EMAIL.sub(" ", joined[: self._prefix_chars + 200])[: self._prefix_chars]

    def _detect(self, sample: str, letters: list[str], script: str | None) -> tuple[str, float]:
        if len(letters) < self._min_letters:
            return UNDETERMINED, 0.0
        ranked = self._model.rank(sample)
        model = _fold(ranked, script)
        model.pop(UNDETERMINED, None)
        allowed = _orthographic_filter(model, letters) if script == "Arab" else model
        if not allowed:
            return UNDETERMINED, 0.0
        code = max(allowed, key=allowed.__getitem__)
        # Confidence is the model's own probability for the chosen code: the letters
        # choose between candidates, but a three-word headline the model found
        # ambiguous should not come out as certain just because rivals were ruled out.
        probability = model[code]
        if max(model.values()) < self._min_probability:  # near-flat: no evidence
            return UNDETERMINED, 0.0
        return code, min(1.0, max(0.0, round(probability, 4)))


def _fold_label(label: str, script: str | None) -> str:
    if label == "ku":  # trained on Latin Kurmanji; Arabic-script Kurdish is Sorani
        return "ckb" if script == "Arab" else "kmr"
    return _LABEL_FOLDS.get(label, label)


def _fold(ranked: Iterable[tuple[str, float]], script: str | None) -> dict[str, float]:
    """Model labels -> project codes, adding up the probabilities of merged labels."""
    folded: dict[str, float] = {}
    for label, probability in ranked:
        code = _fold_label(label, script)
        folded[code] = folded.get(code, 0.0) + probability
    return folded


def _orthographic_filter(probabilities: dict[str, float], letters: list[str]) -> dict[str, float]:
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

    If the rules would remove every label the model's own distribution is kept: the
    letters are then something none of the rules anticipated.
    """
    arabic = [ch for ch in letters if _char_script(ch) == "Arab"]
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
    if sorani * share >= _MARKER_SHARE:
        ruled_out |= {"ar", "fa", "ur"}
    if urdu * share >= _MARKER_SHARE:
        ruled_out |= {"ar", "fa", "ckb"}
    if perso * share >= _MARKER_SHARE:
        ruled_out.add("ar")
    kept = {code: p for code, p in probabilities.items() if code not in ruled_out}
    total = sum(kept.values())
    if total <= 0.0:
        return probabilities
    return {code: p / total for code, p in kept.items()}


@functools.lru_cache(maxsize=8192)
def _char_script(ch: str) -> str | None:
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
    counts = Counter(s for s in map(_char_script, letters) if s is not None)
    if not counts:
        return None
    script = counts.most_common(1)[0][0]
    if script in {"Hani", "Hira", "Kana"} and (counts["Hira"] or counts["Kana"]):
        return "Jpan"
    if script in {"Hani", "Hang"} and counts["Hang"] and counts["Hani"]:
        return "Kore"
    return script


def normalise_declared(
    declared: str | None, *, detected: str = UNDETERMINED, script: str | None = None
) -> str | None:
    """A declared language tag (``ar-IQ``, ``fa_IR``, ``ara``, ``ku-Arab``) in our scheme.

    Returns None for nothing usable (empty, ``und``, not a language subtag). A bare
    ``ku`` is resolved to the Kurdish variety that was detected, else by the script
    subtag or the text's script, because it names both Sorani and Kurmanji.
    """
    if not declared:
        return None
    parts = [p for p in re.split(r"[-_\s]+", declared.strip().casefold()) if p]
    if not parts or not re.fullmatch(r"[a-z]{2,3}", parts[0]):
        return None
    code = _DECLARED_ALIASES.get(parts[0], parts[0])
    if code in {UNDETERMINED, "mul", "zxx", "mis"}:
        return None
    if code == "ku":
        if detected in {"ckb", "kmr"}:
            return detected
        subtag_script = next((p.title() for p in parts[1:] if len(p) == 4), None)
        return "ckb" if (subtag_script or script) == "Arab" else "kmr"
    return code
