"""Settings for a command: read once at the edge, errors shown as the variables to fix."""

from __future__ import annotations

import sys

import typer
from pydantic import ValidationError

from newswire.common.logs import configure_logging
from newswire.common.settings import Settings, describe_settings_error, load_settings


def cli_settings(service: str = "newswire") -> Settings:
    """Settings for a command; SERVICE names the process in every JSON log line."""
    try:
        settings = load_settings()
    except ValidationError as exc:
        typer.echo(describe_settings_error(exc), err=True)
        raise typer.Exit(2) from exc
    configure_logging(settings.log_level, json_lines=not sys.stderr.isatty(), service=service)
    return settings
