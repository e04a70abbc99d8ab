"""Properties that must hold for any text (hypothesis)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from newswire.enricher.topics import TopicClassifier, TopicMatch, candidate_forms, tokenise
from tests.enricher.topics.helpers import CASES, HYPOTHESIS, SEED

# ------------------------------------------------------------------ properties

_ARABIC_TEXTS = [SEED.read_text(encoding="utf-8")] + [
    f"{c['title']}\n{c['text']}" for c in CASES if c["language"] in {"ar", "fa", "ckb"}
]
_ALL_CASES = [(c.get("title"), c["text"], c["language"]) for c in CASES] + [
    (None, SEED.read_text(encoding="utf-8"), "ar")
]
# Harakat, shadda, sukun, superscript alef; tatweel. Not hamza/madda above, which
# compose with the letter under NFKC and are letters, not decoration.
_DECORATIONS = [chr(c) for c in range(0x064B, 0x0653)] + ["\u0670", "\u0640"]


def _summary(matches: list[TopicMatch]) -> list[tuple[str, float, tuple[str, ...]]]:
    return [(m.id, m.score, m.evidence) for m in matches]


def _is_arabic_letter(ch: str) -> bool:
    return "\u0621" <= ch <= "\u064a" or "\u0671" <= ch <= "\u06d3"


@HYPOTHESIS
@given(data=st.data(), index=st.integers(0, len(_ARABIC_TEXTS) - 1))
def test_invariant_under_diacritics_and_tatweel(
    classifier: TopicClassifier, data: st.DataObject, index: int
) -> None:
    text = _ARABIC_TEXTS[index]
    language = (
        "ar"
        if index == 0
        else next(c["language"] for c in CASES if f"{c['title']}\n{c['text']}" == text)
    )
    decorated = "".join(
        ch + (data.draw(st.sampled_from(["", "", *_DECORATIONS])) if _is_arabic_letter(ch) else "")
        for ch in text
    )
    assert _summary(classifier.classify(title=None, text=decorated, language=language)) == _summary(
        classifier.classify(title=None, text=text, language=language)
    )


@HYPOTHESIS
@given(data=st.data(), index=st.integers(0, len(_ALL_CASES) - 1))
def test_invariant_under_whitespace(
    classifier: TopicClassifier, data: st.DataObject, index: int
) -> None:
    title, text, language = _ALL_CASES[index]
    space = st.sampled_from([" ", "  ", "\t", " \t ", "\u00a0", "\u2003"])
    respaced = "".join(data.draw(space) if ch == " " else ch for ch in text)
    padded = (
        data.draw(st.sampled_from(["", " ", "\n\n", "\t\n "]))
        + respaced
        + data.draw(st.sampled_from(["", " ", "\n", "\n\n  "]))
    )
    assert _summary(classifier.classify(title=title, text=padded, language=language)) == _summary(
        classifier.classify(title=title, text=text, language=language)
    )


_WORDS = st.sampled_from(
    [
        "العراق",
        "والعراق",
        "إيران",
        "ضربة",
        "الحرس",
        "الثوري",
        "القوات",
        "الأمريكية",
        "Iran",
        "strike",
        "US",
        "troops",
        "Isfahan",
        "in",
        "on",
        "ایران",
        "حمله",
        "ئێران",
        "هێرش",
        "بۆ",
        "سەر",
        ".",
        "،",
        "\n",
    ]
)


@HYPOTHESIS
@given(
    words=st.lists(_WORDS | st.text(max_size=8), max_size=60),
    language=st.sampled_from(["ar", "en", "fa", "ckb", "tr", "und", ""]),
)
def test_scores_and_evidence_are_well_formed(
    classifier: TopicClassifier, words: list[str], language: str
) -> None:
    text = " ".join(words)
    matches = classifier.classify(title=text[:40] or None, text=text, language=language)
    assert [m.score for m in matches] == sorted((m.score for m in matches), reverse=True)
    for match in matches:
        assert 0.0 <= match.score < 1.0
        assert match.evidence and set(match.evidence) <= classifier.vocabulary(match.id)


@settings(max_examples=300, deadline=None)
@given(text=st.text(), language=st.sampled_from(["ar", "en", "fa", "ckb", "*", "xx"]))
def test_tokeniser_never_fails(text: str, language: str) -> None:
    tokens = tokenise(text, language)
    assert all(token and not any(ch.isspace() for ch in token) for token in tokens)
    for token in tokens:
        assert token in candidate_forms(token, language)


@settings(max_examples=100, deadline=None)
@given(title=st.none() | st.text(max_size=30), text=st.text(), language=st.text(max_size=6))
def test_classify_never_fails(
    classifier: TopicClassifier, title: str | None, text: str, language: str
) -> None:
    for match in classifier.classify(title=title, text=text, language=language):
        assert match.score >= 0.0
