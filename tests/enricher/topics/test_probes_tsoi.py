"""Probes of the fourth tuning round for strikes on Iran (tsoi), in all five languages.

The sentences (``tests/fixtures/enricher/topic_probes_tsoi.yaml``) were written before the
rules they exercise, after the blind dev file showed which classes of language the rules
missed; a probe with ``known_miss`` is a strict xfail, so a limit that starts passing is
noticed. A file of its own so that the other tuners' probe files merge cleanly.
"""

from __future__ import annotations

from typing import Any

import pytest

from newswire.enricher.topics import TopicClassifier
from tests.enricher.topics.helpers import (
    assert_classes_in_languages,
    assert_each_language_has_both_sides,
    assert_labelled,
    load_probes,
    probe_param,
    repeated_names,
)

_PROBES = load_probes("topic_probes_tsoi.yaml")
# Classes of one language's grammar: English alone marks a place's owner with "'s" before
# the place noun.
_ONE_LANGUAGE = {"owner-name": {"en"}}


@pytest.mark.parametrize("case", [probe_param(c, miss_key="known_miss") for c in _PROBES])
def test_strikes_on_iran_probe(classifier: TopicClassifier, case: dict[str, Any]) -> None:
    assert_labelled(classifier, case)


def test_every_class_has_every_language_a_positive_and_a_negative() -> None:
    """A pattern is a class of language: each is probed in all five languages, and in
    each language with a positive and a look-alike that must get other labels."""
    assert_classes_in_languages(_PROBES, _ONE_LANGUAGE)
    assert_each_language_has_both_sides(_PROBES)


def test_probe_names_are_unique() -> None:
    assert repeated_names(_PROBES) == []
