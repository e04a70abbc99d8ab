"""The fetcher's commands: ``fetch``, ``sources check|discover`` and ``bench fetch``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from newswire.cli.settings import cli_settings as _settings

sources_app = typer.Typer(help="Check and discover fetcher sources.", no_args_is_help=True)


def fetch(
    sources: Annotated[Path, typer.Option("--sources", help="Sources file (YAML).")],
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
            "--allow-network", help="CIDR opened despite the private-address guard; repeatable."
        ),
    ] = None,
) -> None:
    """Poll the sources into news.raw (or, with --once --output -, to stdout)."""
    from newswire.fetcher.commands import fetch as run

    raise typer.Exit(
        run(_settings("fetcher"), sources, once=once, output=output, allow_network=allow_network or ())
    )


@sources_app.command("check")
def sources_check(path: Annotated[Path, typer.Argument(help="Sources file to validate.")]) -> None:
    """Validate a sources file; print every problem with its line and source."""
    from newswire.fetcher.commands import sources_check as check

    raise typer.Exit(check(path))


@sources_app.command("discover")
def sources_discover(
    url: Annotated[str, typer.Argument(help="A site's home page.")],
    allow_network: Annotated[
        list[str] | None, typer.Option("--allow-network", help="CIDR opened; repeatable.")
    ] = None,
) -> None:
    """Look at a site and propose a sources entry (feeds, WP REST API, sitemaps)."""
    from newswire.fetcher.discover import discover_command

    raise typer.Exit(discover_command(_settings(), url, allow_network=allow_network or ()))


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
) -> None:
    """Fetcher vs a bare httpx+feedparser loop on a local server; last line ratio=R."""
    from newswire.fetcher.bench import bench_command

    raise typer.Exit(bench_command(sources=sources, hosts=hosts, concurrency=concurrency))
