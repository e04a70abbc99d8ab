"""Stopping on SIGINT/SIGTERM, said once.

A service stops the same way whether an operator presses Ctrl-C (SIGINT) or an
orchestrator stops the container (SIGTERM): the signal only *asks* to stop, by
setting an event the service's main loop waits on, so it can finish the record in
hand, commit and close cleanly instead of dying mid-write.

The handlers are installed for the ``with`` block only and the previous ones put
back after it, so a test, or a command run inside another program, leaves the
process's signal handling as it found it. Where signals cannot be handled (not the
main thread, a loop without signal support) the helpers install nothing and the
event is only set by whoever else holds it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import threading
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import Any

log = logging.getLogger(__name__)

#: The signals that ask a service to stop.
STOP_SIGNALS: tuple[signal.Signals, ...] = (signal.SIGINT, signal.SIGTERM)

_Handler = Callable[[int, Any], Any] | int | None


@contextlib.asynccontextmanager
async def stop_on_signals(
    signals: Sequence[signal.Signals] = STOP_SIGNALS, *, stop: asyncio.Event | None = None
) -> AsyncIterator[asyncio.Event]:
    """An :class:`asyncio.Event` set when one of ``signals`` arrives, for the block.

    Uses the running loop's own signal handling (the handler runs in the loop, so it
    may set an asyncio event safely); ``stop`` is the event to set, a new one if None.
    """
    stop = stop if stop is not None else asyncio.Event()
    loop = asyncio.get_running_loop()
    previous: dict[signal.Signals, _Handler] = {}
    for signum in signals:
        before = signal.getsignal(signum)
        try:
            loop.add_signal_handler(signum, _note_and_set, signum, stop.set)
        except (NotImplementedError, RuntimeError, ValueError):
            continue
        previous[signum] = before
    try:
        yield stop
    finally:
        for signum, before in previous.items():
            loop.remove_signal_handler(signum)
            _restore(signum, before)


@contextlib.contextmanager
def stop_on_signals_blocking(
    signals: Sequence[signal.Signals] = STOP_SIGNALS,
) -> Iterator[threading.Event]:
    """A :class:`threading.Event` set when one of ``signals`` arrives, for the block:
    the variant for a synchronous command with no event loop (it waits on the event)."""
    stop = threading.Event()
    previous: dict[signal.Signals, _Handler] = {}

    def handler(signum: int, _frame: Any) -> None:
        _note_and_set(signal.Signals(signum), stop.set)

    for signum in signals:
        try:
            previous[signum] = signal.signal(signum, handler)
        except ValueError:  # not the main thread
            continue
    try:
        yield stop
    finally:
        for signum, before in previous.items():
            _restore(signum, before)


def _note_and_set(signum: signal.Signals, set_stop: Callable[[], None]) -> None:
    """Log which signal asked to stop (an operator reading the log wants to know), then
    ask."""
    log.info("%s received: stopping", signum.name)
    set_stop()


def _restore(signum: signal.Signals, before: _Handler) -> None:
    """Put back the handler found before the block; one installed outside Python
    (``getsignal`` gives None) cannot be put back, so the default is."""
    signal.signal(signum, before if before is not None else signal.SIG_DFL)
