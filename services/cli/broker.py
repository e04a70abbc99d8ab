"""``newswire broker``: the embedded broker in the foreground, for development."""

from __future__ import annotations

import threading

import typer

from newswire.cli.exits import EXIT_USAGE, fail
from newswire.common.broker import EmbeddedBroker
from newswire.common.errors import BrokerError, BrokerPortInUse
from newswire.common.signals import stop_on_signals_blocking


def run_broker_foreground(port: int) -> None:
    """Start the broker, wait for Ctrl-C or SIGTERM, stop it. The handlers go in before
    the broker starts, so a signal during start still ends in ``broker.stop()``."""
    with stop_on_signals_blocking() as stop:
        _serve_until(port, stop)


def _serve_until(port: int, stop: threading.Event) -> None:
    try:
        broker = EmbeddedBroker(port=port).start()
    except BrokerPortInUse as exc:
        fail("broker", str(exc), EXIT_USAGE)
    except BrokerError as exc:  # the broker itself failed: see its log
        fail("broker", str(exc), 1)
    typer.echo(f"embedded broker listening on {broker.bootstrap} (memory storage; Ctrl-C stops it)")
    if port != 19092:
        typer.echo(
            "point other commands at it: "
            f"export KAFKA_BOOTSTRAP_SERVERS={broker.bootstrap} KAFKA_PROFILE=embedded"
        )
    try:
        stop.wait()
    finally:
        broker.stop()
