"""The sources file: what to poll, checked against ``schemas/sources.v1.json``.

Checking happens in two layers. The JSON Schema is the published contract (editors and
CI can use it on their own); the checks after it are the ones a schema cannot say
(duplicate ids, interval bounds in order, a charset Python knows, a CSS selector the
HTML parser accepts, a URL whose host has no space in it). Both layers run on every
entry, so one pass reports **every** problem of the file, each in the operator's words
(``kind "podcast" is not one of feed, wordpress, sitemap, html``, never the schema's
``oneOf``/regex internals) and with its place: the YAML line (from the node tree
``yaml.compose`` builds), the source's id, and the field.

A problem has two spellings: ``str(problem)``, ``line 12: sources[3] (id=rudaw).url:
...`` (the library's, kept by :func:`check_sources_file` and :class:`SourcesFileError`),
and :meth:`Problem.render`, ``sources.yaml:12: source "rudaw": ...`` (what
``newswire sources check`` prints, like a compiler).
"""

from __future__ import annotations

import codecs
import datetime as dt
import difflib
import functools
import importlib.resources
import ipaddress
import json
import re
import sys
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, TextIO

import jsonschema_rs
import orjson
import yaml

from newswire.common.urls import InvalidUrl, canonical_url
from newswire.fetcher.errors import SourcesFileError

_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_DURATION = re.compile(r"^([0-9]+(?:\.[0-9]+)?)([smhd])$")
MAX_SOURCES_FILE_BYTES = 8 * 1024 * 1024
MAX_URL_CHARS = 4096


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


# --- problems -------------------------------------------------------------------------

JsonPath = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a sources file, where it is, in the operator's words.

    ``message`` names the field itself (``url "x" is not a valid http(s) URL (...)``);
    ``source`` is how the entry is called (``source "rudaw-en"``, or ``source #4`` when
    it has no usable id), None for a problem of the file as a whole.
    """

    line: int | None  # 1-based
    path: JsonPath
    message: str
    source: str | None = None
    place: str = ""  # "line 12: sources[3] (id=rudaw).url" - the library spelling

    def __str__(self) -> str:
        return f"{self.place}: {self.message}" if self.place else self.message

    def render(self, filename: str) -> str:
        """``sources.yaml:12: source "rudaw-en": url "..." is not a valid http(s) URL (...)``."""
        where = f"{filename}:{self.line}" if self.line is not None else filename
        who = f"{self.source}: " if self.source else ""
        return f"{where}: {who}{self.message}"


class SourcesFileUnreadable(SourcesFileError):
    """The file cannot be read, is not UTF-8 text, or is not YAML: nothing to check."""

    def __init__(
        self, path: str, reason: str, line: int | None = None, column: int | None = None
    ) -> None:
        place = f"line {line}, column {column}: " if line is not None else ""
        super().__init__(path, [f"{place}{reason}"])
        self.reason = reason
        self.line = line
        self.column = column

    def render(self) -> str:
        """``sources.yaml:3:11: invalid YAML: ...`` or ``sources.yaml: cannot read: ...``."""
        where = self.path
        if self.line is not None:
            where += f":{self.line}" + (f":{self.column}" if self.column is not None else "")
        return f"{where}: {self.reason}"


class SourcesFileInvalid(SourcesFileError):
    """A readable file with problems; ``found`` has them with their places."""

    def __init__(self, path: str, found: list[Problem]) -> None:
        super().__init__(path, [str(p) for p in found])
        self.found = found


# --- reading and locating ------------------------------------------------------------


def _read_text(path: Path) -> str:
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


def _parse_yaml(path: Path, text: str) -> tuple[Any, yaml.Node | None]:
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


def _node_at(root: yaml.Node | None, path: Sequence[str | int]) -> yaml.Node | None:
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


def _key_node(root: yaml.Node | None, path: Sequence[str | int], key: str) -> yaml.Node | None:
    mapping = _node_at(root, path)
    if isinstance(mapping, yaml.MappingNode):
        for k, _ in mapping.value:
            if isinstance(k, yaml.ScalarNode) and k.value == key:
                return k
    return mapping


def _line(node: yaml.Node | None) -> int | None:
    return node.start_mark.line + 1 if node is not None else None


def _dotted(document: Any, path: Sequence[str | int]) -> str:
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
    source_id = _source_id(document, index)
    return f" (id={source_id})" if source_id is not None else ""


def _source_id(document: Any, index: int) -> str | None:
    try:
        source_id = document["sources"][index]["id"]
    except (KeyError, IndexError, TypeError):
        return None
    return source_id if isinstance(source_id, str) and source_id.strip() else None


# --- words ---------------------------------------------------------------------------


def _shown(value: Any, limit: int = 120) -> str:
    """A value as the operator wrote it: strings in double quotes, the rest as YAML says."""
    if isinstance(value, str):
        text = json.dumps(value, ensure_ascii=False)
    elif value is None:
        text = "null"
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, dict):
        text = "a mapping"
    elif isinstance(value, list):
        text = "a list"
    else:
        text = str(value)
    return text if len(text) <= limit else text[: limit - 2] + '…"'


_TYPE_WORDS = {
    "string": "text",
    "boolean": "true or false",
    "object": "a mapping (key: value lines)",
    "array": "a list",
    "number": "a number",
    "integer": "a whole number",
    "null": "empty",
}


def _type_word(value: Any) -> str:
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    return "a list" if isinstance(value, list) else "a mapping"


def _field_name(path: JsonPath) -> str:
    """``selectors.links`` for ("sources", 2, "selectors", "links"); ``sources`` at the top."""
    inner = (
        path[2:] if len(path) >= 2 and path[0] == "sources" and isinstance(path[1], int) else path
    )
    return ".".join(str(step) if isinstance(step, str) else f"[{step}]" for step in inner).replace(
        ".[", "["
    )


def _quote_hint(node: yaml.Node | None, value: Any) -> str:
    """YAML turned a plain scalar into a number/boolean/null where text was meant."""
    if isinstance(node, yaml.ScalarNode) and node.style is None and not isinstance(value, str):
        return f'; YAML reads {node.value} as {_shown(value)}, write "{node.value}" for the text'
    return ""


def url_problem(url: str) -> str | None:
    """Why ``url`` is not an http(s) URL the fetcher can poll (a short reason), or None.

    Stricter than the schema's pattern (which only looks at the start) and never raises:
    ``http://exa mple.com/feed`` -> ``space in host``.
    """
    if not url.strip():
        return "empty"
    text = url.rstrip()  # trailing blanks are dropped when the file is loaded
    if len(text) > MAX_URL_CHARS:
        return f"longer than {MAX_URL_CHARS} characters"
    if text[0].isspace():
        return "starts with a space"
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in text):
        return "control character in the URL"
    scheme, sep, rest = text.partition("://")
    if not sep:
        if re.match(r"^[\w-]+(\.[\w-]+)+(:\d+)?([/?#]\S*)?$", text):
            return f'no scheme: write "https://{text}"'
        named = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*):", text)
        if named and named.group(1).lower() in ("http", "https"):
            return f'"//" missing after "{named.group(1)}:"'
        if named and not text[named.end() :].isdigit():
            return f'scheme "{named.group(1)}" is not http or https'
        return "not a URL"
    if scheme.lower() not in ("http", "https"):
        return f'scheme "{scheme}" is not http or https'
    netloc = re.split(r"[/?#]", rest, maxsplit=1)[0]
    after = rest[len(netloc) :]
    hostport = netloc.rpartition("@")[2]
    if not hostport:
        return "no host"
    if any(ch.isspace() for ch in hostport):
        return "space in host"
    host, port = _split_port(hostport)
    reason = _host_problem(host) or _port_problem(port)
    if reason:
        return reason
    if any(ch.isspace() for ch in after):
        return "space in path: write it as %20"
    try:
        canonical_url(text)
    except (InvalidUrl, ValueError) as exc:
        return str(exc)
    return None


def _split_port(hostport: str) -> tuple[str, str | None]:
    if hostport.startswith("["):
        host, _, tail = hostport.partition("]")
        return host + "]", tail[1:] if tail.startswith(":") else (tail or None)
    host, sep, port = hostport.rpartition(":")
    return (host, port) if sep else (hostport, None)


def _host_problem(host: str) -> str | None:
    if host.startswith("["):
        try:
            ipaddress.IPv6Address(host.strip("[]"))
        except ValueError:
            return f'"{host}" is not an IPv6 address'
        # common.urls drops the brackets, so item URLs of such a host cannot be canonical
        return "IPv6 address hosts are not supported yet: use a host name"
    if not host:
        return "no host"
    bad = next((ch for ch in host if ch.isascii() and not (ch.isalnum() or ch in "-._")), None)
    if bad is not None:
        return f'"{bad}" in host'
    if host.startswith(".") or ".." in host:
        return "empty label in host"
    return None


def _port_problem(port: str | None) -> str | None:
    if port is None or port == "":
        return None
    if not port.isdigit():
        return f'port "{port}" is not a number'
    if not 0 < int(port) < 65536:
        return f"port {port} is out of range"
    return None


# --- checking --------------------------------------------------------------------------

_SOURCE_FIELDS = tuple(sources_schema()["$defs"]["source"]["properties"])
_REQUIRED = ("id", "name", "kind", "url")
_DURATION_HELP = 'a number of seconds (90) or a number with s, m, h or d ("30s", "15m", "2h", "1d")'


class _Checker:
    """Every problem of one parsed document; see the module docstring."""

    def __init__(self, document: Any, root: yaml.Node | None) -> None:
        self.document = document
        self.root = root
        self.found: list[Problem] = []
        self._said: set[tuple[JsonPath, str]] = set()
        self._spoken_for: set[JsonPath] = set()  # urls url_problem already explained

    def run(self) -> list[Problem]:
        self._duplicate_keys(self.root, ())
        self._semantic()
        for error in _validator().iter_errors(self.document):
            self._schema_error(error)
        order = {id(p): n for n, p in enumerate(self.found)}
        return sorted(self.found, key=lambda p: (p.line or 0, order[id(p)]))

    # --- recording ---

    def add(self, path: JsonPath, message: str, *, node: yaml.Node | None = None) -> None:
        if (path, message) in self._said:
            return
        self._said.add((path, message))
        node = node if node is not None else _node_at(self.root, path)
        source = None
        if len(path) >= 2 and path[0] == "sources" and isinstance(path[1], int):
            source_id = _source_id(self.document, path[1])
            source = f'source "{source_id}"' if source_id else f"source #{path[1] + 1}"
        place = f"{'line ' + str(_line(node)) + ': ' if node is not None else ''}"
        place += _dotted(self.document, path)
        self.found.append(Problem(_line(node), path, message, source, place))

    def value(self, path: JsonPath) -> Any:
        value: Any = self.document
        for step in path:
            value = value[step]
        return value

    # --- checks a schema cannot make ---

    def _duplicate_keys(self, node: yaml.Node | None, path: JsonPath) -> None:
        if isinstance(node, yaml.MappingNode):
            lines: dict[str, list[int]] = {}
            for key, child in node.value:
                if isinstance(key, yaml.ScalarNode):
                    lines.setdefault(key.value, []).append(key.start_mark.line + 1)
                    self._duplicate_keys(child, (*path, key.value))
            for key, at in lines.items():
                if len(at) > 1 and key != "<<":
                    where = ", ".join(str(n) for n in at)
                    self.add(
                        (*path, key),
                        f'"{key}" is given {len(at)} times (lines {where}); only the last counts',
                        node=_key_node(self.root, path, key),
                    )
        elif isinstance(node, yaml.SequenceNode):
            for index, child in enumerate(node.value):
                self._duplicate_keys(child, (*path, index))

    def _semantic(self) -> None:
        entries = self.document.get("sources") if isinstance(self.document, dict) else None
        if not isinstance(entries, list):
            return
        seen: dict[str, int] = {}
        for index, entry in enumerate(entries):
            if not isinstance(entry, dict):
                continue
            here: JsonPath = ("sources", index)
            source_id = entry.get("id")
            if isinstance(source_id, str):
                if source_id in seen:
                    first = _line(_node_at(self.root, ("sources", seen[source_id], "id")))
                    self.add(
                        (*here, "id"),
                        f"duplicate id, first used by sources[{seen[source_id]}]"
                        + (f" on line {first}" if first else ""),
                    )
                seen.setdefault(source_id, index)
            for key, problem in _entry_problems(entry):
                if key == ["url"]:
                    self._spoken_for.add((*here, "url"))
                self.add((*here, *key), problem)

    # --- the schema's findings, in words ---

    def _schema_error(self, error: Any) -> None:
        path: JsonPath = tuple(error.instance_path)
        if path in self._spoken_for:
            return
        kind = type(error.kind).__name__
        handler = getattr(self, f"_on_{kind}", None)
        message = handler(path, error) if handler is not None else None
        if message is None and handler is None:
            message = f"{_field_name(path) or 'the file'}: {error.message}"
        if message:
            self.add(path, message)

    def _on_Required(self, path: JsonPath, error: Any) -> str | None:
        missing = error.kind.property
        if path == ():
            return f'no "{missing}" list ("{missing}" is a required property)'
        if _field_name(path) == "selectors":
            return 'selectors needs "links" (the CSS selector of article links on the listing page)'
        if missing == "selectors":
            if self.value(path).get("kind") != "html":
                return None  # the schema's if/then also fires when kind is missing
            return 'kind html needs selectors (at least "links": the article links to follow)'
        entry = self.value(path)
        absent = [f'"{name}"' for name in _REQUIRED if name not in entry]
        listed = ", ".join(absent[:-1]) + " and " + absent[-1] if len(absent) > 1 else absent[0]
        return f"missing {listed} (every source needs {', '.join(_REQUIRED)})"

    def _on_AdditionalProperties(self, path: JsonPath, error: Any) -> str | None:
        if path == ():
            allowed: Sequence[str] = ("sources", "version")
            what = "top-level key"
        elif _field_name(path) == "selectors":
            allowed = tuple(sources_schema()["$defs"]["selectors"]["properties"])
            what = "selector"
        else:
            allowed = _SOURCE_FIELDS
            what = "field"
        for key in error.kind.unexpected:
            close = difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.75)
            hint = f' (did you mean "{close[0]}"?)' if close else ""
            self.add(
                (*path, key),
                f'unknown {what} "{key}"{hint}'
                + (f" (allowed: {', '.join(allowed)})" if what != "field" and not hint else ""),
                node=_key_node(self.root, path, str(key)),
            )
        return ""

    def _on_Enum(self, path: JsonPath, error: Any) -> str:
        options = ", ".join(str(o) for o in error.kind.options)
        value = self.value(path)
        return f"{_field_name(path)} {_shown(value)} is not one of {options}"

    def _on_Constant(self, path: JsonPath, error: Any) -> str:
        expected = error.kind.expected_value
        return f"{_field_name(path)} {_shown(self.value(path))} is not supported (only {expected})"

    def _on_Type(self, path: JsonPath, error: Any) -> str:
        value = self.value(path)
        expected = " or ".join(_TYPE_WORDS.get(t, t) for t in error.kind.types)
        if len(path) == 2 and path[0] == "sources":
            return f"each source must be {expected}, not {_type_word(value)}"
        if path == ():
            if value is None:
                return 'the file is empty: it needs a "sources" list'
            return f'the file must be a mapping with a "sources" list, not {_type_word(value)}'
        if path == ("sources",):
            if value is None:
                return '"sources" is empty: list the sources under it, each starting with "- "'
            return (
                f'"sources" must be a list (each source starting with "- "), '
                f"not {_type_word(value)}"
            )
        if len(path) == 4 and path[2] == "headers":
            return f'header "{path[3]}" must be text, not {_type_word(value)}'
        hint = _quote_hint(_node_at(self.root, path), value)
        return f"{_field_name(path)} {_shown(value)} must be {expected}{hint}"

    def _on_Pattern(self, path: JsonPath, error: Any) -> str:
        value, name = self.value(path), _field_name(path)
        if name == "id":
            suggestion = re.sub(r"[^a-z0-9._-]+", "-", str(value).lower()).strip("-._")[:100]
            hint = f' (try "{suggestion}")' if suggestion and suggestion != value else ""
            return (
                f'id {_shown(value)} may use only a-z, 0-9, ".", "_" and "-", starting with a '
                f"letter or digit, up to 100 characters{hint}"
            )
        if name == "language":
            return f"language {_shown(value)} is not a language code such as ar, en, ckb or pt-BR"
        if name == "url":
            reason = url_problem(value) or "not a URL"
            return f"url {_shown(value)} is not a valid http(s) URL ({reason})"
        return f"{name} {_shown(value)} is not in the expected form"

    def _on_PropertyNames(self, path: JsonPath, error: Any) -> str:
        bad = [k for k in self.value(path) if not re.fullmatch(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+", k)]
        return ", ".join(f"header name {_shown(k)} is not a valid HTTP header name" for k in bad)

    def _on_OneOfNotValid(self, path: JsonPath, error: Any) -> str:
        value, name = self.value(path), _field_name(path)
        if name in ("min_interval", "max_interval"):
            if isinstance(value, int | float) and not isinstance(value, bool):
                return f"{name} {_shown(value)} must be more than 0 seconds"
            return f"{name} {_shown(value)} is not a duration: use {_DURATION_HELP}"
        return f"{name} {_shown(value)} is not valid here"

    def _on_MinLength(self, path: JsonPath, error: Any) -> str:
        return f"{_field_name(path)} is empty"

    def _on_MaxLength(self, path: JsonPath, error: Any) -> str:
        limit = error.kind.limit
        return f"{_field_name(path)} is longer than {limit} characters"


def _entry_problems(entry: dict[str, Any]) -> Iterator[tuple[list[str | int], str]]:
    """The checks a schema cannot make, on one entry, whatever else is wrong with it."""
    url = entry.get("url")
    if isinstance(url, str):
        reason = url_problem(url)
        if reason:
            yield ["url"], f"url {_shown(url)} is not a valid http(s) URL ({reason})"
    low, high = (
        _duration_or_none(entry.get("min_interval")),
        _duration_or_none(entry.get("max_interval")),
    )
    if low is not None and high is not None and low > high:
        yield (
            ["min_interval"],
            f"min_interval {entry['min_interval']!r} is longer than max_interval "
            f"{entry['max_interval']!r}",
        )
    encoding = entry.get("encoding")
    if isinstance(encoding, str) and encoding:
        try:
            codecs.lookup(encoding)
        except LookupError:
            yield (
                ["encoding"],
                f"unknown charset {encoding!r} (names Python knows: utf-8, windows-1256, "
                "iso-8859-6, ...)",
            )
    selectors = entry.get("selectors")
    if (
        "selectors" in entry
        and entry.get("kind") in ("feed", "wordpress", "sitemap")
        and not entry.get("full_article")
    ):
        yield ["selectors"], "selectors are only used by kind html or with full_article: true"
    if isinstance(selectors, dict):
        for name, css in _selector_items(selectors):
            if isinstance(css, str) and css and not _css_parses(css):
                yield (
                    ["selectors", *name],
                    f"not a CSS selector the HTML parser accepts: {_shown(css)} "
                    f"(selectors.{'['.join(str(n) for n in name)}{']' if len(name) > 1 else ''})",
                )


def _duration_or_none(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        return parse_duration(value)
    except ValueError:
        return None


def _selector_items(selectors: dict[str, Any]) -> Iterator[tuple[list[str | int], Any]]:
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


def sources_file_problems(path: Path) -> tuple[list[Problem], Any]:
    """Every problem of the file at ``path`` and the parsed document.

    Raises :class:`SourcesFileUnreadable` when there is nothing to check (cannot read,
    not UTF-8, not YAML).
    """
    text = _read_text(path)
    document, root = _parse_yaml(path, text)
    return _Checker(document, root).run(), document


def check_sources_file(path: Path) -> list[str]:
    """Every problem of the file at ``path``, each with its place; empty when usable."""
    try:
        load_sources(path)
    except SourcesFileError as error:
        return error.problems
    return []


def load_sources(path: Path) -> list[Source]:
    """The sources of the file at ``path``; raises :class:`SourcesFileError` listing
    every problem found (:class:`SourcesFileUnreadable` or :class:`SourcesFileInvalid`)."""
    problems, document = sources_file_problems(path)
    if problems:
        raise SourcesFileInvalid(str(path), problems)
    return [_build_source(entry) for entry in document["sources"]]


def check_report(path: Path, *, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """``newswire sources check FILE``: every problem on its own line, then a count.

    Exit status: 0 usable (says how many sources were checked), 1 problems,
    2 nothing to check (unreadable, not UTF-8, not YAML: one line on stderr).
    """
    out, err = out or sys.stdout, err or sys.stderr
    name = str(path)
    try:
        problems, document = sources_file_problems(path)
    except SourcesFileUnreadable as error:
        print(error.render(), file=err)
        return 2
    entries = document.get("sources") if isinstance(document, dict) else None
    total = len(entries) if isinstance(entries, list) else 0
    if problems:
        for problem in problems:
            print(problem.render(name), file=out)
        touched = {p.path[1] for p in problems if len(p.path) >= 2 and p.path[0] == "sources"}
        count = f"{len(problems)} problem" + ("s" if len(problems) != 1 else "")
        affected = f" ({len(touched)} of {total} sources)" if total else ""
        print(f"{name}: {count}{affected}", file=out)
        return 1
    sources = [_build_source(entry) for entry in document["sources"]]
    kinds = Counter(s.kind.value for s in sources)
    mix = ", ".join(f"{k.value}={kinds[k.value]}" for k in SourceKind if kinds[k.value])
    extra = [f"{sum(not s.verified for s in sources)} unverified"]
    if disabled := sum(not s.enabled for s in sources):
        extra.append(f"{disabled} disabled")
    noun = "source" if len(sources) == 1 else "sources"
    detail = f" ({mix}; {', '.join(extra)})" if sources else ""
    print(f"{name}: OK, {len(sources)} {noun} checked, no problems{detail}", file=out)
    return 0


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
