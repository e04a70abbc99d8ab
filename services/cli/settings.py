"""Settings for a command: read once at the edge, errors shown as the variables to fix."""

from __future__ import annotations

import sys

import click
import typer
from pydantic import ValidationError

from newswire.common.logs import configure_logging
from newswire.common.settings import Settings, describe_settings_error, load_settings


#: Command name -> the service it runs, as named in logs.
SERVICE_OF_COMMAND = {"enrich": "enricher", "fetch": "fetcher", "sink": "sink", "replay": "replay"}


def _service_name() -> str:
    context = click.get_current_context(silent=True)
    command = context.info_name if context is not None else None
    return SERVICE_OF_COMMAND.get(command or "", command or "newswire")


def cli_settings() -> Settings:
    try:
        settings = load_settings()
    except ValidationError as exc:
        typer.echo(describe_settings_error(exc), err=True)
        raise typer.Exit(2) from exc
    configure_logging(settings.log_level, json_lines=not sys.stderr.isatty(), service=_service_name())
    return settings
