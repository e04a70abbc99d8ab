"""``newswire postgres``: an embedded PostgreSQL in the foreground, for development
and for machines without Docker (Python and pip only): the sink's SINK_POSTGRES_DSN
without installing a server."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import typer

from newswire.cli.exits import EXIT_USAGE, fail
from newswire.common.embedded_postgres import (
    EmbeddedPostgres,
    PostgresDataDirUnusable,
    PostgresNotInstalled,
    PostgresUnavailable,
)
from newswire.common.signals import stop_on_signals_blocking

DEFAULT_PORT = 15432
#: How often the foreground command checks that the server is still up.
WATCH_INTERVAL_S = 2.0


def run_postgres_foreground(port: int, data_dir: Path | None) -> None:
    """Start the server, wait for Ctrl-C or SIGTERM, stop it. The handlers go in before
    the server starts, so a signal during start still ends in a clean stop."""
    with stop_on_signals_blocking() as stop:
        _serve_until(port, data_dir, stop)


def _port_taken(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def _serve_until(port: int, data_dir: Path | None, stop: threading.Event) -> None:
    if _port_taken(port):
        fail("postgres", f"port {port} is already in use; pick another with --port", EXIT_USAGE)
    try:
        server = EmbeddedPostgres(data_dir=data_dir, port=port)
    except (PostgresNotInstalled, PostgresDataDirUnusable) as exc:
        fail("postgres", str(exc), EXIT_USAGE)
    except PostgresUnavailable as exc:
        fail("postgres", _first_line(exc), 1)
    try:
        try:
            server.start()
        except PostgresUnavailable as exc:
            fail("postgres", f"{_first_line(exc)}; server log: {server.log_tail(1)}", 1)
        kept = f"data in {server.data_dir}" if data_dir else "throw-away data, gone when it stops"
        typer.echo(f"embedded PostgreSQL listening on 127.0.0.1:{port} ({kept}; Ctrl-C stops it)")
        typer.echo(f"SINK_POSTGRES_DSN={server.admin_dsn}")
        while not stop.wait(WATCH_INTERVAL_S):
            if not server.is_running():
                fail("postgres", f"the server stopped by itself: {server.log_tail(1)}", 1)
    finally:
        server.remove()


def _first_line(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
