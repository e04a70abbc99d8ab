"""What the sink says at INFO: one line at start, then a status line every interval.

::

    sink starting: bootstrap 127.0.0.1:19092 (embedded); news.enriched as group newswire-sink; ...
    sink: 1,180 in (39.5/s), 1,170 written (jsonl 1,170), 10 skipped, 0 dead letters, lag 5

The counts are the ones ``/metrics`` exports (:class:`~newswire.sink.metrics.SinkMetrics`);
the lag is what the sink's monitor last measured (end offset minus committed offset,
summed over the partitions the sink holds).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping

from newswire.common.errors import NewswireError
from newswire.common.settings import Settings
from newswire.sink.metrics import Readiness, SinkCounts, SinkMetrics
from newswire.sink.writers import registry
from newswire.sink.writers.factory import WriterOptions

log = logging.getLogger(__name__)


def start_line(
    settings: Settings, *, writers: list[str], http_port: int | None, interval_s: float
) -> str:
    """The settings that matter, in one line (no password: a DSN shows host and database)."""
    kafka, sink = settings.kafka, settings.sink
    described = [_describe_writer(name, settings) for name in writers]
    http = f"http {sink.http_host}:{http_port}" if http_port is not None else "no http"
    return (
        f"sink starting: bootstrap {kafka.bootstrap} ({kafka.effective_profile.value}); "
        f"{settings.topics.enriched} as group {sink.group_id}, "
        f"dead letters to {settings.topics.dlq}; writers {', '.join(described) or 'none'}; "
        f"flush at {sink.batch_max_records:,} records, {_size(sink.batch_max_bytes)} "
        f"or {sink.batch_max_age_s:g}s; {http}; status every {interval_s:g}s"
    )


def _describe_writer(name: str, settings: Settings) -> str:
    """Where writer NAME writes, as its module says (no credentials)."""
    try:
        return registry.describe(name, WriterOptions.from_settings(settings))
    except NewswireError:  # configured inconsistently: the name is all we can say
        return name


def _size(n: int) -> str:
    for unit, scale in (("MiB", 1024 * 1024), ("KiB", 1024)):
        if n >= scale and n % scale == 0:
            return f"{n // scale:,} {unit}"
    return f"{n:,} bytes"


def _per_writer(counts: Mapping[str, int], verb: str) -> str:
    """``1,170 written to jsonl, 1,168 to postgres`` (``0 written`` before any flush)."""
    if not counts:
        return f"0 {verb.split()[0]}"
    first, *rest = sorted(counts.items())
    return ", ".join([f"{first[1]:,} {verb} {first[0]}", *(f"{n:,} to {w}" for w, n in rest)])


def _breakdown(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{name} {n:,}" for name, n in sorted(counts.items()))


class SinkStatus:
    """Turns successive readings of the sink's counters into status lines with a rate."""

    def __init__(
        self,
        metrics: SinkMetrics,
        readiness: Readiness | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._metrics = metrics
        self._readiness = readiness
        self._clock = clock
        self._last_consumed = 0
        self._last_at = clock()

    def line(self) -> tuple[str, SinkCounts]:
        counts = self._metrics.counts()
        now = self._clock()
        rate = (counts.consumed - self._last_consumed) / max(now - self._last_at, 1e-9)
        self._last_consumed, self._last_at = counts.consumed, now
        parts = [
            f"{counts.consumed:,} in ({rate:,.1f}/s)",
            _per_writer(counts.written, "written to"),
        ]
        if sum(counts.skipped.values()):
            parts.append(_per_writer(counts.skipped, "skipped by"))
        dead = sum(counts.dead_letters.values())
        kinds = f" ({_breakdown(counts.dead_letters)})" if dead else ""
        parts.append(f"{dead:,} dead letters{kinds}")
        if counts.retries:
            parts.append(f"{counts.retries:,} retries")
        if counts.flushes.get("error"):
            parts.append(f"{counts.flushes['error']:,} failed flushes")
        if counts.commits.get("error"):
            parts.append(f"{counts.commits['error']:,} failed commits")
        state = self._readiness.status() if self._readiness is not None else None
        if state is not None and not state.assigned:
            parts.append("no partitions assigned")
        else:  # the monitor measures lag every few seconds: none yet right after assignment
            parts.append(f"lag {sum(counts.lag.values()):,}" if counts.lag else "lag ?")
        if state is not None and state.assigned and not state.ready:
            down = [
                f"{name}: {info.get('reason', 'down')}"
                for name, info in sorted(state.writers.items())
                if not info["ok"]
            ]
            parts.append(f"not ready ({'; '.join(down)})")
        return "sink: " + ", ".join(parts), counts

    def log(self) -> None:
        line, counts = self.line()
        log.info(line, extra={"counts": counts.as_dict()})

    async def run(self, interval_s: float) -> None:
        """A status line every INTERVAL_S until cancelled."""
        while True:
            await asyncio.sleep(interval_s)
            self.log()


def start_status(
    settings: Settings,
    metrics: SinkMetrics,
    readiness: Readiness | None = None,
    *,
    writers: list[str],
    http_port: int | None,
    interval_s: float | None = None,
) -> asyncio.Task[None]:
    """Log the start line, and start the status task (``NEWSWIRE_STATUS_INTERVAL_S``,
    default 30 s); the caller cancels the task when the sink stops."""
    every = interval_s if interval_s is not None else settings.status_interval_s
    log.info(start_line(settings, writers=writers, http_port=http_port, interval_s=every))
    return asyncio.create_task(SinkStatus(metrics, readiness).run(every), name="sink-status")
