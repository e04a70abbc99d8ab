"""The Faust app: news.raw -> (dedupe, language, topics) -> news.enriched | news.dlq.

Faust acks a message whether or not the agent succeeded, so the agent never raises
for a record: bad records become dead letters. Sends are awaited until the broker
has them before the batch ends (Faust acks taken events when the loop body returns)
and before the dedupe table moves, so a crash re-processes rather than loses.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import faust
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest

from newswire.common.kafka import faust_options
from newswire.common.records import dead_letter, encode, topic_origin
from newswire.common.schemas import SchemaName, record_headers
from newswire.common.settings import Settings
from newswire.enricher.classify import TopicClassifier
from newswire.enricher.dedupe import SeenEntry
from newswire.enricher.language import LanguageIdentifier
from newswire.enricher.pipeline import Emit, EnrichmentPipeline, Redelivered, Rejected

log = logging.getLogger(__name__)

MAX_SEND_BACKOFF_S = 30.0


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


class BatchHandler:
    """Turns one batch of raw events into delivered records and table updates."""

    def __init__(
        self,
        *,
        pipeline: EnrichmentPipeline,
        table: faust.Table,
        enriched: faust.TopicT,
        dlq: faust.TopicT,
        metrics: EnricherMetrics,
    ) -> None:
        self._pipeline = pipeline
        self._table = table
        self._enriched = enriched
        self._dlq = dlq
        self._metrics = metrics
        self._enriched_headers = record_headers(SchemaName.ENRICHED)
        self._dlq_headers = record_headers(SchemaName.DEAD_LETTER)

    async def handle(self, stream: faust.StreamT, events: Sequence[faust.EventT]) -> None:
        """Process, deliver, then record: the table moves only after the broker has the output.

        Table stores (RocksDB in production) place each key by the partition of the
        *current* event, and a batch mixes partitions, so every table read and write
        happens with its own event made current.
        """
        with self._metrics.batch_seconds.time():
            pending: dict[str, tuple[SeenEntry, faust.EventT]] = {}
            outgoing: list[Outgoing] = []
            for event in events:
                stream._set_current_event(event)  # noqa: SLF001 - see docstring
                if (out := self._outcome_to_send(event, pending)) is not None:
                    outgoing.append(out)
            await self._deliver_all(outgoing)
            for article_id, (entry, event) in pending.items():
                stream._set_current_event(event)  # noqa: SLF001
                self._table[article_id.encode()] = entry.to_json()

    def _seen(self, pending: dict[str, tuple[SeenEntry, faust.EventT]], article_id: str) -> SeenEntry | None:
        if article_id in pending:
            return pending[article_id][0]
        stored = self._table.get(article_id.encode())
        return SeenEntry.from_json(stored) if stored else None

    def _outcome_to_send(
        self, event: faust.EventT, pending: dict[str, tuple[SeenEntry, faust.EventT]]
    ) -> Outgoing | None:
        message = event.message
        outcome = self._pipeline.process(message.value, message.key, lambda aid: self._seen(pending, aid))
        match outcome:
            case Emit(article_id=article_id, record=record, entry=entry):
                pending[article_id] = (entry, event)
                self._metrics.records.labels(record["dedupe"]["status"]).inc()
                return Outgoing(self._enriched, article_id.encode(), encode(record), self._enriched_headers)
            case Redelivered(article_id=article_id, entry=entry):
                pending[article_id] = (entry, event)
                self._metrics.records.labels("redelivery").inc()
                return None
            case Rejected(error=error):
                self._metrics.records.labels(f"dead_letter_{error.kind.value}").inc()
                origin = topic_origin(message.topic, message.partition, message.offset, message.key)
                log.warning(
                    "dead letter: %s", error,
                    extra={"topic": message.topic, "partition": message.partition, "offset": message.offset},
                )
                letter = dead_letter(service="enricher", error=error, payload=message.value, origin=origin)
                return Outgoing(self._dlq, message.key, encode(letter), self._dlq_headers)
        raise AssertionError(f"unhandled outcome {outcome!r}")

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


def build_pipeline(settings: Settings) -> EnrichmentPipeline:
    return EnrichmentPipeline(
        languages=LanguageIdentifier(prefix_chars=settings.enricher.language_prefix_chars),
        topics=TopicClassifier.from_file(settings.enricher.taxonomy_path),
    )


def build_app(settings: Settings, *, pipeline: EnrichmentPipeline | None = None) -> faust.App:
    """A Faust app wired from settings; no module-level state, so tests can build many."""
    config = settings.enricher
    app = faust.App(
        config.app_id,
        **faust_options(settings.kafka),
        store=config.store,
        datadir=str(config.data_dir),
        topic_partitions=settings.topics.partitions,
        topic_replication_factor=settings.topics.replication_factor,
        web_port=config.web_port,
        web_bind=config.web_host,
        web_enabled=True,
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
    )
    raw_codec: dict[str, Any] = {"key_type": bytes, "value_type": bytes, "key_serializer": "raw", "value_serializer": "raw"}
    raw_topic = app.topic(settings.topics.raw, **raw_codec)
    enriched_topic = app.topic(settings.topics.enriched, **raw_codec)
    dlq_topic = app.topic(settings.topics.dlq, **raw_codec)
    seen = app.Table(
        "articles-seen",
        key_type=bytes,  # raw bytes, like news.raw's keys; values are JSON
        partitions=settings.topics.partitions,
    )
    metrics = EnricherMetrics()
    handler = BatchHandler(
        pipeline=pipeline or build_pipeline(settings),
        table=seen,
        enriched=enriched_topic,
        dlq=dlq_topic,
        metrics=metrics,
    )

    @app.agent(raw_topic, name="enrich")
    async def enrich(stream: faust.StreamT) -> None:
        async for events in stream.take_events(config.batch_size, within=config.batch_within_s):
            await handler.handle(stream, events)

    _add_health_pages(app, metrics)
    return app


def _add_health_pages(app: faust.App, metrics: EnricherMetrics) -> None:
    @app.page("/healthz")
    async def healthz(web: Any, request: Any) -> Any:
        return web.json({"status": "ok"})

    @app.page("/readyz")
    async def readyz(web: Any, request: Any) -> Any:
        ready = not app.rebalancing and bool(app.consumer.assignment())
        return web.json({"ready": ready}, status=200 if ready else 503)

    @app.page("/metrics")
    async def prometheus(web: Any, request: Any) -> Any:
        return web.bytes(generate_latest(metrics.registry), content_type=CONTENT_TYPE_LATEST)


def run_enricher(settings: Settings) -> None:
    """Run the worker in the foreground until SIGTERM/SIGINT (Faust handles both)."""
    app = build_app(settings)
    worker = faust.Worker(app, loglevel=settings.log_level.lower(), override_logging=False, quiet=True)
    worker.execute_from_commandline()
