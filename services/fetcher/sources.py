"""The sources file: what to poll, checked against ``schemas/sources.v1.json``.

Checking happens in two layers. The JSON Schema is the published contract (editors and
CI can use it on their own); the checks after it are the ones a schema cannot say
(duplicate ids, interval bounds in order, a charset Python knows, a CSS selector the
HTML parser accepts). Every problem is reported with its place: the YAML line, the
source's index and id, and the field, so ``sources check`` tells an operator exactly
what to fix instead of failing on the first mistake.
"""

from __future__ import annotations

import codecs
import functools
import importlib.resources
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import jsonschema_rs
import orjson
import yaml

from newswire.common.urls import InvalidUrl, canonical_url
from newswire.fetcher.errors import SourcesFileError

_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_DURATION = re.compile(r"^([0-9]+(?:\.[0-9]+)?)([smhd])$")
MAX_SOURCES_FILE_BYTES = 8 * 1024 * 1024


class SourceKind(StrEnum):
    FEED = "feed"
    WORDPRESS = "wordpress"
    SITEMAP = "sitemap"
    HTML = "html"


class IdentityPolicy(StrEnum):
    """What identifies an item first; the rest of the chain follows (see identity.py)."""

    GUID = "guid"
    LINK = "link"
    TITLE = "title"


@dataclass(frozen=True, slots=True)
class Selectors:
    """CSS selectors of an ``html`` source (listing links; article title, date, body)."""

    links: str
    title: str | None = None
    published: str | None = None
    body: str | None = None
    remove: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Source:
    """One entry of the sources file, with defaults applied and durations in seconds."""

    id: str
    name: str
    kind: SourceKind
    url: str
    language: str | None = None
    min_interval_s: float | None = None
    max_interval_s: float | None = None
    encoding: str | None = None
    identity: IdentityPolicy = IdentityPolicy.GUID
    headers: dict[str, str] = field(default_factory=dict)
    selectors: Selectors | None = None
    full_article: bool = False
    enabled: bool = True
    verified: bool = True

    @property
    def record_source(self) -> dict[str, str]:
        """The ``source`` object of every raw record this source produces."""
        return {"kind": self.kind.value, "id": self.id, "name": self.name}


@functools.cache
def sources_schema() -> dict[str, Any]:
    resource = importlib.resources.files("newswire.schemas").joinpath("sources.v1.json")
    return orjson.loads(resource.read_bytes())


@functools.cache
def _validator() -> Any:
    return jsonschema_rs.validator_for(sources_schema())


def parse_duration(value: float | int | str) -> float:
    """``90`` / ``"90s"`` / ``"15m"`` / ``"2h"`` / ``"1d"`` -> seconds."""
    if isinstance(value, int | float):
        return float(value)
    match = _DURATION.match(value)
    if match is None:
        raise ValueError(f"not a duration: {value!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


# --- reading and locating ------------------------------------------------------------


def _read_text(path: Path) -> str:
    try:
        size = path.stat().st_size
        if size > MAX_SOURCES_FILE_BYTES:
            raise SourcesFileError(
                str(path), [f"file is {size} bytes, more than {MAX_SOURCES_FILE_BYTES}"]
            )
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise SourcesFileError(str(path), [f"not UTF-8: {exc}"]) from exc
    except OSError as exc:
        raise SourcesFileError(str(path), [f"cannot read: {exc.strerror or exc}"]) from exc


def _parse_yaml(path: Path, text: str) -> tuple[Any, yaml.Node | None]:
    """The document and its node tree (for line numbers). JSON is YAML, so both work."""
    try:
        return yaml.safe_load(text), yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise SourcesFileError(str(path), [f"{where}invalid YAML: {problem}"]) from exc


def _node_at(root: yaml.Node | None, path: Sequence[str | int]) -> yaml.Node | None:
    """The deepest YAML node along ``path`` (mapping keys / sequence indices)."""
    node = root
    for step in path:
        if isinstance(node, yaml.MappingNode):
            child = next((v for k, v in node.value if k.value == step), None)
        elif (
            isinstance(node, yaml.SequenceNode) and isinstance(step, int) and step < len(node.value)
        ):
            child = node.value[step]
        else:
            child = None
        if child is None:
            break
        node = child
    return node


def _where(document: Any, root: yaml.Node | None, path: Sequence[str | int]) -> str:
    """``line 12: sources[3] (id=rudaw).kind`` - as precise as the path allows."""
    node = _node_at(root, path)
    line = f"line {node.start_mark.line + 1}: " if node is not None else ""
    parts: list[str] = []
    for i, step in enumerate(path):
        if isinstance(step, int):
            label = f"[{step}]"
            if path[:i] == ["sources"]:
                label += _id_label(document, step)
            parts.append(label)
        else:
            parts.append(f".{step}" if parts else step)
    return f"{line}{''.join(parts) or '(top level)'}"


def _id_label(document: Any, index: int) -> str:
    try:
        source_id = document["sources"][index]["id"]
    except (KeyError, IndexError, TypeError):
        return ""
    return f" (id={source_id})" if isinstance(source_id, str) else ""


# --- checking --------------------------------------------------------------------------


def _schema_problems(document: Any, root: yaml.Node | None) -> list[str]:
    return [
        f"{_where(document, root, list(error.instance_path))}: {error.message}"
        for error in _validator().iter_errors(document)
    ]


def _semantic_problems(document: dict[str, Any], root: yaml.Node | None) -> Iterator[str]:
    seen: dict[str, int] = {}
    for index, entry in enumerate(document["sources"]):
        here = ["sources", index]
        if entry["id"] in seen:
            yield f"{_where(document, root, [*here, 'id'])}: duplicate id, first used by sources[{seen[entry['id']]}]"
        seen.setdefault(entry["id"], index)
        for key, problem in _entry_problems(entry):
            yield f"{_where(document, root, [*here, *key])}: {problem}"


def _entry_problems(entry: dict[str, Any]) -> Iterator[tuple[list[str | int], str]]:
    try:
        canonical_url(entry["url"])
    except InvalidUrl as exc:
        yield ["url"], str(exc)
    low, high = entry.get("min_interval"), entry.get("max_interval")
    if low is not None and high is not None and parse_duration(low) > parse_duration(high):
        yield ["min_interval"], f"min_interval {low!r} is longer than max_interval {high!r}"
    if "encoding" in entry:
        try:
            codecs.lookup(entry["encoding"])
        except LookupError:
            yield ["encoding"], f"unknown charset {entry['encoding']!r}"
    if "selectors" in entry and entry["kind"] != "html" and not entry.get("full_article"):
        yield ["selectors"], "selectors are only used by kind html or with full_article: true"
    for name, css in _selector_items(entry.get("selectors") or {}):
        if not _css_parses(css):
            yield ["selectors", *name], f"not a CSS selector the HTML parser accepts: {css!r}"


def _selector_items(selectors: dict[str, Any]) -> Iterator[tuple[list[str | int], str]]:
    for name, value in selectors.items():
        if isinstance(value, list):
            yield from (([name, i], css) for i, css in enumerate(value))
        else:
            yield [name], value


def _css_parses(css: str) -> bool:
    from selectolax.lexbor import LexborHTMLParser, SelectolaxError

    try:
        LexborHTMLParser("<p></p>").css(css)
    except SelectolaxError:
        return False
    return True


def check_sources_file(path: Path) -> list[str]:
    """Every problem of the file at ``path``, each with its place; empty when usable."""
    try:
        load_sources(path)
    except SourcesFileError as error:
        return error.problems
    return []


def load_sources(path: Path) -> list[Source]:
    """The sources of the file at ``path``; raises :class:`SourcesFileError` listing
    every problem found (schema first, then the checks a schema cannot express)."""
    text = _read_text(path)
    document, root = _parse_yaml(path, text)
    problems = _schema_problems(document, root)
    if problems:
        raise SourcesFileError(str(path), problems)
    problems = list(_semantic_problems(document, root))
    if problems:
        raise SourcesFileError(str(path), problems)
    return [_build_source(entry) for entry in document["sources"]]


def _build_source(entry: dict[str, Any]) -> Source:
    selectors = entry.get("selectors")
    return Source(
        id=entry["id"],
        name=entry["name"],
        kind=SourceKind(entry["kind"]),
        url=entry["url"].strip(),
        language=entry.get("language"),
        min_interval_s=parse_duration(entry["min_interval"]) if "min_interval" in entry else None,
        max_interval_s=parse_duration(entry["max_interval"]) if "max_interval" in entry else None,
        encoding=entry.get("encoding"),
        identity=IdentityPolicy(entry.get("identity", "guid")),
        headers=dict(entry.get("headers") or {}),
        selectors=Selectors(**(selectors | {"remove": tuple(selectors.get("remove", ()))}))
        if selectors
        else None,
        full_article=bool(entry.get("full_article", False)),
        enabled=bool(entry.get("enabled", True)),
        verified=bool(entry.get("verified", True)),
    )
