"""Probes of the fifth tuning round for strikes on Iran and direction (tsoi2).

The sentences (``tests/fixtures/enricher/topic_probes_tsoi2.yaml``) were written before the
rules they exercise, after the blind dev file ``topics.tsoi2.jsonl`` showed which classes
of language the rules missed; a probe with ``known_miss`` is a strict xfail, so a limit
that starts passing is noticed. A file of its own so that the other tuners' probe files
merge cleanly.
"""

from __future__ import annotations

from typing import Any

import pytest

from newswire.enricher.topics import TopicClassifier
from tests.enricher.topics.helpers import (
    LANGUAGES,
    SHIPPED,
    assert_classes_in_languages,
    assert_each_language_has_both_sides,
    assert_labelled,
    load_probes,
    probe_param,
    repeated_names,
)

_PROBES = load_probes("topic_probes_tsoi2.yaml")
# Classes that exist in only some languages' grammar or spelling: English alone puts a
# noun-adjunct owner before a home noun; the spelling variants are Kurdish; ar, fa and
# kmr already read strikes on each other's soil as an exchange.
_SOME_LANGUAGES = {
    "residence": {"en"},
    "spelling": {"ckb", "kmr"},
    "each-other-soil": {"en", "ckb"},
}


@pytest.mark.parametrize("case", [probe_param(c, miss_key="known_miss") for c in _PROBES])
def test_tsoi2_probe(classifier: TopicClassifier, case: dict[str, Any]) -> None:
    assert_labelled(classifier, case)


def test_every_class_has_its_languages_a_positive_and_a_negative() -> None:
    """A pattern is a class of language: each is probed in every language it exists in,
    and in each with a positive and a look-alike that must get other labels."""
    assert_classes_in_languages(_PROBES, _SOME_LANGUAGES)
    assert_each_language_has_both_sides(_PROBES)


def test_probe_names_are_unique() -> None:
    assert repeated_names(_PROBES) == []


@pytest.mark.parametrize("language", sorted(LANGUAGES - {"ar"}))
def test_martyred_family_exists_where_it_is_needed(language: str) -> None:
    """Parity: the martyrdom family is named once per language that needed it (Arabic
    already masks «مقتل/استشهاد … في الحرس الثوري»)."""
    assert f"&{language}_martyred" in SHIPPED.read_text(encoding="utf-8")


@pytest.mark.parametrize("language", sorted(LANGUAGES))
def test_rank_family_exists_in_every_language(language: str) -> None:
    """Parity: Iran's commanders and officers by rank are named in every language."""
    assert f"&{language}_iran_ranks" in SHIPPED.read_text(encoding="utf-8")
