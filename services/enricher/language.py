"""Language identification for article text: py3langid, a prior and letter evidence.

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
* **The deployment's languages are a prior.** py3langid's output is a posterior under a
  flat prior over its ~140 labels; on a four-word English headline full of names
  ("Drone hits Erbil airport") that spreads thin over Basque, Nynorsk and Pidgin and
  came out undetermined or wrong. :func:`apply_prior` applies Bayes' rule with the
  prior a deployment declares (``ENRICHER_LANGUAGES``, default ar en fa ckb kmr, with
  ``ENRICHER_LANGUAGE_PRIOR_SHARE`` of the mass) and, when the fetcher recorded the
  source's declared language (``language_hint``), ``ENRICHER_LANGUAGE_HINT_TRUST`` of the
  prior on that language. Long text moves the likelihoods by orders of magnitude more
  than any prior, so a French or Arabic body is read as such whatever is declared.
* **Script and orthography condition the distribution** (:mod:`.orthography`): codes
  not written in the text's dominant script are dropped; Kurmanji is weighed by the
  likelihood of its Hawar letters (ê î û ç ş) being absent; and letters that exist in
  only some orthographies (Sorani ڕ ڵ ێ ۆ ە, Urdu ے ٹ ں, Kurmanji ê, Turkish dotless i and ğ) rule
  labels out. The reported confidence is the posterior after prior, script and the
  Hawar likelihood, but before the letter rules: a three-word headline that needed
  the letters to decide keeps a modest confidence.
"""

from __future__ import annotations

import functools
import math
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from newswire.common.contract import LanguageRecord
from newswire.enricher.orthography import (
    arabic_filter,
    dominant_script,
    hawar_evidence,
    latin_filter,
    script_filter,
)

__all__ = [
    "EXPECTED_LANGUAGES",
    "UNDETERMINED",
    "LanguageIdentifier",
    "LanguageResult",
    "apply_prior",
    "dominant_script",
    "normalise_declared",
]

UNDETERMINED = "und"
#: The languages this service is built for (the shipped taxonomy covers them): the
#: default deployment prior. ``ENRICHER_LANGUAGES`` overrides it.
EXPECTED_LANGUAGES: tuple[str, ...] = ("ar", "en", "fa", "ckb", "kmr")

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
    """The py3langid identifier, loaded once per process: unpacking takes ~0.5 s.

    It is asked for raw naive-Bayes log scores (``norm_probs=False``): :func:`_scores`
    combines the scores of keyboard variants before they are made probabilities.
    """
    from py3langid.langid import MODEL_FILE
    from py3langid.langid import LanguageIdentifier as _Py3LangId

    return _Py3LangId.from_model_file(MODEL_FILE, norm_probs=False)


# Yeh and kaf have an Arabic form (ي ك ى) and a Persian form (ی ک). Which one a text
# uses is often the writer's keyboard or the site's software, not the language: Iranian
# sites still publish Persian typed with ي and ك, Kurdish outlets publish Arabic with
# ی and ک. The model's n-grams key heavily on these code points, so Persian typed
# with ي reads as Arabic and Arabic typed with ی reads as Persian.
_TO_ARABIC_FORMS = str.maketrans({"ی": "ي", "ک": "ك"})
_TO_PERSIAN_FORMS = str.maketrans({"ي": "ی", "ك": "ک", "ى": "ی"})
_ARABIC_KEYBOARD_LABELS = frozenset({"ar", "ary", "arz"})
#: Prior probability that a text was typed with the other language's yeh and kaf. At
#: 0.3, the tuning split and the sample sentences rewritten into the other forms are read
#: right 264 times in 268 (0.1: 257, none: 182), and no text in its own forms changes.
_OTHER_KEYBOARD = 0.3


def _scores(model: Any, sample: str) -> list[tuple[str, float]]:
    """Calibrated probabilities per model label, with yeh/kaf forms as a latent variable.

    py3langid 0.4.0's ``norm_probs=True`` is a softmax of the naive-Bayes log scores at
    temperature sqrt(bytes), which keeps it calibrated across lengths; we do the same,
    but for each label the tempered likelihood is a mixture: the text as written
    (0.7) or the text rewritten into the label's own yeh/kaf forms (0.3), i.e. typed
    on the other keyboard. Both strings have the same UTF-8 length, so their scores are
    comparable. Text without yeh or kaf costs one model call, text in one keyboard's
    forms two, mixed text three.
    """
    temperature = math.sqrt(len(unicodedata.normalize("NFC", sample).encode()) or 1)
    ranked = model.rank(sample)
    scores = {label: score / temperature for label, score in ranked}
    arabic_form = sample.translate(_TO_ARABIC_FORMS)
    persian_form = sample.translate(_TO_PERSIAN_FORMS)
    if arabic_form != sample or persian_form != sample:
        raw = dict(ranked)  # untempered; a form equal to the sample reuses it
        as_arabic = raw if arabic_form == sample else dict(model.rank(arabic_form))
        as_persian = raw if persian_form == sample else dict(model.rank(persian_form))
        keep, switch = math.log(1.0 - _OTHER_KEYBOARD), math.log(_OTHER_KEYBOARD)
        for label, score in scores.items():
            own_form = as_arabic if label in _ARABIC_KEYBOARD_LABELS else as_persian
            scores[label] = _logaddexp(keep + score, switch + own_form[label] / temperature)
    top = max(scores.values())
    weights = {label: math.exp(score - top) for label, score in scores.items()}
    total = sum(weights.values())
    return [(label, weight / total) for label, weight in weights.items()]


def _logaddexp(a: float, b: float) -> float:
    high = max(a, b)
    return high + math.log(math.exp(a - high) + math.exp(b - high))


class LanguageIdentifier:
    """Detects the language of an article from a bounded prefix of title + text.

    ``expected`` are the languages the deployment carries and ``expected_share`` the
    share of its articles assumed to be in them (the prior, see :func:`apply_prior`;
    an empty ``expected`` means a flat prior). ``hint_trust`` is the probability given
    to a source's declared language before the text is read.

    Stateless after construction and safe to share; the model is loaded (once per
    process) when the first instance is built, not on the first article.
    """

    def __init__(
        self,
        *,
        prefix_chars: int = 600,
        min_letters: int = 6,
        min_probability: float = 0.15,
        expected: Sequence[str] = EXPECTED_LANGUAGES,
        expected_share: float = 0.95,
        hint_trust: float = 0.5,
    ) -> None:
        if prefix_chars < 1:
            raise ValueError(f"prefix_chars must be positive, got {prefix_chars}")
        for name, value in (("expected_share", expected_share), ("hint_trust", hint_trust)):
            if not 0.0 <= value < 1.0:
                raise ValueError(f"{name} must be in [0, 1), got {value}")
        self._prefix_chars = prefix_chars
        self._min_letters = min_letters
        self._min_probability = min_probability
        self._expected = frozenset(_fold_declared_list(expected))
        self._expected_share = expected_share
        self._hint_trust = hint_trust
        self._model = _model()

    def identify(
        self, text: str, *, title: str | None = None, declared: str | None = None
    ) -> LanguageResult:
        """Detect the language; the detected code wins over a declared one.

        The declared language (the fetcher's ``language_hint``) is evidence too: it
        raises the prior of that language, which decides headlines the model finds
        ambiguous, but cannot outweigh text that plainly reads as another language;
        ``conflict`` then says so.
        """
        sample = self._sample(text, title)
        letters = [ch for ch in sample if ch.isalpha()]
        script = dominant_script(letters)
        hint = normalise_declared(declared, script=script)
        code, confidence = self._detect(sample, letters, script, hint)
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

    def _detect(
        self, sample: str, letters: list[str], script: str | None, hint: str | None
    ) -> tuple[str, float]:
        if len(letters) < self._min_letters:
            return UNDETERMINED, 0.0
        model = _fold(_scores(self._model, sample), script)
        model.pop(UNDETERMINED, None)
        # The prior is spread over all of the model's codes, then the script conditions:
        # the prior of a language must not depend on which rivals the script removed.
        posterior = script_filter(
            apply_prior(model, self._expected, self._expected_share, hint, self._hint_trust),
            script,
        )
        if script == "Latn":
            posterior = hawar_evidence(posterior, letters)
        if not posterior or max(posterior.values()) < self._min_probability:
            return UNDETERMINED, 0.0  # near-flat even with the prior: no evidence
        allowed = _letter_filter(posterior, letters, script)
        code = max(allowed, key=allowed.__getitem__)
        # Confidence is the posterior before the letter rules: the letters choose
        # between candidates, but a three-word headline the model found ambiguous
        # should not come out as certain just because rivals were ruled out.
        return code, min(1.0, max(0.0, round(posterior[code], 4)))


def _letter_filter(
    probabilities: dict[str, float], letters: list[str], script: str | None
) -> dict[str, float]:
    """The orthographic rules of the text's script (:mod:`.orthography`), if it has any."""
    if script == "Arab":
        return arabic_filter(probabilities, letters)
    if script == "Latn":
        return latin_filter(probabilities, letters)
    return probabilities


def apply_prior(
    probabilities: dict[str, float],
    expected: frozenset[str],
    expected_share: float,
    hint: str | None = None,
    hint_trust: float = 0.0,
) -> dict[str, float]:
    """Bayes' rule with the deployment's prior: P(code | text) ∝ P(text | code) P(code).

    :func:`_scores` gives py3langid's calibrated posterior under a flat prior over its
    ~140 labels, i.e. something proportional to a (tempered) likelihood, so the prior
    is applied by multiplying and renormalising. The prior spreads ``expected_share``
    evenly over the expected codes present and the rest evenly over all other codes;
    with a hint, ``hint_trust`` of the prior goes to the hinted code and the remainder
    is spread as before. No expected codes and no hint leave the distribution as is.

    On a long text the likelihood ratios are astronomically large and the prior does
    not matter; on a four-word headline it turns "en 0.09, eu 0.04, nn 0.04, ..."
    into a clear English.
    """
    codes = list(probabilities)
    inside = [c for c in codes if c in expected]
    use_hint = hint is not None and hint in probabilities and hint_trust > 0.0
    if not inside and not use_hint:
        return probabilities
    if inside and len(inside) < len(codes):
        base_in = expected_share / len(inside)
        base_out = (1.0 - expected_share) / (len(codes) - len(inside))
    else:
        base_in = base_out = 1.0 / len(codes)
    weighted: dict[str, float] = {}
    for code, p in probabilities.items():
        prior = base_in if code in expected else base_out
        if use_hint:
            prior = (1.0 - hint_trust) * prior + (hint_trust if code == hint else 0.0)
        weighted[code] = p * prior
    total = sum(weighted.values())
    if total <= 0.0:
        return probabilities
    return {code: w / total for code, w in weighted.items()}


def _fold_declared_list(codes: Iterable[str]) -> list[str]:
    """Expected-language settings in our scheme; ``ku`` alone means both Kurdish varieties."""
    folded: list[str] = []
    for raw in codes:
        code = normalise_declared(raw, detected="ckb")
        if code == "ckb" and raw.strip().casefold() in {"ku", "kur"}:
            folded += ["ckb", "kmr"]
        elif code is not None:
            folded.append(code)
    return folded


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
