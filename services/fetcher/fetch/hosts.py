"""Per-host politeness: at most N requests in flight and a minimum gap between starts
(the configured spacing, or the host's robots.txt ``Crawl-delay`` when longer).

Implemented with asyncio primitives rather than a library because the rules are
small and must interact with the schedule: a 429 or a 503 with ``Retry-After`` slows
the whole host down (``slow_down``), not only the source that saw it, since several
sources often share one site.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from newswire.fetcher.clock import Clock


@dataclass
class _HostGate:
    semaphore: asyncio.Semaphore
    next_start: float = 0.0  # monotonic time before which no new request may start
    requests: int = field(default=0)
    spacing: float | None = None  # the host's own (robots.txt Crawl-delay), if longer


class HostLimiter:
    """Hands out request slots per host; one instance per fetcher (no global state)."""

    def __init__(self, *, concurrency: int, spacing_s: float, clock: Clock) -> None:
        self._concurrency = concurrency
        self._spacing = spacing_s
        self._clock = clock
        self._gates: dict[str, _HostGate] = {}

    def _gate(self, host: str) -> _HostGate:
        gate = self._gates.get(host)
        if gate is None:
            gate = self._gates[host] = _HostGate(asyncio.Semaphore(self._concurrency))
        return gate

    @contextlib.asynccontextmanager
    async def slot(self, host: str, *, spaced: bool = True) -> AsyncIterator[None]:
        """Wait for a free slot for ``host`` and for its turn; the slot is held inside.

        An unspaced request (robots.txt: one small request per host and TTL) holds a
        concurrency slot but neither waits for the spacing nor pushes the next start
        back: spaced, a cold host's first poll would wait a whole spacing behind its
        own robots.txt."""
        gate = self._gate(host.lower())
        async with gate.semaphore:
            if not spaced:
                gate.requests += 1
                yield
                return
            # Reserve a start time before awaiting, so concurrent waiters get distinct turns.
            now = self._clock.monotonic()
            start = max(now, gate.next_start)
            gate.next_start = start + max(self._spacing, gate.spacing or 0.0)
            gate.requests += 1
            if start > now:
                await self._clock.sleep(start - now)
            yield

    def slow_down(self, host: str, seconds: float) -> None:
        """No new request to ``host`` for ``seconds`` (Retry-After, rate limiting)."""
        gate = self._gate(host.lower())
        gate.next_start = max(gate.next_start, self._clock.monotonic() + seconds)

    def set_spacing(self, host: str, seconds: float | None) -> None:
        """The host's own minimum gap between request starts (robots.txt ``Crawl-delay``);
        the configured spacing still holds when it is longer. ``None`` forgets it."""
        self._gate(host.lower()).spacing = seconds

    def spacing_of(self, host: str) -> float:
        gate = self._gates.get(host.lower())
        return max(self._spacing, (gate.spacing or 0.0) if gate else 0.0)

    def requests_to(self, host: str) -> int:
        gate = self._gates.get(host.lower())
        return gate.requests if gate else 0
