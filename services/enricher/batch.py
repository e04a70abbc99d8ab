"""One batch of raw events: enrich, look up near-duplicates, deliver, then record.

Faust acks a message whether or not the agent succeeded, so nothing here raises for
a record: bad records become dead letters. Sends are awaited until the broker has
them before the batch ends (Faust acks taken events when the loop body returns) and
before the dedupe table moves, so a crash re-processes rather than loses.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

import faust
from prometheus_client import CollectorRegistry, Counter, Histogram

from newswire.common.records import dead_letter, encode, topic_origin
from newswire.common.schemas import SchemaName, record_headers
from newswire.enricher.bands import Probe, best_candidate, probe_band_keys, sketch
from newswire.enricher.dedupe import SeenEntry, seen_entry_expired
from newswire.enricher.neardup import NearDuplicateExchange
from newswire.enricher.pipeline import Emit, EnrichmentPipeline, Redelivered, Rejected, with_candidate

log = logging.getLogger(__name__)

MAX_SEND_BACKOFF_S = 30.0
DUPLICATE_STATUSES = frozenset({"duplicate", "near_duplicate"})


class EnricherMetrics:
    """Prometheus metrics in a registry of the app's own (several apps may share a process in tests)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.records = Counter(
            "newswire_enricher_records", "Raw records handled, by outcome", ["outcome"], registry=self.registry
        )
        self.batch_seconds = Histogram(
            "newswire_enricher_batch_seconds", "Time to enrich and deliver one batch", registry=self.registry
        )
        self.send_retries = Counter(
            "newswire_enricher_send_retries", "Produce attempts repeated after a delivery failure",
            registry=self.registry,
        )


@dataclass(frozen=True, slots=True)
class Outgoing:
    topic: faust.TopicT
    key: bytes | None
    value: bytes
    headers: list[tuple[str, bytes]]


Pending = dict[str, tuple[SeenEntry, faust.EventT]]


class BatchHandler:
    """Turns one batch of raw events into delivered records and table updates."""

    def __init__(
        self,
        *,
        pipeline: EnrichmentPipeline,
        table: faust.Table,
        exchange: NearDuplicateExchange,
        enriched: faust.TopicT,
        dlq: faust.TopicT,
        metrics: EnricherMetrics,
        drop_duplicates: bool,
        window_s: float,
    ) -> None:
        self._pipeline = pipeline
        self._table = table
        self._exchange = exchange
        self._enriched = enriched
        self._dlq = dlq
        self._metrics = metrics
        self._drop_duplicates = drop_duplicates
        self._window_s = window_s
        self._enriched_headers = record_headers(SchemaName.ENRICHED)
        self._dlq_headers = record_headers(SchemaName.DEAD_LETTER)

    async def handle(self, stream: faust.StreamT, events: Sequence[faust.EventT]) -> None:
        """Process, deliver, then record: the table moves only after the broker has the output.

        Table stores (RocksDB in production) place each key by the partition of the
        *current* event, and a batch mixes partitions, so every table read and write
        happens with its own event made current.
        """
        with self._metrics.batch_seconds.time():
            pending: Pending = {}
            emits: list[tuple[Emit, faust.EventT]] = []
            outgoing: list[Outgoing] = []
            for event in events:
                stream._set_current_event(event)  # noqa: SLF001 - see docstring
                outcome = self._pipeline.process(
                    event.message.value, event.message.key, lambda aid: self._seen(pending, aid)
                )
                match outcome:
                    case Emit():
                        pending[outcome.article_id] = (outcome.entry, event)
                        emits.append((outcome, event))
                    case Redelivered():
                        pending[outcome.article_id] = (outcome.entry, event)
                        self._metrics.records.labels("redelivery").inc()
                    case Rejected():
                        outgoing.append(self._dead_letter(event, outcome))
            outgoing.extend(await self._finalise(emits))
            await self._deliver_all(outgoing)
            for article_id, (entry, event) in pending.items():
                stream._set_current_event(event)  # noqa: SLF001
                self._table[article_id.encode()] = entry.to_json()

    def _seen(self, pending: Pending, article_id: str) -> SeenEntry | None:
        if article_id in pending:
            return pending[article_id][0]
        stored = self._table.get(article_id.encode())
        if not stored or seen_entry_expired(stored, time.time(), window_s=self._window_s):
            return None  # expired entries count as unseen even before a sweep removes them
        return SeenEntry.from_json(stored)

    async def _finalise(self, emits: list[tuple[Emit, faust.EventT]]) -> list[Outgoing]:
        """Ask the band buckets about every new article of the batch, then decide."""
        now = time.time()
        sketches = [sketch(emit.fingerprint.signature) for emit, _ in emits]
        probes = [
            Probe(emit.article_id, band, emit.fingerprint.text_hash, own_sketch, now, event.message.partition)
            for (emit, event), own_sketch in zip(emits, sketches, strict=True)
            for band in probe_band_keys(emit.fingerprint.signature)
        ]
        heard = await self._exchange.ask(probes)
        threshold = self._pipeline.near_duplicates.threshold
        outgoing: list[Outgoing] = []
        for (emit, _event), own_sketch in zip(emits, sketches, strict=True):
            candidate = best_candidate(
                emit.fingerprint.text_hash, own_sketch, heard.get(emit.article_id, []), threshold=threshold
            )
            record = with_candidate(emit, candidate)
            status = record["dedupe"]["status"]
            self._metrics.records.labels(status).inc()
            if self._drop_duplicates and status in DUPLICATE_STATUSES:
                continue
            outgoing.append(Outgoing(self._enriched, emit.article_id.encode(), encode(record), self._enriched_headers))
        return outgoing

    def _dead_letter(self, event: faust.EventT, rejected: Rejected) -> Outgoing:
        message = event.message
        error = rejected.error
        self._metrics.records.labels(f"dead_letter_{error.kind.value}").inc()
        log.warning(
            "dead letter: %s", error,
            extra={"topic": message.topic, "partition": message.partition, "offset": message.offset},
        )
        origin = topic_origin(message.topic, message.partition, message.offset, message.key)
        letter = dead_letter(service="enricher", error=error, payload=message.value, origin=origin)
        return Outgoing(self._dlq, message.key, encode(letter), self._dlq_headers)

    async def _deliver_all(self, outgoing: list[Outgoing]) -> None:
        """Send everything, then wait for every ack; resend failures with backoff, forever.

        Stalling while the cluster is away is the price of not losing records: Faust
        would ack the batch the moment this returns.
        """
        attempt = 0
        while outgoing:
            futures = [
                await out.topic.send(key=out.key, value=out.value, headers=out.headers) for out in outgoing
            ]
            results = await asyncio.gather(*futures, return_exceptions=True)
            failed = [(out, r) for out, r in zip(outgoing, results, strict=True) if isinstance(r, BaseException)]
            if not failed:
                return
            delay = min(MAX_SEND_BACKOFF_S, 0.2 * 2**attempt)
            log.error("%d sends failed (%s); retrying in %.1fs", len(failed), failed[0][1], delay)
            self._metrics.send_retries.inc(len(failed))
            outgoing = [out for out, _ in failed]
            attempt += 1
            await asyncio.sleep(delay)
