"""Rate limiting for replay: at most N records per second, spread evenly.

Replay exists to drive the pipeline at a known load, so records are spaced on a
schedule (one slot every ``1/rate`` seconds) instead of being sent in per-second
bursts. Idle time earns no credit: after a stall (e.g. waiting for deliveries) the
schedule restarts from "now" rather than catching up in a burst.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

#: Delays shorter than this are not slept: the event loop cannot sleep that precisely,
#: so tiny sleeps would only make the real rate fall short of the requested one.
MIN_SLEEP_S = 0.001


class Pacer:
    """``await pacer.wait()`` before each record; returns when its slot has come."""

    def __init__(
        self,
        rate: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        if not rate > 0:
            raise ValueError(f"rate must be a positive number of records per second, got {rate!r}")
        self._interval = 1.0 / rate
        self._clock = clock
        self._sleep = sleep
        self._next_slot: float | None = None

    async def wait(self) -> None:
        now = self._clock()
        if self._next_slot is None or self._next_slot < now:
            self._next_slot = now  # no credit for idle time, so no catch-up burst
        delay = self._next_slot - now
        self._next_slot += self._interval
        if delay >= MIN_SLEEP_S:
            await self._sleep(delay)
