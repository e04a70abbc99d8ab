"""The labelled fixture files ``newswire eval`` reads, and their loaders.

``topics.jsonl``: one article or headline per line with its language and topic
labels; ``near_duplicates.jsonl``: pairs of body texts labelled near-duplicate or not
(format and provenance: ``tests/fixtures/eval/README.md``). A malformed file is an
:class:`EvaluationDataError` that names the file and line, never a traceback.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from newswire.common.errors import NewswireError


class EvaluationDataError(NewswireError):
    """An evaluation file that cannot be read; names the file and line."""


@dataclass(frozen=True, slots=True)
class TopicItem:
    id: str
    lang: str
    kind: str
    title: str | None
    text: str
    topics: frozenset[str]
    note: str = ""
    event: str | None = None  # the event group (frozen split by event); None: tuning

    @property
    def chars(self) -> int:
        return len(self.text) + len(self.title or "")


@dataclass(frozen=True, slots=True)
class LabelledPair:
    id: str
    lang: str
    a: str  # body texts: dedupe compares bodies, titles are left out
    b: str
    near_duplicate: bool
    variation: str
    event: str | None = None  # the event the pair was made from; None: legacy tuning pair
    events: tuple[str, ...] = ()  # every event whose text is in the pair
    ops: tuple[str, ...] = ()  # editing operations that made the copy (positives)


def _json_lines(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for every non-blank line; anything else names the line."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise EvaluationDataError(f"{path}: cannot read: {exc}") from exc
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            raise EvaluationDataError(f"{path}:{number}: not JSON: {exc}") from exc
        if not isinstance(value, dict):
            raise EvaluationDataError(f"{path}:{number}: expected a JSON object")
        yield number, value


def _field(value: dict[str, Any], name: str, kind: type | tuple[type, ...], where: str) -> Any:
    """A required field of the expected type, or an error naming the line and field."""
    if name not in value:
        raise EvaluationDataError(f"{where}: missing field {name!r}")
    if not isinstance(value[name], kind):
        raise EvaluationDataError(f"{where}: field {name!r} has the wrong type")
    return value[name]


def _optional_text(value: dict[str, Any], name: str, where: str) -> str | None:
    """An optional string field: None when absent or null."""
    if value.get(name) is None:
        return None
    return str(_field(value, name, str, where))


def _strings(value: dict[str, Any], name: str, where: str) -> tuple[str, ...]:
    """An optional list-of-strings field; absent is empty."""
    items = value.get(name) or []
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        raise EvaluationDataError(f"{where}: field {name!r} must be a list of strings")
    return tuple(items)


def load_topic_items(path: Path) -> list[TopicItem]:
    """The labelled items; an item without a title and without a ``kind`` is a headline."""
    items = []
    for number, value in _json_lines(path):
        where = f"{path}:{number}"
        title = _field(value, "title", (str, type(None)), where) if "title" in value else None
        topics = _field(value, "topics", list, where)
        if not all(isinstance(t, str) for t in topics):
            raise EvaluationDataError(f"{where}: topics must be strings")
        kind = value.get("kind") or ("headline" if title is None else "article")
        items.append(
            TopicItem(
                id=_field(value, "id", str, where),
                lang=_field(value, "lang", str, where),
                kind=str(kind),
                title=title,
                text=_field(value, "text", str, where),
                topics=frozenset(topics),
                note=str(value.get("note") or ""),
                event=_optional_text(value, "event", where),
            )
        )
    if not items:
        raise EvaluationDataError(f"{path}: no items")
    return items


def load_pairs(path: Path) -> list[LabelledPair]:
    """The labelled pairs (body texts only: dedupe compares bodies)."""
    pairs = []
    for number, value in _json_lines(path):
        where = f"{path}:{number}"
        sides = [_field(value, side, dict, where) for side in ("a", "b")]
        texts = [
            _field(side, "text", str, f"{where}: side {name}")
            for side, name in zip(sides, "ab", strict=True)
        ]
        pairs.append(
            LabelledPair(
                id=_field(value, "id", str, where),
                lang=str(value.get("lang") or "-"),
                a=texts[0],
                b=texts[1],
                near_duplicate=_field(value, "near_duplicate", bool, where),
                variation=str(value.get("variation") or "-"),
                event=_optional_text(value, "event", where),
                events=_strings(value, "events", where),
                ops=_strings(value, "ops", where),
            )
        )
    if not pairs:
        raise EvaluationDataError(f"{path}: no pairs")
    return pairs
