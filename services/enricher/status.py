"""What the enricher says at INFO: one line at start, then a status line every interval.

::

    enricher starting: bootstrap 127.0.0.1:19092 (embedded); news.raw -> news.enriched, ...
    enricher: 1,204 in (40.1/s), 1,180 enriched, 20 dead letters, 4 redeliveries,
      in flight 0, lag 12   (one line)

The counts are the ones ``/metrics`` exports (:class:`~newswire.enricher.batch.EnricherMetrics`,
read, never written here), so ``in = enriched + dead letters + redeliveries + dropped +
in flight`` holds on every status line as it does on ``/metrics``. The lag is what
this worker has not read yet of the news.raw partitions it holds (end offset minus
position); what it has read but not yet settled is "in flight".
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import faust
from faust.types import TP

from newswire.common.settings import Settings
from newswire.enricher.batch import EnricherMetrics

log = logging.getLogger(__name__)

#: Outcomes that put a record on news.enriched (see batch.py).
EMITTED = frozenset({"new", "update", "duplicate", "near_duplicate"})


def start_line(settings: Settings, *, interval_s: float) -> str:
    """The settings that matter, in one line an operator can read and grep."""
    kafka, topics, config = settings.kafka, settings.topics, settings.enricher
    store = config.store
    if not store.startswith("memory"):
        store += f" in {config.data_dir}"
    return (
        f"enricher starting: bootstrap {kafka.bootstrap} ({kafka.effective_profile.value}); "
        f"{topics.raw} -> {topics.enriched}, dead letters to {topics.dlq}; "
        f"group {config.app_id}; batch {config.batch_size} within {config.batch_within_s:g}s; "
        f"store {store}; http {config.web_host}:{config.web_port}; "
        f"drop duplicates {'on' if config.drop_duplicates else 'off'}; "
        f"status every {interval_s:g}s"
    )


@dataclass(frozen=True, slots=True)
class EnricherCounts:
    """A reading of the enricher's counters."""

    taken: int
    enriched: int
    dead_letters: int
    redeliveries: int
    dropped: int
    in_flight: int
    send_retries: int
    batch_failures: int

    def as_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.__slots__}


def read_counts(metrics: EnricherMetrics) -> EnricherCounts:
    """The counters as ``/metrics`` shows them, from the metrics' own registry."""
    registry = metrics.registry

    def value(name: str) -> int:
        return int(registry.get_sample_value(name) or 0)

    outcomes: dict[str, int] = {}
    for family in metrics.records.collect():
        for sample in family.samples:
            if sample.name.endswith("_total"):
                outcomes[sample.labels["outcome"]] = int(sample.value)

    def total(match: Callable[[str], bool]) -> int:
        return sum(n for outcome, n in outcomes.items() if match(outcome))

    return EnricherCounts(
        taken=value("newswire_enricher_records_in_total"),
        enriched=total(lambda outcome: outcome in EMITTED),
        dead_letters=total(lambda outcome: outcome.startswith("dead_letter_")),
        redeliveries=outcomes.get("redelivery", 0),
        dropped=total(lambda outcome: outcome.startswith("dropped_")),
        in_flight=value("newswire_enricher_records_in_flight"),
        send_retries=value("newswire_enricher_send_retries_total"),
        batch_failures=value("newswire_enricher_batch_failures_total"),
    )


class EnricherStatus:
    """Turns successive readings of the counters into status lines with a rate."""

    def __init__(
        self, metrics: EnricherMetrics, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._metrics = metrics
        self._clock = clock
        self._last_taken = 0
        self._last_at = clock()

    def line(
        self, *, lag: int | None, assigned: int | None = None, final: bool = False
    ) -> tuple[str, EnricherCounts]:
        """The status line and the counts in it; FINAL: the last one, without lag."""
        counts = read_counts(self._metrics)
        now = self._clock()
        rate = (counts.taken - self._last_taken) / max(now - self._last_at, 1e-9)
        self._last_taken, self._last_at = counts.taken, now
        parts = [
            f"{counts.taken:,} in ({rate:,.1f}/s)",
            f"{counts.enriched:,} enriched",
            f"{counts.dead_letters:,} dead letters",
            f"{counts.redeliveries:,} redeliveries",
        ]
        if counts.dropped:
            parts.append(f"{counts.dropped:,} dropped")
        parts.append(f"in flight {counts.in_flight:,}")
        if counts.send_retries:
            parts.append(f"{counts.send_retries:,} send retries")
        if counts.batch_failures:
            parts.append(f"{counts.batch_failures:,} failed batches")
        if final:
            return "enricher stopping: " + ", ".join(parts), counts
        if assigned == 0:
            parts.append("no partitions assigned")
        else:
            parts.append("lag ?" if lag is None else f"lag {lag:,}")
        return "enricher: " + ", ".join(parts), counts


async def raw_lag(app: faust.App, topic: str) -> tuple[int | None, int | None]:
    """(lag, partitions held) on TOPIC for this worker: the records on the broker it has
    not read yet (end offset minus position). Records read but not yet settled are the
    status line's "in flight". The lag is None when the consumer cannot tell now (a
    rebalance, a broker hiccup)."""
    try:
        held = sorted(tp for tp in app.consumer.assignment() if tp.topic == topic)
    except Exception:  # not started yet, or between generations: unknown
        return None, None
    if not held:
        return 0, 0
    try:
        ends = await app.consumer.highwaters(*held)
        lag = 0
        for tp in held:
            position = await app.consumer.position(tp)
            if position is not None and ends.get(tp) is not None:
                lag += max(0, ends[tp] - position)
    except Exception as exc:  # informative only: never let the status line fail the worker
        log.debug("enricher lag not read: %r", exc)
        return None, len(held)
    return lag, len(held)


def install_status(
    app: faust.App,
    settings: Settings,
    metrics: EnricherMetrics,
    *,
    interval_s: float | None = None,
) -> EnricherStatus:
    """Log a status line every INTERVAL_S (``NEWSWIRE_STATUS_INTERVAL_S``, default 30 s)
    while APP runs, the news.raw partitions it gets at each rebalance, and a last status
    line when it stops."""
    every = interval_s if interval_s is not None else settings.status_interval_s
    status = EnricherStatus(metrics)
    raw = settings.topics.raw

    @app.timer(every, name="newswire-enricher-status")
    async def periodic_status() -> None:
        lag, held = await raw_lag(app, raw)
        line, counts = status.line(lag=lag, assigned=held)
        log.info(line, extra={"counts": counts.as_dict() | {"lag": lag}})

    # mode types every handler as (sender, *args, signal=..., **kwargs); these name only
    # what faust sends (``assigned=``, then the signal in **_), which that type rejects.
    @app.on_partitions_assigned.connect  # type: ignore[arg-type]
    async def assigned(sender: Any, assigned: Iterable[TP], **_: Any) -> None:
        mine = sorted(tp.partition for tp in assigned if tp.topic == raw)
        total = settings.topics.partitions
        log.info("enricher assigned %s partitions %s (%d of %d)", raw, mine, len(mine), total)

    @app.on_before_shutdown.connect  # type: ignore[arg-type]
    async def stopping(sender: Any, **_: Any) -> None:
        line, counts = status.line(lag=None, final=True)  # no broker round trip while stopping
        log.info(line, extra={"counts": counts.as_dict()})

    return status


def announce(settings: Settings) -> None:
    """The start line; call once, before the worker starts."""
    log.info(start_line(settings, interval_s=settings.status_interval_s))
