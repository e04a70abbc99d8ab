"""The topic fixture file and its frozen test split: properties of the data, not of a method.

Nothing here runs the classifier. The split rule is fixed before anyone tunes on the new
items and depends only on event ids (fixture README, "Frozen split"): an event is frozen
when none of its items is one of the 190 original (tuning) items and the last byte of
blake2b(SALT + event id) is even. ``split/topics.frozen.txt`` must equal that rule
applied to ``topics.jsonl``; running this module as a script rewrites the file.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest

FIXTURES = Path(__file__).parent.parent / "fixtures" / "eval"
TOPICS = FIXTURES / "topics.jsonl"
SPLIT = FIXTURES / "split" / "topics.frozen.txt"

SALT = b"newswire-topics-split-v1:"
LABELS = ("iraq", "us-forces", "iran-strikes", "strikes-on-iran")
LANGS = ("ar", "en", "fa", "ckb", "kmr")
CASES = (
    "exchange",
    "retrospective",
    "claim",
    "mission",
    "place",
    "wording",
    "direction",
    "lookalike",
)
# The 190 items that existed (and were tuned on) before the split was frozen.
ORIGINAL_LAST = {"ar": 110, "en": 29, "fa": 26, "ckb": 25}
SPLIT_HEADER = """\
# Frozen topic test split: the event ids below are the TEST split. Never tune on these.
# Frozen on 2026-12-05, before anyone tuned on the items added that day (issue 12).
# Rule (tests/evaluation/test_topic_fixtures.py, fixture README "Frozen split"):
#   an event is frozen iff none of its items is one of the 190 original tuning items
#   (ar-001..ar-110, en-001..en-029, fa-001..fa-026, ckb-001..ckb-025) and
#   blake2b(b"newswire-topics-split-v1:" + event id, digest_size=8) has an even last byte.
# Every other event is the tuning split. One event id per line, sorted.
"""

PERSIAN_ONLY = set("پچژگ")
ARABIC_YEH_KAF = set("يك")
SORANI_MARKS = set("ڕڵێۆە")
KURMANJI_MARKS = set("çşêîûÇŞÊÎÛ")
ARABIC_SCRIPT = re.compile(r"[\u0600-\u06FF]")


def load_items(path: Path = TOPICS) -> list[dict[str, Any]]:
    """The raw JSON objects, one per non-blank line."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def is_original(item_id: str) -> bool:
    """Whether the id is one of the 190 items tuned on before the split was frozen."""
    lang, _, number = item_id.rpartition("-")
    return lang in ORIGINAL_LAST and number.isdigit() and int(number) <= ORIGINAL_LAST[lang]


def hash_frozen(event: str) -> bool:
    """The method-independent coin: the last byte of a salted blake2b of the event id."""
    return hashlib.blake2b(SALT + event.encode("utf-8"), digest_size=8).digest()[-1] % 2 == 0


def frozen_events(items: list[dict[str, Any]]) -> set[str]:
    """The frozen (test) events: new events only, about half of them by the hash."""
    old = {item["event"] for item in items if is_original(item["id"])}
    return {
        item["event"] for item in items if item["event"] not in old and hash_frozen(item["event"])
    }


def read_split(path: Path = SPLIT) -> list[str]:
    """The event ids in the split file, comments and blank lines left out."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def render_split(items: list[dict[str, Any]]) -> str:
    """The split file's text for these items."""
    return SPLIT_HEADER + "".join(f"{event}\n" for event in sorted(frozen_events(items)))


@pytest.fixture(scope="module")
def items() -> list[dict[str, Any]]:
    return load_items()


@pytest.fixture(scope="module")
def frozen(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    events = set(read_split())
    return [item for item in items if item["event"] in events]


def test_every_item_has_an_event_and_a_unique_id(items: list[dict[str, Any]]) -> None:
    ids = [item["id"] for item in items]
    assert len(ids) == len(set(ids)), [i for i, n in Counter(ids).items() if n > 1]
    for item in items:
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", item.get("event") or ""), item["id"]
        assert re.fullmatch(rf"{item['lang']}-\d{{3}}", item["id"]), item["id"]


def test_items_follow_the_format(items: list[dict[str, Any]]) -> None:
    for item in items:
        where = item["id"]
        assert item["lang"] in LANGS, where
        assert set(item["topics"]) <= set(LABELS), where
        assert len(item["topics"]) == len(set(item["topics"])), where
        assert set(item.get("cases", [])) <= set(CASES), where
        assert item.get("note"), where
        if item["kind"] == "headline":
            assert item["title"] is None and 40 <= len(item["text"]) <= 140, where
        else:
            assert item["kind"] == "article" and item["title"], where
            assert 3 <= item["text"].count(".") <= 8, where  # 3-8 sentences


def test_the_split_file_is_the_rule_applied_to_the_data(items: list[dict[str, Any]]) -> None:
    text = SPLIT.read_text(encoding="utf-8")
    assert "never tune on these" in text.lower()
    assert text == render_split(items)


def test_no_event_straddles_the_splits(items: list[dict[str, Any]]) -> None:
    frozen_ids = set(read_split())
    by_event: dict[str, set[bool]] = defaultdict(set)
    for item in items:
        by_event[item["event"]].add(is_original(item["id"]))
    assert frozen_ids <= set(by_event), frozen_ids - set(by_event)
    # an event with an original (tuned-on) item is never frozen
    assert not {event for event in frozen_ids if True in by_event[event]}


def test_the_rule_freezes_about_half_of_the_new_events(items: list[dict[str, Any]]) -> None:
    old = {item["event"] for item in items if is_original(item["id"])}
    new = {item["event"] for item in items} - old
    share = len(frozen_events(items)) / len(new)
    assert 0.3 <= share <= 0.7, share


def test_counts(items: list[dict[str, Any]], frozen: list[dict[str, Any]]) -> None:
    assert len(items) >= 420
    new = Counter(item["lang"] for item in items if not is_original(item["id"]))
    assert sum(new.values()) >= 230
    assert new["kmr"] >= 30 and new["fa"] >= 40 and new["ckb"] >= 40 and new["en"] >= 40
    for label in LABELS:
        assert sum(label in item["topics"] for item in frozen) >= 15, label
    assert sum(not item["topics"] for item in frozen) >= 15


def _text(item: dict[str, Any]) -> str:
    return (item["title"] or "") + " " + item["text"]


@pytest.mark.parametrize("lang", LANGS)
def test_script_rules(items: list[dict[str, Any]], lang: str) -> None:
    for item in (item for item in items if item["lang"] == lang):
        text, where = _text(item), item["id"]
        letters = set(text)
        if lang == "ar":
            assert not letters & PERSIAN_ONLY, where
        elif lang == "fa":
            assert not letters & ARABIC_YEH_KAF and letters & {"ی", "ک"}, where
        elif lang == "ckb":
            assert not letters & ARABIC_YEH_KAF and letters & SORANI_MARKS, where
        elif lang == "kmr":
            assert not ARABIC_SCRIPT.search(text) and letters & KURMANJI_MARKS, where
        else:
            assert not ARABIC_SCRIPT.search(text), where


if __name__ == "__main__":  # rewrite the split file from the data (review the diff!)
    SPLIT.parent.mkdir(parents=True, exist_ok=True)
    SPLIT.write_text(render_split(load_items()), encoding="utf-8")
    sys.stdout.write(f"{SPLIT}: {len(read_split())} frozen events\n")
