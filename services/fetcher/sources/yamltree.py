"""Reading a sources file and finding places in it: the YAML node tree gives each
problem its line (:mod:`newswire.common.yamlfile`), the document gives each source its id."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from newswire.common import yamlfile
from newswire.fetcher.sources.problems import SourcesFileUnreadable

MAX_SOURCES_FILE_BYTES = 8 * 1024 * 1024


def read_text(path: Path) -> str:
    try:
        size = path.stat().st_size
        if size > MAX_SOURCES_FILE_BYTES:
            raise SourcesFileUnreadable(
                str(path), f"file is {size} bytes, more than {MAX_SOURCES_FILE_BYTES}"
            )
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise SourcesFileUnreadable(
            str(path), f"not UTF-8 text (byte {exc.start}: {exc.reason})"
        ) from exc
    except OSError as exc:
        raise SourcesFileUnreadable(str(path), f"cannot read: {exc.strerror or exc}") from exc


def parse_yaml(path: Path, text: str) -> tuple[Any, yaml.Node | None]:
    """The document and its node tree (for line numbers), from one parse, through the
    project's YAML loader; a repeated key keeps its last value here, because the check
    reports it (with every line it stands on) among the file's other problems."""
    try:
        document, root = yamlfile.load_tree(text, repeated_keys="last")
    except yamlfile.YamlFileError as exc:
        raise SourcesFileUnreadable(
            str(path), f"invalid YAML: {exc.problem}", exc.line, exc.column
        ) from exc
    return _jsonable(document), root


def _jsonable(value: Any) -> Any:
    """What the validator can take: keys as text, odd YAML scalars (binary, sets) as text."""
    if isinstance(value, dict):
        return {str(k) if not isinstance(k, str) else k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def dotted(document: Any, path: Sequence[str | int]) -> str:
    parts: list[str] = []
    for i, step in enumerate(path):
        if isinstance(step, int):
            label = f"[{step}]"
            if list(path[:i]) == ["sources"]:
                label += _id_label(document, step)
            parts.append(label)
        else:
            parts.append(f".{step}" if parts else step)
    return "".join(parts) or "(top level)"


def _id_label(document: Any, index: int) -> str:
    source_id = source_id_at(document, index)
    return f" (id={source_id})" if source_id is not None else ""


def source_id_at(document: Any, index: int) -> str | None:
    try:
        source_id = document["sources"][index]["id"]
    except (KeyError, IndexError, TypeError):
        return None
    return source_id if isinstance(source_id, str) and source_id.strip() else None
