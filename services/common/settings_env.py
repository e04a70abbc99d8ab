"""The settings and the process environment: read, checked, passed on, documented.

:mod:`newswire.common.settings` says what the settings are (the typed groups and their
defaults); this module is where they meet the environment variables: read once at
the edge of the program with every group's refusal (:func:`load_settings`), checked
for misspelt names (:func:`unknown_variables`), written for a child process
(:func:`as_environment`), and listed for the README (:func:`settings_reference`).
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Any

from pydantic import SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsError

from newswire.common.errors import NewswireError
from newswire.common.settings import (
    EnricherSettings,
    FetcherSettings,
    KafkaSettings,
    ReplaySettings,
    Settings,
    SinkSettings,
    TopicSettings,
)


class InvalidSettings(NewswireError):
    """The environment was refused: every group's refusal, the top level's first.

    Each PROBLEM is what one group raised (pydantic's ValidationError, or the
    SettingsError of a value it could not even parse), so the variables it names are
    read under that group's own prefix; or, as a string, a variable that is no setting."""

    def __init__(self, problems: Sequence[ValidationError | SettingsError | str]) -> None:
        super().__init__(f"invalid configuration: {len(problems)} settings groups refused")
        self.problems = list(problems)


def load_settings() -> Settings:
    """Read the environment once, at the edge of the program.

    Each group is read on its own, so one refused group does not hide the next: built
    as :class:`Settings` fields (default factories), the first group that raised
    stopped the rest, and an operator fixed one group per run. Raises
    :class:`InvalidSettings` with every group's refusal."""
    groups: dict[str, Any] = {}  # Settings' keyword arguments, one per group
    problems: list[ValidationError | SettingsError | str] = []
    for name, field in Settings.model_fields.items():
        group = field.annotation
        if not (isinstance(group, type) and issubclass(group, BaseSettings)):
            continue
        try:
            groups[name] = group()
        except (ValidationError, SettingsError) as exc:
            problems.append(exc)
            groups[name] = group.model_construct()  # a stand-in: the top level is still read
    try:
        settings = Settings(**groups)
    except (ValidationError, SettingsError) as exc:
        problems.insert(0, exc)
    problems.extend(unknown_variables(os.environ))
    if problems:
        raise InvalidSettings(problems)
    return settings


#: Prefixes whose every variable must be a setting. ``KAFKA_`` is not one: Kafka's own
#: images and scripts read ``KAFKA_NODE_ID``, ``KAFKA_LISTENERS``, ``KAFKA_HEAP_OPTS``
#: ..., and docker-compose.yml sets them next to ours, so a stranger there is likely
#: theirs, not a typo of ours.
CHECKED_PREFIXES = ("NEWSWIRE_", "TOPIC_", "ENRICHER_", "SINK_", "REPLAY_", "FETCHER_")

#: Variables under a checked prefix that are read, but not as settings.
NOT_SETTINGS = frozenset({"NEWSWIRE_TEST_POSTGRES_DSN"})  # the tests' PostgreSQL server


def unknown_variables(environ: Mapping[str, str]) -> list[str]:
    """``SINK_OUTDIR is not a setting (did you mean SINK_OUT_DIR?)`` for each variable
    under one of :data:`CHECKED_PREFIXES` that no group reads: pydantic ignores it, so
    a misspelt name silently left the default in force. Names are compared upper-cased,
    as the groups read them (case-insensitive)."""
    known = setting_names()
    problems: list[str] = []
    for variable in sorted(environ):
        name = variable.upper()
        if not name.startswith(CHECKED_PREFIXES) or name in known or name in NOT_SETTINGS:
            continue
        close = difflib.get_close_matches(name, known, n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        problems.append(f"{variable} is not a setting{hint}")
    return problems


def _env_value(value: object) -> str:
    if isinstance(value, list | tuple):
        return ",".join(_env_value(item) for item in value)
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, StrEnum):
        return value.value
    return str(value)


def as_environment(settings: Settings) -> dict[str, str]:
    """The environment variables that rebuild these settings in another process.

    ``newswire run`` and the tests start services as child processes configured the
    way a deployment configures them: through the environment.
    """
    env: dict[str, str] = {}
    groups: list[BaseSettings] = [settings] + [
        getattr(settings, name)
        for name, field in Settings.model_fields.items()
        if isinstance(getattr(settings, name), BaseSettings)
    ]
    for group in groups:
        prefix = str(group.model_config.get("env_prefix", ""))
        for name in type(group).model_fields:
            value = getattr(group, name)
            if value is None or isinstance(value, BaseSettings):
                continue
            env[f"{prefix}{name}".upper()] = _env_value(value)
    return env


def _setting_groups() -> list[type[BaseSettings]]:
    return [
        Settings,
        KafkaSettings,
        TopicSettings,
        EnricherSettings,
        SinkSettings,
        ReplaySettings,
        FetcherSettings,
    ]


def setting_names() -> list[str]:
    """Every variable a group reads (without reading the environment, so it cannot fail)."""
    return [
        f"{group.model_config.get('env_prefix', '')}{name}".upper()
        for group in _setting_groups()
        for name, field in group.model_fields.items()
        if not (isinstance(field.annotation, type) and issubclass(field.annotation, BaseSettings))
    ]


def settings_reference() -> list[tuple[str, str, str]]:
    """(variable, default, meaning) for every setting, in group order: the source of the
    README's configuration table, so the documentation cannot drift from the code."""
    rows: list[tuple[str, str, str]] = []
    for group in _setting_groups():
        prefix = str(group.model_config.get("env_prefix", ""))
        for name, field in group.model_fields.items():
            default = field.get_default(call_default_factory=True)
            if isinstance(default, BaseSettings):
                continue
            shown = "unset" if default is None else _env_value(default) or "(empty)"
            rows.append((f"{prefix}{name}".upper(), shown, field.description or ""))
    return rows


def settings_reference_markdown() -> str:
    lines = ["| variable | default | meaning |", "|---|---|---|"]
    for name, default, meaning in settings_reference():
        lines.append(f"| `{name}` | `{default}` | {meaning} |")
    return "\n".join(lines)
