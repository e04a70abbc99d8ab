"""Shared by the topic tests: fixture paths, the hard cases, taxonomy file helpers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, settings

from newswire.enricher.topics import TopicClassifier, TopicMatch

_TESTS = Path(__file__).parent.parent.parent
FIXTURES = _TESTS / "fixtures" / "enricher"
SEED = _TESTS.parent / "seeds" / "000_71de62777f81eff8.txt"
SHIPPED = _TESTS.parent / "services" / "enricher" / "taxonomy.yaml"
CASES: list[dict[str, Any]] = yaml.safe_load(
    (FIXTURES / "topic_cases.yaml").read_text(encoding="utf-8")
)
HYPOTHESIS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _ids(matches: list[TopicMatch]) -> set[str]:
    return {m.id for m in matches}


def _minimal(**topic_overrides: Any) -> dict[str, Any]:
    topic = {
        "id": "demo",
        "description": "A demo topic.",
        "threshold": 0.5,
        "languages": {
            "en": {"terms": [{"match": ["demo"]}]},
            "*": {"terms": [{"match": ["demo"]}]},
        },
    }
    topic.update(topic_overrides)
    return {"version": "1.0", "topics": [topic]}


def _write(tmp_path: Path, document: Any) -> Path:
    path = tmp_path / "taxonomy.yaml"
    path.write_text(
        document if isinstance(document, str) else yaml.safe_dump(document, allow_unicode=True),
        encoding="utf-8",
    )
    return path


def relation_classifier(
    tmp_path: Path, relation: dict[str, Any], **section: Any
) -> TopicClassifier:
    """A one-topic taxonomy (``demo``) whose only way to match is ``relation``."""
    document = {
        "version": "1.1",
        "topics": [
            {
                "id": "demo",
                "description": "A demo relation.",
                "threshold": 0.5,
                "languages": {
                    "*": {"terms": [{"match": ["zzz"]}], "relations": [relation], **section}
                },
            }
        ],
    }
    return TopicClassifier.from_file(_write(tmp_path, document))


def probe_param(case: dict[str, Any], *, miss_key: str) -> Any:
    """A probe as a test parameter; one whose ``miss_key`` says why the rules still get it
    wrong is a strict xfail, so the run fails once it passes and the limit is not forgotten."""
    reason = case.get(miss_key)
    marks = [pytest.mark.xfail(reason=reason, strict=True)] if reason else []
    return pytest.param(case, id=case["name"], marks=marks)


def assert_labelled(classifier: TopicClassifier, case: dict[str, Any]) -> None:
    """The case's topics exactly, each with evidence drawn from the taxonomy."""
    found = classifier.classify(title=case["title"], text=case["text"], language=case["language"])
    assert _ids(found) == set(case["topics"])
    vocabulary = classifier.vocabulary()
    for match in found:
        assert match.evidence and set(match.evidence) <= vocabulary
