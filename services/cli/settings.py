"""Settings for a command: read once at the edge, errors shown as the variables to fix."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import typer
from pydantic import ValidationError
from pydantic_settings import SettingsError

from newswire.common.logs import configure_logging
from newswire.common.settings import Settings
from newswire.common.settings_env import InvalidSettings, load_settings
from newswire.common.text import excerpt

#: Fields whose value is never echoed back: it may hold a password.
_SECRET_MARKERS = ("password", "dsn")


def cli_settings(service: str = "newswire") -> Settings:
    """Settings for a command; SERVICE names the process in every JSON log line.

    An invalid environment is one line on stderr, ``invalid configuration:`` and every
    bad variable of every group, ``; ``-separated; exit status 2."""
    try:
        settings = load_settings()
    except InvalidSettings as exc:
        typer.echo(describe_invalid_settings(exc.problems), err=True)
        raise typer.Exit(2) from exc
    configure_logging(settings.log_level, json_lines=not sys.stderr.isatty(), service=service)
    return settings


def describe_invalid_settings(
    problems: Sequence[ValidationError | SettingsError | str],
) -> str:
    """One line: every bad value of every group, naming the environment variable and,
    for a list such as ``FETCHER_ALLOW_NETWORKS``, the item, ``; ``-separated:
    ``invalid configuration: FETCHER_ALLOW_NETWORKS: item 1: Input is not a valid IPv4
    or IPv6 network (got 'banana'); SINK_HTTP_PORT: ...``. A message's own line breaks
    are folded, so the whole stays on one line."""
    lines: list[str] = []
    for problem in problems:
        if isinstance(problem, ValidationError):
            lines.extend(_bad_values(problem))
        else:  # a value the group could not parse (pydantic-settings' words), or no setting
            lines.append(excerpt(str(problem), 300))
    return "invalid configuration: " + "; ".join(" ".join(line.splitlines()) for line in lines)


def _bad_values(error: ValidationError) -> list[str]:
    """One entry per bad variable of one group. pydantic reports a value that fits none
    of a union's types once per type, under the validators' internal names; those
    become one entry."""
    prefix = _env_prefix(error.title)
    lines: list[str] = []
    grouped: dict[tuple[str, int | None, str], list[str]] = {}
    for problem in error.errors():
        loc = problem["loc"]
        message = problem["msg"].removeprefix("Value error, ")
        if not loc:  # a rule across several variables: its message names them
            lines.append(message)
            continue
        names = [str(loc[0])] + [p for p in loc[1:] if isinstance(p, str) and p.isidentifier()]
        index = next((p for p in loc[1:] if isinstance(p, int)), None)
        secret = any(marker in names[0] for marker in _SECRET_MARKERS)
        shown = "" if secret else f" (got {_shown(problem.get('input'))})"
        key = (f"{prefix}{'_'.join(names)}".upper(), index, shown)
        if key not in grouped:
            grouped[key] = []
        if message not in grouped[key]:
            grouped[key].append(message)
    for (name, index, shown), messages in grouped.items():
        item = f"item {index + 1}: " if index is not None else ""
        lines.append(f"{name}: {item}{_either(messages)}{shown}")
    return lines


def _env_prefix(title: str) -> str:
    from newswire.common import settings as module

    group = getattr(module, title, None)
    if isinstance(group, type) and hasattr(group, "model_config"):
        return str(group.model_config.get("env_prefix", ""))
    return ""


def _shown(value: Any) -> str:
    """The offending value, quoted; a long one as an excerpt."""
    if isinstance(value, str) and len(value) > 80:
        return f"{value[:80]!r}… ({len(value):,} characters)"
    return excerpt(repr(value), 100)


def _either(messages: list[str]) -> str:
    """``Input is not a valid IPv4 network`` + ``... IPv6 network`` -> ``Input is not a
    valid IPv4 or IPv6 network``; unrelated messages are joined with ``; or ``."""
    if len(messages) == 1:
        return messages[0]
    words = [m.split(" ") for m in messages]
    head = 0
    while all(len(w) > head + 1 and w[head] == words[0][head] for w in words):
        head += 1
    tail = 0
    while all(len(w) > head + tail + 1 and w[-1 - tail] == words[0][-1 - tail] for w in words):
        tail += 1
    if head == 0:
        return "; or ".join(messages)
    middles = [" ".join(w[head : len(w) - tail]) for w in words]
    end = " ".join(words[0][len(words[0]) - tail :]) if tail else ""
    return " ".join(part for part in (" ".join(words[0][:head]), " or ".join(middles), end) if part)
