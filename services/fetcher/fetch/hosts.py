"""Per-host politeness: at most N requests in flight and a minimum gap between starts
(the configured spacing, or the host's robots.txt ``Crawl-delay`` when longer).

Implemented with asyncio primitives rather than a library because the rules are
small and must interact with the schedule: a 429 or a 503 with ``Retry-After`` slows
the whole host down (``slow_down``), not only the source that saw it, since several
sources often share one site.

A request that would wait out more of such a pause than ``max_pause_wait_s``
(``FETCHER_HOST_PAUSE_MAX_WAIT_S``) is not queued behind it: it fails at once as ``rate_limited``,
``host paused (429, Retry-After 120 s; ...)``, with the pause left as its
``retry_after_s``, so the poll is tried again after the pause (as FreshRSS's domain-wide
Retry-After cooldown skips a domain's feeds). Waiting instead held a fetch slot for
minutes and, before the deadline excluded the wait, ended healthy sources as the
server's ``timeout``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from newswire.fetcher.clock import Clock
from newswire.fetcher.errors import FetchError, FetchErrorKind


@dataclass
class _HostGate:
    semaphore: asyncio.Semaphore
    next_start: float = 0.0  # monotonic time before which no new request may start
    requests: int = field(default=0)
    spacing: float | None = None  # the host's own (robots.txt Crawl-delay), if longer
    paused_until: float = 0.0  # monotonic end of the last slow_down (429, 503 Retry-After)
    pause_reason: str = ""  # what paused it, for the sources that are not asked meanwhile


class HostLimiter:
    """Hands out request slots per host; one instance per fetcher (no global state)."""

    def __init__(
        self,
        *,
        concurrency: int,
        spacing_s: float,
        clock: Clock,
        max_pause_wait_s: float | None = None,
    ) -> None:
        self._concurrency = concurrency
        self._spacing = spacing_s
        self._clock = clock
        self._max_pause_wait = max_pause_wait_s
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
            self._refuse_a_long_pause(host, gate)
            # Reserve a start time before awaiting, so concurrent waiters get distinct turns.
            now = self._clock.monotonic()
            start = max(now, gate.next_start)
            gate.next_start = start + max(self._spacing, gate.spacing or 0.0)
            if start > now:
                await self._clock.sleep(start - now)
            if gate.paused_until > self._clock.monotonic():  # paused while waiting a turn
                self._refuse_a_long_pause(host, gate)
                await self._clock.sleep(max(0.0, gate.paused_until - self._clock.monotonic()))
            gate.requests += 1
            yield

    def _refuse_a_long_pause(self, host: str, gate: _HostGate) -> None:
        """Raise ``rate_limited`` (host paused) if HOST is paused for longer than a
        request is worth waiting (``max_pause_wait_s``)."""
        left = gate.paused_until - self._clock.monotonic()
        if self._max_pause_wait is None or left <= self._max_pause_wait:
            return
        raise FetchError(
            FetchErrorKind.RATE_LIMITED,
            f"host paused ({gate.pause_reason or 'rate limited'}; {left:.0f} s left): "
            f"{host} not asked, polled again after the pause",
            retry_after_s=left,
        )

    def slow_down(self, host: str, seconds: float, reason: str = "") -> None:
        """No new request to ``host`` for ``seconds`` (Retry-After, rate limiting);
        ``reason`` (``429, Retry-After 120 s``) is what the sources not asked meanwhile
        are told."""
        gate = self._gate(host.lower())
        until = self._clock.monotonic() + seconds
        gate.next_start = max(gate.next_start, until)
        if until >= gate.paused_until:
            gate.paused_until, gate.pause_reason = until, reason

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
