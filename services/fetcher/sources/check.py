"""Every problem of a parsed sources file: the schema's findings in words, and the
checks a schema cannot make (see the package docstring)."""

from __future__ import annotations

import codecs
import difflib
import re
from collections.abc import Iterator, Sequence
from typing import Any

import yaml

from newswire.common.schemas import file_validator, schema_file
from newswire.common.yamlfile import key_node, line_of, node_at, repeated_keys
from newswire.fetcher.sources.model import SourceKind, parse_duration
from newswire.fetcher.sources.problems import JsonPath, Problem
from newswire.fetcher.sources.urlcheck import url_problem
from newswire.fetcher.sources.words import TYPE_WORDS, field_name, quote_hint, shown, type_word
from newswire.fetcher.sources.yamltree import dotted, source_id_at

_SCHEMA_FILE = "sources.v1.json"


def sources_schema() -> dict[str, Any]:
    """``schemas/sources.v1.json``, parsed once by :mod:`newswire.common.schemas` (the
    published contract: editors and CI check files against the same document)."""
    return schema_file(_SCHEMA_FILE)


#: Kinds that read selectors only for article pages, with ``full_article: true``
#: (``html`` always reads them: the schema requires them there). A tuple, not a set:
#: the kind given may be a YAML list or mapping, which a set cannot look up.
_SELECTORS_NEED_FULL_ARTICLE = tuple(k.value for k in SourceKind if k is not SourceKind.HTML)
_SOURCE_FIELDS = tuple(sources_schema()["$defs"]["source"]["properties"])
_REQUIRED = ("id", "name", "kind", "url")
_DURATION_HELP = 'a number of seconds (90) or a number with s, m, h or d ("30s", "15m", "2h", "1d")'


class Checker:
    """Every problem of one parsed document; see the package docstring (fetcher/sources)."""

    def __init__(self, document: Any, root: yaml.Node | None) -> None:
        self.document = document
        self.root = root
        self.found: list[Problem] = []
        self._said: set[tuple[JsonPath, str]] = set()
        self._spoken_for: set[JsonPath] = set()  # urls url_problem already explained

    def run(self) -> list[Problem]:
        self._duplicate_keys()
        self._semantic()
        for error in file_validator(_SCHEMA_FILE).iter_errors(self.document):
            self._schema_error(error)
        order = {id(p): n for n, p in enumerate(self.found)}
        return sorted(self.found, key=lambda p: (p.line or 0, order[id(p)]))

    # --- recording ---

    def add(self, path: JsonPath, message: str, *, node: yaml.Node | None = None) -> None:
        if (path, message) in self._said:
            return
        self._said.add((path, message))
        node = node if node is not None else node_at(self.root, path)
        source = None
        if len(path) >= 2 and path[0] == "sources" and isinstance(path[1], int):
            source_id = source_id_at(self.document, path[1])
            source = f'source "{source_id}"' if source_id else f"source #{path[1] + 1}"
        place = f"{'line ' + str(line_of(node)) + ': ' if node is not None else ''}"
        place += dotted(self.document, path)
        self.found.append(Problem(line_of(node), path, message, source, place))

    def value(self, path: JsonPath) -> Any:
        value: Any = self.document
        for step in path:
            value = value[step]
        return value

    # --- checks a schema cannot make ---

    def _duplicate_keys(self) -> None:
        """A repeated key is legal YAML but surely a mistake: reported, not refused, so
        the operator sees it with the file's other problems."""
        for path, key, at in repeated_keys(self.root):
            where = ", ".join(str(n) for n in at)
            self.add(
                (*path, key),
                f'"{key}" is given {len(at)} times (lines {where}); only the last counts',
                node=key_node(self.root, path, key),
            )

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
                    first = line_of(node_at(self.root, ("sources", seen[source_id], "id")))
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
            message = f"{field_name(path) or 'the file'}: {error.message}"
        if message:
            self.add(path, message)

    def _on_Required(self, path: JsonPath, error: Any) -> str | None:
        missing = error.kind.property
        if path == ():
            return f'no "{missing}" list ("{missing}" is a required property)'
        if field_name(path) == "selectors":
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
        elif field_name(path) == "selectors":
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
                node=key_node(self.root, path, str(key)),
            )
        return ""

    def _on_Enum(self, path: JsonPath, error: Any) -> str:
        options = ", ".join(str(o) for o in error.kind.options)
        value = self.value(path)
        return f"{field_name(path)} {shown(value)} is not one of {options}"

    def _on_Constant(self, path: JsonPath, error: Any) -> str:
        expected = error.kind.expected_value
        return f"{field_name(path)} {shown(self.value(path))} is not supported (only {expected})"

    def _on_Type(self, path: JsonPath, error: Any) -> str:
        value = self.value(path)
        expected = " or ".join(TYPE_WORDS.get(t, t) for t in error.kind.types)
        if len(path) == 2 and path[0] == "sources":
            return f"each source must be {expected}, not {type_word(value)}"
        if path == ():
            if value is None:
                return 'the file is empty: it needs a "sources" list'
            return f'the file must be a mapping with a "sources" list, not {type_word(value)}'
        if path == ("sources",):
            if value is None:
                return '"sources" is empty: list the sources under it, each starting with "- "'
            return (
                f'"sources" must be a list (each source starting with "- "), not {type_word(value)}'
            )
        if len(path) == 4 and path[2] == "headers":
            return f'header "{path[3]}" must be text, not {type_word(value)}'
        hint = quote_hint(node_at(self.root, path), value)
        return f"{field_name(path)} {shown(value)} must be {expected}{hint}"

    def _on_Pattern(self, path: JsonPath, error: Any) -> str:
        value, name = self.value(path), field_name(path)
        if name == "id":
            suggestion = re.sub(r"[^a-z0-9._-]+", "-", str(value).lower()).strip("-._")[:100]
            hint = f' (try "{suggestion}")' if suggestion and suggestion != value else ""
            return (
                f'id {shown(value)} may use only a-z, 0-9, ".", "_" and "-", starting with a '
                f"letter or digit, up to 100 characters{hint}"
            )
        if name == "language":
            return f"language {shown(value)} is not a language code such as ar, en, ckb or pt-BR"
        if name == "url":
            reason = url_problem(value) or "not a URL"
            return f"url {shown(value)} is not a valid http(s) URL ({reason})"
        if name == "pagination.numbered":
            return (
                f"{name} {shown(value)} has no {{n}} for the page number "
                '(e.g. "?page={n}" or "/news/page/{n}/")'
            )
        return f"{name} {shown(value)} is not in the expected form"

    def _on_PropertyNames(self, path: JsonPath, error: Any) -> str:
        bad = [k for k in self.value(path) if not re.fullmatch(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+", k)]
        return ", ".join(f"header name {shown(k)} is not a valid HTTP header name" for k in bad)

    def _on_OneOfNotValid(self, path: JsonPath, error: Any) -> str:
        value, name = self.value(path), field_name(path)
        if name in ("min_interval", "max_interval"):
            if isinstance(value, int | float) and not isinstance(value, bool):
                return f"{name} {shown(value)} must be more than 0 seconds"
            return f"{name} {shown(value)} is not a duration: use {_DURATION_HELP}"
        return f"{name} {shown(value)} is not valid here"

    def _on_MinLength(self, path: JsonPath, error: Any) -> str:
        return f"{field_name(path)} is empty"

    def _on_MaxLength(self, path: JsonPath, error: Any) -> str:
        limit = error.kind.limit
        return f"{field_name(path)} is longer than {limit} characters"


def _entry_problems(entry: dict[str, Any]) -> Iterator[tuple[list[str | int], str]]:
    """The checks a schema cannot make, on one entry, whatever else is wrong with it."""
    url = entry.get("url")
    if isinstance(url, str):
        reason = url_problem(url)
        if reason:
            yield ["url"], f"url {shown(url)} is not a valid http(s) URL ({reason})"
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
        and entry.get("kind") in _SELECTORS_NEED_FULL_ARTICLE
        and not entry.get("full_article")
    ):
        yield ["selectors"], "selectors are only used by kind html or with full_article: true"
    if isinstance(selectors, dict):
        for name, css in _selector_items(selectors):
            if isinstance(css, str) and css and not _css_parses(css):
                yield (
                    ["selectors", *name],
                    f"not a CSS selector the HTML parser accepts: {shown(css)} "
                    f"(selectors.{'['.join(str(n) for n in name)}{']' if len(name) > 1 else ''})",
                )

    yield from _pagination_problems(entry)


def _pagination_problems(entry: dict[str, Any]) -> Iterator[tuple[list[str | int], str]]:
    """Pagination is read by kind html only; its ``next`` must be a selector that parses."""
    pagination = entry.get("pagination")
    if "pagination" in entry and entry.get("kind") != "html" and "kind" in entry:
        yield ["pagination"], "pagination is only used by kind html (listing pages)"
    css = pagination.get("next") if isinstance(pagination, dict) else None
    if isinstance(css, str) and css and not _css_parses(css):
        yield (
            ["pagination", "next"],
            f"not a CSS selector the HTML parser accepts: {shown(css)} (pagination.next)",
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
            for i, css in enumerate(value):
                yield [name, i], css
        else:
            yield [name], value


def _css_parses(css: str) -> bool:
    from selectolax.lexbor import LexborHTMLParser, SelectolaxError

    try:
        LexborHTMLParser("<p></p>").css(css)
    except SelectolaxError:
        return False
    return True
