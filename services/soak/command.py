"""``newswire soak``: run a named scenario against real services and report by id.

Starts its own embedded broker unless ``KAFKA_BOOTSTRAP_SERVERS`` is set; on a
configured cluster the run gets topics and consumer groups of its own (suffixed with
a run tag), so what it counts is only what it sent. Exit status: 0 when every check
held, 1 on any loss or violated check, 2 on a usage error.
"""

from __future__ import annotations

import asyncio
import sys
import time
import uuid
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

if TYPE_CHECKING:
    from newswire.common.settings import Settings


class ScenarioName(StrEnum):
    """The scenarios of newswire.soak.scenarios.SCENARIOS (a test keeps the two equal)."""

    TRICKLE = "trickle"
    POISON = "poison"
    SIZES = "sizes"
    CRASH = "crash"
    FULL = "full"


def soak(
    scenario: Annotated[
        ScenarioName, typer.Option(help="trickle, poison, sizes, crash or full (see below).")
    ] = ScenarioName.CRASH,
    articles: Annotated[
        int | None, typer.Option(min=1, help="Ordinary good articles (default: the scenario's).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the traffic and the chaos plan.")] = 1,
    duration_s: Annotated[
        float | None,
        typer.Option(min=1.0, help="Keep the traffic going at least this long (adds articles)."),
    ] = None,
    postgres: Annotated[
        str | None,
        typer.Option(help="Sink to PostgreSQL at this DSN too (SINK_POSTGRES_DSN); full needs it."),
    ] = None,
    run_dir: Annotated[
        Path | None,
        typer.Option(help="Where logs, outputs and report.json go (new or empty)."),
    ] = None,
) -> None:
    """Chaos soak: real traffic through real services, SIGKILLs, a replica joining and
    leaving; in the end every article counted by id.

    Scenarios: trickle (slow arrivals and pauses, no kills), poison (20 poison records
    among 22 good and one near the size limit), sizes (records at and around the size
    limits), crash (enricher and sink SIGKILLed 3 times each, a second replica
    mid-run), full (the acceptance run: 2,000 articles at ~40/s with the crash chaos,
    JSON Lines and PostgreSQL)."""
    # Imported here, so other commands do not load the harness.
    from newswire.cli.exits import EXIT_UNREACHABLE
    from newswire.cli.run import _cluster, _prepare_topics
    from newswire.cli.settings import cli_settings
    from newswire.common.errors import BrokerError
    from newswire.soak.report import report_lines
    from newswire.soak.run import run_scenario
    from newswire.soak.scenarios import scenario_named

    settings = cli_settings("soak")
    dsn = postgres or (
        settings.sink.postgres_dsn.get_secret_value() if settings.sink.postgres_dsn else None
    )
    chosen = scenario_named(scenario.value, articles=articles, duration_s=duration_s)
    if chosen.needs_postgres and not dsn:
        _usage(f"scenario {scenario.value} writes to PostgreSQL too: give --postgres DSN")
    directory = run_dir or Path(".newswire/soak") / (
        f"{scenario.value}-{seed}-{time.strftime('%Y%m%dT%H%M%S')}"
    )
    if directory.exists() and not directory.is_dir():
        _usage(f"run directory {directory} is a file; give a new folder with --run-dir")
    if directory.exists() and any(directory.iterdir()):
        _usage(f"run directory {directory} is not empty; give a new one with --run-dir")
    if dsn:
        try:
            rows = asyncio.run(_rows_in(dsn))
        except Exception as exc:
            _usage(f"cannot use the database at --postgres: {type(exc).__name__}: {exc}")
        if rows:
            _usage(f"the database at --postgres already has {rows} articles; give an empty one")
    directory.mkdir(parents=True, exist_ok=True)
    log_dir = directory / "logs"
    log_dir.mkdir(exist_ok=True)
    try:
        with _cluster(_own_names(settings), log_dir) as live:
            asyncio.run(_prepare_topics(live))
            result = asyncio.run(
                run_scenario(chosen, live, seed=seed, run_dir=directory, postgres_dsn=dsn, say=_say)
            )
    except TimeoutError as exc:  # a configured cluster that does not answer
        typer.echo(f"soak: the cluster is not usable: {exc}", err=True)
        raise typer.Exit(EXIT_UNREACHABLE) from exc
    except BrokerError as exc:  # the embedded broker would not start
        typer.echo(f"soak: the cluster is not usable: {exc}", err=True)
        raise typer.Exit(1) from exc
    for line in report_lines(result):
        _say(line)
    raise typer.Exit(0 if result.ok else 1)


def _say(line: str) -> None:
    print(line, flush=True)


def _usage(message: str) -> NoReturn:
    typer.echo(f"soak: {message}", err=True)
    raise typer.Exit(2)


def _own_names(settings: Settings) -> Settings:
    """On a configured cluster, topics and groups of this run's own; the embedded
    broker is fresh for every run, so its names stay the configured ones."""
    if settings.kafka.uses_embedded_broker:
        return settings
    tag = f"soak-{uuid.uuid4().hex[:8]}"
    topics = settings.topics.model_copy(
        update={
            name: f"{getattr(settings.topics, name)}.{tag}" for name in ("raw", "enriched", "dlq")
        }
    )
    enricher = settings.enricher.model_copy(update={"app_id": f"{settings.enricher.app_id}-{tag}"})
    sink = settings.sink.model_copy(update={"group_id": f"{settings.sink.group_id}-{tag}"})
    print(
        f"soak: on {settings.kafka.bootstrap}, topics {topics.raw} {topics.enriched} {topics.dlq}",
        file=sys.stderr,
    )
    return settings.model_copy(update={"topics": topics, "enricher": enricher, "sink": sink})


async def _rows_in(dsn: str) -> int:
    """Articles already in the database (0 when the table does not exist yet)."""
    import asyncpg

    connection = await asyncpg.connect(dsn)
    try:
        if not await connection.fetchval("SELECT to_regclass('articles') IS NOT NULL"):
            return 0
        return int(await connection.fetchval("SELECT count(*) FROM articles"))
    finally:
        await connection.close()
