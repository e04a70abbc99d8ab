"""The ``newswire`` command: one entry point whose subcommands select the service."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Annotated

import typer

from newswire.audit.command import audit
from newswire.cli.fetcher import bench_fetch, fetch, sources_app
from newswire.cli.settings import cli_settings as _settings
from newswire.soak.command import soak

app = typer.Typer(
    name="newswire",
    help="Streaming news ingestion: fetch -> news.raw -> enrich -> news.enriched -> sink.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
topics_app = typer.Typer(help="Manage the declared Kafka topics.", no_args_is_help=True)
app.add_typer(topics_app, name="topics")
app.add_typer(sources_app, name="sources")
app.command("fetch")(fetch)
app.command("audit")(audit)
app.command("soak")(soak)
app.add_typer(sources_app, name="sources")
app.command("fetch")(fetch)


@app.command()
def broker(port: Annotated[int, typer.Option(help="Port to listen on.")] = 19092) -> None:
    """Run the embedded Kafka-protocol broker (memory storage) in the foreground."""
    from newswire.cli.broker import run_broker_foreground

    run_broker_foreground(port)


@topics_app.command("create")
def topics_create() -> None:
    """Create the declared topics that are missing; safe to re-run."""
    from newswire.common.kafka import create_missing_topics
    from newswire.common.topics import declared_topics

    settings = _settings()
    outcome = asyncio.run(create_missing_topics(settings.kafka, declared_topics(settings)))
    for name, state in outcome.items():
        typer.echo(f"{name}\t{state}")


@topics_app.command("list")
def topics_list() -> None:
    """Show the declared topics with their layout."""
    from newswire.common.topics import declared_topics

    for spec in declared_topics(_settings()):
        config = ",".join(f"{k}={v}" for k, v in spec.config.items())
        typer.echo(f"{spec.name}\tpartitions={spec.partitions}\t{config}\t{spec.purpose}")


@app.command()
def replay(
    paths: Annotated[list[Path], typer.Argument(help=".txt articles, .jsonl raw records, or folders of them.")],
    rate: Annotated[float | None, typer.Option(help="At most this many records per second.")] = None,
    loop: Annotated[int, typer.Option(min=1, help="Replay the whole set this many times.")] = 1,
) -> None:
    """Turn seed files into raw records on news.raw."""
    from newswire.replay.service import replay as replay_files

    settings = _settings("replay")
    report = asyncio.run(replay_files(settings, paths, rate=rate, loop=loop, progress=sys.stderr.isatty()))
    for error in report.file_errors:
        typer.echo(f"skipped {error}", err=True)
    typer.echo(
        f"produced={report.produced} articles={len(report.article_ids)} files={report.files} "
        f"dead_letters={report.dead_letters} unreadable={len(report.file_errors)}"
    )


@app.command()
def enrich() -> None:
    """Run the enricher (Faust worker) until SIGTERM."""
    from newswire.enricher.app import run_enricher

    run_enricher(_settings("enricher"))


@app.command()
def sink(
    out: Annotated[Path | None, typer.Option(help="JSON Lines output directory (SINK_OUT_DIR).")] = None,
    postgres: Annotated[
        str | None, typer.Option("--postgres", help="Also write to PostgreSQL at this DSN (SINK_POSTGRES_DSN).")
    ] = None,
    writers: Annotated[
        str | None, typer.Option(help="Comma-separated writers: jsonl, postgres (SINK_WRITERS).")
    ] = None,
    http_port: Annotated[int | None, typer.Option(help="Port of /healthz, /readyz, /metrics (SINK_HTTP_PORT).")] = None,
) -> None:
    """Write enriched records to their sinks until SIGTERM, committing offsets after each flush."""
    from pydantic import SecretStr

    from newswire.common.errors import NewswireError
    from newswire.sink.service import run_sink

    settings = _settings("sink")
    overrides = {
        "out_dir": out,
        "postgres_dsn": SecretStr(postgres) if postgres else None,
        "writers": writers,
        "http_port": http_port,
    }
    sink_settings = settings.sink.model_copy(update={k: v for k, v in overrides.items() if v is not None})
    try:
        asyncio.run(run_sink(settings.model_copy(update={"sink": sink_settings})))
    except NewswireError as exc:
        typer.echo(f"sink: {exc}", err=True)
        raise typer.Exit(2) from exc


@app.command()
def run(
    seeds: Annotated[Path, typer.Option(help="Folder (or file) of seed articles to replay.")] = Path("seeds"),
    out: Annotated[Path, typer.Option(help="Where the sink writes enriched JSON Lines.")] = Path("out"),
    timeout: Annotated[float, typer.Option(help="Give up after this many seconds.")] = 300.0,
    loop: Annotated[int, typer.Option(min=1, help="Replay the seeds this many times.")] = 1,
) -> None:
    """The whole pipeline once: broker (unless KAFKA_BOOTSTRAP_SERVERS), topics, enricher,
    sink, replay of SEEDS; waits until every replayed article is written, then summarises."""
    from newswire.cli.run import run_pipeline

    code = run_pipeline(_settings("run"), seeds=seeds, out=out, timeout_s=timeout, loop=loop)
    raise typer.Exit(code)


dlq_app = typer.Typer(help="Read and re-drive the dead-letter topic.", no_args_is_help=True)
app.add_typer(dlq_app, name="dlq")


@dlq_app.command("replay")
def dlq_replay(
    service: Annotated[str | None, typer.Option(help="Only letters from this service.")] = None,
    kind: Annotated[str | None, typer.Option(help="Only this kind: decode, schema, processing, rejected.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Count what would be sent; send nothing.")] = False,
) -> None:
    """Send dead letters' original bytes back to their origin topics (resumable)."""
    from newswire.replay.dlq import LetterFilter, describe, redrive

    report = asyncio.run(redrive(_settings(), only=LetterFilter(service, kind), dry_run=dry_run))
    for line in describe(report, dry_run=dry_run):
        typer.echo(line)


@app.command("settings")
def settings_table() -> None:
    """Print every environment variable with its default and meaning (Markdown)."""
    from newswire.common.settings import settings_reference_markdown

    typer.echo(settings_reference_markdown())


@app.command("eval")
def eval_(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="Labelled topics JSONL.")],
    near_duplicates: Annotated[
        Path | None,
        typer.Option("--near-duplicates", exists=True, dir_okay=False, help="Labelled near-duplicate pairs JSONL."),
    ] = None,
) -> None:
    """Measure language ID, topic classification and near-duplicate detection on labelled data."""
    from newswire.enricher.evaluation import EvaluationDataError, run_eval

    try:
        run_eval(file, near_duplicates, out=sys.stdout)
    except EvaluationDataError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc


bench_app = typer.Typer(help="Benchmarks that print ratios measured side by side in one run.", no_args_is_help=True)
app.add_typer(bench_app, name="bench")
bench_app.command("fetch")(bench_fetch)
bench_app.command("fetch")(bench_fetch)


@bench_app.command("enrich")
def bench_enrich(
    articles: Annotated[int, typer.Option(min=10, help="Seed-sized articles to push through.")] = 5000,
    seeds: Annotated[Path, typer.Option(help="Seed article whose size and words the payloads copy.")] = Path("seeds"),
    timeout: Annotated[float, typer.Option(help="Give up on a measurement after this many seconds.")] = 600.0,
) -> None:
    """Enricher throughput (a) vs the bare transport (b) and the stages alone (c)."""
    from newswire.cli.bench import print_bench, run_bench_enrich

    settings = _settings()
    print_bench(run_bench_enrich(settings, articles=articles, seeds=seeds, timeout_s=timeout), settings)


def main() -> None:
    app()
