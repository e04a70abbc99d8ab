"""``newswire broker``: the embedded broker in the foreground, for development."""

from __future__ import annotations

import signal
import threading

import typer

from newswire.common.broker import EmbeddedBroker
from newswire.common.errors import BrokerError


def run_broker_foreground(port: int) -> None:
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    try:
        broker = EmbeddedBroker(port=port).start()
    except BrokerError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
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
