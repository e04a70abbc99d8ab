"""``newswire bench ...``: benchmarks that print ratios and figures measured side by
side in one run (never timed assertions in tests). Each command imports its bench
lazily: ``newswire --help`` must not pay for numpy, Faust or asyncpg."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Any

import typer

from newswire.cli.exits import EXIT_USAGE, command_failures, fail, require_kafka
from newswire.cli.fetcher import bench_fetch
from newswire.cli.settings import cli_settings as _settings

bench_app = typer.Typer(
    help="Benchmarks that print ratios measured side by side in one run.", no_args_is_help=True
)
bench_app.command("fetch")(bench_fetch)

#: Options the broker benches share.
BenchSeeds = Annotated[
    Path,
    typer.Option(
        exists=True, help="Seed article (or folder) whose size and words the payloads copy."
    ),
]
BenchTimeout = Annotated[
    float,
    typer.Option(
        min=1.0,
        help="Seconds a whole measurement may take before it is given up; a configured "
        "Kafka is first waited for 30 s (BENCH_KAFKA_WAIT_S), apart from this.",
    ),
]
#: How long a bench waits for a configured cluster before saying it is unreachable.
BENCH_KAFKA_WAIT_S = 30.0


def _bench_kafka(command: str, settings: Any) -> None:
    """A configured cluster must answer before minutes of work start (else one line,
    exit 3); the embedded broker is started by the bench itself."""
    if not settings.kafka.uses_embedded_broker:
        require_kafka(command, settings.kafka, BENCH_KAFKA_WAIT_S)


@bench_app.command("enrich")
def bench_enrich(
    articles: Annotated[
        int, typer.Option(min=10, help="Seed-sized articles to push through.")
    ] = 5000,
    seeds: BenchSeeds = Path("seeds"),
    timeout: BenchTimeout = 600.0,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            max=8,
            help="Also measure 1..N worker processes in one group, side by side (scale-out).",
        ),
    ] = 1,
) -> None:
    """Enricher throughput (a) vs the bare transport (b) and the stages alone (c)."""
    from newswire.cli.bench import print_bench, run_bench_enrich

    settings = _settings()
    _bench_kafka("bench enrich", settings)
    with command_failures("bench enrich", settings.kafka):
        result = run_bench_enrich(
            settings, articles=articles, seeds=seeds, timeout_s=timeout, workers=workers
        )
    print_bench(result, settings)


@bench_app.command("sink")
def bench_sink(
    records: Annotated[
        int, typer.Option(min=10, help="Enriched records to write with each writer.")
    ] = 5000,
    seeds: BenchSeeds = Path("seeds"),
    postgres: Annotated[
        str | None,
        typer.Option(
            help="PostgreSQL DSN to bench the postgres writer on (else SINK_POSTGRES_DSN)."
        ),
    ] = None,
    timeout: BenchTimeout = 600.0,
    rounds: Annotated[
        int,
        typer.Option(
            min=1,
            max=20,
            help="Pairs (a, b) per writer over the same records; the last line is the median.",
        ),
    ] = 3,
) -> None:
    """Each sink writer (a) vs a bare aiokafka loop writing as durably (b)."""
    from newswire.cli.bench_sink import print_bench_sink, run_bench_sink

    settings = _settings()
    configured = settings.sink.postgres_dsn
    dsn = postgres or (configured.get_secret_value() if configured is not None else None)
    if dsn is not None:
        _require_database("bench sink", dsn)
    _bench_kafka("bench sink", settings)
    with command_failures("bench sink", settings.kafka):
        result = run_bench_sink(
            settings,
            records=records,
            seeds=seeds,
            postgres_dsn=dsn,
            timeout_s=timeout,
            rounds=rounds,
        )
    print_bench_sink(result, settings)


def _require_database(command: str, dsn: str, timeout_s: float = 10.0) -> None:
    """The database must be there before the JSON Lines run: one line and exit 2 if the
    DSN is not one, or nothing answers at it."""
    import asyncpg

    from newswire.common.dsn import InvalidDsn, check_postgres_dsn

    try:
        check_postgres_dsn(dsn, source="--postgres")
    except InvalidDsn as exc:
        fail(command, str(exc), EXIT_USAGE)

    async def connect() -> None:
        connection = await asyncpg.connect(dsn, timeout=timeout_s)
        await connection.close()

    try:
        asyncio.run(connect())
    except Exception as exc:
        reason = f"{type(exc).__name__}: {exc}"[:200]
        fail(command, f"cannot use the database at --postgres: {reason}", EXIT_USAGE)


@bench_app.command("memory")
def bench_memory(
    articles: Annotated[
        int, typer.Option(min=100, help="Seed-sized articles to replay.")
    ] = 100_000,
    seeds: BenchSeeds = Path("seeds"),
    window_s: Annotated[
        float | None,
        typer.Option(
            "--window-s",
            min=10.0,
            help="Dedupe and sink index window for this run (default: as configured).",
        ),
    ] = None,
    timeout: BenchTimeout = 7200.0,
) -> None:
    """Peak RSS of the enricher and the sink at 10, 50 and 100 % of a replay; slope."""
    from newswire.cli.bench_memory import print_bench_memory, run_bench_memory

    settings = _settings()
    _bench_kafka("bench memory", settings)
    with command_failures("bench memory", settings.kafka):
        result = run_bench_memory(
            settings, articles=articles, seeds=seeds, window_s=window_s, timeout_s=timeout
        )
    print_bench_memory(result)
