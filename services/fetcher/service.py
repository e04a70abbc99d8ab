"""The fetcher service: every source on its own schedule, delivered, then remembered.

For each poll the order is fixed: (1) with Kafka, the previous state plus ``pending``
(the records about to be produced and the raw topic's end offsets) is saved;
(2) the records are delivered and acked; (3) the new state is saved. A restart reads
the state topic, resolves any ``pending`` against the raw topic, and carries on: no
item is emitted twice, none is skipped.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, BinaryIO

from newswire.common.settings import FetcherSettings
from newswire.fetcher.clock import Clock, SystemClock
from newswire.fetcher.fetch.client import HttpClient
from newswire.fetcher.metrics import FetcherMetrics
from newswire.fetcher.outputs import JsonLinesSink, RecordSink
from newswire.fetcher.poller import Poller, PollResult
from newswire.fetcher.sources import Source
from newswire.fetcher.state import Pending, SourceState
from newswire.fetcher.statestore import MemoryStateStore, StateStore

log = logging.getLogger(__name__)

Report = Callable[[PollResult], None]
#: Longest the scheduler sleeps without looking at the stop flag or new due times.
TICK_S = 1.0


@dataclass
class RunReport:
    """What a run did, for ``--once`` and tests."""

    results: list[PollResult] = field(default_factory=list)

    @property
    def records(self) -> int:
        return sum(len(r.records) for r in self.results)

    @property
    def errors(self) -> int:
        return sum(1 for r in self.results if r.outcome == "error")


class FetcherService:
    """Polls ``sources`` with one HTTP client; delivery and storage are injected."""

    def __init__(
        self,
        sources: Sequence[Source],
        settings: FetcherSettings,
        *,
        sink: RecordSink,
        store: StateStore,
        http: HttpClient,
        clock: Clock | None = None,
        metrics: FetcherMetrics | None = None,
        rng: random.Random | None = None,
        report: Report | None = None,
    ) -> None:
        self._sources = {s.id: s for s in sources if s.enabled and settings.owns(s.id)}
        self._settings = settings
        self._sink = sink
        self._store = store
        self._clock = clock or SystemClock()
        self.metrics = metrics or FetcherMetrics()
        self._poller = Poller(http, settings, clock=self._clock, rng=rng or random.Random())
        self._report = report
        self.states: dict[str, SourceState] = {}
        self._silent: frozenset[str] = frozenset()

    async def load(self) -> None:
        """Read the saved states and settle any delivery a previous run left pending."""
        saved = await self._store.load()
        pending = [(sid, st) for sid, st in saved.items() if st.pending is not None]
        if pending:
            delivered = await self._store.delivered(pending)
            now = self._clock.time()
            for source_id, state in pending:
                resolved = state.resolve_pending(
                    delivered, now=now, seen_max=self._settings.seen_ids_max
                )
                await self._store.save(resolved)
                saved[source_id] = resolved
                log.info("resolved the pending delivery of %s left by a previous run", source_id)
        self.states = {sid: saved.get(sid, SourceState(sid)) for sid in self._sources}
        self.metrics.ready = True

    async def poll_once(self, source_id: str) -> PollResult:
        """Poll one source, deliver its records, then save its state (in that order)."""
        source = self._sources[source_id]
        before = await self._settled(self.states[source_id])
        result = await self._poller.poll(source, before)
        self.metrics.observe(result)
        if result.records:
            offsets = await self._store.raw_end_offsets()
            if offsets is not None:
                pending = before.with_pending(
                    Pending(
                        tuple(r.article_id for r in result.records),
                        tuple(r.item_id for r in result.records),
                        offsets,
                    )
                )
                await self._store.save(pending)
                # if delivery fails, the next poll settles the pending delivery first
                self.states[source_id] = pending
            await self._sink.deliver(result.records)
            self.metrics.delivered(result)
        await self._store.save(result.state)
        self.states[source_id] = result.state
        if self._report is not None:
            self._report(result)
        return result

    async def _settled(self, state: SourceState) -> SourceState:
        """``state`` with a pending delivery (left by a failed delivery) resolved."""
        if state.pending is None:
            return state
        delivered = await self._store.delivered([(state.source_id, state)])
        return state.resolve_pending(
            delivered, now=self._clock.time(), seen_max=self._settings.seen_ids_max
        )

    async def run_once(self) -> RunReport:
        """Every enabled source polled once, whatever its due time (``--once``)."""
        await self.load()
        limit = asyncio.Semaphore(self._settings.concurrency)

        async def bounded(source_id: str) -> PollResult:
            async with limit:
                return await self.poll_once(source_id)

        results = await asyncio.gather(*(bounded(sid) for sid in self._sources))
        self._refresh_gauges()
        return RunReport(list(results))

    async def run(self, stop: asyncio.Event) -> RunReport:
        """Poll sources as they fall due until ``stop`` is set; in-flight polls finish."""
        await self.load()
        report = RunReport()
        due = [(self.states[sid].next_due_at, sid) for sid in self._sources]
        heapq.heapify(due)
        limit = asyncio.Semaphore(self._settings.concurrency)
        running: set[asyncio.Task[None]] = set()

        async def one(source_id: str) -> None:
            try:
                result = await self.poll_once(source_id)
                report.results.append(result)
            except Exception:  # delivery or state storage failed: retry this source later
                log.exception("delivering %s failed; it will be polled again", source_id)
                self.states[source_id] = replace(
                    self.states[source_id],
                    next_due_at=self._clock.time() + self._settings.backoff_base_s,
                )
            finally:
                limit.release()
                heapq.heappush(due, (self.states[source_id].next_due_at, source_id))

        while not stop.is_set():
            now = self._clock.time()
            while due and due[0][0] <= now and not stop.is_set():
                _, source_id = heapq.heappop(due)
                await limit.acquire()
                task = asyncio.create_task(one(source_id))
                running.add(task)
                task.add_done_callback(running.discard)
            self._refresh_gauges()
            wait = min(TICK_S, max(0.0, due[0][0] - self._clock.time())) if due else TICK_S
            try:
                await asyncio.wait_for(stop.wait(), timeout=max(wait, 0.01))
            except TimeoutError:
                pass
        if running:
            await asyncio.gather(*running, return_exceptions=True)
        return report

    def _refresh_gauges(self) -> None:
        silent = self.metrics.refresh_states(
            self.states.values(),
            now=self._clock.time(),
            silent_after_s=self._settings.silent_after_s,
        )
        if frozenset(silent) != self._silent:
            self._silent = frozenset(silent)
            log.info(
                "silent sources (no new item for %.0f s): %s",
                self._settings.silent_after_s,
                ", ".join(silent[:20]),
            )


def stream_service(
    sources: Sequence[Source],
    settings: FetcherSettings,
    *,
    stream: BinaryIO,
    http: HttpClient,
    **options: Any,
) -> FetcherService:
    """A service writing JSON Lines to ``stream``, state in memory (``--output -``, bench)."""
    return FetcherService(
        sources,
        settings,
        sink=JsonLinesSink(stream),
        store=MemoryStateStore(),
        http=http,
        **options,
    )
