"""Relations: who owns an act, what it hits, in each word order."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from newswire.enricher.topics import TopicClassifier
from tests.enricher.topics.helpers import _ids, _write, relation_classifier

# ------------------------------------------------------------------ relations


_STRIKE = {"act": ["hit"], "agent": ["alpha"], "rival": ["beta"], "needs": ["agent"], "within": 4}
_OBJECT_TARGET = {
    "act": ["hit"],
    "agent": ["beta"],
    "rival": ["gamma"],
    "object_targets": ["gamma"],
    "needs": ["target"],
}


@pytest.mark.parametrize(
    ("relation", "text", "language", "expected"),
    [
        # The nearest actor owns the act; a rival owner does not count.
        (_STRIKE, "Alpha hit the depot", "en", True),
        (_STRIKE, "Beta hit the depot", "en", False),
        (_STRIKE, "The depot was hit", "en", False),  # needs an agent
        (_STRIKE, "Beta said Alpha hit the depot", "en", True),
        (_STRIKE, "Alpha said Beta hit the depot", "en", False),
        # svo: an actor right after the act is its object.
        ({**_STRIKE, "word_order": "svo"}, "Beta hit Alpha", "en", False),
        ({**_STRIKE, "word_order": "svo"}, "Alpha hit Beta", "en", True),
        # Target markers: an actor after one is what is hit.
        ({**_STRIKE, "markers": ["on"]}, "Beta hit targets on Alpha", "en", False),
        ({**_STRIKE, "markers": ["on"]}, "Alpha hit targets on Beta", "en", True),
        # ... but not across a clause break.
        ({**_STRIKE, "markers": ["on"]}, "On Monday, Alpha hit the depot", "en", True),
        # Agent markers: "by" picks the owner however near another actor is.
        ({**_STRIKE, "agent_markers": ["by"]}, "Beta was hit by Alpha", "en", True),
        ({**_STRIKE, "agent_markers": ["by"]}, "Alpha was hit by Beta", "en", False),
        # Barriers: no owner link crosses one.
        ({**_STRIKE, "barriers": ["condemned"]}, "Alpha condemned the hit", "en", False),
        ({**_STRIKE, "barriers": ["condemned"]}, "Beta condemned the hit by Alpha", "en", True),
        # sov: ties go to the later actor; with none near, the sentence's first actor.
        ({**_STRIKE, "word_order": "sov"}, "Beta hit Alpha", "en", True),
        ({**_STRIKE, "word_order": "sov"}, "Alpha one two three four five hit", "en", True),
        (_STRIKE, "Alpha one two three four five hit", "en", False),
        # sov: a barrier after the act makes the actors before it that verb's subjects.
        (
            {**_STRIKE, "word_order": "sov", "barriers": ["condemned"]},
            "Alpha hit condemned",
            "en",
            False,
        ),
        # vso: a definite Arabic act noun takes the actor after it on a tie.
        (
            {"act": ["هجوم"], "agent": ["إيراني"], "rival": ["العراق"], "needs": ["agent"]},
            "أدان العراق الهجوم الإيراني",
            "ar",
            False,
        ),
        (
            {
                "act": ["هجوم"],
                "agent": ["إيراني"],
                "rival": ["العراق"],
                "needs": ["agent"],
                "word_order": "vso",
            },
            "أدان العراق الهجوم الإيراني",
            "ar",
            True,
        ),
        # Targets: needed near the act; one after a source marker is an origin.
        (
            {"act": ["hit"], "target": ["gamma"], "needs": ["target"]},
            "Rockets hit Gamma",
            "en",
            True,
        ),
        (
            {"act": ["hit"], "target": ["gamma"], "needs": ["target"], "source_markers": ["from"]},
            "Rockets from Gamma hit the town",
            "en",
            False,
        ),
        # A rival owner blocks even when the target is there.
        (
            {"act": ["hit"], "target": ["gamma"], "rival": ["beta"], "needs": ["target"]},
            "Beta hit Gamma",
            "en",
            False,
        ),
        # Object targets: an actor that is what the act hits.
        (
            {**_OBJECT_TARGET, "word_order": "vso"},
            "Beta hit Gamma",  # the subject comes first: Gamma is the object
            "en",
            True,
        ),
        ({**_OBJECT_TARGET, "word_order": "vso"}, "Hit Gamma the depot", "en", False),
        ({**_OBJECT_TARGET, "word_order": "svo"}, "Beta hit Gamma", "en", True),
        ({**_OBJECT_TARGET, "markers": ["on"]}, "Jets hit targets on Gamma", "en", True),
        ({**_OBJECT_TARGET}, "Beta hit Gamma", "en", False),  # no word order, no marker
        # Gap phrases as acts, with the actor inside the gap.
        (
            {"act": ["fired … rockets"], "agent": ["alpha"], "needs": ["agent"]},
            "They fired Alpha made rockets",
            "en",
            True,
        ),
    ],
)
def test_relation_rules(
    tmp_path: Path, relation: dict[str, Any], text: str, language: str, expected: bool
) -> None:
    classifier = relation_classifier(tmp_path, relation)
    assert ("demo" in _ids(classifier.classify(title=text, text="", language=language))) is expected


def test_relation_evidence_is_act_owner_and_target(tmp_path: Path) -> None:
    relation = {
        "act": ["hit"],
        "agent": ["alpha"],
        "target": ["gamma"],
        "needs": ["agent", "target"],
    }
    classifier = relation_classifier(tmp_path, relation)
    (match,) = classifier.classify(title="Alpha hit Gamma", text="", language="en")
    assert match.evidence == ("alpha", "hit", "gamma")
    assert {"hit", "alpha", "gamma"} <= classifier.vocabulary("demo")


def test_relation_lists_may_nest_for_yaml_anchors(tmp_path: Path) -> None:
    text = (
        "version: '1.1'\ntopics:\n  - id: demo\n    description: d\n    threshold: 0.5\n"
        "    languages:\n      '*':\n        terms: [{match: [zzz]}]\n        relations:\n"
        "          - {act: [hit], agent: &good [alpha, delta], needs: [agent]}\n"
        "          - {act: [struck], agent: [*good, omega], needs: [agent]}\n"
    )
    classifier = TopicClassifier.from_file(_write(tmp_path, text))
    assert _ids(classifier.classify(title="Delta struck", text="", language="en")) == {"demo"}
    assert _ids(classifier.classify(title="Omega struck", text="", language="en")) == {"demo"}


def test_shipped_strike_directions_are_mirror_images(classifier: TopicClassifier) -> None:
    pairs = {
        "en": ("Israel struck Iran overnight", "Iran struck Israel overnight"),
        "ar": ("إسرائيل تضرب إيران", "إيران تضرب إسرائيل"),
        "fa": ("اسرائیل به ایران حمله کرد", "ایران به اسرائیل حمله کرد"),
        "ckb": ("ئیسرائیل هێرشی کردە سەر ئێران", "ئێران هێرشی کردە سەر ئیسرائیل"),
    }
    for language, (on_iran, by_iran) in pairs.items():
        assert _ids(classifier.classify(title=None, text=on_iran, language=language)) == {
            "strikes-on-iran"
        }, language
        assert _ids(classifier.classify(title=None, text=by_iran, language=language)) == {
            "iran-strikes"
        }, language
