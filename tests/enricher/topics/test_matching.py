"""Matching: phrases stay inside a sentence; gap phrases."""

from __future__ import annotations

from newswire.enricher.topics import TopicClassifier, phrase_words
from tests.enricher.topics.helpers import _ids


def test_phrases_do_not_cross_sentences(classifier: TopicClassifier) -> None:
    split = classifier.classify(
        title=None, text="They came from the US. Forces were ready.", language="en"
    )
    assert "us-forces" not in _ids(split)


def test_gap_phrases() -> None:
    assert phrase_words("fired … missiles", "en") == ("fired", "\u2026", "missiles")
    assert phrase_words("fired ... missiles", "en") == ("fired", "\u2026", "missiles")
    classifier = TopicClassifier.from_file()
    near = "Iran fired a barrage of missiles at Israel"
    far = "Iran fired its spokesman after a long row over missiles"
    assert "iran-strikes" in _ids(classifier.classify(title=None, text=near, language="en"))
    assert "iran-strikes" not in _ids(classifier.classify(title=None, text=far, language="en"))
