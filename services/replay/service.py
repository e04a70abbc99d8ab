"""Replay: seed files -> raw records on ``news.raw``, to feed the pipeline on demand.

Records are produced keyed by article id and counted only once the broker has acked
them; a record the contract refuses (an invalid ``.jsonl`` line, a ``.txt`` the schema
cannot take, one over the message limit) goes to the dead-letter topic with its bytes
and its file:line; a file that cannot be read is reported and skipped. Nothing is
dropped silently.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from aiokafka import TopicPartition
from aiokafka.structs import RecordMetadata

from newswire.common.errors import InvalidRecord, SeedFileError
from newswire.common.kafka import new_producer
from newswire.common.progress import NoProgress, Progress, RichProgress
from newswire.common.publish import Publisher
from newswire.common.records import encode
from newswire.common.schemas import SchemaName
from newswire.common.settings import Settings
from newswire.replay.files import (
    LineFailure,
    SeedPaths,
    SeedRecord,
    expand_seed_paths,
    read_seed_file,
)
from newswire.replay.pacing import Pacer

log = logging.getLogger(__name__)

#: Delivery futures awaited together; bounds memory whatever the size of the seed set.
DELIVERY_CHUNK = 1000


@dataclass
class ReplayReport:
    """What a replay did. ``produced`` counts records the broker acked (all passes);
    ``files`` counts distinct seed files read; ``dead_letters`` the records sent to the
    dead-letter topic instead, each once; ``file_errors`` holds files that could not be
    read, each once; ``next_offsets`` is, per ``news.raw`` partition written, the
    highest acked offset + 1 - taken from the producer's delivery reports, so it is
    exact even where broker watermarks are not."""

    produced: int = 0
    files: int = 0
    article_ids: set[str] = field(default_factory=set)
    dead_letters: int = 0
    file_errors: list[SeedFileError] = field(default_factory=list)
    #: Files in the seed folders that are not seeds (neither .txt nor .jsonl), passed over.
    ignored: list[Path] = field(default_factory=list)
    next_offsets: dict[TopicPartition, int] = field(default_factory=dict)

    def record_delivery(self, metadata: RecordMetadata, article_id: str) -> None:
        tp = TopicPartition(metadata.topic, metadata.partition)
        self.next_offsets[tp] = max(self.next_offsets.get(tp, 0), metadata.offset + 1)
        self.article_ids.add(article_id)
        self.produced += 1


async def replay(
    settings: Settings,
    paths: Sequence[Path] | SeedPaths,
    *,
    rate: float | None = None,
    loop: int = 1,
    progress: bool | Progress = False,
    on_file_error: Callable[[SeedFileError], None] | None = None,
    on_ignored: Callable[[list[Path]], None] | None = None,
) -> ReplayReport:
    """Produce every record of the seed files at ``paths`` to ``settings.topics.raw``
    (or of their expansion, when the caller walked them already to check them).

    ``rate`` caps records per second (None: as fast as the broker takes them);
    ``loop`` replays the whole set that many times - the same articles keep their
    ids, so downstream dedupe sees repeats, which is the point of a load test. Dead
    letters are sent once per line, not once per pass. Returns only when every
    record is acked; a delivery failure raises (the report would be wrong otherwise).

    ``progress`` counts records as the broker acks them: a
    :class:`~newswire.common.progress.Progress` (e.g. from ``progress_on``), or True
    for a rich bar on stderr. Each file that cannot be replayed is passed to
    ``on_file_error`` as it is found, or logged as a warning when there is none; the
    files in seed folders that are not seeds are passed to ``on_ignored`` (or logged)
    before anything is produced.
    """
    if loop < 1:
        raise ValueError(f"loop must be at least 1, got {loop!r}")
    pacer = Pacer(rate) if rate is not None else None
    seeds = paths if isinstance(paths, SeedPaths) else expand_seed_paths(paths)
    report = ReplayReport()
    report_error = on_file_error or _log_file_error
    for error in seeds.errors:
        _report_file_error(report, error, report_error)
    report.ignored = seeds.ignored
    if seeds.ignored:
        (on_ignored or _log_ignored)(seeds.ignored)
    producer = new_producer(settings.kafka)
    with _progress(progress) as shown:
        shown.begin("records acked", None)
        try:
            await producer.start()
            publisher = Publisher(settings=settings, producer=producer, service="replay")
            run = _ReplayRun(settings, publisher, report, pacer, report_error, shown.update)
            for _ in range(loop):
                for path in seeds.files:
                    await run.replay_file(path, seeds.refs.get(path))
            await run.finish()
        finally:
            await producer.stop()  # flushes anything still buffered; safe if start failed
        shown.update(report.produced)
        shown.end()
    return report


class _ReplayRun:
    """State of one replay call: deliveries in flight and which files were seen."""

    def __init__(
        self,
        settings: Settings,
        publisher: Publisher,
        report: ReplayReport,
        pacer: Pacer | None,
        report_error: Callable[[SeedFileError], None],
        acked: Callable[[int], None],
    ) -> None:
        self._settings = settings
        self._publisher = publisher
        self._report = report
        self._pacer = pacer
        self._report_error = report_error
        self._show_acked = acked
        self._acked = 0  # as the broker answers, ahead of report.produced (per chunk)
        self._pending: list[tuple[asyncio.Future[RecordMetadata], str]] = []
        self._read: set[Path] = set()
        self._failed: set[str] = set()

    async def replay_file(self, path: Path, ref: str | None = None) -> None:
        try:
            max_bytes = self._settings.replay.max_file_bytes
            seed = read_seed_file(path, max_bytes=max_bytes, ref=ref)
        except SeedFileError as error:
            if error.path not in self._failed:  # a bad file is reported once, not per pass
                self._failed.add(error.path)
                _report_file_error(self._report, error, self._report_error)
            return
        first_read = path not in self._read
        if first_read:  # dead letters and refusals are reported once, not per pass
            self._read.add(path)
            self._report.files += 1
            for failure in seed.failures:
                await self._dead_letter(failure)
        for item in seed.records:
            await self._produce(item, report_refusal=first_read)

    async def _produce(self, item: SeedRecord, *, report_refusal: bool) -> None:
        if self._pacer is not None:
            await self._pacer.wait()
        try:
            # Seed records are validated once, when read (replay/files.py), after their
            # last change; not again here.
            future = await self._publisher.publish(
                self._settings.topics.raw,
                item.article_id,
                item.record,
                SchemaName.RAW,
                validated=True,
            )
        except InvalidRecord as error:
            # Schema-valid but over the message limit (Publisher.publish says so, naming
            # KAFKA_MAX_MESSAGE_BYTES): refused like a line the schema refuses, to the
            # dead-letter topic with its origin and the head of its bytes, which must
            # not stop the rest.
            if report_refusal:
                payload = encode(item.record)
                await self._dead_letter(LineFailure(item.file, item.line or 1, payload, error))
            return
        future.add_done_callback(self._count_ack)
        self._pending.append((future, item.article_id))
        if len(self._pending) >= DELIVERY_CHUNK:
            await self._await_deliveries()

    def _count_ack(self, future: asyncio.Future[RecordMetadata]) -> None:
        if not future.cancelled() and future.exception() is None:
            self._acked += 1
            self._show_acked(self._acked)

    async def _dead_letter(self, failure: LineFailure) -> None:
        await self._publisher.dead_letter(
            error=failure.error, payload=failure.payload, origin=failure.origin
        )
        self._report.dead_letters += 1

    async def finish(self) -> None:
        await self._await_deliveries()

    async def _await_deliveries(self) -> None:
        """Await every pending delivery; record the acked ones before raising the
        first failure, so no future is left un-awaited."""
        pending, self._pending = self._pending, []
        outcomes = await Publisher.deliveries([future for future, _ in pending])
        first_error: BaseException | None = None
        for (_, article_id), outcome in zip(pending, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                first_error = first_error or outcome
            else:
                self._report.record_delivery(outcome, article_id)
        if first_error is not None:
            raise first_error


def _log_ignored(paths: list[Path]) -> None:
    log.info("ignoring %d files that are not .txt/.jsonl seeds: %s", len(paths), paths[:5])


def _log_file_error(error: SeedFileError) -> None:
    log.warning("skipping seed file %s: %s", error.path, error.reason)


def _report_file_error(
    report: ReplayReport, error: SeedFileError, tell: Callable[[SeedFileError], None]
) -> None:
    tell(error)
    report.file_errors.append(error)


@contextlib.contextmanager
def _progress(progress: bool | Progress) -> Iterator[Progress]:
    """The caller's progress, a rich bar on stderr for True, nothing for False."""
    if not isinstance(progress, bool):
        yield progress
        return
    if not progress:
        yield NoProgress()
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
    from rich.progress import Progress as Bar

    columns = (
        TextColumn("replay: {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Bar(*columns, console=Console(stderr=True)) as bar:
        yield RichProgress(bar)
