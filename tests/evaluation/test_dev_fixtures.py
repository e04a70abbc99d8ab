"""Tuners' development data (``tests/fixtures/eval/dev/*.jsonl``) held to the contract of
``topics.jsonl``.

Each tuner writes fresh items blind before tuning; they are tuning data, so they must never
reuse an event of ``topics.jsonl`` (that could pull a frozen event into tuning) and their ids
must not collide with any other file's. The format and script checks are the ones
``test_topic_fixtures.py`` applies to ``topics.jsonl``, imported rather than copied so the two
files cannot drift apart.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.evaluation import test_topic_fixtures as topic_fixtures

DEV = topic_fixtures.FIXTURES / "dev"
DEV_FILES = sorted(DEV.glob("*.jsonl"))
# dev-<tuner>-<lang>-<nnn>; the tuner part is the file's middle name (topics.<tuner>.jsonl)
ID_PATTERN = r"dev-[a-z0-9]+-{lang}-\d{{3}}"
EVENT_PATTERN = re.compile(r"dev-[a-z0-9]+(-[a-z0-9]+)*")


def _load(path: Path) -> list[dict[str, Any]]:
    return topic_fixtures.load_items(path)


def test_there_is_dev_data() -> None:
    assert DEV_FILES, f"no *.jsonl under {DEV}"


@pytest.mark.parametrize("path", DEV_FILES, ids=lambda path: path.name)
def test_dev_items_follow_the_format(path: Path) -> None:
    items = _load(path)
    assert items, path
    topic_fixtures.test_items_follow_the_format(items)
    for item in items:
        assert re.fullmatch(ID_PATTERN.format(lang=item["lang"]), item["id"]), item["id"]
        assert EVENT_PATTERN.fullmatch(item.get("event") or ""), item["id"]
        assert "cases" in item, item["id"]


@pytest.mark.parametrize("lang", topic_fixtures.LANGS)
@pytest.mark.parametrize("path", DEV_FILES, ids=lambda path: path.name)
def test_dev_script_rules(path: Path, lang: str) -> None:
    topic_fixtures.test_script_rules(_load(path), lang)


def test_ids_are_unique_across_dev_files_and_topics() -> None:
    ids = [item["id"] for item in topic_fixtures.load_items()]
    for path in DEV_FILES:
        ids += [item["id"] for item in _load(path)]
    assert len(ids) == len(set(ids)), [i for i, n in Counter(ids).items() if n > 1]


@pytest.mark.parametrize("path", DEV_FILES, ids=lambda path: path.name)
def test_no_dev_event_is_an_event_of_topics(path: Path) -> None:
    events = {item["event"] for item in topic_fixtures.load_items()}
    shared = {item["event"] for item in _load(path)} & events
    assert not shared, shared
