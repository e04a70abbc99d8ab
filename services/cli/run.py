"""``newswire run``: the whole pipeline once, for a demo or a smoke test.

The services run as child processes exactly as they would be deployed (``newswire
enrich``, ``newswire sink``), talking only through topics. "Done" is read from the
cluster, not guessed from sleeps: the enricher group has committed past every
replayed record (positions taken from the producer's acks), and then the sink group
has committed past everything the enricher produced — the sink commits only after
its writes are durable.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import orjson
from aiokafka import TopicPartition

from newswire.common.broker import EmbeddedBroker, free_port
from newswire.common.errors import BrokerError, NewswireError
from newswire.common.kafka import (
    caught_up,
    committed_offsets,
    create_missing_topics,
    end_offsets,
    new_consumer,
    wait_for_broker,
)
from newswire.common.settings import BrokerProfile, Settings, as_environment
from newswire.common.topics import declared_topics
from newswire.replay.service import ReplayReport, replay

POLL_S = 0.5


class PipelineFailed(NewswireError):
    """A child service died or the pipeline did not finish in time."""


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def check_alive(self) -> None:
        if self.process.poll() is not None:
            raise PipelineFailed(
                f"{self.name} exited with {self.process.returncode}; last log lines:\n{tail(self.log_path)}"
            )

    def stop(self, timeout_s: float = 20.0) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@dataclass
class Summary:
    enriched: int = 0
    languages: Counter[str] = field(default_factory=Counter)
    topics: Counter[str] = field(default_factory=Counter)
    statuses: Counter[str] = field(default_factory=Counter)
    dead_letters: Counter[str] = field(default_factory=Counter)
    reasons: list[str] = field(default_factory=list)


def tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def run_pipeline(settings: Settings, *, seeds: Path, out: Path, timeout_s: float, loop: int = 1) -> int:
    """Run everything, print the summary; 0 on success, 1 on failure."""
    log_dir = Path(".newswire/logs")
    log_dir.mkdir(parents=True, exist_ok=True)
    try:
        with _cluster(settings, log_dir) as live:
            asyncio.run(_prepare_topics(live))
            with _services(live, out=out, log_dir=log_dir) as children:
                summary = asyncio.run(_replay_and_wait(live, children, seeds=seeds, timeout_s=timeout_s, loop=loop))
    except (PipelineFailed, BrokerError, TimeoutError) as exc:
        print(f"newswire run failed: {exc}", file=sys.stderr)
        print(f"logs: {log_dir}/", file=sys.stderr)
        return 1
    print_summary(summary, out)
    return 0


@contextlib.contextmanager
def _cluster(settings: Settings, log_dir: Path) -> Iterator[Settings]:
    """The configured cluster, or a fresh embedded broker when none is configured."""
    if not settings.kafka.uses_embedded_broker:
        yield settings
        return
    with EmbeddedBroker(port=free_port(), log_path=log_dir / "broker.log") as broker:
        kafka = settings.kafka.model_copy(
            update={"bootstrap_servers": broker.bootstrap, "profile": BrokerProfile.EMBEDDED}
        )
        yield settings.model_copy(update={"kafka": kafka})


async def _prepare_topics(settings: Settings) -> None:
    await wait_for_broker(settings.kafka)
    await create_missing_topics(settings.kafka, declared_topics(settings))


def child_environment(settings: Settings, *, out: Path, state_dir: Path) -> dict[str, str]:
    """The children read settings from the environment like any deployment would."""
    env = dict(os.environ) | as_environment(settings)
    env |= {
        "KAFKA_BOOTSTRAP_SERVERS": settings.kafka.bootstrap,
        "KAFKA_PROFILE": settings.kafka.effective_profile.value,
        "SINK_OUT_DIR": str(out.resolve()),
        "ENRICHER_WEB_PORT": str(free_port()),
        "SINK_HTTP_PORT": str(free_port()),
        "ENRICHER_DATA_DIR": str(state_dir),
        "PYTHONUNBUFFERED": "1",
    }
    return env


@contextlib.contextmanager
def _services(settings: Settings, *, out: Path, log_dir: Path) -> Iterator[list[Child]]:
    with tempfile.TemporaryDirectory(prefix="newswire-enricher-") as state_dir:
        env = child_environment(settings, out=out, state_dir=Path(state_dir))
        children = [spawn_service(name, env, log_dir) for name in ("enrich", "sink")]
        try:
            yield children
        finally:
            for child in children:
                child.stop()


def spawn_service(command: str, env: Mapping[str, str], log_dir: Path) -> Child:
    """``python -m newswire COMMAND`` with ENV, its output in LOG_DIR/COMMAND.log."""
    log_path = log_dir / f"{command}.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "newswire", command], env=dict(env), stdout=log, stderr=subprocess.STDOUT
        )
    return Child(command, process, log_path)


async def _replay_and_wait(
    settings: Settings, children: list[Child], *, seeds: Path, timeout_s: float, loop: int
) -> Summary:
    deadline = time.monotonic() + timeout_s
    start_enriched = await end_offsets(settings.kafka, settings.topics.enriched)
    start_dlq = await end_offsets(settings.kafka, settings.topics.dlq)
    report = await replay(settings, [seeds], rate=None, loop=loop, progress=sys.stderr.isatty())
    for error in report.file_errors:
        print(f"skipped {error}", file=sys.stderr)
    print(
        f"replayed {report.produced} records ({len(report.article_ids)} articles) "
        f"from {report.files} files; waiting for the pipeline...",
        file=sys.stderr,
    )
    await _wait_for_group(settings, settings.enricher.app_id, report.next_offsets, children, deadline)
    enriched_targets = await end_offsets(settings.kafka, settings.topics.enriched)
    await _wait_for_group(settings, settings.sink.group_id, enriched_targets, children, deadline)
    summary = await summarise(settings, start_enriched, enriched_targets, start_dlq)
    _check_every_article_accounted(report, summary)
    return summary


async def _wait_for_group(
    settings: Settings,
    group_id: str,
    targets: Mapping[TopicPartition, int],
    children: list[Child],
    deadline: float,
) -> None:
    while True:
        for child in children:
            child.check_alive()
        if caught_up(await committed_offsets(settings.kafka, group_id, targets), targets):
            return
        if time.monotonic() > deadline:
            raise PipelineFailed(f"consumer group {group_id} did not catch up before the timeout")
        await asyncio.sleep(POLL_S)


def _check_every_article_accounted(report: ReplayReport, summary: Summary) -> None:
    outcomes = summary.enriched + sum(summary.dead_letters.values())
    if report.article_ids and outcomes == 0:
        raise PipelineFailed("no replayed article reached news.enriched or news.dlq")


async def _read_range(
    settings: Settings, topic: str, start: Mapping[TopicPartition, int], end: Mapping[TopicPartition, int]
) -> list[bytes]:
    """Every value of TOPIC between two offset snapshots."""
    wanted = {tp: (start.get(tp, 0), stop) for tp, stop in end.items() if stop > start.get(tp, 0)}
    if not wanted:
        return []
    consumer = new_consumer(settings.kafka, group_id=None)
    await consumer.start()
    try:
        consumer.assign(list(wanted))
        for tp, (first, _) in wanted.items():
            consumer.seek(tp, first)
        values: list[bytes] = []
        while [tp for tp, (_, stop) in wanted.items() if await consumer.position(tp) < stop]:
            batches = await consumer.getmany(timeout_ms=1000)
            for tp, messages in batches.items():
                values.extend(m.value for m in messages if m.offset < wanted[tp][1] and m.value is not None)
        return values
    finally:
        await consumer.stop()


async def summarise(
    settings: Settings,
    start_enriched: Mapping[TopicPartition, int],
    end_enriched: Mapping[TopicPartition, int],
    start_dlq: Mapping[TopicPartition, int],
) -> Summary:
    summary = Summary()
    for value in await _read_range(settings, settings.topics.enriched, start_enriched, end_enriched):
        record = orjson.loads(value)
        summary.enriched += 1
        summary.languages[record["language"]["code"]] += 1
        summary.statuses[record["dedupe"]["status"]] += 1
        summary.topics.update(topic["id"] for topic in record["topics"])
    end_dlq = await end_offsets(settings.kafka, settings.topics.dlq)
    for value in await _read_range(settings, settings.topics.dlq, start_dlq, end_dlq):
        letter = orjson.loads(value)
        summary.dead_letters[f"{letter['service']}/{letter['kind']}"] += 1
        summary.reasons.append(letter["reason"])
    return summary


def print_summary(summary: Summary, out: Path) -> None:
    def fmt(counter: Counter[str]) -> str:
        return ", ".join(f"{k}={v}" for k, v in sorted(counter.items())) or "none"

    print(f"enriched: {summary.enriched} (written under {out}/)")
    print(f"  dedupe:    {fmt(summary.statuses)}")
    print(f"  languages: {fmt(summary.languages)}")
    print(f"  topics:    {fmt(summary.topics)}")
    print(f"dead letters: {sum(summary.dead_letters.values())} ({fmt(summary.dead_letters)})")
    for reason in summary.reasons[:5]:
        print(f"  - {reason}")
