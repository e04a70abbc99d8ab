"""Values, types and fields in the operator's words (never the schema's)."""

from __future__ import annotations

import json
from typing import Any

import yaml

from newswire.fetcher.sources.problems import JsonPath


def shown(value: Any, limit: int = 120) -> str:
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


TYPE_WORDS = {
    "string": "text",
    "boolean": "true or false",
    "object": "a mapping (key: value lines)",
    "array": "a list",
    "number": "a number",
    "integer": "a whole number",
    "null": "empty",
}


def type_word(value: Any) -> str:
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    return "a list" if isinstance(value, list) else "a mapping"


def field_name(path: JsonPath) -> str:
    """``selectors.links`` for ("sources", 2, "selectors", "links"); ``sources`` at the top."""
    inner = (
        path[2:] if len(path) >= 2 and path[0] == "sources" and isinstance(path[1], int) else path
    )
    return ".".join(str(step) if isinstance(step, str) else f"[{step}]" for step in inner).replace(
        ".[", "["
    )


def quote_hint(node: yaml.Node | None, value: Any) -> str:
    """YAML turned a plain scalar into a number/boolean/null where text was meant."""
    if isinstance(node, yaml.ScalarNode) and node.style is None and not isinstance(value, str):
        return f'; YAML reads {node.value} as {shown(value)}, write "{node.value}" for the text'
    return ""
