"""When to poll a source next: pure functions of what was seen, with an explicit clock.

- Adaptive interval: a week divided by the number of items that arrived in the last
  week (Miniflux's "entry frequency" rule), kept within the source's bounds. A source
  that publishes every ten minutes is polled every ten minutes; one that published
  nothing this week is polled at its longest interval.
- Never sooner than the source's own hints: RSS ``ttl``, ``sy:updatePeriod``,
  ``Cache-Control: max-age``, ``Expires``, ``Retry-After`` (each capped, so a feed
  cannot park itself for a year).
- Jitter only ever lengthens an interval (so hints still hold) and spreads sources
  that were added together.
- Failures back off exponentially from ``backoff_base_s`` up to ``backoff_cap_s``, never
  below the source's shortest interval nor below a ``Retry-After``. A failing source
  is never dropped: it is retried at the cap forever.
"""

from __future__ import annotations

import email.utils
import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

WEEK_S = 7 * 24 * 3600.0
_MAX_AGE = re.compile(r"(?:^|,)\s*(?:s-maxage|max-age)\s*=\s*\"?(\d+)", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Bounds:
    """A source's shortest and longest poll interval, seconds."""

    min_s: float
    max_s: float

    def clamp(self, seconds: float) -> float:
        return min(self.max_s, max(self.min_s, seconds))


def adaptive_interval(arrivals: Sequence[float], now: float, bounds: Bounds) -> float:
    """A week over the number of items that arrived in the last week, within bounds."""
    recent = sum(1 for t in arrivals if now - WEEK_S <= t <= now)
    if recent == 0:
        return bounds.max_s
    return bounds.clamp(WEEK_S / recent)


def http_cache_hint(headers: Mapping[str, str], now: float) -> float | None:
    """Seconds the response says it stays fresh: ``Cache-Control`` max-age, else ``Expires``."""
    control = headers.get("cache-control") or ""
    if "no-cache" in control.lower() or "no-store" in control.lower():
        return None
    match = _MAX_AGE.search(control)
    if match:
        return float(match.group(1))
    expires = headers.get("expires")
    if expires:
        try:
            when = email.utils.parsedate_to_datetime(expires)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            return None
        return max(0.0, when.timestamp() - now)
    return None


def hint_floor(hints: Sequence[float | None], cap_s: float) -> float:
    """The longest of the hints present, cut at ``cap_s``; 0 without any."""
    present = [h for h in hints if h is not None and h > 0]
    return min(max(present), cap_s) if present else 0.0


def jittered(seconds: float, ratio: float, rng: random.Random) -> float:
    """``seconds`` lengthened by up to ``ratio`` of itself: never sooner than asked."""
    return seconds * (1.0 + ratio * rng.random())


def next_interval(
    *,
    arrivals: Sequence[float],
    now: float,
    bounds: Bounds,
    hints: Sequence[float | None],
    hint_cap_s: float,
    jitter_ratio: float,
    rng: random.Random,
) -> float:
    """Seconds until the next poll after a successful (or not-modified) poll."""
    base = max(adaptive_interval(arrivals, now, bounds), hint_floor(hints, hint_cap_s))
    return jittered(base, jitter_ratio, rng)


def failure_delay(
    *,
    failures: int,
    bounds: Bounds,
    base_s: float,
    cap_s: float,
    retry_after_s: float | None,
    jitter_ratio: float,
    rng: random.Random,
) -> float:
    """Seconds until the retry after ``failures`` consecutive failures (>= 1)."""
    exponent = min(max(failures, 1) - 1, 32)
    delay = min(cap_s, max(bounds.min_s, base_s * 2.0**exponent))
    if retry_after_s is not None:
        delay = max(delay, retry_after_s)
    return jittered(delay, jitter_ratio, rng)
