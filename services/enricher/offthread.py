"""Stage work in a worker thread that never outlives the coroutine waiting for it.

``asyncio.to_thread`` cannot stop a thread: cancel the coroutine awaiting it and the
coroutine ends at once while the thread runs on, reading the dedupe table after the
agent has closed (and, at shutdown, after Faust has closed the table). Here a
cancelled caller tells the thread to stop (it checks between records) and waits for
it before the cancellation goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class Stopped(Exception):
    """The thread's work was asked to stop (its caller was cancelled)."""


async def run_to_end(work: Callable[[threading.Event], T]) -> T:
    """WORK(stop) in a worker thread; on cancellation, set STOP, wait for WORK to end,
    then let the cancellation go on. WORK should check STOP between items."""
    stop = threading.Event()
    running = asyncio.ensure_future(asyncio.to_thread(work, stop))
    try:
        return await asyncio.shield(running)
    except asyncio.CancelledError:
        stop.set()
        while not running.done():
            with contextlib.suppress(asyncio.CancelledError):  # a second cancel: still wait
                await asyncio.wait([running])
        if not running.cancelled():
            running.exception()  # retrieved: its Stopped says nothing new
        raise
