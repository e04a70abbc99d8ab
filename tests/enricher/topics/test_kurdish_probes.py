"""Sorani (ckb) and Kurmanji (kmr) topic rules that generalise (issue 12, item 4).

The probes (``tests/fixtures/enricher/topic_probes_kurdish.yaml``) were written before
the rules they exercise, per class of language, with look-alike negatives; the
vocabulary tests below check that every common headline form of each concept is
covered, not only the spelling the tuning items happened to use.
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from newswire.enricher.topics import TopicClassifier
from tests.enricher.topics.helpers import FIXTURES, _ids

_PROBES: list[dict[str, Any]] = yaml.safe_load(
    (FIXTURES / "topic_probes_kurdish.yaml").read_text(encoding="utf-8")
)


def _param(case: dict[str, Any]) -> Any:
    """A probe; one the rules still get wrong says why (``known_miss``) and must fail."""
    marks = (
        [pytest.mark.xfail(reason=case["known_miss"], strict=True)] if "known_miss" in case else []
    )
    return pytest.param(case, id=case["name"], marks=marks)


@pytest.mark.parametrize("case", [_param(c) for c in _PROBES])
def test_kurdish_probe(classifier: TopicClassifier, case: dict[str, Any]) -> None:
    found = classifier.classify(title=case["title"], text=case["text"], language=case["language"])
    assert _ids(found) == set(case["topics"])
    vocabulary = classifier.vocabulary()
    for match in found:
        assert match.evidence and set(match.evidence) <= vocabulary


def test_probes_cover_both_languages_with_negatives() -> None:
    """Every group has Sorani and Kurmanji sentences, and look-alike negatives."""
    languages = {c["language"] for c in _PROBES}
    assert languages == {"ckb", "kmr"}
    for language in languages:
        negatives = [c for c in _PROBES if c["language"] == language and c["class"] == "negative"]
        assert len(negatives) >= 8, language
