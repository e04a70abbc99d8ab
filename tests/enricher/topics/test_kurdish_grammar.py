"""The Sorani/Kurmanji grammar rules of the third tuning round (NOTES-tune-t2.md), one by
one on made-up words, so that a failure names the rule rather than a vocabulary gap:
Kurmanji «-kirin» verbal nouns, the speaker before a speech verb, "belonging to X", the
object's adjectives in an act's gap, and the claim headline «X: ... was hit»."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from newswire.enricher.topics import candidate_forms, tokenise
from tests.enricher.topics.helpers import HYPOTHESIS, _ids, relation_classifier

# ------------------------------------------------ Kurmanji «-kirin» verbal nouns


@pytest.mark.parametrize(
    ("word", "noun"),
    [
        ("topbarankirin", "topbaran"),
        ("mûşekbarankirina", "musekbaran"),
        ("bombebarankirinê", "bombebaran"),
        ("armanckirin", "armanc"),
    ],
)
def test_a_kirin_verbal_noun_matches_its_noun(word: str, noun: str) -> None:
    (token,) = tokenise(word, "kmr")
    assert noun in candidate_forms(token, "kmr")


@pytest.mark.parametrize("word", ["nûkirin", "kirin", "kirina"])
def test_kirin_leaves_no_stem_of_three_letters_or_fewer(word: str) -> None:
    (token,) = tokenise(word, "kmr")
    assert all(len(form) > 3 for form in candidate_forms(token, "kmr"))


@HYPOTHESIS
@given(st.text(alphabet="bdfghjlmnpqrstvwxz", min_size=4, max_size=12))
def test_every_kirin_compound_reaches_its_noun(stem: str) -> None:
    """Property: whatever the (consonant) noun, «noun + kirin» matches the noun."""
    assert stem in candidate_forms(stem + "kirin", "kmr")


@pytest.mark.parametrize(
    ("word", "stem"), [("manovrayekê", "manovra"), ("depoyeke", "depo"), ("radyoyek", "radyo")]
)
def test_the_indefinite_after_a_vowel_is_yek(word: str, stem: str) -> None:
    (token,) = tokenise(word, "kmr")
    assert stem in candidate_forms(token, "kmr")


@pytest.mark.parametrize(("word", "language"), [("٢٢ی", "ckb"), ("22an", "kmr"), ("22ê", "kmr")])
def test_a_numeral_with_a_kurdish_ending_is_the_numeral(word: str, language: str) -> None:
    (token,) = tokenise(word, language)
    assert "22" in candidate_forms(token, language)


def test_a_word_that_only_starts_with_digits_keeps_its_form() -> None:
    (token,) = tokenise("22km", "kmr")
    assert candidate_forms(token, "kmr") == {token}


def test_the_morphology_rule_is_kurmanji_only() -> None:
    assert "topbaran" not in candidate_forms("topbarankirin", "en")


# ------------------------------------------------ relation rules on made-up words
_SOV: dict[str, Any] = {
    "act": ["bombard", "hat bombard", "base … hit", "depot … hit"],
    "agent": ["alpha"],
    "rival": ["beta"],
    "markers": ["base"],
    "agent_markers": ["bi"],
    "barriers": ["hat"],
    "needs": ["agent"],
    "word_order": "sov",
}


def _owned(tmp_path: Path, title: str) -> bool:
    found = relation_classifier(tmp_path, _SOV).classify(title=title, text="", language="xx")
    return "demo" in _ids(found)


@pytest.mark.parametrize(
    ("title", "owned"),
    [
        # A place noun marks the actor after it as what was hit ...
        ("base alpha bombard", False),
        # ... unless a Kurdish speech verb follows it: the base's command speaks.
        ("base alpha ragihand bombard", True),
        ("base alpha got bombard", True),
    ],
)
def test_the_mention_before_a_speech_verb_is_the_speaker(
    tmp_path: Path, title: str, owned: bool
) -> None:
    assert _owned(tmp_path, title) is owned


@pytest.mark.parametrize(
    ("title", "owned"),
    [
        # «bi» before the rival: an agent marker, the rival owns the act.
        ("alpha depo bi beta li wir bombard", False),
        # «ser bi beta», «girêdayî beta»: beta owns the depot, alpha struck it.
        ("alpha depo ser bi beta li wir bombard", True),
        ("alpha depo giredayi beta li wir bombard", True),  # «girêdayî» as kmr folds it
    ],
)
def test_belonging_to_x_names_an_owner_not_a_striker(
    tmp_path: Path, title: str, owned: bool
) -> None:
    assert _owned(tmp_path, title) is owned


@pytest.mark.parametrize(
    ("title", "owned"),
    [
        # The act opens with a place noun: the rival in its gap is the base's adjective.
        ("alpha base beta hit", True),
        # The same rival in the gap of an act that opens with no place noun owns it.
        ("alpha depot beta hit", False),
    ],
)
def test_an_actor_in_the_gap_of_a_place_act_is_what_was_hit(
    tmp_path: Path, title: str, owned: bool
) -> None:
    assert _owned(tmp_path, title) is owned


@pytest.mark.parametrize(
    ("title", "owned"),
    [
        # «X: the rival's base was hit»: the speaker's claim.
        ("alpha: base beta hat bombard", True),
        # No rival named as hit: the speaker was hit or reports it.
        ("alpha: base me hat bombard", False),
        # The speaker does not open the headline alone.
        ("gamma said alpha: base beta hat bombard", False),
        # Not passive: the ordinary owner rules apply (beta, marked, is no owner).
        ("alpha: base beta bombard", True),
    ],
)
def test_a_colon_claim_with_a_kurdish_passive_is_the_speakers(
    tmp_path: Path, title: str, owned: bool
) -> None:
    assert _owned(tmp_path, title) is owned


@pytest.mark.parametrize(
    ("title", "owned"),
    [
        # The plural oblique of a people («Îraniyan») is the past verb's agent.
        ("alphaiyan beta bi x bombard kir", True),
        ("betaiyan alpha bi x bombard kir", False),
        # No case written: the actor that opens the clause is the subject (S O V).
        ("alpha beta bi x bombard kir", True),
        ("beta alpha bi x bombard kir", False),
        # An actor that does not open the clause is not taken for its subject.
        ("x alpha beta bi y bombard kir", False),
    ],
)
def test_kurmanji_past_verb_agent(tmp_path: Path, title: str, owned: bool) -> None:
    relation = {
        "act": ["bombard kir"],
        "agent": ["alpha"],
        "rival": ["beta"],
        "needs": ["agent"],
        "word_order": "sov",
    }
    found = relation_classifier(tmp_path, relation).classify(title=title, text="", language="kmr")
    assert ("demo" in _ids(found)) is owned


@pytest.mark.parametrize(
    ("title", "hit"),
    [
        # Oblique owner, direct object with words before the past verb.
        ("alphae beta bi x bombard kir", True),
        # Case unwritten: the owner opens the clause, the other actor is its object.
        ("alpha beta bi x bombard kir", True),
        # The owner does not open the clause: no object is read off.
        ("x alpha beta bi y bombard kir", False),
    ],
)
def test_kurmanji_direct_object_before_a_past_verb(tmp_path: Path, title: str, hit: bool) -> None:
    relation = {
        "act": ["bombard kir"],
        "agent": ["alpha"],
        "rival": ["beta"],
        "object_targets": ["beta"],
        "needs": ["target"],
        "word_order": "sov",
    }
    found = relation_classifier(tmp_path, relation).classify(title=title, text="", language="kmr")
    assert ("demo" in _ids(found)) is hit
