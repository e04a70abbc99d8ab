"""Shared by the topic tests: fixture paths, the hard cases, taxonomy file helpers."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
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


# -- probe files (one per tuner, so their branches merge cleanly) -------------------

#: The shipped languages: a class of language is probed in each that has it.
LANGUAGES = frozenset({"ar", "en", "fa", "ckb", "kmr"})


def load_probes(name: str) -> list[dict[str, Any]]:
    """The probes of ``tests/fixtures/enricher/NAME``."""
    probes: list[dict[str, Any]] = yaml.safe_load((FIXTURES / name).read_text(encoding="utf-8"))
    return probes


def repeated_names(probes: list[dict[str, Any]]) -> list[str]:
    """Probe names used more than once (a name is a test id)."""
    return [name for name, n in Counter(c["name"] for c in probes).items() if n > 1]


def languages_by_class(probes: list[dict[str, Any]]) -> dict[str, set[str]]:
    """Each probe class with the languages it is probed in."""
    by_class: dict[str, set[str]] = {}
    for case in probes:
        by_class.setdefault(case["class"], set()).add(case["language"])
    return by_class


def label_sets_by_class(probes: list[dict[str, Any]]) -> dict[str, dict[str, set[tuple[str, ...]]]]:
    """Each probe class, per language, with the distinct label sets its probes expect:
    two or more means a positive stands next to a look-alike."""
    by_class: dict[str, dict[str, set[tuple[str, ...]]]] = {}
    for case in probes:
        signs = by_class.setdefault(case["class"], {}).setdefault(case["language"], set())
        signs.add(tuple(sorted(case["topics"])))
    return by_class


def assert_classes_in_languages(
    probes: list[dict[str, Any]], only: Mapping[str, set[str]] | None = None
) -> None:
    """A pattern is a class of language: each class is probed in all five languages, or
    in those ONLY names for it (a class of one language's grammar or spelling)."""
    exceptions = only or {}
    by_class = languages_by_class(probes)
    for name, languages in by_class.items():
        assert languages == exceptions.get(name, LANGUAGES), (name, languages)


def assert_each_class_has_a_lookalike(probes: list[dict[str, Any]]) -> None:
    """Each class has a look-alike that must stay out: fewer topics than its positive."""
    for name in languages_by_class(probes):
        cases = [c for c in probes if c["class"] == name]
        most = max(len(c["topics"]) for c in cases)
        assert any(len(c["topics"]) < most for c in cases), name


def assert_each_class_in_and_out_of(
    probes: list[dict[str, Any]], label_of: Callable[[dict[str, Any]], str]
) -> None:
    """Each class has a positive given its label (LABEL_OF a probe) and a look-alike
    that must stay out of it."""
    for name in languages_by_class(probes):
        cases = [c for c in probes if c["class"] == name]
        assert len({label_of(c) for c in cases}) == 1, name
        assert any(label_of(c) not in c["topics"] for c in cases), name
        assert any(label_of(c) in c["topics"] for c in cases), name


def assert_each_language_has_both_sides(probes: list[dict[str, Any]]) -> None:
    """In each class and language, a positive next to a look-alike that must get other
    labels: two or more distinct label sets."""
    for name, languages in label_sets_by_class(probes).items():
        assert all(len(signs) >= 2 for signs in languages.values()), name
