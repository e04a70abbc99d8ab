"""Scoring: zone weights, the saturating score, excludes that mask."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from newswire.enricher.topics import TopicClassifier
from tests.enricher.topics.helpers import _ids, _minimal, _write


def test_passing_mention_does_not_make_a_topic(classifier: TopicClassifier) -> None:
    text = "Oil prices rose on Monday. Traders also watched Iraq. Markets closed higher."
    assert classifier.classify(title="Oil climbs", text=text, language="en") == []


def test_title_mention_outweighs_body_mention(classifier: TopicClassifier) -> None:
    body = "Officials met on Monday to discuss trade. " * 3
    in_title = classifier.classify(title="Iraq and Iraqi officials meet", text=body, language="en")
    in_body = classifier.classify(
        title="Officials meet", text=body + "Iraq and Iraqi officials.", language="en"
    )
    assert _ids(in_title) == {"iraq"}
    assert _ids(in_body) == set()


def test_as_record(classifier: TopicClassifier) -> None:
    match = classifier.classify(title="العراق", text="العراق والعراقيون", language="ar")[0]
    record = match.as_record()
    assert record == {"id": "iraq", "score": match.score, "evidence": list(match.evidence)}


@pytest.mark.parametrize(
    ("exclude", "text", "expected"),
    [
        # extends: clause masks to the clause's end, not beyond the comma.
        ({"match": ["in response to"], "extends": "clause"}, "In response to zzz, talks", False),
        ({"match": ["in response to"], "extends": "clause"}, "In response to talks, zzz", True),
        # extends: sentence masks to the sentence's end.
        ({"match": ["warned"], "extends": "sentence"}, "Officials warned, then zzz", False),
        ({"match": ["warned"], "extends": "sentence"}, "Officials warned. Then zzz", True),
    ],
)
def test_exclude_extents(
    tmp_path: Path, exclude: dict[str, Any], text: str, expected: bool
) -> None:
    document = {
        "version": "1.1",
        "topics": [
            {
                "id": "demo",
                "description": "d",
                "threshold": 0.5,
                "languages": {"*": {"terms": [{"match": ["zzz"]}], "excludes": [exclude]}},
            }
        ],
    }
    classifier = TopicClassifier.from_file(_write(tmp_path, document))
    assert ("demo" in _ids(classifier.classify(title=text, text="", language="en"))) is expected


def test_longer_phrase_survives_an_exclude_inside_it(tmp_path: Path) -> None:
    document = _minimal()
    document["topics"][0]["languages"]["en"] = {
        "terms": [{"match": ["launched from gamma"]}],
        "excludes": [{"match": ["gamma"]}],
    }
    classifier = TopicClassifier.from_file(_write(tmp_path, document))
    assert _ids(classifier.classify(title="Launched from Gamma", text="", language="en")) == {
        "demo"
    }
