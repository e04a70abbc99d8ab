"""The fetcher service: every source on its own schedule, delivered, then remembered.

For each poll the order is fixed: (1) with Kafka, the previous state plus ``pending``
(the records about to be produced and the raw topic's end offsets) is saved;
(2) the records are delivered and acked; (3) the new state is saved. A restart reads
the state topic, resolves any ``pending`` against the raw topic, and carries on: no
item is emitted twice, none is skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
import random
from collections import Counter
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, BinaryIO

from newswire.common.kafka import host_partition
from newswire.common.settings import FetcherSettings
from newswire.fetcher.clock import Clock, SystemClock
from newswire.fetcher.fetch.client import HttpClient
from newswire.fetcher.metrics import FetcherMetrics
from newswire.fetcher.outputs import JsonLinesSink, RecordSink
from newswire.fetcher.parse.decode import DECLARED_IMPLAUSIBLE
from newswire.fetcher.poller import Poller, PollResult
from newswire.fetcher.sources import Source
from newswire.fetcher.state import Pending, SourceState
from newswire.fetcher.statestore import MemoryStateStore, StateStore

log = logging.getLogger(__name__)

Report = Callable[[PollResult], None]
#: Longest the scheduler sleeps without looking at the stop flag or new due times.
TICK_S = 1.0
#: Where ``fetch --once`` points for its dead letters.
DLQ_LIST_HINT = "'newswire dlq list --service fetcher'"
#: Sources named on the closing line for a doubtful declared charset; the rest counted.
DOUBTFUL_NAMED = 3


@dataclass(frozen=True, slots=True)
class Released:
    """A poll whose source was released while it fetched: nothing delivered, nothing
    saved; ``items`` records were read and left to the source's new owner."""

    source_id: str
    items: int


@dataclass
class RunReport:
    """What a run did, for ``--once`` and tests: every poll's result, with the count of
    its records but not the records themselves (:meth:`add`)."""

    results: list[PollResult] = field(default_factory=list)
    #: Records delivered by the polls of this run.
    records: int = 0
    #: Records sent to the dead-letter topic instead (too large for the cluster).
    dead_lettered: int = 0
    #: Records written to a stream (``--output -``) that Kafka mode would dead-letter.
    would_dead_letter: int = 0
    #: Polls whose source was released while they fetched, and the items they read but
    #: did not deliver (the source's new owner fetches them again).
    released_polls: int = 0
    released_items: int = 0

    def add(self, result: PollResult | Released) -> None:
        """Keep RESULT without its records, once they are delivered: a run would
        otherwise hold every article it fetched until it ends (200,000 at 10,000
        sources in ``bench fetch``; for the life of a long-running fetcher), and the
        garbage collector would scan them all again and again. A released poll is
        only counted."""
        if isinstance(result, Released):
            self.released_polls += 1
            self.released_items += result.items
            return
        self.records += result.emitted
        self.dead_lettered += sum(result.dead_lettered.values())
        self.would_dead_letter += sum(result.would_dead_letter.values())
        # its records and their counts are in the totals above; the outcome is kept
        self.results.append(replace(result, records=[], dead_lettered={}, would_dead_letter={}))

    @property
    def errors(self) -> int:
        return sum(1 for r in self.results if r.outcome == "error")

    @property
    def incomplete(self) -> int:
        """Polls of a document cut short: its complete items were kept, not all of it."""
        return sum(1 for r in self.results if r.outcome == "incomplete")

    def closing(self) -> tuple[int, str]:
        """(exit status, last line) of ``fetch --once``: 1 unless every source was read
        whole, and the line says how many were not, as replay and run do."""
        polled = f"{len(self.results)} source{'s' if len(self.results) != 1 else ''} polled"
        counts = f"{polled}, {self.records} item{'s' if self.records != 1 else ''}"
        problems = []
        if self.errors:
            problems.append(f"{self.errors} source{'s' if self.errors != 1 else ''} failed")
        if self.incomplete:
            cut = f"{self.incomplete} source{'s' if self.incomplete != 1 else ''}"
            problems.append(f"{cut} read only in part (outcome=incomplete)")
        if self.dead_lettered:
            dead = f"{self.dead_lettered} item{'s' if self.dead_lettered != 1 else ''}"
            problems.append(
                f"{dead} went to the dead-letter topic, too large for Kafka (see {DLQ_LIST_HINT})"
            )
        if self.would_dead_letter:
            n = self.would_dead_letter
            problems.append(
                f"{n} item{'s' if n != 1 else ''} would go to the dead-letter topic in Kafka "
                "mode, too large for Kafka (over KAFKA_MAX_MESSAGE_BYTES; written here all "
                "the same)"
            )
        doubtful = self._doubtful_charsets()
        if not problems:
            return 0, f"newswire fetch: ok: {counts}{doubtful}"
        return 1, f"newswire fetch: incomplete: {', '.join(problems)}; {counts}{doubtful}"

    def _doubtful_charsets(self) -> str:
        """``; N sources decoded with a doubtful declared charset (...)`` or "": the
        declaration wins (as in browsers), so it is no failure and the exit status
        stays, but mojibake would go downstream unless the operator sets ``encoding``,
        and one status line among hundreds is easy to miss."""
        doubtful = [
            r
            for r in self.results
            if r.encoding_defect is not None and r.encoding_defect[2] == DECLARED_IMPLAUSIBLE
        ]
        if not doubtful:
            return ""
        named = ", ".join(
            f"source={r.source.id} encoding={r.encoding_defect[0]} ({r.encoding_defect[1]})"
            for r in doubtful[:DOUBTFUL_NAMED]
            if r.encoding_defect is not None
        )
        more = f", {len(doubtful) - DOUBTFUL_NAMED} more" if len(doubtful) > DOUBTFUL_NAMED else ""
        noun = "source" if len(doubtful) == 1 else "sources"
        return (
            f"; {len(doubtful)} {noun} decoded with a doubtful declared charset ({named}{more};"
            " see its status line, set the source's encoding)"
        )


class FetcherService:
    """Polls ``sources`` with one HTTP client; delivery and storage are injected.

    The sources it polls can change while it runs: a fetcher replica in a group
    (``fleet.py``) :meth:`adopt` takes the sources of partitions assigned to it and
    :meth:`release` drops those of revoked ones. A released source's poll is cancelled
    while it is still fetching (nothing was produced yet) and awaited once it is
    delivering (its records and state are acked), so nothing is emitted after a
    release, and the next owner finds the state this one last saved.
    """

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
        self._sources = {s.id: s for s in sources if s.enabled}
        self._settings = settings
        self._sink = sink
        self._store = store
        self._clock = clock or SystemClock()
        self.metrics = metrics or FetcherMetrics()
        self._poller = Poller(http, settings, clock=self._clock, rng=rng or random.Random())
        self._report = report
        self.states: dict[str, SourceState] = {}
        self._silent: frozenset[str] = frozenset()
        self._due: list[tuple[float, str]] = []
        self._scheduled: dict[str, float] = {}  # the due time of each source's live heap entry
        self._polls: dict[str, asyncio.Task[None]] = {}  # in flight, by source id
        self._delivering: set[str] = set()  # in flight and past the point of no return
        self._wake = asyncio.Event()

    @property
    def sources(self) -> dict[str, Source]:
        """The sources this service polls now."""
        return dict(self._sources)

    def partition_of(self, source: Source) -> int:
        """The partition of the sources and state topics that ``source`` lives on."""
        return host_partition(source.url, self._settings.partitions)

    async def load(self) -> None:
        """Read the saved states and settle any delivery a previous run left pending."""
        saved = await self._settled_all(await self._store.load())
        self.states = {sid: saved.get(sid, SourceState(sid)) for sid in self._sources}
        self.metrics.ready = True

    async def _settled_all(
        self, saved: dict[str, SourceState], *, only: Collection[str] | None = None
    ) -> dict[str, SourceState]:
        """``saved`` with every pending delivery (of ``only`` these ids) resolved and saved."""
        pending = [
            (sid, st)
            for sid, st in saved.items()
            if st.pending is not None and (only is None or sid in only)
        ]
        if not pending:
            return saved
        delivered = await self._store.delivered(pending)
        now = self._clock.time()
        for source_id, state in pending:
            resolved = state.resolve_pending(
                delivered, now=now, seen_max=self._settings.seen_ids_max
            )
            source = self._sources.get(source_id)
            await self._store.save(
                resolved, partition=self.partition_of(source) if source else None
            )
            saved[source_id] = resolved
            log.info("resolved the pending delivery of %s left by a previous owner", source_id)
        return saved

    async def adopt(self, sources: Sequence[Source], saved: dict[str, SourceState]) -> None:
        """Start polling ``sources`` from their ``saved`` states (pending ones settled)."""
        for source in sources:
            if source.enabled:
                self._sources[source.id] = source
            else:
                await self.release([source.id])
        wanted = {s.id for s in sources if s.enabled}
        settled = await self._settled_all(
            {sid: st for sid, st in saved.items() if sid in wanted}, only=wanted
        )
        for source_id in wanted:
            if source_id in self._sources and source_id not in self._polls:
                self.states[source_id] = settled.get(source_id) or self.states.get(
                    source_id, SourceState(source_id)
                )
                self._schedule(source_id)
        self._wake.set()

    def update(self, source: Source) -> None:
        """A polled source's settings changed: its next poll uses the new ones."""
        if source.id in self._sources:
            self._sources[source.id] = source

    async def release(self, source_ids: Collection[str]) -> dict[str, SourceState]:
        """Stop polling ``source_ids``: polls still fetching are abandoned, polls
        delivering are awaited; nothing of theirs is emitted once this returns.
        Returns their last states (what a later :meth:`adopt` may resume from)."""
        gone = [sid for sid in source_ids if self._sources.pop(sid, None) is not None]
        tasks = [self._polls[sid] for sid in gone if sid in self._polls]
        for sid in gone:
            self._scheduled.pop(sid, None)
            task = self._polls.get(sid)
            if task is not None and sid not in self._delivering:
                task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        return {sid: state for sid in gone if (state := self.states.pop(sid, None)) is not None}

    def _schedule(self, source_id: str) -> None:
        due_at = self.states[source_id].next_due_at
        self._scheduled[source_id] = due_at
        heapq.heappush(self._due, (due_at, source_id))

    async def poll_once(self, source_id: str) -> PollResult | Released:
        """Poll one source, deliver its records, then save its state (in that order).

        :class:`Released`: the source was released while its poll was fetching; nothing
        was emitted (counted on ``fetcher_items_released_total`` and in the run report).
        """
        source = self._sources[source_id]
        before = await self._settled(self.states[source_id])
        result = await self._poller.poll(source, before)
        if source_id not in self._sources:
            # Released meanwhile: another replica owns it now and, since this poll's
            # state is never saved, fetches these items again. Counted and said, so no
            # item leaves a trace only in a log line.
            self.metrics.released(result)
            log.info(
                "source=%s released during its poll: %d items left to its new owner",
                source_id,
                len(result.records),
            )
            return Released(source_id, len(result.records))
        self._delivering.add(source_id)  # no await since the check: release waits now
        try:
            result = await self._deliver(source, before, result)
        finally:
            self._delivering.discard(source_id)
        if self._report is not None:
            self._report(result)
        return result

    async def _deliver(self, source: Source, before: SourceState, result: PollResult) -> PollResult:
        """RESULT delivered and its state saved; returned with what was dead-lettered.

        A dead-lettered record (too large for the cluster) counts as handled: its item
        goes into ``seen`` with the rest, so no later poll sends it again. A crash after
        it was dead-lettered and before the state save leaves it ``pending`` and not on
        the raw topic, so the next poll reads it as new and dead-letters it once more:
        at most twice, never lost.
        """
        self.metrics.observe(result)
        partition = self.partition_of(source)
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
                await self._store.save(pending, partition=partition)
                # if delivery fails, the next poll settles the pending delivery first
                self.states[source.id] = pending
            dead = await self._sink.deliver(result.records)
            result = replace(
                result,
                dead_lettered=dict(Counter(d.error.kind.value for d in dead if not d.written)),
                would_dead_letter=dict(Counter(d.error.kind.value for d in dead if d.written)),
            )
            self.metrics.delivered(result)
        await self._store.save(result.state, partition=partition)
        self.states[source.id] = result.state
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
        report = RunReport()

        async def bounded(source_id: str) -> None:
            async with limit:
                report.add(await self.poll_once(source_id))

        await asyncio.gather(*(bounded(sid) for sid in self._sources))
        self._refresh_gauges()
        return report

    async def run(self, stop: asyncio.Event) -> RunReport:
        """Poll sources as they fall due until ``stop`` is set; in-flight polls finish."""
        await self.load()
        return await self.serve(stop)

    async def serve(self, stop: asyncio.Event) -> RunReport:
        """The scheduling loop over the sources held now (loaded or adopted)."""
        report = RunReport()
        for source_id in self._sources:
            if source_id in self.states and source_id not in self._scheduled:
                self._schedule(source_id)
        limit = asyncio.Semaphore(self._settings.concurrency)
        while not stop.is_set():
            now = self._clock.time()
            while self._due and self._due[0][0] <= now and not stop.is_set():
                due_at, source_id = heapq.heappop(self._due)
                if self._scheduled.get(source_id) != due_at or source_id in self._polls:
                    continue  # released, or rescheduled since this entry was pushed
                del self._scheduled[source_id]
                await limit.acquire()
                if source_id not in self._sources:  # released while we waited for a slot
                    limit.release()
                    continue
                task = asyncio.create_task(self._one(source_id, limit, report))
                self._polls[source_id] = task
            self._refresh_gauges()
            wait = (
                min(TICK_S, max(0.0, self._due[0][0] - self._clock.time())) if self._due else TICK_S
            )
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(_first(stop, self._wake), timeout=max(wait, 0.01))
        if self._polls:
            await asyncio.gather(*self._polls.values(), return_exceptions=True)
        return report

    async def _one(self, source_id: str, limit: asyncio.Semaphore, report: RunReport) -> None:
        try:
            report.add(await self.poll_once(source_id))
        except Exception:  # delivery or state storage failed: retry this source later
            log.exception("delivering %s failed; it will be polled again", source_id)
            if source_id in self.states:
                self.states[source_id] = replace(
                    self.states[source_id],
                    next_due_at=self._clock.time() + self._settings.backoff_base_s,
                )
        finally:
            limit.release()
            self._polls.pop(source_id, None)
            if source_id in self._sources and source_id in self.states:
                self._schedule(source_id)

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


async def _first(*events: asyncio.Event) -> None:
    """Returns once any of ``events`` is set."""
    waiters = [asyncio.ensure_future(event.wait()) for event in events]
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()


def stream_service(
    sources: Sequence[Source],
    settings: FetcherSettings,
    *,
    stream: BinaryIO,
    http: HttpClient,
    max_message_bytes: int | None = None,
    **options: Any,
) -> FetcherService:
    """A service writing JSON Lines to ``stream``, state in memory (``--output -``, bench);
    with ``max_message_bytes`` (KAFKA_MAX_MESSAGE_BYTES) it says which records Kafka mode
    would dead-letter as too large."""
    return FetcherService(
        sources,
        settings,
        sink=JsonLinesSink(stream, max_message_bytes),
        store=MemoryStateStore(),
        http=http,
        **options,
    )
