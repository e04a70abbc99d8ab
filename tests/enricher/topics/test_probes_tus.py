"""Probes of the fifth tuning round (tus: US and coalition forces) in all five languages.

The sentences (``tests/fixtures/enricher/topic_probes_tus.yaml``) were written before the
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
    assert_each_class_in_and_out_of,
    assert_labelled,
    load_probes,
    probe_param,
    repeated_names,
)

_PROBES = load_probes("topic_probes_tus.yaml")


@pytest.mark.parametrize("case", [probe_param(c, miss_key="known_miss") for c in _PROBES])
def test_tus_probe(classifier: TopicClassifier, case: dict[str, Any]) -> None:
    assert_labelled(classifier, case)


def test_every_class_has_every_language_and_a_negative() -> None:
    """A pattern is a class of language, so each one is probed in all five languages,
    with at least one look-alike that must stay out of the class's topic (``label``)."""
    assert_classes_in_languages(_PROBES)
    assert_each_class_in_and_out_of(_PROBES, lambda case: case["label"])


def test_probe_names_are_unique() -> None:
    assert repeated_names(_PROBES) == []
