"""The Faust app: news.raw -> (dedupe, language, topics) -> news.enriched | news.dlq.

Three agents, one worker process:

- ``enrich`` takes batches from news.raw (see batch.py), staging the next while the
  last one completes (staggered.py);
- ``answer-probes`` owns LSH band buckets, partitioned by band key (see neardup.py);
- ``collect-replies`` hands band answers back to the batch waiting for them.

All state is in changelogged tables or on the app instance; nothing at module level.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import Any

import faust
from faust.types import TP

from newswire.common.kafka import faust_options
from newswire.common.malloc import can_trim, interval_for, trim
from newswire.common.prometheus import exposition
from newswire.common.settings import BrokerProfile, Settings
from newswire.enricher.batch import BatchHandler, EnricherMetrics
from newswire.enricher.buckets import BucketIndex, delta_expired, delta_key_partition
from newswire.enricher.dedupe import seen_entry_expired
from newswire.enricher.expiry import ExpirySweeper
from newswire.enricher.language import LanguageIdentifier
from newswire.enricher.neardup import BandResponder, NearDuplicateExchange
from newswire.enricher.pipeline import EnrichmentPipeline
from newswire.enricher.seen import SeenStore, seen_key_partition
from newswire.enricher.settling import settle_only_consumer, settling_consumer
from newswire.enricher.similarity import NearDuplicateDetector
from newswire.enricher.staggered import Staggered
from newswire.enricher.status import announce, install_status
from newswire.enricher.topics import TopicClassifier

#: Probes and replies are only needed while a batch waits for them.
EXCHANGE_RETENTION = timedelta(hours=6)
#: The embedded broker answers a waiting fetch only when the wait runs out, however soon
#: records arrive (settling.ShortPollThread); a near-duplicate lookup waits for two hops.
EMBEDDED_FETCH_MAX_WAIT_MS = 50


def build_pipeline(settings: Settings) -> EnrichmentPipeline:
    return EnrichmentPipeline(
        languages=LanguageIdentifier(
            prefix_chars=settings.enricher.language_prefix_chars,
            expected=settings.enricher.languages,
            expected_share=settings.enricher.language_prior_share,
            hint_trust=settings.enricher.language_hint_trust,
        ),
        topics=TopicClassifier.from_file(settings.enricher.taxonomy_path),
        near_duplicates=NearDuplicateDetector(),
        max_classified_chars=settings.enricher.max_classified_chars,
    )


def build_app(settings: Settings, *, pipeline: EnrichmentPipeline | None = None) -> faust.App:
    """A Faust app wired from settings; no module-level state, so tests can build many."""
    config = settings.enricher
    partitions = settings.topics.partitions
    pipeline = pipeline or build_pipeline(settings)
    app = faust.App(
        config.app_id,
        **faust_options(settings.kafka),
        store=config.store,
        datadir=str(config.data_dir),
        topic_partitions=partitions,
        topic_replication_factor=settings.topics.replication_factor,
        web_port=config.web_port,
        web_bind=config.web_host,
        web_enabled=True,
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
    )
    raw_codec: dict[str, Any] = {
        "key_type": bytes,
        "value_type": bytes,
        "key_serializer": "raw",
        "value_serializer": "raw",
    }
    internal: dict[str, Any] = raw_codec | {
        "partitions": partitions,
        "internal": True,
        "retention": EXCHANGE_RETENTION,
    }
    raw_topic = app.topic(settings.topics.raw, **raw_codec)
    probes_topic = app.topic(f"{config.app_id}-band-probes", **internal)
    replies_topic = app.topic(f"{config.app_id}-band-replies", **internal)
    # One delta per settled batch and partition, an index in memory (seen.py); the
    # name and codec are those of the one-entry-per-article table before it, whose
    # values are still read.
    seen = app.Table("articles-seen", key_type=bytes, partitions=partitions)
    seen_store = SeenStore(seen, window_s=config.dedupe_window_s)
    seen.on_recover(_async(seen_store.rebuild))
    # Values are the deltas' JSON bytes (raw codec): the changelog holds the same bytes
    # the json codec wrote before, and memory holds no parsed copy of the buckets.
    deltas = app.Table("band-deltas", key_type=bytes, value_type=bytes, partitions=partitions)

    metrics = EnricherMetrics()
    settle_only_consumer(
        app,
        [raw_topic.get_topic_name()],
        on_unsettled=lambda _: metrics.unsettled_acks.inc(),
        on_reread=lambda tp, offset: metrics.rereads.inc(),
        fetch_max_wait_ms=(
            EMBEDDED_FETCH_MAX_WAIT_MS
            if settings.kafka.effective_profile is BrokerProfile.EMBEDDED
            else None
        ),
    )
    exchange = NearDuplicateExchange(
        probes=probes_topic,
        partitions=partitions,
        timeout_s=config.near_duplicate_timeout_s,
        interrupted=lambda: bool(app.rebalancing or app.should_stop),
    )
    responder = BandResponder(
        table=deltas,
        replies=replies_topic,
        index=BucketIndex(
            window_s=config.dedupe_window_s,
            capacity=config.band_capacity,
            threshold=pipeline.near_duplicates.threshold,
        ),
        prune_every_s=config.expiry_sweep_s,
    )
    # Recovered after a rebalance: rebuild the buckets of whatever partitions we now own.
    deltas.on_recover(_async(responder.forget))
    window = config.dedupe_window_s

    def active_on(topic: str) -> Callable[[int], bool]:
        return lambda partition: TP(topic, partition) in app.assignor.assigned_actives()

    seen_sweeper = ExpirySweeper(
        table=seen,
        partitions=partitions,
        every_s=config.expiry_sweep_s,
        is_active=active_on(raw_topic.get_topic_name()),
        is_expired=lambda value, now: seen_entry_expired(value, now, window_s=window),
        partition_of_key=lambda key: seen_key_partition(key, partitions),
        on_failure=metrics.sweep_failures.inc,
        on_deleted=seen_store.forget,
    )
    delta_sweeper = ExpirySweeper(
        table=deltas,
        partitions=partitions,
        every_s=config.expiry_sweep_s,
        is_active=active_on(probes_topic.get_topic_name()),
        is_expired=lambda value, now: delta_expired(value, now, window_s=window),
        partition_of_key=delta_key_partition,
        on_failure=metrics.sweep_failures.inc,
    )

    handler = BatchHandler(
        pipeline=pipeline,
        seen=seen_store,
        exchange=exchange,
        enriched=app.topic(settings.topics.enriched, **raw_codec),
        dlq=app.topic(settings.topics.dlq, **raw_codec),
        metrics=metrics,
        drop_duplicates=config.drop_duplicates,
        max_message_bytes=settings.kafka.max_message_bytes,
        # After each batch is settled, never inside settling: a sweep bug must not keep
        # a delivered batch from its ack and commit. Its tombstones go with the next
        # batch's flush; one lost in a crash only leaves an expired entry to sweep again.
        after_settle=seen_sweeper.sweep_guarded,
    )

    @app.agent(raw_topic, name="enrich")
    async def enrich(stream: faust.StreamT) -> None:
        async def settle(events: Sequence[faust.EventT]) -> None:
            """Ack now rather than when the loop comes round, and commit at once, so a
            crash re-emits at most the batch being delivered (the one staged after it has
            sent nothing yet: staggered.py). Only acks declared settled here may move
            news.raw's offsets (see settling.py). Nothing else runs here: the seen-table
            sweep follows settling (BatchHandler's after_settle)."""
            consumer = settling_consumer(app)
            consumer.settle(event.message for event in events)
            for event in events:
                await stream.ack(event)
            await consumer.commit_settled({event.message.tp for event in events})

        # noack_take, not take_events: take_events acks a batch in a ``finally``, so a
        # batch cancelled mid-delivery (shutdown, a crash of this agent) would be
        # committed unsent. Here only ``settle`` acks, after delivery. Faust's StreamT (the
        # type @app.agent requires here) does not declare noack_take; the Stream it passes has it.
        batches = stream.noack_take(config.batch_size, within=config.batch_within_s)  # type: ignore[attr-defined]
        # One batch's stages run while the one before waits for its answers and acks.
        staggered = Staggered(handler, settle)
        try:
            async for events in batches:
                await staggered.submit(events)
        finally:
            await staggered.close()

    @app.agent(probes_topic, name="answer-probes")
    async def answer_probes(stream: faust.StreamT) -> None:
        async for event in stream.events():
            await responder.answer(event)
            delta_sweeper.sweep_guarded([event])  # never stops the answering agent

    @app.agent(replies_topic, name="collect-replies")
    async def collect_replies(stream: faust.StreamT) -> None:
        async for payload in stream:
            exchange.receive_replies(payload)

    _add_health_pages(app, metrics)
    _add_allocator_trim(app, interval_for(window))
    install_status(app, settings, metrics)
    return app


def _async(callback: Callable[[], None]) -> Callable[[], Awaitable[None]]:
    """Faust's recovery callbacks are coroutines."""

    async def call() -> None:
        callback()

    return call


def _add_allocator_trim(app: faust.App, every_s: float) -> None:
    """What expires is freed, but glibc keeps it resident (common/malloc.py): hand it
    back every EVERY_S, off the event loop and out of the batch path."""
    if not can_trim():
        return

    @app.timer(every_s, name="newswire-malloc-trim")
    async def trim_allocator() -> None:
        await asyncio.to_thread(trim)


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
        # aiohttp refuses a charset inside ``content_type``; the header carries it whole.
        body, headers = exposition(metrics.registry)
        return web.bytes(body, headers=headers)


def run_enricher(settings: Settings) -> None:
    """Run the worker in the foreground until SIGTERM/SIGINT (Faust handles both)."""
    # Faust creates its data directory but not the parents (.newswire/ on a fresh clone).
    settings.enricher.data_dir.mkdir(parents=True, exist_ok=True)
    app = build_app(settings)
    announce(settings)
    worker = faust.Worker(
        app, loglevel=settings.log_level.lower(), override_logging=False, quiet=True
    )
    worker.spinner = None  # even quiet, it writes "\b\x1b[?25h" to stdout at start
    freeze_startup_heap()
    worker.execute_from_commandline()


def freeze_startup_heap() -> None:
    """Keep what start-up built (Faust, the compiled taxonomy, the language model: about
    150,000 objects that live as long as the worker) out of the collector's passes.

    Every full collection walked all of it again, ~90 ms of CPU each, charged to
    whichever thread allocated last, mostly the stage thread: measured 0.27 ms of the
    worker's CPU per article in full collections, 0.08 ms once frozen (NOTES-enperf),
    a cost the stages alone (the bench's (c), a smaller heap) never pay. Collected
    once first, so no garbage is frozen for good; what the stream allocates is
    collected as before."""
    gc.collect()
    gc.freeze()
