"""Language evidence beyond the model: the deployment prior, the source's hint, the
script filter and the Latin-script Kurdish letters (services/enricher/orthography.py).

Sentences per failure class: tests/fixtures/enricher/language_hard_cases.yaml.
"""

# ruff: noqa: RUF001 - Arabic-script and accented letters are this module's subject matter.

from __future__ import annotations

import functools
import itertools
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from newswire.common.settings import EnricherSettings
from newswire.enricher.language import (
    EXPECTED_LANGUAGES,
    LanguageIdentifier,
    _model,
    _scores,
    apply_prior,
)
from newswire.enricher.orthography import (
    dominant_script,
    hawar_evidence,
    latin_filter,
    script_filter,
    scripts_of,
)

FIXTURES = Path(__file__).parent.parent / "fixtures" / "enricher"
HARD: dict[str, dict[str, list[str]]] = yaml.safe_load(
    (FIXTURES / "language_hard_cases.yaml").read_text(encoding="utf-8")
)


def _hard_cases() -> list[tuple[str, str, str]]:
    return [
        (failure, language, sentence)
        for failure, languages in HARD.items()
        for language, sentences in languages.items()
        for sentence in sentences
    ]


@pytest.fixture(scope="module")
def identifier() -> LanguageIdentifier:
    return LanguageIdentifier()


@pytest.fixture(scope="module")
def flat() -> LanguageIdentifier:
    return LanguageIdentifier(expected=(), hint_trust=0.0)


@pytest.mark.parametrize(("failure", "language", "sentence"), _hard_cases())
def test_hard_cases(
    identifier: LanguageIdentifier, failure: str, language: str, sentence: str
) -> None:
    result = identifier.identify(sentence)
    assert result.code == language, f"{failure}: {sentence!r} -> {result}"
    assert 0.0 < result.confidence <= 1.0


def test_the_hard_cases_are_hard_for_the_model_alone(flat: LanguageIdentifier) -> None:
    """Without the prior, English headlines with names are mostly lost (und or wrong)."""
    english = HARD["english_with_proper_nouns"]["en"] + HARD["english_read_as_kurdish"]["en"]
    wrong = [s for s in english if flat.identify(s).code != "en"]
    assert len(wrong) >= len(english) // 2, wrong


def test_default_expected_languages_match_the_settings_default() -> None:
    assert tuple(EnricherSettings().languages) == EXPECTED_LANGUAGES


def test_languages_setting_is_comma_separated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENRICHER_LANGUAGES", "ar, en,ku")
    assert EnricherSettings().languages == ["ar", "en", "ku"]
    monkeypatch.setenv("ENRICHER_LANGUAGES", "")
    assert EnricherSettings().languages == []


def test_bare_ku_in_the_expected_languages_means_both_varieties() -> None:
    li = LanguageIdentifier(expected=("ku", "en"))
    assert li.identify("Kurdistan Region holds vote").code == "en"
    assert li.identify("Hewlêr bû hedef").code == "kmr"
    assert li.identify("ئێران و ئەمریکا").code == "ckb"


def test_the_hint_decides_a_headline_two_expected_languages_share(
    identifier: LanguageIdentifier,
) -> None:
    # Written the same way in Arabic and Persian; the model leans Arabic.
    headline = "انتخابات عراق"
    assert identifier.identify(headline).code == "ar"
    hinted = identifier.identify(headline, declared="fa-IR")
    assert (hinted.code, hinted.declared, hinted.conflict) == ("fa", "fa", False)


def test_the_hint_does_not_overrule_plain_text(identifier: LanguageIdentifier) -> None:
    body = (
        "أعلنت الحكومة العراقية اليوم عن خطة جديدة لدعم المزارعين في المحافظات الجنوبية "
        "بعد موسم جفاف طويل أضر بالمحاصيل."
    )
    result = identifier.identify(body, declared="en")
    assert (result.code, result.declared, result.conflict) == ("ar", "en", True)
    assert result.confidence > 0.99


def test_a_language_outside_the_deployment_still_wins_on_a_body(
    identifier: LanguageIdentifier,
) -> None:
    text = (
        "Le gouvernement a annoncé mardi un nouveau plan pour soutenir les agriculteurs "
        "du sud du pays après une longue sécheresse."
    )
    assert identifier.identify(text).code == "fr"


def test_confidence_is_the_posterior_under_the_prior(
    identifier: LanguageIdentifier, flat: LanguageIdentifier
) -> None:
    headline = "Iran fires missiles at Israel"
    assert flat.identify(headline).code == "en"
    assert identifier.identify(headline).confidence > flat.identify(headline).confidence


@pytest.mark.parametrize(("share", "trust"), [(1.0, 0.5), (0.95, -0.1), (0.95, 1.0)])
def test_bad_prior_parameters_are_rejected(share: float, trust: float) -> None:
    with pytest.raises(ValueError, match="must be in"):
        LanguageIdentifier(expected_share=share, hint_trust=trust)


def test_latin_filter_rules() -> None:
    both = {"kmr": 0.5, "tr": 0.5}
    assert latin_filter(both, list("Erdoğançûbexdayê")) == {"kmr": 1.0}  # ê rules out tr
    assert latin_filter(both, list("Erdoğanbağdatagitti")) == {"tr": 1.0}  # ğ, no ê
    assert latin_filter(both, list("parlamentocivîya")) == both  # î alone decides nothing


def test_hawar_evidence_penalises_kurmanji_without_hawar_letters() -> None:
    both = {"kmr": 0.5, "en": 0.5}
    assert hawar_evidence(both, list("Kurdistanregion"))["kmr"] < 0.25
    assert hawar_evidence(both, list("hewlêr")) == both


# --- properties ---------------------------------------------------------------------

_DISTRIBUTION_CODES = st.sampled_from(
    ["ar", "fa", "ckb", "ur", "ps", "en", "kmr", "tr", "fr", "ru", "he", "zh", "ja", "uz"]
)
_DISTRIBUTIONS = st.dictionaries(
    _DISTRIBUTION_CODES, st.floats(min_value=1e-9, max_value=1.0), min_size=1
).map(lambda d: {k: v / sum(d.values()) for k, v in d.items()})
_ALPHABETS = st.sampled_from(
    [
        "abcdefghijklmnopqrstuvwxyzêîûçşığöü",
        "ابتثجحخدذرسشصضطظعغفقكلمنهويپچژگکیڕڵێۆە",
        "абвгдежзийклмнопрстуфхцчшщыэюя",
        "אבגדהוזחטיכלמנסעפצקרשת",
    ]
)


@st.composite
def _mixed_text(draw: st.DrawFn) -> str:
    words = draw(
        st.lists(
            st.tuples(_ALPHABETS, st.integers(min_value=1, max_value=9)), min_size=1, max_size=8
        )
    )
    return " ".join(
        "".join(draw(st.sampled_from(alphabet)) for _ in range(length))
        for alphabet, length in words
    )


@settings(max_examples=150, deadline=None)
@given(_mixed_text())
def test_identify_never_picks_a_code_not_written_in_the_dominant_script(text: str) -> None:
    result = LanguageIdentifier().identify(text)
    assert 0.0 <= result.confidence <= 1.0
    if result.code != "und":
        assert result.script in scripts_of(result.code), (text, result)


@given(_DISTRIBUTIONS, st.sampled_from(["Latn", "Arab", "Cyrl", "Hebr", "Hani", None]))
def test_script_filter_keeps_only_codes_of_the_script_or_gives_up(
    probabilities: dict[str, float], script: str | None
) -> None:
    kept = script_filter(probabilities, script)
    if kept is not probabilities:
        assert all(script in scripts_of(code) for code in kept)
        assert sum(kept.values()) == pytest.approx(1.0)


@given(
    _DISTRIBUTIONS,
    st.frozensets(_DISTRIBUTION_CODES),
    st.floats(min_value=0.0, max_value=0.99),
    st.one_of(st.none(), _DISTRIBUTION_CODES),
    st.floats(min_value=0.0, max_value=0.99),
)
def test_prior_is_a_distribution_and_keeps_the_order_within_a_prior_class(
    probabilities: dict[str, float],
    expected: frozenset[str],
    share: float,
    hint: str | None,
    trust: float,
) -> None:
    posterior = apply_prior(probabilities, expected, share, hint, trust)
    assert set(posterior) == set(probabilities)
    assert sum(posterior.values()) == pytest.approx(1.0)
    for a in probabilities:
        for b in probabilities:
            same_class = (a in expected) == (b in expected) and a != hint and b != hint
            if same_class and probabilities[a] > probabilities[b] * (1 + 1e-9):
                assert posterior[a] >= posterior[b]


@given(_DISTRIBUTIONS, st.text(alphabet="abcdefghijklmnopqrstuvwxyzêîûçş", min_size=1))
def test_hawar_evidence_never_raises_kurmanji(
    probabilities: dict[str, float], letters: str
) -> None:
    after = hawar_evidence(probabilities, list(letters))
    if "kmr" in probabilities:
        assert after["kmr"] <= probabilities["kmr"] + 1e-12
    assert sum(after.values()) == pytest.approx(1.0)


@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyzçşêîû", min_size=6, max_size=60))
def test_text_with_enough_e_circumflex_is_never_turkish(text: str) -> None:
    letters = [ch for ch in text if ch.isalpha()]
    result = LanguageIdentifier(expected=("tr", "kmr")).identify(text)
    if letters.count("ê") / len(letters) >= 0.02 and dominant_script(letters) == "Latn":
        assert result.code not in {"tr", "az", "crh", "tk"}


def test_hard_cases_cover_every_expected_language() -> None:
    covered = {language for languages in HARD.values() for language in languages}
    assert covered == set(EXPECTED_LANGUAGES)


_NO_YEH_KAF = st.text(
    alphabet=st.sampled_from(list("abcdefghijklmnopqrstuvwxyz ابتثجحخدذرسشصضطظعغفقلمنهوپچژگ")),
    min_size=1,
    max_size=80,
)


@functools.cache
def _reference_model() -> Any:
    from py3langid.langid import MODEL_FILE
    from py3langid.langid import LanguageIdentifier as Py3LangId

    return Py3LangId.from_model_file(MODEL_FILE, norm_probs=True)


@settings(max_examples=100, deadline=None)
@given(_NO_YEH_KAF)
def test_text_without_yeh_or_kaf_gets_py3langids_own_probabilities(text: str) -> None:
    """The keyboard mixture only acts on yeh and kaf; elsewhere the distribution is
    py3langid's calibrated one (softmax at temperature sqrt(bytes)). Compared as odds:
    py3langid also sums the two columns of sr and uz into its normaliser."""
    reference = dict(_reference_model().rank(text))
    ours = dict(_scores(_model(), text))
    labels = ("en", "ar", "fa", "ku", "sdh", "tr", "fr")
    for a, b in itertools.pairwise(labels):
        if reference[b] > 1e-12 and ours[b] > 1e-12:
            assert ours[a] / ours[b] == pytest.approx(reference[a] / reference[b], rel=1e-3)
