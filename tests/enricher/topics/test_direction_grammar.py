"""The grammar rules of the tdir round (:mod:`newswire.enricher.topics.grammar_place`),
one by one on made-up words, so that a failure names the rule rather than a vocabulary
gap: the Kurmanji feminine ezafe that ties a country to the place before it, the
Kurmanji agent frame «ji aliyê … ve», and the English launch origin after a passive."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.enricher.topics.helpers import HYPOTHESIS, _ids, relation_classifier

_FILLER = st.lists(st.sampled_from(["balafiren", "yen", "b", "2", "sere", "en"]), max_size=4)


def _owned(tmp_path: Path, relation: dict[str, Any], title: str) -> bool:
    found = relation_classifier(tmp_path, relation).classify(title=title, text="", language="xx")
    return "demo" in _ids(found)


# ------------------------------------------------ «ji aliyê … ve»
_PASSIVE: dict[str, Any] = {
    "act": ["hat bombard"],
    "agent": ["alpha"],
    "rival": ["beta"],
    "agent_markers": ["aliye"],
    "barriers": ["hat"],
    "needs": ["agent"],
    "word_order": "sov",
}


@pytest.mark.parametrize(
    ("title", "owned"),
    [
        # The agent at the end of a long ezafe chain inside the frame owns the act ...
        ("fordo ji aliye balafiren b 2 yen alpha ve hat bombard", True),
        # ... a rival there owns it (so the agent does not).
        ("fordo ji aliye balafiren b 2 yen beta ve hat bombard", False),
        # No «ji» opening the frame: the far actor before the passive is what was hit.
        ("fordo aliye balafiren b 2 yen alpha ve hat bombard", False),
        # The frame closed before the actor: not its agent.
        ("fordo ji aliye beta ve alpha hat bombard", False),
    ],
)
def test_the_kurmanji_agent_frame_encloses_a_long_agent(
    tmp_path: Path, title: str, owned: bool
) -> None:
    assert _owned(tmp_path, _PASSIVE, title) is owned


@HYPOTHESIS
@given(_FILLER)
def test_any_ezafe_chain_inside_the_frame_keeps_its_agent(filler: list[str]) -> None:
    """Property: up to four words of ezafe chain between «ji aliyê» and the agent."""
    import tempfile

    title = " ".join(["fordo", "ji", "aliye", *filler, "alpha", "ve", "hat", "bombard"])
    with tempfile.TemporaryDirectory() as tmp:
        assert _owned(Path(tmp), _PASSIVE, title)


# ------------------------------------------------ «Kirmaşana Îranê»
def _place(target: str) -> dict[str, Any]:
    return {
        "act": ["bombard kir"],
        "agent": ["alpha"],
        "rival": ["beta"],
        "target": [target],
        "needs": ["agent"],
        "word_order": "sov",
    }


@pytest.mark.parametrize(
    ("target", "title", "owned"),
    [
        # Feminine ezafe «-a» on the place: alpha owns the place, it struck nothing.
        ("kirmasana", "li kirmasana alpha depo bombard kir", False),
        # «-ê» is also the oblique case («li Hewlêrê, Îranê ...»): no ezafe proof, the
        # actor opening the verb-final clause owns the act.
        ("kirmasane", "li kirmasane alpha depo bombard kir", True),
        # The linker «ya» after a place phrase ties the next word to it as well.
        ("evine", "girtigeha evine ya alpha bombard kir", False),
    ],
)
def test_the_country_after_a_place_ezafe_is_where_it_landed(
    tmp_path: Path, target: str, title: str, owned: bool
) -> None:
    assert _owned(tmp_path, _place(target), title) is owned


@HYPOTHESIS
@given(st.text(alphabet="bdfghklmnprstvwxz", min_size=3, max_size=8))
def test_any_place_in_the_feminine_ezafe_keeps_its_owner_out(stem: str) -> None:
    """Property: whatever the place name, «<place>a alpha» never makes alpha the striker."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        title = f"li {stem}a alpha depo bombard kir"
        assert not _owned(Path(tmp), _place(f"{stem}a"), title)


# ------------------------------------------------ "fired from Iran"
_ORIGIN: dict[str, Any] = {
    "act": ["hit by … missile"],
    "agent": ["alpha", "from alpha"],
    "rival": ["beta"],
    "needs": ["agent"],
    "word_order": "svo",
    "marker_reach": 1,
}


@pytest.mark.parametrize(
    ("title", "owned"),
    [
        # The launch origin right after the passive act is its striker ...
        ("villa hit by missiles fired from alpha", True),
        # ... while a bare actor right after an act is still its object.
        ("villa hit by missiles alpha", False),
    ],
)
def test_an_origin_after_an_english_act_is_no_object(
    tmp_path: Path, title: str, owned: bool
) -> None:
    assert _owned(tmp_path, _ORIGIN, title) is owned


# ------------------------------------------------ "Tehran, struck by ..."
_APPOSITION: dict[str, Any] = {
    "act": ["struck", "hit"],
    "agent": ["alpha"],
    "rival": ["beta"],
    "object_targets": ["gamma"],
    "needs": ["target"],
    "word_order": "svo",
    "marker_reach": 1,
}


@pytest.mark.parametrize(
    ("title", "owned"),
    [
        # The participle and its "by" open the clause after the place: the place was hit.
        ("gamma, struck overnight by alpha jets, vows to respond", True),
        ("gamma, hit by alpha, says damage was limited", True),
        # No "by" within reach: an ordinary clause break, gamma is not marked as hit.
        ("gamma, struck a deal with delta, alpha says nothing", False),
    ],
)
def test_an_english_appositive_participle_marks_what_was_hit(
    tmp_path: Path, title: str, owned: bool
) -> None:
    assert _owned(tmp_path, _APPOSITION, title) is owned
