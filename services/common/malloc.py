"""Hand the C allocator's free memory back to the system.

Measured inside the enricher over a replay with a short window (NOTES-mem.md): once
articles expire, the memory Python itself holds (``tracemalloc``: live blocks) is
flat, and so are the object counts, yet the resident size went on rising. glibc's
``malloc`` keeps what is freed in its heaps (one per thread that allocates, up to
8 x cores) for reuse and returns a page to the system only from the top of a heap:
the enricher frees expired articles, payloads and batch copies (most are over
pymalloc's 512-byte limit, so they come from ``malloc``) between long-lived ones,
and the resident size tracks the worst interleaving seen so far, not what is live.
``malloc_trim(0)`` releases the free pages inside each heap too (``madvise``), the
fix other long-running Python services use for the same curve.

A no-op where the C library is not glibc (musl, macOS): their allocators return
memory differently and have no such call.
"""

from __future__ import annotations

import asyncio
import ctypes
import functools
import logging
from collections.abc import Callable

log = logging.getLogger(__name__)

#: Bounds of the interval between trims: often enough to follow a short window, and
#: at most a few milliseconds of locked heaps every few seconds.
MIN_INTERVAL_S = 5.0
MAX_INTERVAL_S = 600.0


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim``, looked up once in the process's own C library."""
    try:
        function = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        log.debug("no malloc_trim in this C library: the allocator is not trimmed")
        return None
    function.argtypes = [ctypes.c_size_t]
    function.restype = ctypes.c_int
    return function


def can_trim() -> bool:
    return _malloc_trim() is not None


def trim() -> bool:
    """Give every free page of the allocator's heaps back to the system; True if any
    went. Takes the heaps' locks for a few milliseconds: call it between pieces of
    work (ctypes releases the GIL, so a worker thread may run it off the event loop),
    not per record."""
    function = _malloc_trim()
    return bool(function(0)) if function is not None else False


def interval_for(window_s: float) -> float:
    """Seconds between trims for state kept for WINDOW_S: a quarter of it (what expires
    in that time is what a trim can give back), within [5 s, 10 min]."""
    return min(MAX_INTERVAL_S, max(MIN_INTERVAL_S, window_s / 4))


async def trim_every(interval_s: float) -> None:
    """Trim every INTERVAL_S seconds until cancelled, in a worker thread so the event
    loop goes on meanwhile. Nothing to do without glibc: returns at once."""
    if not can_trim():
        return
    while True:
        await asyncio.sleep(interval_s)
        await asyncio.to_thread(trim)
