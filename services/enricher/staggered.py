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

Never more than two batches: staging N+2 waits until N has completed. The stages
run in a worker thread so that the completing batch's steps on the event loop are not
each held up by an article's worth of CPU (:meth:`BatchHandler.stage`); a cancelled
stage stops that thread and waits for it, so nothing reads the tables after
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
    else into dead letters) re-raises in the agent at its next :meth:`submit`, where
    a serial agent would have seen it.
    """

    def __init__(self, handler: BatchHandler, settle: Settle) -> None:
        self._handler = handler
        self._settle = settle
        self._completing: asyncio.Task[None] | None = None
        self._last: Staged | None = None

    async def submit(self, events: Sequence[faust.EventT]) -> None:
        """Stage EVENTS now; start their completion once the batch before has completed."""
        staged = await self._handler.stage(events, earlier=self._last)
        try:
            await self.wait()
        except Exception as exc:
            self._handler.abandon(staged, exc)
            raise
        self._last = staged
        self._completing = asyncio.create_task(
            self._handler.complete(staged, settle=self._settle), name="enricher-complete-batch"
        )

    async def wait(self) -> None:
        """Until the batch completing now (if any) has completed."""
        task, self._completing = self._completing, None
        if task is not None:
            await task

    async def close(self) -> None:
        """Cancel the completion in flight: its batch is unsettled, so it is read again.

        No stage thread runs on past this: the agent calls close from the task that
        submits, so a stage cancelled with it has already stopped its thread and waited
        for it (offthread.py), as a completion cancelled here does before it ends."""
        task, self._completing = self._completing, None
        if task is None:
            return
        task.cancel()
        await asyncio.wait([task])
        if not task.cancelled() and task.exception() is not None:
            log.error("the last batch's completion failed: %r", task.exception())
