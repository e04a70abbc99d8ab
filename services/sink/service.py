"""The sink: ``news.enriched`` -> writers (JSON Lines files by default).

Checkpointing in the Quix Streams manner: records are added to every writer, a batch
is flushed when it is full, old or the topic is idle, and only after *every* writer's
flush returned are the offsets of everything consumed so far committed (dead-lettered
and duplicate records included). A crash anywhere before the commit means Kafka
delivers the batch again; the writers are idempotent, so that adds nothing twice.

Failure policy:

* undecodable or schema-invalid message -> dead letter (decode/schema), awaited;
* a writer refuses a record's content (:class:`RecordRejected`) -> dead letter
  (rejected), the batch goes on;
* anything else a writer or the dead-letter producer raises is transient: retried
  with exponential backoff (capped), never dropped. While a flush is retried the
  partitions are paused and the consumer keeps polling, so it stays in its group.

Observability (:mod:`newswire.sink.metrics`): every flush attempt, retry, dead letter
and commit is counted in the sink's own Prometheus registry; a monitor task keeps
the consumer lag per partition and probes writers that have had nothing to flush
lately, so ``/readyz`` knows a database is down before the next batch finds out.
The CLI path (no ``writers`` given) builds its writers from configuration
(:func:`newswire.sink.writers.factory.build_writers`) and serves ``/healthz``,
``/readyz`` and ``/metrics``.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import signal
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener
from aiokafka.errors import KafkaError

from newswire.common.errors import ErrorKind, InvalidRecord
from newswire.common.kafka import new_consumer, new_producer
from newswire.common.publish import Publisher
from newswire.common.records import topic_origin
from newswire.common.schemas import SchemaName, decode_json_object
from newswire.common.settings import Settings
from newswire.sink.metrics import HealthServer, HttpOptions, Readiness, SinkMetrics
from newswire.sink.status import start_status
from newswire.sink.writers.base import FlushResult, Reachable, RecordRejected, Writer
from newswire.sink.writers.factory import WriterOptions, build_writers

log = logging.getLogger(__name__)

T = TypeVar("T")

#: First retry delay; doubles per attempt up to BACKOFF_MAX_S.
BACKOFF_INITIAL_S = 0.2
BACKOFF_MAX_S = 30.0
#: Longest wait in one poll, so a stop request is seen quickly.
POLL_MAX_S = 0.5
#: How long a flush may keep retrying inside a partition revocation. A rebalance waits
#: for the callback, so it must not retry forever there: what is not flushed in time
#: stays buffered (and uncommitted), and the new owner re-reads it.
REVOKE_FLUSH_BUDGET_S = 3.0
#: How long the final flush on shutdown may keep retrying before giving up (uncommitted).
FINAL_FLUSH_BUDGET_S = 10.0
#: How often the monitor refreshes consumer lag and probes idle writers.
MONITOR_INTERVAL_S = 5.0
#: Longest a writer probe may take before it counts as failed.
PROBE_TIMEOUT_S = 10.0


@dataclass
class SinkStats:
    """Counters logged on exit (and later exported as metrics)."""

    consumed: int = 0
    written: Counter[str] = field(default_factory=Counter)  # per writer
    duplicates: Counter[str] = field(default_factory=Counter)  # per writer
    dead_letters: Counter[str] = field(default_factory=Counter)  # per error kind
    flushes: int = 0
    retries: int = 0
    commits: int = 0
    commit_failures: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "consumed": self.consumed,
            "written": dict(self.written),
            "duplicates": dict(self.duplicates),
            "dead_letters": dict(self.dead_letters),
            "flushes": self.flushes,
            "retries": self.retries,
            "commits": self.commits,
            "commit_failures": self.commit_failures,
        }


@dataclass
class _Batch:
    """Size and age of what was consumed since the last successful flush."""

    records: int = 0
    bytes: int = 0
    started: float | None = None

    def add(self, size: int) -> None:
        if self.started is None:
            self.started = time.monotonic()
        self.records += 1
        self.bytes += size

    def age(self) -> float:
        return 0.0 if self.started is None else time.monotonic() - self.started

    def reset(self) -> None:
        self.records, self.bytes, self.started = 0, 0, None


class _GaveUp(Exception):
    """A retried operation stopped retrying (stop requested or budget spent)."""


class _Sink:
    """One consumer, its writers and the batch between two commits.

    ``_lock`` serialises batch handling and flush+commit between the poll loop and
    the rebalance callback, which aiokafka runs in its coordinator task. The poll
    loop lets go of it only while it waits between retries.
    """

    def __init__(
        self,
        settings: Settings,
        consumer: AIOKafkaConsumer,
        publisher: Publisher,
        writers: list[Writer],
        stop: asyncio.Event,
        metrics: SinkMetrics,
        readiness: Readiness,
    ) -> None:
        self._settings = settings
        self._consumer = consumer
        self._publisher = publisher
        self._writers = writers
        self._stop = stop
        self._metrics = metrics
        self._readiness = readiness
        self._lock = asyncio.Lock()
        self._batch = _Batch()
        self._offsets: dict[TopicPartition, int] = {}  # next offset to commit
        self.stats = SinkStats()

    # -- the loop -------------------------------------------------------------------

    async def run(self) -> None:
        """Poll, handle, flush when due; on stop, a last flush and commit."""
        limits = self._settings.sink
        while not self._stop.is_set():
            room = max(1, limits.batch_max_records - self._batch.records)
            batches = await self._consumer.getmany(
                timeout_ms=self._poll_timeout_ms(), max_records=room
            )
            async with self._lock:
                if not await self._handle_batches(batches):
                    break
                if self._flush_due(idle=not batches):
                    await self._flush_and_commit(budget_s=None)
        async with self._lock:
            await self._flush_and_commit(budget_s=FINAL_FLUSH_BUDGET_S)

    def _poll_timeout_ms(self) -> int:
        wait = POLL_MAX_S
        if self._batch.started is not None:
            wait = min(wait, max(0.0, self._settings.sink.batch_max_age_s - self._batch.age()))
        return int(wait * 1000)

    def _flush_due(self, *, idle: bool) -> bool:
        limits = self._settings.sink
        if self._batch.records == 0:
            return idle and bool(self._offsets)  # only a commit that failed before is left
        return (
            idle
            or self._batch.records >= limits.batch_max_records
            or self._batch.bytes >= limits.batch_max_bytes
            or self._batch.age() >= limits.batch_max_age_s
        )

    async def _handle_batches(self, batches: dict[TopicPartition, list[ConsumerRecord]]) -> bool:
        """Handle polled messages in order; False if stopped half-way (the rest stays
        uncommitted and is delivered again)."""
        for tp, messages in batches.items():
            for message in messages:
                if tp not in self._consumer.assignment():
                    break  # revoked while we waited for the lock; the new owner reads it
                try:
                    await self._handle(tp, message)
                except _GaveUp:
                    return False
        return True

    async def _handle(self, tp: TopicPartition, message: ConsumerRecord) -> None:
        """Decode, validate, add to every writer; dead-letter what cannot be written.
        The offset counts as consumed only once all of that is done."""
        raw: bytes | None = message.value
        try:
            record = decode_json_object(raw, SchemaName.ENRICHED)
        except InvalidRecord as error:
            await self._dead_letter(error, message)
        else:
            key = (
                message.key.decode("utf-8", "replace") if message.key is not None else record["id"]
            )
            for writer in self._writers:
                await self._add(writer, record, key, message)
        self.stats.consumed += 1
        self._metrics.consumed.inc()
        self._batch.add(len(raw or b""))
        self._offsets[tp] = message.offset + 1

    async def _add(
        self, writer: Writer, record: dict[str, Any], key: str, message: ConsumerRecord
    ) -> None:
        try:
            await self._retry(
                lambda: writer.add(record, key=key, raw=message.value),
                what=f"add to {writer.name}",
                operation="add",
            )
        except RecordRejected as rejected:
            error = InvalidRecord(ErrorKind.REJECTED, f"{writer.name}: {rejected.reason}")
            await self._dead_letter(error, message)

    async def _dead_letter(self, error: InvalidRecord, message: ConsumerRecord) -> None:
        origin = topic_origin(message.topic, message.partition, message.offset, message.key)
        await self._retry(
            lambda: self._publisher.dead_letter(
                error=error, payload=message.value, origin=origin, key=message.key
            ),
            what="dead letter",
            operation="dead_letter",
        )
        self.stats.dead_letters[error.kind.value] += 1
        self._metrics.dead_letters.labels(error.kind.value).inc()

    # -- flush and commit -----------------------------------------------------------

    async def _flush_and_commit(self, *, budget_s: float | None) -> bool:
        """Flush every writer, then commit. ``budget_s=None`` retries until it works
        or stop is requested. False (nothing committed) if a flush gave up."""
        if self._batch.records == 0 and not self._offsets:
            return True
        deadline = None if budget_s is None else time.monotonic() + budget_s
        try:
            for writer in self._writers:
                result = await self._retry(
                    functools.partial(self._flush_writer, writer),
                    what=f"flush {writer.name}",
                    operation="flush",
                    deadline=deadline,
                )
                self.stats.written[writer.name] += result.written
                self.stats.duplicates[writer.name] += result.duplicates
                self._metrics.records_written.labels(writer.name).inc(result.written)
                self._metrics.records_skipped.labels(writer.name).inc(result.duplicates)
        except _GaveUp:
            log.error("flush gave up; %d records stay uncommitted", self._batch.records)
            return False
        finally:
            self._resume()
        self.stats.flushes += 1
        self._batch.reset()
        await self._commit()
        return True

    async def _flush_writer(self, writer: Writer) -> FlushResult:
        """One timed flush attempt. Its outcome feeds the latency histogram and
        readiness; a flush that had nothing to do proves nothing about reachability."""
        started = time.perf_counter()
        try:
            result = await writer.flush()
        except Exception as exc:
            self._metrics.flush_seconds.labels(writer.name, "error").observe(
                time.perf_counter() - started
            )
            self._readiness.flush_failed(writer.name, str(exc) or repr(exc))
            raise
        self._metrics.flush_seconds.labels(writer.name, "ok").observe(time.perf_counter() - started)
        if result.written or result.duplicates:
            self._readiness.flush_succeeded(writer.name)
        return result

    async def _commit(self) -> None:
        """Commit the next offset of every consumed partition we still own. A failed
        commit keeps the offsets for the next one; redelivery meanwhile is harmless."""
        assigned = self._consumer.assignment()
        offsets = {tp: offset for tp, offset in self._offsets.items() if tp in assigned}
        for tp in set(self._offsets) - set(offsets):
            del self._offsets[tp]
        if not offsets:
            return
        try:
            await self._consumer.commit(offsets)
        except KafkaError as exc:
            self.stats.commit_failures += 1
            self._metrics.commits.labels("error").inc()
            log.warning("offset commit failed, will retry with the next flush: %r", exc)
            return
        self.stats.commits += 1
        self._metrics.commits.labels("ok").inc()
        for tp, offset in offsets.items():
            if self._offsets.get(tp) == offset:
                del self._offsets[tp]

    async def on_revoked(self, revoked: set[TopicPartition]) -> None:
        """Flush and commit before the partitions move, so the new owner starts
        where our durable output ends. Bounded: a rebalance waits for us."""
        if not revoked:
            return
        async with self._lock:
            if not await self._flush_and_commit(budget_s=REVOKE_FLUSH_BUDGET_S):
                log.error("partitions %s revoked before their batch was flushed", sorted(revoked))
            for tp in revoked:
                self._offsets.pop(tp, None)

    # -- retrying -------------------------------------------------------------------

    async def _retry(
        self,
        attempt_once: Callable[[], Awaitable[T]],
        *,
        what: str,
        operation: str,
        deadline: float | None = None,
    ) -> T:
        """Run ``operation`` until it succeeds. :class:`RecordRejected` is not retried
        (content errors are final). Raises :class:`_GaveUp` when stop is requested
        (unbounded mode) or the deadline would pass. ``operation`` labels the retry
        metric (add, flush, dead_letter)."""
        delay = BACKOFF_INITIAL_S
        attempt = 0
        while True:
            try:
                return await attempt_once()
            except RecordRejected:
                raise
            except Exception as exc:
                attempt += 1
                self.stats.retries += 1
                self._metrics.retries.labels(operation).inc()
                log.warning(
                    "%s failed (attempt %d), retrying in %.1fs: %r", what, attempt, delay, exc
                )
                if deadline is None and self._stop.is_set():
                    raise _GaveUp(what) from exc
                if deadline is not None and time.monotonic() + delay > deadline:
                    raise _GaveUp(what) from exc
            if deadline is None:
                await self._backoff_polling(delay)
            else:
                await asyncio.sleep(delay)  # bounded by the deadline; stop may already be set
            delay = min(delay * 2, BACKOFF_MAX_S)

    async def _backoff_polling(self, delay: float) -> None:
        """The poll loop's wait between attempts (less if stop is requested).

        It keeps polling with every partition paused, so aiokafka's
        ``max_poll_interval_ms`` does not expire and throw us out of the group, and it
        lets go of ``_lock`` meanwhile, so a rebalance is not held up by our retries:
        the revoke callback gets its own (bounded) try at flush and commit.
        """
        self._lock.release()
        try:
            end = time.monotonic() + delay
            while not self._stop.is_set() and (remaining := end - time.monotonic()) > 0:
                self._consumer.pause(*self._consumer.assignment())
                polled = await self._consumer.getmany(
                    timeout_ms=int(min(remaining, POLL_MAX_S) * 1000)
                )
                for tp, messages in polled.items():
                    self._consumer.seek(tp, messages[0].offset)  # assigned meanwhile; read it later
        finally:
            await self._lock.acquire()

    def _resume(self) -> None:
        paused = self._consumer.paused()
        if paused:
            self._consumer.resume(*paused)


class _RevokeListener(ConsumerRebalanceListener):
    def __init__(self, sink: _Sink) -> None:
        self._sink = sink

    async def on_partitions_revoked(self, revoked: Any) -> None:
        await self._sink.on_revoked(set(revoked))

    async def on_partitions_assigned(self, assigned: Any) -> None:
        log.info("sink assigned %s", sorted(f"{tp.topic}[{tp.partition}]" for tp in assigned))


def _install_signal_handlers(stop: asyncio.Event) -> Callable[[], None]:
    """SIGTERM/SIGINT set ``stop``; returns the undo. Outside the main thread (or
    where the loop cannot take signals) this is a no-op."""
    loop = asyncio.get_running_loop()
    installed: list[signal.Signals] = []
    for signum in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(signum, stop.set)
        except (NotImplementedError, RuntimeError, ValueError):
            continue
        installed.append(signum)

    def undo() -> None:
        for signum in installed:
            loop.remove_signal_handler(signum)

    return undo


class _Monitor:
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
            ends = await self._consumer.end_offsets(assigned)
            starts = await self._consumer.beginning_offsets(assigned)
            lags = {}
            for tp in assigned:
                committed = await self._consumer.committed(tp)
                position = starts[tp] if committed is None else committed
                lags[tp] = max(0, ends[tp] - position)
        except Exception as exc:  # lag is informative, never fatal
            log.debug("consumer lag not updated: %r", exc)
            return
        self._metrics.set_lag(lags)


def _has_assignment(consumer: AIOKafkaConsumer) -> bool:
    return bool(consumer.assignment())


async def run_sink(
    settings: Settings,
    *,
    writers: list[Writer] | None = None,
    stop: asyncio.Event | None = None,
    metrics: SinkMetrics | None = None,
    http: HttpOptions | None = None,
) -> None:
    """Consume ``settings.topics.enriched`` into ``writers`` until stopped.

    Without ``writers`` (the CLI path) they are built from configuration
    (:class:`WriterOptions`: JSON Lines, plus PostgreSQL when a DSN is set) and the
    HTTP server listens as :class:`HttpOptions` says; with ``writers`` given, the
    server runs only if ``http`` is. Without ``stop`` the sink stops on
    SIGTERM/SIGINT; with one, the caller owns the lifecycle and no signal handler is
    installed. Either way the end is a final flush and commit; the writers are
    closed on exit (also on errors, which skip the final commit so that Kafka
    redelivers).
    """
    metrics = metrics or SinkMetrics()
    if writers is None:
        writers = await build_writers(WriterOptions.from_settings(settings))
        http = http or HttpOptions.from_settings(settings)
    readiness = Readiness(metrics)
    for writer in writers:
        readiness.track(writer.name, known_ok=not isinstance(writer, Reachable))
    server = HealthServer(metrics=metrics, readiness=readiness, options=http) if http else None
    undo_signals: Callable[[], None] = lambda: None  # noqa: E731
    if stop is None:
        stop = asyncio.Event()
        undo_signals = _install_signal_handlers(stop)
    producer: AIOKafkaProducer | None = None
    consumer: AIOKafkaConsumer | None = None
    sink: _Sink | None = None
    monitor: asyncio.Task[None] | None = None
    status: asyncio.Task[None] | None = None
    try:
        if server is not None:
            await server.start()
        port = server.port if server is not None else None  # the start line says where it went
        names = [writer.name for writer in writers]
        status = start_status(settings, metrics, readiness, writers=names, http_port=port)
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
        publisher = Publisher(settings=settings, producer=producer, service="sink")
        sink = _Sink(settings, consumer, publisher, writers, stop, metrics, readiness)
        consumer.subscribe([settings.topics.enriched], listener=_RevokeListener(sink))
        monitor = asyncio.create_task(
            _Monitor(consumer, writers, metrics, readiness, MONITOR_INTERVAL_S).run(),
            name="sink-monitor",
        )
        log.info("sink consuming %s as group %s", settings.topics.enriched, settings.sink.group_id)
        await sink.run()
    finally:
        undo_signals()
        for task in (monitor, status):
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        clients = [client.stop for client in (consumer, producer) if client is not None]
        closers = [*clients, *(writer.close for writer in writers)]
        if server is not None:
            closers.append(server.stop)
        await _close_all(closers)
        if sink is not None:
            log.info("sink stopped: %s", sink.stats.as_dict(), extra={"service": "sink"})


async def _close_all(closers: list[Callable[[], Awaitable[None]]]) -> None:
    """Close everything even if one close fails. The consumer comes first, so the
    group rebalances away from us promptly."""
    for close in closers:
        try:
            await close()
        except Exception:
            log.exception("error while closing the sink")
