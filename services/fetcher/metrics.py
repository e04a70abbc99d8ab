"""Prometheus metrics, served with ``/healthz`` and ``/readyz`` by :mod:`newswire.common.health`.

Each fetcher owns its registry (no module-level collectors), so tests and the bench
can run several fetchers in one process.
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
)

from newswire.common.health import HealthServer
from newswire.fetcher.fetch.robots import RobotsResult
from newswire.fetcher.poller import PollResult
from newswire.fetcher.state import SourceState, SourceStatus

LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class FetcherMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "fetcher_requests_total",
            "HTTP responses by status class.",
            ["status_class"],
            registry=r,
        )
        self.polls = Counter(
            "fetcher_polls_total",
            "Polls by outcome and error kind.",
            ["outcome", "error_kind"],
            registry=r,
        )
        self.not_modified = Counter(
            "fetcher_not_modified_total",
            "Polls answered 304 or with an unchanged body.",
            registry=r,
        )
        self.items = Counter(
            "fetcher_items_emitted_total",
            "Records delivered, by source kind.",
            ["kind"],
            registry=r,
        )
        self.items_released = Counter(
            "fetcher_items_released_total",
            "Items read by a poll whose source was released (revoked, moved) before"
            " delivery: not emitted here, left to the source's new owner.",
            ["kind"],
            registry=r,
        )
        self.items_dead_lettered = Counter(
            "fetcher_items_dead_lettered_total",
            "Records sent to the dead-letter topic instead of the raw topic (too_large: over"
            " KAFKA_MAX_MESSAGE_BYTES or the broker's limit), by source kind and reason.",
            ["kind", "reason"],
            registry=r,
        )
        self.bytes = Counter(
            "fetcher_bytes_total", "Body bytes received (after decompression).", registry=r
        )
        self.latency = Histogram(
            "fetcher_fetch_seconds",
            "Latency of one HTTP request.",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.sources = Gauge("fetcher_sources", "Sources by state.", ["state"], registry=r)
        self.silent = Gauge(
            "fetcher_silent_sources",
            "Sources with no new item for FETCHER_SILENT_AFTER_S.",
            registry=r,
        )
        self.robots_fetches = Counter(
            "fetcher_robots_fetches_total",
            "robots.txt fetches by result (rules, unavailable, unreachable, fallback).",
            ["result"],
            registry=r,
        )
        self.robots_fallbacks = Counter(
            "fetcher_robots_fallbacks_total",
            "Unusable robots.txt (too_large, timeout, binary, redirect_loop, ...) read as allow.",
            ["reason"],
            registry=r,
        )
        self.robots_ignored = Counter(
            "fetcher_robots_ignored_total",
            "Polls of sources with ignore_robots: true (robots.txt not consulted).",
            ["source"],
            registry=r,
        )
        self.feed_parser = Counter(
            "fetcher_feed_parser_total",
            "RSS/Atom documents read, by parser and (for feedparser) why the fast path refused.",
            ["parser", "reason"],
            registry=r,
        )
        self.encoding_guessed = Counter(
            "fetcher_encoding_guessed_total",
            "Documents whose encoding nothing named (no BOM, not UTF-8, no charset, no "
            "override) and detection chose, by the encoding chosen.",
            ["encoding"],
            registry=r,
        )
        self.encoding_defects = Counter(
            "fetcher_encoding_defects_total",
            "Documents that decoded despite an encoding defect, by kind: invalid_utf8 (a "
            "UTF-8 body with stray bytes, replaced by U+FFFD), declared_implausible (a "
            "declared Latin charset reads as mojibake while a guess reads cleanly).",
            ["defect"],
            registry=r,
        )
        self.ready = False

    def observe(self, result: PollResult) -> None:
        for status, seconds, size in result.responses:
            self.requests.labels(f"{status // 100}xx").inc()
            self.latency.observe(seconds)
            self.bytes.inc(size)
        if result.error is not None and result.error.status is not None:
            self.requests.labels(f"{result.error.status // 100}xx").inc()
        if result.parsed_by is not None:
            self.feed_parser.labels(*result.parsed_by).inc()
        if result.guessed_encoding is not None:
            self.encoding_guessed.labels(result.guessed_encoding).inc()
        if result.encoding_defect is not None:
            self.encoding_defects.labels(result.encoding_defect[2]).inc()
        kind = result.error.kind.value if result.error is not None else ""
        self.polls.labels(result.outcome, kind).inc()
        if result.outcome == "not_modified":
            self.not_modified.inc()
        self._observe_robots(result)

    def _observe_robots(self, result: PollResult) -> None:
        for fetch in result.robots_fetches:
            self.robots_fetches.labels(fetch.result.value).inc()
            if fetch.result is RobotsResult.FALLBACK:
                self.robots_fallbacks.labels(fetch.reason).inc()
        if result.robots_ignored:
            self.robots_ignored.labels(result.source.id).inc()

    def delivered(self, result: PollResult) -> None:
        """RESULT's records are handled: emitted, or (``dead_lettered``) dead-lettered."""
        kind = result.source.kind.value
        if result.emitted:
            self.items.labels(kind).inc(result.emitted)
        for reason, count in result.dead_lettered.items():
            self.items_dead_lettered.labels(kind, reason).inc(count)

    def released(self, result: PollResult) -> None:
        """A poll whose source was released before delivery: a poll outcome of its own,
        and its items counted as left to the new owner rather than emitted."""
        self.polls.labels("released", "").inc()
        self.items_released.labels(result.source.kind.value).inc(len(result.records))

    def refresh_states(
        self, states: Iterable[SourceState], *, now: float, silent_after_s: float
    ) -> list[str]:
        """Set the per-state gauges; return the ids of silent sources (for the log)."""
        counts = {status: 0 for status in SourceStatus}
        silent: list[str] = []
        for state in states:
            counts[state.status] += 1
            if state.is_silent(now, silent_after_s):
                silent.append(state.source_id)
        for status, count in counts.items():
            self.sources.labels(status.value).set(count)
        self.silent.set(len(silent))
        return silent


def health_server(metrics: FetcherMetrics, host: str, port: int) -> HealthServer:
    """The fetcher's ``/healthz``, ``/readyz``, ``/metrics`` (the common server): ready
    once the saved source states are loaded, so a restarted fetcher is not sent
    traffic it would poll without its conditional-request state."""
    return HealthServer(
        metrics.registry, ready=lambda: metrics.ready, host=host, port=port, name="fetcher"
    )
