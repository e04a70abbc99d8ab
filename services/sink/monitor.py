"""The sink's monitor: writer probes for ``/readyz`` and consumer lag for ``/metrics``.

Both are judged between batches, by a task of their own: a database that is down
shows on ``/readyz`` before the next batch finds out, and the lag is known while
the sink is idle.
"""

from __future__ import annotations

import asyncio
import logging

from aiokafka import AIOKafkaConsumer, TopicPartition

from newswire.sink.metrics import Readiness, SinkMetrics
from newswire.sink.writers.base import Reachable, Writer

log = logging.getLogger(__name__)

#: Longest a writer probe may take before it counts as failed.
PROBE_TIMEOUT_S = 10.0


class Monitor:
    """Every ``interval_s``: probe the writers that have no recent flush outcome to
    judge them by, then refresh consumer lag (end offset - committed, per assigned
    partition). Best effort: a failed lag lookup (a rebalance, a broker hiccup)
    leaves the last values and is tried again next time."""

    def __init__(
        self,
        consumer: AIOKafkaConsumer,
        writers: list[Writer],
        metrics: SinkMetrics,
        readiness: Readiness,
        interval_s: float,
    ) -> None:
        self._consumer = consumer
        self._writers = writers
        self._metrics = metrics
        self._readiness = readiness
        self._interval_s = interval_s

    async def run(self) -> None:
        while True:
            await self.probe_writers()
            await self.update_lag()
            await asyncio.sleep(self._interval_s)

    async def probe_writers(self) -> None:
        for writer in self._writers:
            if not isinstance(writer, Reachable):
                continue
            if self._readiness.seconds_since_news(writer.name) < self._interval_s:
                continue
            try:
                await asyncio.wait_for(writer.ping(), PROBE_TIMEOUT_S)
            except Exception as exc:
                self._readiness.probe_failed(writer.name, str(exc) or repr(exc))
            else:
                self._readiness.probe_succeeded(writer.name)

    async def update_lag(self) -> None:
        assigned = sorted(self._consumer.assignment())
        if not assigned:
            self._metrics.set_lag({})
            return
        try:
            lags = await self._lags(assigned)
        except Exception as exc:  # lag is informative, never fatal
            log.debug("consumer lag not updated: %r", exc)
            return
        self._metrics.set_lag(lags)

    async def _lags(self, assigned: list[TopicPartition]) -> dict[TopicPartition, int]:
        ends = await self._consumer.end_offsets(assigned)
        starts = await self._consumer.beginning_offsets(assigned)
        lags = {}
        for tp in assigned:
            committed = await self._consumer.committed(tp)
            position = starts[tp] if committed is None else committed
            lags[tp] = max(0, ends[tp] - position)
        return lags
