"""The fetcher's commands: ``fetch``, ``sources check|discover`` and ``bench fetch``."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from newswire.cli.exits import (
    DEFAULT_KAFKA_TIMEOUT_S,
    EXIT_USAGE,
    KafkaTimeout,
    command_failures,
    fail,
    networks,
    require_free_port,
    require_kafka,
)
from newswire.cli.settings import cli_settings as _settings

if TYPE_CHECKING:
    from newswire.common.settings import Settings

#: The pointer that ends the command's usage errors, as click's own do.
_HELP = "(see newswire fetch --help)"

sources_app = typer.Typer(
    help="Author the sources: check and discover them, apply them to news.sources, list them.",
    no_args_is_help=True,
)


def fetch(
    sources: Annotated[
        Path | None,
        typer.Option(
            "--sources",
            help="Sources file (YAML). Without it, join the fetcher group on the sources "
            "topic (FETCHER_SOURCES_TOPIC) and poll the partitions assigned.",
        ),
    ] = None,
    once: Annotated[
        bool, typer.Option("--once", help="Poll every source once, then exit.")
    ] = False,
    output: Annotated[
        str | None,
        typer.Option(
            "--output", help="'-': JSON Lines to stdout instead of Kafka (implies --once)."
        ),
    ] = None,
    allow_network: Annotated[
        list[str] | None,
        typer.Option(
            "--allow-network",
            callback=networks,
            help="CIDR opened despite the private-address guard; repeatable.",
        ),
    ] = None,
    kafka_timeout: KafkaTimeout = DEFAULT_KAFKA_TIMEOUT_S,
) -> None:
    """Poll the sources into news.raw (or, with --once --output -, to stdout).

    Exit status: 0 ok; 1 a source failed, a feed was cut short and read only in part,
    or an item was dead-lettered as too large for Kafka (over KAFKA_MAX_MESSAGE_BYTES;
    with --output -, an item Kafka mode would dead-letter: it is printed all the same)
    (--once, whose last line says which); 2 the sources file is unusable (every
    problem is printed as ``newswire sources check`` prints it) or a bad option; 3 Kafka
    did not answer (not with --output -, which needs no Kafka).
    """
    from newswire.fetcher.commands import fetch as run

    if output is not None and output != "-":
        fail("fetch", f"--output takes only '-', standard output {_HELP}", EXIT_USAGE)
    if sources is None:
        if once or output is not None:
            fail(
                "fetch",
                "--once and --output need --sources FILE (a replica of the group polls "
                f"until stopped) {_HELP}",
                EXIT_USAGE,
            )
        settings = _settings("fetcher")
        _web_port_free(settings)
        require_kafka("fetch", settings.kafka, kafka_timeout)
        with command_failures("fetch", settings.kafka):
            code = run(settings, None, allow_network=allow_network or ())
        raise typer.Exit(code)
    _usable_or_exit("fetch", sources, "not polling")
    settings = _settings("fetcher")
    if output is None:  # to Kafka: say so in one line if it is not there
        if not once:
            _web_port_free(settings)
        require_kafka("fetch", settings.kafka, kafka_timeout)
    with command_failures("fetch", settings.kafka):
        code = run(settings, sources, once=once, output=output, allow_network=allow_network or ())
    raise typer.Exit(code)


def _web_port_free(settings: Settings) -> None:
    """A polling fetcher serves /healthz on FETCHER_WEB_PORT (0: off)."""
    group = settings.fetcher
    require_free_port("fetch", group.web_host, group.web_port, name="fetcher")


def _on_kafka(
    command: str, kafka_timeout: float, work: Callable[[Settings], Coroutine[Any, Any, int]]
) -> NoReturn:
    """Run WORK with the fetcher's settings once Kafka answers; exit with its status
    (3, in one line, if Kafka does not answer before or during it)."""
    import asyncio

    settings = _settings("fetcher")
    require_kafka(command, settings.kafka, kafka_timeout)
    with command_failures(command, settings.kafka):
        code = asyncio.run(work(settings))
    raise typer.Exit(code)


def _usable_or_exit(command: str, path: Path, refusal: str) -> None:
    """Every problem of the sources file at PATH on stderr and exit 2, unless usable.
    The one-line refusals start ``newswire COMMAND:`` like the command's other errors;
    the problems are ``sources check``'s own lines (file:line: ...), so an editor jumps."""
    from newswire.fetcher.sources import SourcesFileUnreadable, sources_file_problems

    try:
        problems, _ = sources_file_problems(path)
    except SourcesFileUnreadable as error:
        fail(command, error.render(), EXIT_USAGE)
    if problems:
        for problem in problems:
            typer.echo(problem.render(str(path)), err=True)
        fail(command, f"{path}: {refusal}: fix the problems above first", EXIT_USAGE)


@sources_app.command("check")
def sources_check(path: Annotated[Path, typer.Argument(help="Sources file to validate.")]) -> None:
    """Validate a sources file; print every problem with its line and source.

    Exit status: 0 valid; 2 not usable, as fetch and sources apply refuse it: problems
    (all of them are printed), unreadable, not UTF-8 or not YAML.
    """
    from newswire.fetcher.sources import check_report

    raise typer.Exit(check_report(path))


@sources_app.command("apply")
def sources_apply(
    path: Annotated[Path, typer.Argument(help="Sources file to publish.")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the difference, publish nothing.")
    ] = False,
    remove_all: Annotated[
        bool,
        typer.Option(
            "--remove-all", help="Allow a file with no source to remove every published one."
        ),
    ] = False,
    kafka_timeout: KafkaTimeout = DEFAULT_KAFKA_TIMEOUT_S,
) -> None:
    """Publish a sources file to the sources topic: records for added and changed
    sources, tombstones for removed ones; prints the difference (+ added, ~ changed,
    - removed) first.

    Exit status: 0 applied (or nothing to change, or --dry-run); 2 the file is unusable
    (every problem is printed), a bad option, or a file with no source that would remove
    every published one (unless --remove-all); 3 Kafka did not answer.
    """
    from newswire.fetcher.catalog import apply_file

    _usable_or_exit(
        "sources apply", path, "not applied"
    )  # a bad file is said before Kafka is asked
    _on_kafka(
        "sources apply",
        kafka_timeout,
        lambda s: apply_file(s, path, dry_run=dry_run, remove_all=remove_all),
    )


@sources_app.command("list")
def sources_list(kafka_timeout: KafkaTimeout = DEFAULT_KAFKA_TIMEOUT_S) -> None:
    """Every source on the sources topic: id, kind, partition, URL.

    Exit status: 0 listed; 1 a record on the topic is invalid (listed with its problem);
    3 Kafka did not answer.
    """
    from newswire.fetcher.catalog import list_sources

    _on_kafka("sources list", kafka_timeout, list_sources)


@sources_app.command("move-state")
def sources_move_state(kafka_timeout: KafkaTimeout = DEFAULT_KAFKA_TIMEOUT_S) -> None:
    """Upgrade step, with the fetchers stopped: copy each source's polling state to its
    host's partition of the state topic, where a fleet replica looks for it.

    Exit status: 0 done; 3 Kafka did not answer.
    """
    from newswire.fetcher.catalog import move_states

    _on_kafka("sources move-state", kafka_timeout, move_states)


@sources_app.command("discover")
def sources_discover(
    url: Annotated[str, typer.Argument(help="A site's home page, or a feed or sitemap URL.")],
    allow_network: Annotated[
        list[str] | None, typer.Option("--allow-network", help="CIDR opened; repeatable.")
    ] = None,
    sources: Annotated[
        Path | None,
        typer.Option("--sources", help="Sources file whose ids the proposal must not reuse."),
    ] = None,
) -> None:
    """Look at a site and propose a sources entry (feeds, WP REST API, sitemaps).

    Exit status: 0 a proposal (YAML on stdout); 1 nothing usable, and why (refused by
    the network guard, connection refused, DNS, timeout, HTTP status, or no feed found);
    2 not an http(s) URL or a bad option.
    """
    from newswire.fetcher.discover import discover_command

    raise typer.Exit(
        discover_command(_settings(), url, allow_network=allow_network or (), sources=sources)
    )


def bench_fetch(
    sources: Annotated[
        int, typer.Option("--sources", min=1, help="Number of sources served.")
    ] = 1000,
    hosts: Annotated[
        int,
        typer.Option(
            "--hosts",
            min=0,
            help="Loopback addresses (127.1.x.y) to spread them over; 0 = one per source.",
        ),
    ] = 0,
    concurrency: Annotated[
        int, typer.Option("--concurrency", min=1, help="Sources polled at once.")
    ] = 64,
    replicas: Annotated[
        int,
        typer.Option(
            "--replicas",
            min=0,
            help="Fleet bench: 1..N fetcher processes in one group on an embedded broker "
            "(polls/s each, then the rebalance after a SIGKILL); 0 = the single-process bench.",
        ),
    ] = 0,
    per_host: Annotated[
        int, typer.Option("--per-host", min=1, help="Fleet bench: requests in flight per host.")
    ] = 2,
    rounds: Annotated[
        int,
        typer.Option(
            "--rounds",
            min=1,
            help="Warm pairs (fetcher, bare loop) measured; the last line is their median.",
        ),
    ] = 3,
) -> None:
    """Fetcher vs a bare httpx+feedparser loop on a local server; last line ratio=R.
    With --replicas N: fetcher replicas in one group (throughput for 1..N replicas, and
    the time for a rebalance to resume polling after one replica is SIGKILLed)."""
    if replicas:
        from newswire.fetcher.fleetbench import fleet_bench_command

        raise typer.Exit(
            fleet_bench_command(
                sources=sources, hosts=hosts or 50, replicas=replicas, per_host=per_host
            )
        )
    from newswire.fetcher.bench import bench_command

    raise typer.Exit(
        bench_command(sources=sources, hosts=hosts, concurrency=concurrency, rounds=rounds)
    )
