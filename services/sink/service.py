"""The sink: ``news.enriched`` -> writers (JSON Lines files by default).

This module starts and stops the parts; each part has a module of its own:

* :mod:`newswire.sink.loop` - the poll loop: decode, add to the writers, dead-letter
  what cannot be written, checkpoint when due, checkpoint revoked partitions;
* :mod:`newswire.sink.checkpoint` - flush every writer, then commit the offsets
  (only after every flush succeeded; a failed flush commits nothing);
* :mod:`newswire.sink.retry` - backoff for the transient, bounded attempts for bugs;
* :mod:`newswire.sink.deadletters` - dead letters, awaited and counted;
* :mod:`newswire.sink.monitor` and :mod:`newswire.sink.status` - readiness probes,
  lag, and the status lines; :mod:`newswire.sink.metrics` - metrics, ``/healthz``,
  ``/readyz``, ``/metrics``;
* :mod:`newswire.common.signals` - SIGTERM/SIGINT as a stop request;
* :mod:`newswire.sink.writers` - the writers, by name in their registry.

The retry and monitor timings below are read when the sink starts, so a test can
shorten them.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Awaitable, Callable

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from newswire.common.health import HealthServer
from newswire.common.kafka import new_consumer, new_producer
from newswire.common.malloc import interval_for, trim_every
from newswire.common.publish import Publisher
from newswire.common.settings import Settings
from newswire.common.signals import stop_on_signals
from newswire.sink.loop import PollLoop, RevokeListener
from newswire.sink.metrics import HttpOptions, Readiness, SinkMetrics, health_server
from newswire.sink.monitor import Monitor
from newswire.sink.retry import RetryPolicy
from newswire.sink.status import start_status
from newswire.sink.writers.base import Reachable, Writer
from newswire.sink.writers.factory import WriterOptions, build_writers

log = logging.getLogger(__name__)

#: First retry delay; doubles per attempt up to BACKOFF_MAX_S.
BACKOFF_INITIAL_S = 0.2
BACKOFF_MAX_S = 30.0
#: Attempts at an operation failing with an error that is not transient (a bug).
MAX_ATTEMPTS = 3
#: How often the monitor refreshes consumer lag and probes idle writers.
MONITOR_INTERVAL_S = 5.0


def _has_assignment(consumer: AIOKafkaConsumer) -> bool:
    return bool(consumer.assignment())


def retry_policy() -> RetryPolicy:
    return RetryPolicy(initial_s=BACKOFF_INITIAL_S, max_s=BACKOFF_MAX_S, max_attempts=MAX_ATTEMPTS)


async def run_sink(
    settings: Settings,
    *,
    writers: list[Writer] | None = None,
    options: WriterOptions | None = None,
    stop: asyncio.Event | None = None,
    metrics: SinkMetrics | None = None,
    http: HttpOptions | None = None,
) -> None:
    """Consume ``settings.topics.enriched`` into ``writers`` until stopped.

    Without ``writers`` (the CLI path) they are built from ``options``, or from
    configuration (:class:`WriterOptions`: JSON Lines, plus PostgreSQL when a DSN is
    set; the CLI passes the options it checked, so nothing is checked twice) and the
    HTTP server listens as :class:`HttpOptions` says; with ``writers`` given, the
    server runs only if ``http`` is. Without ``stop`` the sink stops on
    SIGTERM/SIGINT; with one, the caller owns the lifecycle and no signal handler is
    installed. Either way the end is a final flush and commit; the writers are
    closed on exit (also on errors, which skip the final commit so that Kafka
    redelivers).
    """
    metrics = metrics or SinkMetrics()
    if writers is None:
        writers = await build_writers(options or WriterOptions.from_settings(settings))
        http = http or HttpOptions.from_settings(settings)
    readiness = Readiness(metrics)
    for writer in writers:
        readiness.track(writer.name, known_ok=not isinstance(writer, Reachable))
    server = health_server(metrics, readiness, http) if http else None
    # Without a caller's event, SIGTERM/SIGINT stop the sink (handlers restored on exit).
    signals = stop_on_signals() if stop is None else contextlib.nullcontext(stop)
    async with signals as stop:
        await _consume(settings, writers, stop, metrics, readiness, server)


async def _consume(
    settings: Settings,
    writers: list[Writer],
    stop: asyncio.Event,
    metrics: SinkMetrics,
    readiness: Readiness,
    server: HealthServer | None,
) -> None:
    producer: AIOKafkaProducer | None = None
    consumer: AIOKafkaConsumer | None = None
    tasks: list[asyncio.Task[None]] = []
    try:
        if server is not None:
            await server.start()
        port = server.port if server is not None else None  # the start line says where it went
        names = [writer.name for writer in writers]
        tasks.append(start_status(settings, metrics, readiness, writers=names, http_port=port))
        producer = new_producer(settings.kafka)
        consumer = new_consumer(
            settings.kafka,
            group_id=settings.sink.group_id,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        await producer.start()
        await consumer.start()
        readiness.watch_assignment(functools.partial(_has_assignment, consumer))
        loop = PollLoop(
            settings,
            consumer=consumer,
            publisher=Publisher(settings=settings, producer=producer, service="sink"),
            writers=writers,
            stop=stop,
            metrics=metrics,
            readiness=readiness,
            policy=retry_policy(),
        )
        consumer.subscribe([settings.topics.enriched], listener=RevokeListener(loop))
        monitor = Monitor(consumer, writers, metrics, readiness, MONITOR_INTERVAL_S)
        tasks.append(asyncio.create_task(monitor.run(), name="sink-monitor"))
        # The index's expired keys are freed, but glibc keeps them resident (malloc.py).
        trimming = trim_every(interval_for(settings.sink.index_window_s))
        tasks.append(asyncio.create_task(trimming, name="sink-malloc-trim"))
        log.info("sink consuming %s as group %s", settings.topics.enriched, settings.sink.group_id)
        await loop.run()
    finally:
        for task in tasks:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        clients = [client.stop for client in (consumer, producer) if client is not None]
        closers = [*clients, *(writer.close for writer in writers)]
        if server is not None:
            closers.append(server.stop)
        await _close_all(closers)
        log.info("sink stopped: %s", metrics.counts().as_dict(), extra={"service": "sink"})


async def _close_all(closers: list[Callable[[], Awaitable[None]]]) -> None:
    """Close everything even if one close fails. The consumer comes first, so the
    group rebalances away from us promptly."""
    for close in closers:
        try:
            await close()
        except Exception:
            log.exception("error while closing the sink")
