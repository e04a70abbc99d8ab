"""Reading a sources file and finding places in it: the YAML node tree gives each
problem its line, the document gives each source its id."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

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


class _Loader(yaml.SafeLoader):
    """SafeLoader without the timestamp type: ``name: 2024-11-02`` stays the text typed."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def parse_yaml(path: Path, text: str) -> tuple[Any, yaml.Node | None]:
    """The document and its node tree (for line numbers), from one parse. JSON is YAML."""
    loader = _Loader(text)
    try:
        root = loader.get_single_node()
        document = loader.construct_document(root) if root is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        context, started = getattr(exc, "context", None), getattr(exc, "context_mark", None)
        if context and started is not None and (mark is None or started.line != mark.line):
            problem += f" ({context} started on line {started.line + 1})"
        raise SourcesFileUnreadable(
            str(path),
            f"invalid YAML: {problem}",
            mark.line + 1 if mark is not None else None,
            mark.column + 1 if mark is not None else None,
        ) from exc
    finally:
        loader.dispose()
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


def node_at(root: yaml.Node | None, path: Sequence[str | int]) -> yaml.Node | None:
    """The deepest YAML node along ``path`` (mapping keys / sequence indices)."""
    node = root
    for step in path:
        child = _child(node, step)
        if child is None:
            break
        node = child
    return node


def _child(node: yaml.Node | None, step: str | int) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        found = [v for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == step]
        return found[-1] if found else None  # the last one wins, as when loading
    if isinstance(node, yaml.SequenceNode) and isinstance(step, int) and step < len(node.value):
        return node.value[step]
    return None


def key_node(root: yaml.Node | None, path: Sequence[str | int], key: str) -> yaml.Node | None:
    mapping = node_at(root, path)
    if isinstance(mapping, yaml.MappingNode):
        for k, _ in mapping.value:
            if isinstance(k, yaml.ScalarNode) and k.value == key:
                return k
    return mapping


def line_of(node: yaml.Node | None) -> int | None:
    return node.start_mark.line + 1 if node is not None else None


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
