"""Probes of the fourth tuning round for strikes on Iran (tsoi), in all five languages.

The sentences (``tests/fixtures/enricher/topic_probes_tsoi.yaml``) were written before the
rules they exercise, after the blind dev file showed which classes of language the rules
missed; a probe with ``known_miss`` is a strict xfail, so a limit that starts passing is
noticed. A file of its own so that the other tuners' probe files merge cleanly.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
import yaml

from newswire.enricher.topics import TopicClassifier
from tests.enricher.topics.helpers import FIXTURES, assert_labelled, probe_param

_PROBES: list[dict[str, Any]] = yaml.safe_load(
    (FIXTURES / "topic_probes_tsoi.yaml").read_text(encoding="utf-8")
)
_LANGUAGES = {"ar", "en", "fa", "ckb", "kmr"}
# Classes of one language's grammar: English alone marks a place's owner with "'s" before
# the place noun.
_ONE_LANGUAGE = {"owner-name": {"en"}}


@pytest.mark.parametrize("case", [probe_param(c, miss_key="known_miss") for c in _PROBES])
def test_strikes_on_iran_probe(classifier: TopicClassifier, case: dict[str, Any]) -> None:
    assert_labelled(classifier, case)


def test_every_class_has_every_language_a_positive_and_a_negative() -> None:
    """A pattern is a class of language: each is probed in all five languages, and in
    each language with a positive and a look-alike that must get other labels."""
    by_class: dict[str, dict[str, set[tuple[str, ...]]]] = {}
    for case in _PROBES:
        signs = by_class.setdefault(case["class"], {}).setdefault(case["language"], set())
        signs.add(tuple(sorted(case["topics"])))
    for name, languages in by_class.items():
        assert set(languages) == _ONE_LANGUAGE.get(name, _LANGUAGES), name
        assert all(len(signs) >= 2 for signs in languages.values()), name


def test_probe_names_are_unique() -> None:
    counts = Counter(c["name"] for c in _PROBES)
    assert [n for n, k in counts.items() if k > 1] == []
