"""SIGTERM and SIGINT as a stop request: the sink's final checkpoint runs, then exit 0."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable


def install_stop_signals(stop: asyncio.Event) -> Callable[[], None]:
    """SIGTERM/SIGINT set ``stop``; returns the undo. Outside the main thread (or
    where the loop cannot take signals) this is a no-op."""
    loop = asyncio.get_running_loop()
    installed: list[signal.Signals] = []
    for signum in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(signum, stop.set)
        except (NotImplementedError, RuntimeError, ValueError):
            continue
        installed.append(signum)

    def undo() -> None:
        for signum in installed:
            loop.remove_signal_handler(signum)

    return undo
