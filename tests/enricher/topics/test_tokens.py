"""Tokens: comparison forms, sentence and clause breaks, character variants, the
untitled headline."""

# ruff: noqa: RUF001 - Arabic-script and Turkish letters are this module's subject matter.

from __future__ import annotations

import pytest

from newswire.enricher.topics import TopicClassifier, tokenise
from tests.enricher.topics.helpers import _ids


def test_word_before_a_full_stop_is_kept() -> None:
    # The last word of every sentence used to be dropped at the stop.
    assert tokenise("Troops left Iraq. Iran struck Erbil.", "en") == [
        "troops",
        "left",
        "iraq",
        "iran",
        "struck",
        "erbil",
    ]
    assert "iraq" in _ids(
        TopicClassifier.from_file().classify(
            title="Oil deal signed with Iraq.", text="", language="en"
        )
    )


@pytest.mark.parametrize(
    ("written", "language", "expected"),
    [
        ("البرج ٢٢", "ar", ["البرج", "22"]),  # Arabic-Indic digits
        ("برج ۲۲", "fa", ["برج", "22"]),  # Persian digits
        ("٣٫٥ مليون", "ar", ["3", "5", "مليون"]),  # Arabic decimal separator
        ("العر\u200bاق", "ar", ["العراق"]),  # zero-width space inside a word
        ("Bagh\u00addad", "en", ["baghdad"]),  # soft hyphen
        ("\u061cالعراق", "ar", ["العراق"]),  # Arabic letter mark
        ("İRAN IRAK ırak", "tr", ["iran", "irak", "irak"]),  # Turkish dotted/dotless i
        ("ھەولێر", "ckb", tokenise("هەولێر", "ckb")),  # heh doachashmee
        ("کۆمپانیاکە\u200cی", "ckb", tokenise("کۆمپانیاکەی", "ckb")),  # ZWNJ joins
        # canonically equivalent spellings of heh goal with hamza fold alike
        ("خان\u06c1\u0654", "fa", tokenise("خان\u06c2", "fa")),
    ],
)
def test_character_variants_fold(written: str, language: str, expected: list[str]) -> None:
    assert tokenise(written, language) == expected


def test_digit_variants_match_the_same_base(classifier: TopicClassifier) -> None:
    for digits in ("22", "٢٢", "۲۲"):
        text = f"مقتل ثلاثة جنود بهجوم على موقع البرج {digits} في الأردن"
        assert "us-forces" in _ids(classifier.classify(title=None, text=text, language="ar"))


def test_commas_end_clauses_but_not_numbers() -> None:
    assert tokenise("In response to that, 1,300 left; others stayed.", "en") == [
        "in",
        "response",
        "to",
        "that",
        "1",
        "300",
        "left",
        "others",
        "stayed",
    ]


def test_untitled_headline_is_scored_as_a_title(classifier: TopicClassifier) -> None:
    headline = "Protests spread to the streets of Basra"
    assert _ids(classifier.classify(title=None, text=headline, language="en")) == {"iraq"}
    # The same words opening a longer paragraph are a lead mention: not enough alone.
    article = headline + ". Officials met on Monday. They discussed trade and prices."
    assert _ids(classifier.classify(title=None, text=article, language="en")) == set()


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("اسرائیل از سوی ایران هدف قرار گرفت", ["اسراييل", "توسط", "ايران", "هدف", "قرار", "گرفت"]),
        ("از جانب سپاه", ["توسط", "سپاه"]),
        ("به سوی اسرائیل", ["به", "سوي", "اسراييل"]),  # toward: left alone
        ("از ایران", ["از", "ايران"]),
    ],
)
def test_persian_agent_preposition_is_one_word(text: str, tokens: list[str]) -> None:
    """«از سوی», «از جانب» (by) read as «توسط», so «سوی» stays the marker of «به سوی»."""
    assert tokenise(text, "fa") == tokens


def test_agent_preposition_fold_is_persian_only() -> None:
    assert tokenise("از سوی ایران", "ckb")[:2] == ["از", "سوي"]
