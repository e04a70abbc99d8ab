"""The classifier end to end on the shipped taxonomy: the seed article, hard
positive/negative cases in four languages (tests/fixtures/enricher/topic_cases.yaml),
language tags and the fallback section."""

from __future__ import annotations

from typing import Any

import pytest

from newswire.enricher.topics import TopicClassifier
from tests.enricher.topics.helpers import CASES, SEED, _ids

# ------------------------------------------------------------------ the seed article


def test_seed_article_topics(classifier: TopicClassifier) -> None:
    matches = classifier.classify(title=None, text=SEED.read_text(encoding="utf-8"), language="ar")
    assert _ids(matches) == {"iraq", "us-forces", "iran-strikes"}


def test_seed_iran_strike_evidence_is_the_strike_not_the_kerman_bombing(
    classifier: TopicClassifier,
) -> None:
    matches = classifier.classify(title=None, text=SEED.read_text(encoding="utf-8"), language="ar")
    strikes = next(m for m in matches if m.id == "iran-strikes")
    assert "ضربة" in strikes.evidence


# ------------------------------------------------------------------ cases


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_cases(classifier: TopicClassifier, case: dict[str, Any]) -> None:
    got = classifier.classify(title=case.get("title"), text=case["text"], language=case["language"])
    ids = _ids(got)
    detail = [(m.id, m.score, m.evidence) for m in got]
    if "topics" in case:
        assert ids == set(case["topics"]), detail
    assert set(case.get("includes", [])) <= ids, detail
    assert not set(case.get("excludes", [])) & ids, detail


def test_cases_cover_every_topic_and_language() -> None:
    languages = {c["language"] for c in CASES}
    assert {"ar", "en", "fa", "ckb"} <= languages
    assert {t for c in CASES for t in c.get("topics", [])} == {
        "iraq",
        "us-forces",
        "iran-strikes",
        "strikes-on-iran",
    }


def test_results_sorted_by_score(classifier: TopicClassifier) -> None:
    matches = classifier.classify(title=None, text=SEED.read_text(encoding="utf-8"), language="ar")
    assert [m.score for m in matches] == sorted((m.score for m in matches), reverse=True)


def test_language_tag_and_fallback(classifier: TopicClassifier) -> None:
    assert _ids(classifier.classify(title="بغداد", text="العراق", language="ar-IQ")) == {"iraq"}
    french = "Des frappes israéliennes ont visé un site militaire près d'Ispahan, selon les médias."
    assert _ids(
        classifier.classify(title="Frappe israélienne près d'Ispahan", text=french, language="fr")
    ) == {"strikes-on-iran"}
    assert _ids(classifier.classify(title="Irak", text="Bagdad et l'Irak.", language="und")) == {
        "iraq"
    }


def test_militia_aligned_with_iran_is_not_iran(classifier: TopicClassifier) -> None:
    text = "Iran-backed militias attacked a US base in Syria with drones."
    assert "iran-strikes" not in _ids(classifier.classify(title=text, text=text, language="en"))
