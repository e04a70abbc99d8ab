"""The frozen test split: which events are never tuned on.

A split file lists one event id per line (``#`` starts a comment); it sits in a
``split/`` folder beside the data it splits: ``split/topics.frozen.txt`` beside the
topics file, ``split/near_duplicates.frozen.txt`` beside the pairs. An item whose
event is listed is *frozen*; any other item, including one without an event, is
*tuning*. A missing file means nothing is frozen yet.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Literal

from newswire.evaluation.data import EvaluationDataError

Split = Literal["tuning", "frozen"]
SplitChoice = Literal["tuning", "frozen", "both"]
SPLITS: tuple[Split, ...] = ("tuning", "frozen")
TOPICS_SPLIT = "topics.frozen.txt"
PAIRS_SPLIT = "near_duplicates.frozen.txt"


def split_file(data_file: Path, name: str) -> Path:
    """Where the split file for a data file lives."""
    return data_file.parent / "split" / name


def load_frozen(paths: Iterable[Path]) -> frozenset[str]:
    """The frozen event ids listed in those of the files that exist."""
    events: set[str] = set()
    for path in paths:
        if not path.exists():
            continue
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise EvaluationDataError(f"{path}: cannot read: {exc}") from exc
        events.update(line.strip() for line in lines if line.strip() and not line.startswith("#"))
    return frozenset(events)


def split_of(events: Iterable[str | None], frozen: frozenset[str]) -> Split:
    """The split of an item made from these events: frozen if any of them is frozen
    (an item must never leak a frozen event into tuning)."""
    return "frozen" if any(e in frozen for e in events if e) else "tuning"
