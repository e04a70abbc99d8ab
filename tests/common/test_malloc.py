"""Trimming the C allocator gives freed memory back to the system (common/malloc.py)."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from newswire.common import malloc

glibc_only = pytest.mark.skipif(not malloc.can_trim(), reason="the C library is not glibc")

#: A fragmented heap, as the enricher leaves it: many ~2 KiB objects (over pymalloc's
#: 512-byte limit, so from malloc), one in 50 kept, the rest freed. The kept ones pin
#: the heap's top, so without a trim freed pages stay resident. Prints RSS (KiB) after
#: the frees and after the trim.
FRAGMENT = """
import sys
from newswire.common import malloc

def rss_kib():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4

blocks = [bytes(2000) + i.to_bytes(4, "little") for i in range(60_000)]
kept = blocks[::50]
del blocks
before = rss_kib()
malloc.trim()
print(before, rss_kib())
"""


@glibc_only
def test_a_trim_gives_a_fragmented_heaps_free_pages_back() -> None:
    out = subprocess.run(
        [sys.executable, "-c", FRAGMENT], capture_output=True, text=True, check=True
    ).stdout
    before, after = map(int, out.split())
    freed_kib = 60_000 * 49 // 50 * 2  # ~2 KiB each
    # most of the ~115 MiB freed is handed back (the kept blocks pin some pages)
    assert before - after > freed_kib // 2


@given(window_s=st.floats(min_value=0.001, max_value=1e9))
def test_the_interval_is_a_quarter_of_the_window_within_bounds(window_s: float) -> None:
    interval = malloc.interval_for(window_s)
    assert malloc.MIN_INTERVAL_S <= interval <= malloc.MAX_INTERVAL_S
    if malloc.MIN_INTERVAL_S <= window_s / 4 <= malloc.MAX_INTERVAL_S:
        assert interval == window_s / 4


async def test_trim_every_trims_until_cancelled(monkeypatch: pytest.MonkeyPatch) -> None:
    trimmed = asyncio.Event()
    calls: list[int] = []

    def counting_trim() -> bool:
        calls.append(1)
        if len(calls) == 3:
            trimmed.set()
        return True

    monkeypatch.setattr(malloc, "can_trim", lambda: True)
    monkeypatch.setattr(malloc, "trim", counting_trim)
    task = asyncio.create_task(malloc.trim_every(0.0))
    await trimmed.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert len(calls) >= 3


async def test_without_glibc_there_is_nothing_to_trim(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(malloc, "can_trim", lambda: False)
    await malloc.trim_every(0.0)  # returns at once instead of looping
    monkeypatch.setattr(malloc, "_malloc_trim", lambda: None)
    assert malloc.trim() is False
