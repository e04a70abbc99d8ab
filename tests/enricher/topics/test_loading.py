"""Taxonomy loading: the schema, the shipped file, and errors that name where."""

from __future__ import annotations

import importlib.resources
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from newswire.common.errors import NewswireError
from newswire.enricher.topics import TaxonomyError, TopicClassifier
from tests.enricher.topics.helpers import SHIPPED, _ids, _minimal, _write


@pytest.mark.parametrize(
    ("relation", "where", "reason"),
    [
        ({"act": ["hit"], "needs": ["agent"]}, "relations[0].needs", "needs agent"),
        ({"act": ["hit"], "needs": ["target"]}, "relations[0].needs", "needs target"),
        ({"act": ["hit"], "markers": ["on top"]}, "relations[0].markers", "not a single word"),
        ({"act": ["zzz top"]}, "relations[0].act", "would mask itself"),
        ({"act": ["hit"], "word_order": "osv"}, "relations[0].word_order", "is not one of"),
        ({"act": []}, "relations[0].act", ""),
    ],
)
def test_broken_relation_names_where(
    tmp_path: Path, relation: dict[str, Any], where: str, reason: str
) -> None:
    document = _minimal()
    document["version"] = "1.1"
    document["topics"][0]["languages"]["en"] = {
        "terms": [{"match": ["demo"]}],
        "relations": [relation],
        "excludes": [{"match": ["zzz top"]}],
    }
    with pytest.raises(TaxonomyError) as caught:
        TopicClassifier.from_file(_write(tmp_path, document))
    assert caught.value.where.startswith(f"topics[0] (demo).languages.en.{where}"), str(
        caught.value
    )
    assert reason in caught.value.reason


# ------------------------------------------------------------------ taxonomy validation


def _schema() -> dict[str, Any]:
    resource = importlib.resources.files("newswire.schemas").joinpath("taxonomy.v1.json")
    return json.loads(resource.read_text(encoding="utf-8"))


def test_schema_is_valid_draft_2020_12() -> None:
    jsonschema.Draft202012Validator.check_schema(_schema())


def test_shipped_taxonomy_validates_with_reference_validator() -> None:
    document = yaml.safe_load(SHIPPED.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(_schema()).validate(document)


def test_shipped_taxonomy_is_the_packaged_one() -> None:
    packaged = importlib.resources.files("newswire.enricher").joinpath("taxonomy.yaml")
    assert packaged.read_text(encoding="utf-8") == SHIPPED.read_text(encoding="utf-8")
    assert TopicClassifier.from_file(SHIPPED).topic_ids == (
        "iraq",
        "us-forces",
        "iran-strikes",
        "strikes-on-iran",
    )


def test_minimal_taxonomy_loads(tmp_path: Path) -> None:
    classifier = TopicClassifier.from_file(_write(tmp_path, _minimal()))
    assert _ids(classifier.classify(title="Demo", text="A demo of demos.", language="en")) == {
        "demo"
    }


@pytest.mark.parametrize(
    ("mutate", "where", "reason"),
    [
        (
            lambda d: d["topics"][0]["languages"]["en"]["terms"][0].update(weight="heavy"),
            "topics[0] (demo).languages.en.terms[0].weight",
            "not of type",
        ),
        (
            lambda d: d["topics"][0]["languages"].pop("*"),
            "topics[0] (demo).languages",
            "is a required property",
        ),
        (lambda d: d["topics"][0].update(threshold=1.5), "topics[0] (demo).threshold", "1.5"),
        (lambda d: d["topics"][0].update(id="Not An Id"), "topics[0]", "does not match"),
        (
            lambda d: d["topics"].append(dict(d["topics"][0])),
            "topics[1] (demo).id",
            "duplicate topic id",
        ),
        (
            lambda d: d["topics"][0]["languages"]["en"].update(excludes=[{"match": ["Demo"]}]),
            "topics[0] (demo).languages.en.excludes[0]",
            "also a term",
        ),
        (
            lambda d: d["topics"][0]["languages"]["en"]["terms"].append({"match": ["DEMO"]}),
            "topics[0] (demo).languages.en.terms[1]",
            "count twice",
        ),
        (
            lambda d: d["topics"][0]["languages"]["en"]["terms"][0].update(match=["---"]),
            "topics[0] (demo).languages.en.terms[0]",
            "no word characters",
        ),
        (lambda d: d.update(version="2.0"), "version", "does not match"),
    ],
)
def test_broken_taxonomy_names_where(tmp_path: Path, mutate: Any, where: str, reason: str) -> None:
    document = _minimal()
    mutate(document)
    path = _write(tmp_path, document)
    with pytest.raises(TaxonomyError) as caught:
        TopicClassifier.from_file(path)
    error = caught.value
    assert isinstance(error, NewswireError)
    assert error.source == str(path)
    assert error.where.startswith(where), str(error)
    assert reason in error.reason, str(error)
    assert str(path) in str(error) and where in str(error)


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "version: '1.0'\ntopics: [\n  - id: x\n")
    with pytest.raises(TaxonomyError, match=r"line \d+, column \d+: not valid YAML"):
        TopicClassifier.from_file(path)


def test_duplicate_yaml_key_is_an_error(tmp_path: Path) -> None:
    text = (
        "version: '1.0'\ntopics:\n  - id: demo\n    description: d\n    threshold: 0.5\n"
        "    languages:\n      '*': {terms: [{match: [a]}]}\n      '*': {terms: [{match: [b]}]}\n"
    )
    with pytest.raises(TaxonomyError, match="duplicate key"):
        TopicClassifier.from_file(_write(tmp_path, text))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(TaxonomyError, match=r"\(file\): cannot read"):
        TopicClassifier.from_file(tmp_path / "absent.yaml")
