"""``newswire run``: the whole pipeline once, for a demo or a smoke test.

The services run as child processes exactly as they would be deployed (``newswire
enrich``, ``newswire sink``), talking only through topics. "Done" is read from the
cluster, not guessed from sleeps: the enricher group has committed past every
replayed record (positions taken from the producer's acks), and then the sink group
has committed past everything the enricher produced — the sink commits only after
its writes are durable.

The summary tells what this run added: the JSON Lines directory is read before and
after, so an article already under OUT (a second ``make run``) is counted as "already
there", not as written; replayed records the enricher absorbed (the same article
again) are counted too (reading back and judging: run_report.py). Exit status as in
:mod:`newswire.cli.exits`: 0 every replayed article accounted for, 1 a seed could not
be replayed, nothing was replayed, an enriched record is missing from OUT or a service
failed, 3 Kafka did not answer.
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
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from aiokafka import TopicPartition

from newswire.cli.exits import (
    EXIT_INCOMPLETE,
    EXIT_UNREACHABLE,
    EXIT_USAGE,
    unreachable_line,
)
from newswire.cli.run_report import (
    Outcome,
    Summary,
    out_keys,
    plural,
    print_summary,
    summarise,
)
from newswire.common.broker import EmbeddedBroker, free_port
from newswire.common.errors import BrokerError, NewswireError
from newswire.common.kafka import (
    KafkaUnreachable,
    caught_up,
    committed_offsets,
    create_missing_topics,
    end_offsets,
    is_unreachable,
    require_broker,
)
from newswire.common.progress import progress_on
from newswire.common.settings import BrokerProfile, Settings
from newswire.common.settings_env import as_environment
from newswire.common.topics import declared_topics
from newswire.replay.command import say_ignored, say_skipped
from newswire.replay.files import SeedPaths
from newswire.replay.service import ReplayReport, replay

POLL_S = 0.5
#: Longest wait for the cluster to answer before anything starts (capped by --timeout).
BROKER_WAIT_S = 30.0


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
                f"{self.name} exited with {self.process.returncode}; "
                f"last log lines:\n{tail(self.log_path)}"
            )

    def stop(self, timeout_s: float = 20.0) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def check_out_dir(out: Path) -> str | None:
    """What is wrong with OUT as ``--out`` (None: usable), before any seed is replayed,
    so a folder that cannot exist is a usage error, not a failed sink.

    Nothing is made here: the JSON Lines writer makes the folder when it starts (and
    refuses with CannotStart if it then cannot), and with the writer off none is
    made. So OUT must be a folder a folder can be made in, or be missing below one.
    That is tried (and the folder removed at once), the one check: it answers for
    permissions, /proc, a read-only mount and a full disk alike, where a permission
    check (os.access) answers only the first, and not for root."""
    existing = next((p for p in (out, *out.parents) if p.exists()), None)
    if existing is None:  # not even the root: nothing to check against
        return None
    if not existing.is_dir():
        return f"{out}: cannot be made a folder: {existing} is not a folder"
    try:
        with tempfile.TemporaryDirectory(prefix=".newswire-check-", dir=existing):
            pass
    except OSError as exc:
        where = "" if existing == out else f" in {existing}"
        return f"{out}: cannot be made a folder{where}: {exc.strerror or exc}"
    return None


def run_pipeline(
    settings: Settings, *, seeds: SeedPaths, out: Path, timeout_s: float, loop: int = 1
) -> int:
    """Run everything, print the summary; returns the exit status (module docstring)."""
    from newswire.sink.writers.factory import JSONL, WriterOptions

    try:
        jsonl = JSONL in WriterOptions.from_settings(settings).writers
    except NewswireError as exc:
        print(f"newswire run: {exc}", file=sys.stderr)
        return EXIT_USAGE
    log_dir = Path(".newswire/logs")
    log_dir.mkdir(parents=True, exist_ok=True)
    fresh_cluster = settings.kafka.uses_embedded_broker
    try:
        with _cluster(settings, log_dir) as live:
            asyncio.run(_prepare_topics(live, timeout_s=min(BROKER_WAIT_S, timeout_s)))
            before = out_keys(out) if jsonl else None
            with _services(live, out=out, log_dir=log_dir) as children:
                report, summary = asyncio.run(
                    _replay_and_wait(
                        live,
                        children,
                        seeds=seeds,
                        timeout_s=timeout_s,
                        loop=loop,
                        fresh_cluster=fresh_cluster,
                    )
                )
    except KafkaUnreachable as exc:
        if fresh_cluster:  # the broker run started itself: its log says why
            line = f"{exc} (its log: {log_dir}/broker.log)"
        else:
            line = unreachable_line(settings.kafka, exc.timeout_s)
        print(f"newswire run: {line}", file=sys.stderr)
        return EXIT_UNREACHABLE
    except (PipelineFailed, BrokerError, TimeoutError) as exc:
        print(f"newswire run failed: {exc}", file=sys.stderr)
        print(f"logs: {log_dir}/", file=sys.stderr)
        return EXIT_INCOMPLETE
    except Exception as exc:
        if not is_unreachable(exc):
            raise
        print(f"newswire run: {unreachable_line(settings.kafka)}", file=sys.stderr)
        return EXIT_UNREACHABLE
    outcome = Outcome(
        report,
        summary,
        before,
        out_keys(out) if jsonl else None,
        fresh_cluster=fresh_cluster,
        drop_duplicates=settings.enricher.drop_duplicates,
    )
    print_summary(outcome, out)
    code, why = outcome.verdict()
    if why:
        print(f"newswire run: {why}", file=sys.stderr)
    return code


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


async def _prepare_topics(settings: Settings, *, timeout_s: float = BROKER_WAIT_S) -> None:
    """Wait (quietly) for the cluster, then create the topics; KafkaUnreachable if it
    does not answer within TIMEOUT_S."""
    await require_broker(settings.kafka, timeout_s=timeout_s)
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


def spawn_service(
    command: str, env: Mapping[str, str], log_dir: Path, *, name: str | None = None
) -> Child:
    """``python -m newswire COMMAND`` with ENV, its output in LOG_DIR/NAME.log (NAME tells
    replicas of one command apart; it defaults to COMMAND)."""
    log_path = log_dir / f"{name or command}.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "newswire", command],
            env=dict(env),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    return Child(name or command, process, log_path)


async def _replay_and_wait(
    settings: Settings,
    children: list[Child],
    *,
    seeds: SeedPaths,
    timeout_s: float,
    loop: int,
    fresh_cluster: bool = True,
) -> tuple[ReplayReport, Summary]:
    deadline = time.monotonic() + timeout_s
    start_enriched = await end_offsets(settings.kafka, settings.topics.enriched)
    start_dlq = await end_offsets(settings.kafka, settings.topics.dlq)
    with progress_on(sys.stderr, "run") as progress:
        report = await replay(
            settings,
            seeds,
            rate=None,
            loop=loop,
            progress=progress,
            on_file_error=say_skipped,
            on_ignored=say_ignored,
        )
    articles = plural(len(report.article_ids), "article")
    print(
        f"replayed {plural(report.produced, 'record')} ({articles}) "
        f"from {plural(report.files, 'file')}; waiting for the pipeline...",
        file=sys.stderr,
    )
    await _wait_for_group(
        settings, settings.enricher.app_id, report.next_offsets, children, deadline
    )
    enriched_targets = await end_offsets(settings.kafka, settings.topics.enriched)
    await _wait_for_group(settings, settings.sink.group_id, enriched_targets, children, deadline)
    summary = await summarise(settings, start_enriched, enriched_targets, start_dlq)
    if fresh_cluster:  # an enricher with no memory of earlier runs must emit every article once
        _check_every_article_accounted(report, summary)
    return report, summary


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
