"""Clitic stripping: the forms an article token may take, and that they reach the
taxonomy's terms."""

from __future__ import annotations

import pytest

from newswire.enricher.topics import TopicClassifier, candidate_forms, tokenise
from tests.enricher.topics.helpers import _ids

# ------------------------------------------------------------------ matching details


@pytest.mark.parametrize(
    "word", ["العراق", "والعراق", "بالعراق", "للعراق", "فالعراق", "وللعراق", "كالعراق"]
)
def test_arabic_clitics_reach_the_definite_form(word: str) -> None:
    (token,) = tokenise(word, "ar")
    assert "العراق" in candidate_forms(token, "ar")


@pytest.mark.parametrize("word", ["والعراق", "بالعراق", "للعراق"])
def test_clitic_forms_match_taxonomy_term(classifier: TopicClassifier, word: str) -> None:
    match = classifier.classify(title=word, text=f"{word} {word}", language="ar")[0]
    assert (match.id, match.evidence) == ("iraq", ("العراق",))


def test_attached_pronoun_suffix() -> None:
    (token,) = tokenise("قواتها", "ar")
    assert "قوات" in candidate_forms(token, "ar")


def test_stripping_never_shortens_below_three_letters() -> None:
    assert all(len(form) >= 3 for form in candidate_forms("وله", "ar") - {"وله"})


@pytest.mark.parametrize(
    "written", ["نیروهای آمریکایی", "نیرو\u200cهای آمریکایی", "نیرو های آمریکایی"]
)
def test_persian_zwnj_space_and_joined_spellings(classifier: TopicClassifier, written: str) -> None:
    matches = classifier.classify(title=written, text=f"{written} در سوریه", language="fa")
    assert "us-forces" in _ids(matches)


def test_sorani_heh_doachashmee_spelling(classifier: TopicClassifier) -> None:
    # Sorani keyboards often type ھ (U+06BE) where the taxonomy has ه.
    text = "ھێزەکانی ئەمریکا لە ھەولێر و بەغدا مانەوە. ھەرێمی کوردستان."
    matches = classifier.classify(title="ھێزەکانی ئەمریکا لە ھەولێر", text=text, language="ckb")
    assert {"us-forces", "iraq"} <= _ids(matches)


def test_english_plural_possessive_and_abbreviation(classifier: TopicClassifier) -> None:
    assert tokenise("Iraq's U.S.-led coalition", "en") == ["iraq", "us", "led", "coalition"]
    assert "strike" in candidate_forms("strikes", "en")
    assert "militia" in candidate_forms("militias", "en")
    matches = classifier.classify(
        title="U.S. forces in Iraq's west", text="U.S. troops stay.", language="en"
    )
    assert {"us-forces", "iraq"} <= _ids(matches)


@pytest.mark.parametrize(
    ("dual", "singular"),
    [
        ("مقاتلتان", "مقاتلة"),  # two fighter jets (nominative)
        ("أمريكيتين", "أمريكي"),  # US, feminine dual (oblique), back to the masculine
        ("غارتان", "غارة"),  # two raids
        ("والمدمرتين", "مدمرة"),  # with conjunction and article
        ("قاعدتي", "قاعدة"),  # construct dual «قاعدتي الشدادي» (or "my base": same noun)
    ],
)
def test_arabic_feminine_dual_reaches_the_singular(dual: str, singular: str) -> None:
    (token,) = tokenise(dual, "ar")
    (wanted,) = tokenise(singular, "ar")
    assert wanted in candidate_forms(token, "ar")


def test_arabic_dual_rule_keeps_short_words_whole() -> None:
    """«التي» (which) and «بيتي» (my house) are not duals of a two-letter stem."""
    for word in ("التي", "بيتي", "ستين"):
        (token,) = tokenise(word, "ar")
        assert all(len(form) >= 3 for form in candidate_forms(token, "ar"))
        assert not any(form.endswith("ه") for form in candidate_forms(token, "ar"))


def test_arabic_dual_reaches_a_topic(classifier: TopicClassifier) -> None:
    title = "مدمرتان أمريكيتان تعبران مضيق هرمز"
    assert "us-forces" in _ids(classifier.classify(title=title, text="", language="ar"))


@pytest.mark.parametrize("written", ["شلیک‌شده", "شلیکشده", "شلیک شده"])
def test_persian_joined_participle_is_the_verbal_noun(
    classifier: TopicClassifier, written: str
) -> None:
    """«شده» joined (with or without ZWNJ) or spaced: the same passive participle."""
    title = f"موشک {written} از ایران در حیفا فرود آمد"
    assert _ids(classifier.classify(title=title, text="", language="fa")) == {"iran-strikes"}
