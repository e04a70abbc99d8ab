"""What the sink tells operators: Prometheus metrics, readiness, and the HTTP server.

The metrics live in a registry of the sink's own (not prometheus_client's global
one), so two sinks in one process (tests, embedding) do not collide and ``/metrics``
shows only the sink.

``/healthz`` answers while the process (its event loop) is alive. ``/readyz`` is
200 only when the consumer holds partitions and every writer is reachable: its last
flush did not fail (or, before any flush, its probe answered). A sink whose
database is down is alive but not ready, which is what an orchestrator should see:
do not restart it (it retries and keeps its batch), do route alerts.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiokafka import TopicPartition
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from newswire.common.health import HealthServer
from newswire.common.settings import Settings

log = logging.getLogger(__name__)

DEFAULT_HTTP_PORT = 6068
#: Flushes take milliseconds (a file, one upsert) to tens of seconds (a slow disk or
#: database under load).
FLUSH_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class SinkMetrics:
    """The sink's Prometheus metrics, in their own registry."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.consumed = Counter(
            "newswire_sink_consumed",
            "Messages consumed (written, skipped or dead-lettered).",
            registry=r,
        )
        self.records_written = Counter(
            "newswire_sink_records_written",
            "Records made durable, per writer.",
            ["writer"],
            registry=r,
        )
        self.records_skipped = Counter(
            "newswire_sink_records_skipped",
            "Records a writer already had (redeliveries) or that a later version superseded.",
            ["writer"],
            registry=r,
        )
        self.flush_seconds = Histogram(
            "newswire_sink_flush_seconds",
            "Duration of one flush attempt, per writer and outcome (ok, error).",
            ["writer", "outcome"],
            buckets=FLUSH_BUCKETS,
            registry=r,
        )
        self.retries = Counter(
            "newswire_sink_retries",
            "Failed attempts retried with backoff, per operation (add, flush, dead_letter).",
            ["operation"],
            registry=r,
        )
        self.records_rejected = Counter(
            "newswire_sink_records_rejected",
            "Records a writer refused for good (dead-lettered as rejected), per writer.",
            ["writer"],
            registry=r,
        )
        self.dead_letters = Counter(
            "newswire_sink_dead_letters", "Dead letters sent, per kind.", ["kind"], registry=r
        )
        self.commits = Counter(
            "newswire_sink_commits",
            "Offset commits, per outcome (ok, error).",
            ["outcome"],
            registry=r,
        )
        self.consumer_lag = Gauge(
            "newswire_sink_consumer_lag",
            "End offset minus committed offset, per assigned partition.",
            ["topic", "partition"],
            registry=r,
        )
        self.writer_up = Gauge(
            "newswire_sink_writer_up",
            "1 when the writer's last flush (or probe) worked, else 0.",
            ["writer"],
            registry=r,
        )
        self.ready = Gauge("newswire_sink_ready", "1 when /readyz answers 200.", registry=r)
        #: The last offsets committed, per partition, and an event set at every
        #: commit: so an in-process observer (the sink bench, a test) sees a commit
        #: the moment it happens, without asking the broker over and over.
        self.committed: dict[TopicPartition, int] = {}
        self.commit_seen = asyncio.Event()

    def committed_offsets(self, offsets: Mapping[TopicPartition, int]) -> None:
        """Count a successful commit of ``offsets`` and tell whoever waits on it."""
        self.commits.labels("ok").inc()
        self.committed.update(offsets)
        self.commit_seen.set()

    def set_lag(self, lags: Mapping[TopicPartition, int]) -> None:
        """Replace the lag series with these partitions' (others were revoked)."""
        self.consumer_lag.clear()
        for tp, lag in lags.items():
            self.consumer_lag.labels(tp.topic, str(tp.partition)).set(lag)

    def counts(self) -> SinkCounts:
        """A reading of every counter, summed the way the status line shows them."""
        return SinkCounts(
            consumed=int(_total(self.consumed)),
            written=_by_label(self.records_written, "writer"),
            skipped=_by_label(self.records_skipped, "writer"),
            dead_letters=_by_label(self.dead_letters, "kind"),
            flushes=_by_label(self.flush_seconds, "outcome", suffix="_count"),
            retries=int(_total(self.retries)),
            commits=_by_label(self.commits, "outcome"),
            lag=_by_label(self.consumer_lag, "partition", suffix=""),
        )


@dataclass(frozen=True)
class SinkCounts:
    """What :meth:`SinkMetrics.counts` read: totals, and per-label breakdowns."""

    consumed: int
    written: dict[str, int]  # per writer
    skipped: dict[str, int]  # per writer
    dead_letters: dict[str, int]  # per kind
    flushes: dict[str, int]  # flush attempts per outcome (ok, error), all writers
    retries: int
    commits: dict[str, int]  # per outcome (ok, error)
    lag: dict[str, int]  # per assigned partition, as the monitor last saw it

    def as_dict(self) -> dict[str, Any]:
        return {
            "consumed": self.consumed,
            "written": self.written,
            "skipped": self.skipped,
            "dead_letters": self.dead_letters,
            "flushes": self.flushes,
            "retries": self.retries,
            "commits": self.commits,
            "lag": sum(self.lag.values()),
        }


def _samples(metric: Any, suffix: str) -> Iterable[Any]:
    for family in metric.collect():
        for sample in family.samples:
            if sample.name == family.name + suffix:
                yield sample


def _total(metric: Any, suffix: str = "_total") -> float:
    return sum(sample.value for sample in _samples(metric, suffix))


def _by_label(metric: Any, label: str, *, suffix: str = "_total") -> dict[str, int]:
    """Sum of METRIC's samples per value of LABEL (other labels summed over)."""
    sums: dict[str, int] = {}
    for sample in _samples(metric, suffix):
        key = sample.labels[label]
        sums[key] = sums.get(key, 0) + int(sample.value)
    return sums


@dataclass
class _WriterState:
    ok: bool
    reason: str = ""
    by_flush: bool = False  # a flush failure is cleared only by a flush that works
    at: float = field(default_factory=time.monotonic)


@dataclass(frozen=True)
class ReadinessStatus:
    ready: bool
    assigned: bool
    writers: dict[str, dict[str, Any]]

    def as_dict(self) -> dict[str, Any]:
        return {"ready": self.ready, "assigned": self.assigned, "writers": self.writers}


class Readiness:
    """Is the sink doing its job: partitions assigned, every writer reachable."""

    def __init__(self, metrics: SinkMetrics | None = None) -> None:
        self._metrics = metrics
        self._writers: dict[str, _WriterState] = {}
        self._assigned: Callable[[], bool] = lambda: False

    def watch_assignment(self, probe: Callable[[], bool]) -> None:
        self._assigned = probe

    def track(self, writer: str, *, known_ok: bool) -> None:
        """Start tracking a writer. ``known_ok=False`` for one that must first prove
        it can reach its destination (a database), ``True`` for one opened already."""
        self._set(writer, _WriterState(ok=known_ok, reason="" if known_ok else "not checked yet"))

    def flush_succeeded(self, writer: str) -> None:
        self._set(writer, _WriterState(ok=True, by_flush=True))

    def flush_failed(self, writer: str, reason: str) -> None:
        self._set(writer, _WriterState(ok=False, reason=reason, by_flush=True))

    def probe_succeeded(self, writer: str) -> None:
        state = self._writers.get(writer)
        if state is not None and not state.ok and state.by_flush:
            return  # the flush being retried decides
        self._set(writer, _WriterState(ok=True))

    def probe_failed(self, writer: str, reason: str) -> None:
        state = self._writers.get(writer)
        by_flush = state is not None and not state.ok and state.by_flush
        self._set(writer, _WriterState(ok=False, reason=reason, by_flush=by_flush))

    def seconds_since_news(self, writer: str) -> float:
        """How old the latest flush or probe outcome of ``writer`` is."""
        state = self._writers.get(writer)
        return float("inf") if state is None else time.monotonic() - state.at

    def status(self) -> ReadinessStatus:
        assigned = bool(self._assigned())
        writers = {
            name: {"ok": state.ok, **({"reason": state.reason} if state.reason else {})}
            for name, state in self._writers.items()
        }
        ready = assigned and all(state.ok for state in self._writers.values())
        if self._metrics is not None:
            self._metrics.ready.set(1 if ready else 0)
        return ReadinessStatus(ready, assigned, writers)

    def _set(self, writer: str, state: _WriterState) -> None:
        self._writers[writer] = state
        if self._metrics is not None:
            self._metrics.writer_up.labels(writer).set(1 if state.ok else 0)


@dataclass(frozen=True)
class HttpOptions:
    """Where the sink's HTTP server listens (``SINK_HTTP_HOST``/``SINK_HTTP_PORT``).
    Port 0 picks a free one (tests)."""

    host: str = "0.0.0.0"
    port: int = DEFAULT_HTTP_PORT

    @classmethod
    def from_settings(cls, settings: Settings) -> HttpOptions:
        return cls(host=settings.sink.http_host, port=settings.sink.http_port)


def health_server(metrics: SinkMetrics, readiness: Readiness, options: HttpOptions) -> HealthServer:
    """The common ``/healthz``, ``/readyz``, ``/metrics`` server, answering for the sink:
    ``/readyz`` explains itself (assignment, each writer), and the ready gauge is
    refreshed before each scrape."""
    return HealthServer(
        metrics.registry,
        ready=lambda: readiness.status().as_dict(),
        before_scrape=readiness.status,
        host=options.host,
        port=options.port,
        name="sink",
    )
