"""Shared by the topic tests: fixture paths, the hard cases, taxonomy file helpers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, settings

from newswire.enricher.topics import TopicMatch

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
