"""The fixture loaders: the real files, and malformed ones named by file and line."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from newswire.evaluation.data import EvaluationDataError, load_pairs, load_topic_items

FIXTURES = Path(__file__).parent.parent / "fixtures" / "eval"
TOPICS = FIXTURES / "topics.jsonl"
PAIRS = FIXTURES / "near_duplicates.jsonl"


# ------------------------------------------------------------------ loaders


def test_loaders_read_the_fixtures() -> None:
    items = load_topic_items(TOPICS)
    pairs = load_pairs(PAIRS)
    assert len(items) == 1162 and len(pairs) == 63
    assert {item.kind for item in items} == {"headline", "article"}
    assert sum(p.near_duplicate for p in pairs) == 37


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"id": "x"\n', ":1: not JSON"),
        ("[1, 2]\n", ":1: expected a JSON object"),
        ('\n{"id": "x", "lang": "ar", "text": "t"}\n', ":2: missing field 'topics'"),
        ('{"id": "x", "lang": "ar", "text": 5, "topics": []}\n', "field 'text' has the wrong type"),
        ('{"id": "x", "lang": "ar", "text": "t", "topics": [1]}\n', "topics must be strings"),
        ("\n\n", "no items"),
    ],
)
def test_malformed_topic_files_name_the_line(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "topics.jsonl"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(EvaluationDataError, match=re.escape(message)):
        load_topic_items(path)


def test_malformed_pair_file(tmp_path: Path) -> None:
    path = tmp_path / "pairs.jsonl"
    path.write_text(json.dumps({"id": "p", "a": {"text": "x"}, "b": {}}) + "\n", encoding="utf-8")
    with pytest.raises(EvaluationDataError, match="side b: missing field 'text'"):
        load_pairs(path)
    with pytest.raises(EvaluationDataError, match="cannot read"):
        load_pairs(tmp_path / "missing.jsonl")
