"""English reduced passives of a defended act (`relation_owner._reduced_passive_barrier`).

"Tehran says attack repelled": a speaker, a speech verb, then a strike noun closed by a
barrier participle is the defender reporting the attack, not its owner; a possessor right
before the noun still owns it, and a relative clause ("drones that were shot down") is
another verb's. The demo relation is the one-topic taxonomy of ``relation_classifier``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from newswire.enricher.topics import TopicClassifier
from tests.enricher.topics.helpers import HYPOTHESIS, _ids, relation_classifier

_BY_ALPHA: dict[str, Any] = {
    "act": ["attack"],
    "agent": ["alpha"],
    "rival": ["beta"],
    "needs": ["agent"],
    "within": 6,
    "barriers": ["foiled", "repelled", "thwarted"],
    "markers": ["on"],
    "word_order": "svo",
}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> TopicClassifier:
    return relation_classifier(tmp_path_factory.mktemp("defender"), _BY_ALPHA)


def _owned(demo: TopicClassifier, text: str) -> bool:
    return "demo" in _ids(demo.classify(title=text, text="", language="en"))


@pytest.mark.parametrize(
    ("text", "owned"),
    [
        ("Alpha says attack repelled", False),
        ("Alpha says attack was foiled", False),
        ("Alpha says attack on the depot was foiled", False),
        # Not defended, or not a speaker: the old rules.
        ("Alpha says attack hit the depot", True),
        ("Alpha attack foiled", True),
        ("Alpha launched attack that was foiled", True),
        # A possessor between the speaker and the noun still owns it.
        ("Beta says Alpha attack foiled", True),
        ("Alpha says Beta attack foiled", False),
    ],
)
def test_a_reported_defence_is_not_the_speakers_attack(
    demo: TopicClassifier, text: str, owned: bool
) -> None:
    assert _owned(demo, text) is owned


_SPEECH = st.sampled_from(["says", "said", "claims", "announced", "confirmed"])
_BARRIER = st.sampled_from(["foiled", "repelled", "thwarted"])
_AUX = st.sampled_from(["", "was ", "were "])


@HYPOTHESIS
@given(speech=_SPEECH, barrier=_BARRIER, aux=_AUX)
def test_speaker_never_owns_a_defended_attack_but_its_possessor_does(
    demo: TopicClassifier, speech: str, barrier: str, aux: str
) -> None:
    assert not _owned(demo, f"Alpha {speech} attack {aux}{barrier}")
    assert _owned(demo, f"Beta {speech} Alpha attack {aux}{barrier}")


def test_without_barriers_the_speaker_owns_it(tmp_path: Path) -> None:
    """The relation alone, without barriers, gives the speaker the act: the rule above
    is what takes it away, not the fixture."""
    plain = relation_classifier(tmp_path, {k: v for k, v in _BY_ALPHA.items() if k != "barriers"})
    assert _owned(plain, "Alpha says attack repelled")
