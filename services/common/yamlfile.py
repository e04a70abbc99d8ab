"""Reading the YAML files operators edit (the taxonomy, the sources file), one way.

Every such file goes through :func:`load_tree` (or :func:`load`), so they all read
the same: YAML's safe subset only (no Python objects from a config file), and
``2024-11-02`` stays the text typed instead of becoming a date that JSON Schema and
JSON cannot take. A repeated mapping key is an error with its line by default,
because YAML would silently keep the last one (a topic with two ``ar:`` sections would
be half a topic). The sources check wants to *report* repeats among its other
problems instead of stopping at the first, so it asks for ``repeated_keys="last"``
and lists them with :func:`repeated_keys`.

A file that is not YAML raises :class:`YamlFileError` with a 1-based line and column,
so each caller words it in its own terms without knowing PyYAML's exceptions. The
node tree :func:`load_tree` returns alongside the document gives each later problem
its line (:func:`node_at`, :func:`key_node`, :func:`line_of`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Literal

import yaml

#: Where a node is: mapping keys and sequence indices from the root.
NodePath = tuple[str | int, ...]
RepeatedKeys = Literal["reject", "last"]

_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_MERGE = "tag:yaml.org,2002:merge"


class YamlFileError(ValueError):
    """Text that is not YAML (or repeats a key where that is refused).

    ``line`` and ``column`` are 1-based, None when PyYAML gave no place; ``problem``
    is PyYAML's own reason, plus where the construct it was reading started when
    that is on another line (an unclosed ``[`` is found at the end of the file)."""

    def __init__(self, problem: str, line: int | None = None, column: int | None = None) -> None:
        place = f"line {line}, column {column}: " if line is not None else ""
        super().__init__(f"{place}{problem}")
        self.problem = problem
        self.line = line
        self.column = column

    @classmethod
    def from_yaml(cls, exc: yaml.YAMLError) -> YamlFileError:
        """The place and the reason of a PyYAML error, in one line."""
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        context, started = getattr(exc, "context", None), getattr(exc, "context_mark", None)
        if context and started is not None and (mark is None or started.line != mark.line):
            problem += f" ({context} started on line {started.line + 1})"
        if mark is None:
            return cls(problem)
        return cls(problem, mark.line + 1, mark.column + 1)


class _KeepLastLoader(yaml.SafeLoader):
    """SafeLoader without the timestamp type: ``name: 2024-11-02`` stays the text typed.
    A repeated key keeps its last value, as YAML libraries do."""


_KeepLastLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != _TIMESTAMP]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _construct_text(loader: yaml.SafeLoader, node: yaml.Node) -> str:
    """A string, refused when a ``"\\ud800"`` escape left a lone surrogate in it: that is
    no character, and everything downstream (the schema check, JSON, Kafka) fails on it."""
    value = loader.construct_scalar(node)  # type: ignore[arg-type]
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise yaml.constructor.ConstructorError(
            None,
            None,
            "an escape names a lone surrogate (\\uD800-\\uDFFF), not a character",
            node.start_mark,
        ) from None
    return value


_KeepLastLoader.add_constructor("tag:yaml.org,2002:str", _construct_text)


class _RejectingLoader(_KeepLastLoader):
    """The same, but a repeated mapping key is an error at the second one."""


def _construct_unique_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    """SafeLoader's mapping constructor, after checking that no key repeats.

    Merge keys (``<<``) are left to SafeLoader; so is an unhashable key (it reports
    "found unhashable key" with the place)."""
    first_seen: dict[Any, yaml.Node] = {}
    for key_node, _ in node.value:
        if key_node.tag == _MERGE:
            continue
        key = loader.construct_object(key_node)
        try:
            first = first_seen.setdefault(key, key_node)
        except TypeError:
            continue
        if first is not key_node:
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"duplicate key {key!r} (first on line {first.start_mark.line + 1})",
                key_node.start_mark,
            )
    return loader.construct_mapping(node)


_RejectingLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_unique_mapping
)

_LOADERS: dict[RepeatedKeys, type[yaml.SafeLoader]] = {
    "reject": _RejectingLoader,
    "last": _KeepLastLoader,
}


def load_tree(text: str, *, repeated_keys: RepeatedKeys = "reject") -> tuple[Any, yaml.Node | None]:
    """The document and its node tree (for line numbers), from one parse.

    An empty text is ``(None, None)``. JSON is YAML, so a JSON file loads too.
    Raises :class:`YamlFileError`."""
    try:  # the loader's reader refuses control characters (NUL, BEL ...) as it starts
        loader = _LOADERS[repeated_keys](text)
    except yaml.YAMLError as exc:
        raise YamlFileError.from_yaml(exc) from exc
    try:
        root = loader.get_single_node()
        document = loader.construct_document(root) if root is not None else None
    except yaml.YAMLError as exc:
        raise YamlFileError.from_yaml(exc) from exc
    finally:
        loader.dispose()
    return document, root


def load(text: str) -> Any:
    """The document alone, repeated keys refused; raises :class:`YamlFileError`."""
    return load_tree(text)[0]


def node_at(root: yaml.Node | None, path: Sequence[str | int]) -> yaml.Node | None:
    """The deepest YAML node along ``path`` (mapping keys / sequence indices): the
    place to point at even when the path leads past what the file has."""
    node = root
    for step in path:
        child = _child(node, step)
        if child is None:
            break
        node = child
    return node


def _child(node: yaml.Node | None, step: str | int) -> yaml.Node | None:
    """The value node under a key or index; of a repeated key the last, as loading keeps."""
    if isinstance(node, yaml.MappingNode):
        found = [v for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == step]
        return found[-1] if found else None
    if isinstance(node, yaml.SequenceNode) and isinstance(step, int) and step < len(node.value):
        return node.value[step]
    return None


def key_node(root: yaml.Node | None, path: Sequence[str | int], key: str) -> yaml.Node | None:
    """The node of ``key`` itself in the mapping at ``path`` (an unknown or repeated key
    is best shown where it is written), else the mapping."""
    mapping = node_at(root, path)
    if isinstance(mapping, yaml.MappingNode):
        for k, _ in mapping.value:
            if isinstance(k, yaml.ScalarNode) and k.value == key:
                return k
    return mapping


def line_of(node: yaml.Node | None) -> int | None:
    """The 1-based line a node starts on, None for no node."""
    return node.start_mark.line + 1 if node is not None else None


def repeated_keys(
    node: yaml.Node | None, path: NodePath = ()
) -> Iterator[tuple[NodePath, str, list[int]]]:
    """Every key given more than once in one mapping, anywhere in the tree: the path of
    the mapping, the key and the 1-based lines it stands on (merge keys excepted)."""
    if isinstance(node, yaml.MappingNode):
        lines: dict[str, list[int]] = {}
        for key, child in node.value:
            if isinstance(key, yaml.ScalarNode):
                lines.setdefault(key.value, []).append(key.start_mark.line + 1)
                yield from repeated_keys(child, (*path, key.value))
        for key, at in lines.items():
            if len(at) > 1 and key != "<<":
                yield path, key, at
    elif isinstance(node, yaml.SequenceNode):
        for index, child in enumerate(node.value):
            yield from repeated_keys(child, (*path, index))
