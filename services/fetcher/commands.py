"""What the ``newswire`` CLI calls: plain functions returning exit codes.

They take the already-loaded common ``Settings`` (the fetcher's own group is read
from ``settings.fetcher`` once the lead adds it there, else from the environment)
and keep standard output clean for data: records in ``--once --output -`` mode,
reports otherwise; one line per source goes to standard error.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import sys
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any, BinaryIO, TextIO

from newswire.common.kafka import new_producer
from newswire.common.publish import Publisher
from newswire.common.settings import FetcherSettings, Settings
from newswire.common.signals import stop_on_signals
from newswire.fetcher.errors import SourcesFileError
from newswire.fetcher.fetch.client import HttpClient
from newswire.fetcher.fleet import FleetMember, PartitionMismatch
from newswire.fetcher.metrics import FetcherMetrics, health_server
from newswire.fetcher.outputs import KafkaSink
from newswire.fetcher.poller import PollResult
from newswire.fetcher.service import FetcherService, RunReport, stream_service
from newswire.fetcher.sources import Source, load_sources
from newswire.fetcher.statestore import KafkaStateStore

log = logging.getLogger(__name__)


def fetcher_settings(settings: Settings, allow_network: Sequence[str] = ()) -> FetcherSettings:
    """The FETCHER_ group (from Settings once it lives there), plus ``--allow-network``."""
    base = settings.fetcher
    if not allow_network:
        return base
    extra = [ipaddress.ip_network(cidr.strip(), strict=False) for cidr in allow_network]
    return base.model_copy(update={"allow_networks": [*base.allow_networks, *extra]})


def fetch(
    settings: Settings,
    sources_path: Path | None,
    *,
    once: bool = False,
    output: str | None = None,
    allow_network: Sequence[str] = (),
) -> int:
    """``newswire fetch --sources FILE [--once] [--output -] [--allow-network CIDR]...``.

    Without a file (``sources_path`` None) this replica joins the fetcher group on the
    sources topic and polls the partitions it is assigned (``fleet.py``).

    Exit codes: 0 ok; 1 some source failed or an item was (``--output -``: would be)
    dead-lettered as too large (``--once`` only); 2 unusable sources file or
    topics that are not co-partitioned. A service that cannot start (its port taken)
    raises :class:`~newswire.common.errors.CannotStart`, which the command runner
    (``cli.exits.command_failures``) reports in one line with exit 2, as for every command.
    """
    if sources_path is None:
        group = fetcher_settings(settings, allow_network)
        try:
            asyncio.run(run_fleet_member(settings, group))
        except PartitionMismatch as error:
            print(f"newswire fetch: {error}", file=sys.stderr)
            return 2
        return 0
    try:
        sources = load_sources(sources_path)
    except SourcesFileError as error:
        for problem in error.problems:
            print(f"{sources_path}: {problem}", file=sys.stderr)
        return 2
    group = fetcher_settings(settings, allow_network)
    if output is not None:
        if output != "-":
            print("--output takes only '-' (standard output)", file=sys.stderr)
            return 2
        report = asyncio.run(
            fetch_once_to_stream(
                sources,
                group,
                sys.stdout.buffer,
                sys.stderr,
                max_message_bytes=settings.kafka.max_message_bytes,
            )
        )
        return _closing(report)
    if once:
        report = asyncio.run(fetch_once_to_kafka(settings, sources, group, sys.stderr))
        return _closing(report)
    asyncio.run(run_fetcher(settings, sources, group))
    return 0


def _closing(report: RunReport) -> int:
    """``--once`` ends with one line saying whether every source was read whole."""
    code, line = report.closing()
    sys.stdout.flush()
    print(line, file=sys.stderr, flush=True)
    return code


def _stderr_reporter(err: TextIO):
    def report(result: PollResult) -> None:
        print(result.summary(), file=err, flush=True)

    return report


def _log_poll(result: PollResult) -> None:
    """Continuous mode: polls that found items or failed at INFO, the rest at DEBUG."""
    level = logging.DEBUG if result.outcome == "not_modified" else logging.INFO
    log.log(level, result.summary(), extra={"source_id": result.source.id})


async def fetch_once_to_stream(
    sources: Sequence[Source],
    group: FetcherSettings,
    stream: BinaryIO,
    err: TextIO,
    *,
    max_message_bytes: int | None = None,
) -> RunReport:
    """``--once --output -``: records as JSON Lines on ``stream``, no Kafka at all; a
    record over ``max_message_bytes`` (KAFKA_MAX_MESSAGE_BYTES) is written and said as
    one Kafka mode would dead-letter (the dry run tells the truth about Kafka mode)."""
    async with HttpClient(group) as http:
        service = stream_service(
            sources,
            group,
            stream=stream,
            http=http,
            max_message_bytes=max_message_bytes,
            report=_stderr_reporter(err),
        )
        return await service.run_once()


async def fetch_once_to_kafka(
    settings: Settings, sources: Sequence[Source], group: FetcherSettings, err: TextIO
) -> RunReport:
    """``--once`` with Kafka: one poll of every source, state loaded and saved as usual."""
    async with _kafka_service(settings, sources, group, report=_stderr_reporter(err)) as service:
        return await service.run_once()


async def run_fetcher(
    settings: Settings, sources: Sequence[Source], group: FetcherSettings
) -> RunReport:
    """The long-running service, until SIGTERM/SIGINT; serves health and metrics
    (``FETCHER_WEB_PORT=0`` serves none)."""
    metrics = FetcherMetrics()
    web = _web(metrics, group)
    async with stop_on_signals() as stop, web:
        async with _kafka_service(
            settings, sources, group, metrics=metrics, report=_log_poll
        ) as service:
            log.info("fetcher polling %d sources", len(service.states) or len(sources))
            return await service.run(stop)


def _web(metrics: FetcherMetrics, group: FetcherSettings) -> Any:
    """/healthz, /readyz and /metrics, or nothing with ``FETCHER_WEB_PORT=0``."""
    if group.web_port:
        return health_server(metrics, group.web_host, group.web_port)
    return contextlib.nullcontext()


async def run_fleet_member(settings: Settings, group: FetcherSettings) -> None:
    """One replica of the fleet until SIGTERM/SIGINT: the sources of the partitions the
    group assigns it, with health and metrics as :func:`run_fetcher`."""
    metrics = FetcherMetrics()
    web = _web(metrics, group)
    async with stop_on_signals() as stop, web:
        parts = _kafka_parts(settings, [], group, metrics=metrics, report=_log_poll)
        async with parts as (service, store, publisher):
            log.info("fetcher joining group %s on %s", group.group_id, group.sources_topic)
            await FleetMember(settings, service, store, publisher).run(stop)


@contextlib.asynccontextmanager
async def _kafka_service(
    settings: Settings, sources: Sequence[Source], group: FetcherSettings, **kwargs: Any
) -> AsyncIterator[FetcherService]:
    async with _kafka_parts(settings, sources, group, **kwargs) as (service, _store, _publisher):
        yield service


@contextlib.asynccontextmanager
async def _kafka_parts(
    settings: Settings, sources: Sequence[Source], group: FetcherSettings, **kwargs: Any
) -> AsyncIterator[tuple[FetcherService, KafkaStateStore, Publisher]]:
    """A service producing to the raw topic, its state store and its publisher."""
    producer = new_producer(settings.kafka)
    await producer.start()
    store = KafkaStateStore(settings, producer, topic=group.state_topic)
    try:
        await store.start()
        async with HttpClient(group) as http:
            publisher = Publisher(settings=settings, producer=producer, service="fetcher")
            sink = KafkaSink(publisher, settings.topics.raw)
            service = FetcherService(sources, group, sink=sink, store=store, http=http, **kwargs)
            yield service, store, publisher
    finally:
        await store.stop()
        await producer.stop()
