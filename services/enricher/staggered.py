"""Two batches in flight: the next batch's stages run while the last one completes.

A batch spends most of its wall time in two kinds of work: its stages (CPU, in this
process) and its completion, which mostly waits: for the band buckets' answers (two
hops through the broker), for the broker to acknowledge every record, for the
commit. Run one after the other, the CPU idles during every wait. :class:`Staggered`
stages batch N+1 while batch N completes in a task of its own, and lets N+1 complete
only once N has, so everything that must stay in order still is:

- completions, hence probes, deliveries, table writes, acks and commits, happen in
  the order the batches were taken; offsets move only past delivered records
  (settling.py), so a crash or a cancel re-processes at most the two batches in
  flight, never loses them, and re-emits at most one: N+1 sends nothing before N is
  committed;
- dedupe across the two: until N's table entries are written, N+1's stages see N's
  pending entries (:meth:`BatchHandler.stage`), so an article in both is emitted once.
  If N then does not record that entry (its record refused by the schema or the
  broker, or N failing whole), N+1 decides that id again against the table before it
  completes: the copy goes out as ``new`` rather than lost as a redelivery of, or sent
  as an update to, a story that never went out.
- a failed completion of N (settling raised) re-raises in the agent; N+1, staged
  meanwhile, is abandoned unsettled, said in one log line with its offsets and counted
  (``newswire_enricher_batches_abandoned``): it is read again after the restart.

Never more than two batches in flight: staging N+2 waits until N has completed. The
agent gets control back as soon as its batch is handed over (:meth:`Staggered.submit`
returns once the batch before has been staged, not after this one), because Faust's
``noack_take`` fills no new batch while the agent holds the last one: an agent that
staged in its own body left the stages waiting for their next batch after each one,
and made trickles into partial batches. So a third batch may be *taken* (buffered,
nothing done with it) while N completes and N+1 is staged. The stages run in a worker
thread so that the completing batch's steps on the event loop are not each held up
by an article's worth of CPU (:meth:`BatchHandler.stage`); a cancelled stage stops
that thread and waits for it, so nothing reads the tables after
:meth:`Staggered.close`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

import faust

from newswire.enricher.batch import BatchHandler, Settle, Staged

log = logging.getLogger(__name__)


class Staggered:
    """Feeds batches to a :class:`BatchHandler`, overlapping stages with completion.

    The agent calls :meth:`submit` for each batch it takes and :meth:`close` when it
    stops. A completion that raises (only settling can: the handler turns everything
    else into dead letters) re-raises in the agent at its next :meth:`submit` (or
    :meth:`wait`), where a serial agent would have seen it.
    """

    def __init__(self, handler: BatchHandler, settle: Settle) -> None:
        self._handler = handler
        self._settle = settle
        #: The newest batch's stage, then the wait for the completion before it.
        self._staging: asyncio.Task[None] | None = None
        #: The completion of the last batch staged.
        self._completing: asyncio.Task[None] | None = None
        self._last: Staged | None = None

    async def submit(self, events: Sequence[faust.EventT]) -> None:
        """Hand EVENTS over: they are staged once the batch before is, and complete once
        it has. Returns when the batch before has been staged (so at most one batch
        waits here), re-raising a failed completion."""
        try:
            await self._staged()
        except Exception as exc:  # taken, never to be staged: said and counted too
            self._handler.abandon(events, exc)
            raise
        self._staging = asyncio.create_task(
            self._stage_then_complete(events), name="enricher-stage-batch"
        )

    async def wait(self) -> None:
        """Until every batch submitted has completed."""
        await self._staged()
        task, self._completing = self._completing, None
        if task is not None:
            await task

    async def close(self) -> None:
        """Cancel the stage and the completion in flight: their batches are unsettled,
        so they are read again. A cancelled stage stops its thread and waits for it
        (offthread.py), so no stage reads the tables after this returns."""
        for task in (self._staging, self._completing):
            if task is None:
                continue
            task.cancel()
            await asyncio.wait([task])
            if not task.cancelled() and task.exception() is not None:
                log.error("a batch in flight failed before the agent stopped: %r", task.exception())
        self._staging = self._completing = None

    async def _staged(self) -> None:
        task, self._staging = self._staging, None
        if task is not None:
            await task

    async def _stage_then_complete(self, events: Sequence[faust.EventT]) -> None:
        staged = await self._handler.stage(events, earlier=self._last)
        task, self._completing = self._completing, None
        try:
            if task is not None:
                await task
        except Exception as exc:
            self._handler.abandon(staged.events, exc)
            raise
        self._last = staged
        self._completing = asyncio.create_task(
            self._handler.complete(staged, settle=self._settle), name="enricher-complete-batch"
        )
