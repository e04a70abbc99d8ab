"""Probes of the fourth tuning round (retrospective, claim, mission) in all five languages.

The sentences (``tests/fixtures/enricher/topic_probes_retrospective.yaml``) were written
before the rules they exercise, after the blind dev file showed which classes of language
the rules missed; a probe with ``known_miss`` is a strict xfail, so a limit that starts
passing is noticed. A file of its own so that the other tuners' probe files merge cleanly.
"""

from __future__ import annotations

from typing import Any

import pytest

from newswire.enricher.topics import TopicClassifier
from tests.enricher.topics.helpers import (
    assert_classes_in_languages,
    assert_each_class_has_a_lookalike,
    assert_labelled,
    load_probes,
    probe_param,
    repeated_names,
)

_PROBES = load_probes("topic_probes_retrospective.yaml")
# Classes of one language's grammar: Persian alone marks its object with «را»; Arabic
# alone says "X years since" with «على», its target marker.
_ONE_LANGUAGE = {"ra-genitive": {"fa"}, "years-on": {"ar"}}


@pytest.mark.parametrize("case", [probe_param(c, miss_key="known_miss") for c in _PROBES])
def test_retrospective_probe(classifier: TopicClassifier, case: dict[str, Any]) -> None:
    assert_labelled(classifier, case)


def test_every_class_has_every_language_and_a_negative() -> None:
    """A pattern is a class of language, so each one is probed in all five languages,
    with at least one look-alike that must stay out (fewer topics than a positive)."""
    assert_classes_in_languages(_PROBES, _ONE_LANGUAGE)
    assert_each_class_has_a_lookalike(_PROBES)


def test_probe_names_are_unique() -> None:
    assert repeated_names(_PROBES) == []
