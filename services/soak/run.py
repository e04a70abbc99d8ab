"""Running a soak scenario: traffic + a chaos plan against real services, then the checks.

:func:`run_scenario` starts the enricher and the sink (:class:`~newswire.soak.chaos.Fleet`),
sends the planned traffic while the chaos plan plays, waits until both consumer
groups have committed past everything (the way ``newswire run`` decides "done"),
stops the services and then counts by id:

* every produced record's (partition, offset, id) comes from the producer's acks;
* news.enriched, news.dlq, the JSON Lines files and the PostgreSQL table are read
  back whole; a good record is lost when its id is on none of them, a poison record
  when no dead letter points at its offset;
* ``newswire audit --json`` (services/audit) does the same count when it is
  installed; its figures are then the ones checked, and the harness's own count
  is printed beside them;
* every duplicate emission on news.enriched (an id emitted again) is put down to
  the last enricher event before it (a SIGKILL, the replica joining or leaving)
  by comparing its offset with news.enriched's end offsets snapshotted right after
  each event. A kill may cost at most one batch (``ENRICHER_BATCH_SIZE``: the
  enricher commits after each); before any event, nothing may be emitted twice.

This module holds the phases of the run (start, send, chaos, drain, stop, audit);
the scenarios are in :mod:`newswire.soak.scenarios`, the run's records in
:mod:`newswire.soak.ledger`, the reading back in :mod:`newswire.soak.readback`,
the checks in :mod:`newswire.soak.checks` and the report in :mod:`newswire.soak.report`.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import orjson
from aiokafka import TopicPartition
from aiokafka.errors import KafkaError, MessageSizeTooLargeError
from pydantic import SecretStr

from newswire.cli.run import PipelineFailed, _wait_for_group, child_environment
from newswire.common.kafka import committed_offsets, end_offsets, new_producer
from newswire.common.records import utc_now
from newswire.common.settings import Settings
from newswire.soak.chaos import ChaosEvent, ChaosRunner, EventRecord, Fleet, Role, plan_chaos
from newswire.soak.checks import Findings, judge
from newswire.soak.ledger import Ledger, RunClock, Sent, SoakResult, Stall
from newswire.soak.readback import Count, read_back
from newswire.soak.scenarios import Scenario
from newswire.soak.traffic import (
    Burst,
    Kind,
    Limits,
    Pause,
    TrafficPlan,
    TrafficRecord,
    Trickle,
    plan_traffic,
)

PROGRESS_EVERY_S = 5.0
SAMPLE_EVERY_S = 1.0
AUDIT_TIMEOUT_S = 600.0


def with_outputs(settings: Settings, out_dir: Path, postgres_dsn: str | None) -> Settings:
    """The sink writes JSON Lines under OUT_DIR, and to PostgreSQL when a DSN is given."""
    update: dict[str, Any] = {
        "out_dir": out_dir,
        "writers": "jsonl,postgres" if postgres_dsn else "jsonl",
    }
    if postgres_dsn:
        update["postgres_dsn"] = SecretStr(postgres_dsn)
    return settings.model_copy(update={"sink": settings.sink.model_copy(update=update)})


async def run_scenario(
    scenario: Scenario,
    settings: Settings,
    *,
    seed: int,
    run_dir: Path,
    postgres_dsn: str | None = None,
    say: Callable[[str], None] = print,
) -> SoakResult:
    """Run SCENARIO on the cluster of SETTINGS (its topics must exist); never raises
    for a failed check: every failure is a :class:`Check` in the result."""
    run_dir.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 - once, before anything runs
    out_dir = run_dir / "out"
    settings = with_outputs(settings, out_dir, postgres_dsn)
    plan = plan_traffic(scenario.traffic, seed=seed, limits=Limits.from_settings(settings))
    events = plan_chaos(scenario.chaos, plan.seconds, seed=seed)
    run = _Run(scenario, settings, plan, events, run_dir, postgres_dsn, say)
    return await run.execute()


class _Run:
    def __init__(
        self,
        scenario: Scenario,
        settings: Settings,
        plan: TrafficPlan,
        events: list[ChaosEvent],
        run_dir: Path,
        postgres_dsn: str | None,
        say: Callable[[str], None],
    ) -> None:
        self.scenario = scenario
        self.settings = settings
        self.plan = plan
        self.events = events
        self.run_dir = run_dir
        self.out_dir = run_dir / "out"
        self.postgres_dsn = postgres_dsn
        self._say = say
        self.clock = RunClock()
        self.fleet = Fleet(settings, run_dir=run_dir, out_dir=self.out_dir, clock=self.clock)
        self.ledger = Ledger(settings.topics.raw)
        self.chaos = ChaosRunner(
            self.fleet, events, raw_topic=settings.topics.raw, observe=self._observe, say=self.note
        )
        self.findings = Findings()
        self.timings: dict[str, float] = {}
        self.stalls = {"enricher": Stall(), "sink": Stall()}

    def note(self, message: str) -> None:
        self._say(f"[{self.clock():7.1f}s] {message}")

    def check(self, name: str, ok: bool, detail: str) -> None:
        self.findings.check(name, ok, detail)

    # -- phases -------------------------------------------------------------------

    async def execute(self) -> SoakResult:
        scenario, plan = self.scenario, self.plan
        self._say(f"soak {scenario.name} (seed {plan.seed}): {scenario.summary}")
        self._say(f"traffic: {plan.describe()}")
        self._say(
            "chaos: "
            + (
                ", ".join(f"{e.action.value} {e.role.value} at ~{e.at_s:.1f}s" for e in self.events)
                or "none"
            )
        )
        self._say(f"run directory: {self.run_dir} (service logs in {self.run_dir / 'logs'})")
        counted: Count | None = None
        audit: dict[str, Any] | None = None
        progress: asyncio.Task[None] | None = None
        try:
            await self._start_services()
            progress = asyncio.create_task(self._progress())
            if await self._traffic_and_chaos():
                await self._drain()
            progress.cancel()
            codes = await self.fleet.stop_all()
            self.note(f"services stopped (exit codes {codes})")
            counted = await self._count()
            audit = await self._audit()
        except PipelineFailed as exc:
            self.check("services", False, str(exc))
        finally:
            if progress is not None:
                progress.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await progress
            with contextlib.suppress(Exception):
                await self.fleet.stop_all()
            self.fleet.kill_everything()
        figures = self._judge(counted, audit)
        result = SoakResult(
            scenario.name,
            plan.seed,
            self.run_dir,
            figures,
            self.findings.checks,
            self.findings.notes,
        )
        (self.run_dir / "report.json").write_bytes(
            orjson.dumps(result.as_dict(), option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS)
        )
        return result

    async def _start_services(self) -> None:
        started = time.monotonic()
        self.fleet.start(Role.ENRICHER)
        self.fleet.start(Role.SINK)
        await asyncio.gather(self.fleet.wait_ready(Role.ENRICHER), self.fleet.wait_ready(Role.SINK))
        self.timings["services_ready_s"] = time.monotonic() - started
        self.clock.restart()
        self.note(
            f"enricher and sink ready after {self.timings['services_ready_s']:.1f}s; traffic starts"
        )

    async def _traffic_and_chaos(self) -> bool:
        """Send the traffic while the chaos plays; False if the chaos broke down."""
        traffic = asyncio.create_task(self._send_traffic())
        chaos = asyncio.create_task(self.chaos.run())
        done, _ = await asyncio.wait({traffic, chaos}, return_when=asyncio.FIRST_EXCEPTION)
        if any(task.exception() for task in done):
            for task in (traffic, chaos):
                task.cancel()
            await asyncio.wait({traffic, chaos})
        problems = [
            (name, task.exception())
            for name, task in (("traffic", traffic), ("chaos", chaos))
            if not task.cancelled() and task.exception() is not None
        ]
        for name, error in problems:
            self.check(name, False, f"the {name} could not go on: {error!r}"[:2000])
        if problems:
            return False
        try:
            self.fleet.check_alive(Role.ENRICHER, Role.SINK)
        except PipelineFailed as exc:
            self.check("running after the chaos", False, str(exc))
            return False
        enricher, sink = self.fleet.current[Role.ENRICHER], self.fleet.current[Role.SINK]
        left = Role.REPLICA in self.fleet.current and not self.fleet.running(Role.REPLICA)
        replica = "; the replica left" if left else ""
        self.check(
            "running after the chaos",
            True,
            f"enricher#{enricher.number} and sink#{sink.number} running once the last event "
            f"was over{replica}",
        )
        self.note("traffic sent and chaos over; waiting for the consumer groups to catch up")
        return True

    async def _send_traffic(self) -> None:
        producer = new_producer(self.settings.kafka)
        await producer.start()
        self.ledger.started_s = self.clock()
        try:
            for phase, indices in self.plan.schedule():
                if isinstance(phase, Pause):
                    await asyncio.sleep(phase.seconds)
                elif isinstance(phase, Burst):
                    records = [self.plan.record(i, fetched_at=utc_now()) for i in indices]
                    sends = [await self._send(producer, record) for record in records]
                    await asyncio.gather(*(send for send in sends if send is not None))
                elif isinstance(phase, Trickle):
                    await self._trickle(producer, phase, indices)
        finally:
            self.ledger.finished_s = self.clock()
            await producer.stop()
        self.note(
            f"traffic done: {len(self.ledger.sent)} records acknowledged, "
            f"{len(self.ledger.refused)} refused by the producer, {len(self.ledger.failed)} failed"
        )

    async def _trickle(self, producer: Any, phase: Trickle, indices: range) -> None:
        started = time.monotonic()
        for n, index in enumerate(indices):
            wait = started + n / phase.rate - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            send = await self._send(producer, self.plan.record(index, fetched_at=utc_now()))
            if send is not None:
                await send

    async def _send(self, producer: Any, record: TrafficRecord) -> asyncio.Future[None] | None:
        """Hand RECORD to the producer; a future that books the ack in the ledger."""
        try:
            delivery = await producer.send(self.settings.topics.raw, record.value, key=record.key)
        except MessageSizeTooLargeError as exc:
            (self.ledger.refused if record.kind is Kind.OVERSIZE else self.ledger.failed).append(
                (record, str(exc))
            )
            return None
        except KafkaError as exc:
            self.ledger.failed.append((record, repr(exc)))
            return None

        async def booked() -> None:
            try:
                ack = await delivery
            except KafkaError as exc:
                self.ledger.failed.append((record, repr(exc)))
                return
            self.ledger.sent.append(
                Sent(
                    record.index,
                    record.kind,
                    record.size,
                    record.article_id,
                    ack.partition,
                    ack.offset,
                    self.clock(),
                    len(record.value),
                    record.note,
                )
            )

        return asyncio.ensure_future(booked())

    async def _observe(self, record: EventRecord) -> None:
        """Right after each chaos event: where news.enriched ends, what the enricher
        group has committed (what was sent but not committed is in flight)."""
        kafka = self.settings.kafka
        record.details["enriched_end"] = {
            tp.partition: offset
            for tp, offset in (await end_offsets(kafka, self.settings.topics.enriched)).items()
        }
        targets = self.ledger.next_offsets()
        if targets:
            committed = await committed_offsets(kafka, self.settings.enricher.app_id, targets)
            record.details["raw_in_flight"] = sum(
                max(0, target - max(committed.get(tp, 0), 0)) for tp, target in targets.items()
            )
        record.details["sent_so_far"] = len(self.ledger.sent)
        if record.event.role is Role.SINK:
            ends = await end_offsets(kafka, self.settings.topics.enriched)
            done = await committed_offsets(kafka, self.settings.sink.group_id, ends)
            record.details["sink_uncommitted"] = sum(
                max(0, end - max(done.get(tp, 0), 0)) for tp, end in ends.items()
            )

    async def _drain(self) -> bool:
        """Until the enricher group has committed past every acked offset and the sink
        group past news.enriched's end (as ``newswire run`` decides "done"). Gives up
        at the scenario's drain timeout, or sooner when a group behind its target has
        committed nothing for ``drain_stall_s`` (a stuck pipeline will not catch up)."""
        started = time.monotonic()
        deadline = started + self.scenario.drain_timeout_s
        kafka, topics = self.settings.kafka, self.settings.topics
        try:
            await self._wait_for("enricher", self.ledger.next_offsets(), deadline)
            self.timings["enricher_caught_up_s"] = time.monotonic() - started
            took = self.timings["enricher_caught_up_s"]
            self.note(f"enricher group committed past every produced offset ({took:.1f}s)")
            await self._wait_for("sink", await end_offsets(kafka, topics.enriched), deadline)
            self.timings["sink_caught_up_s"] = time.monotonic() - started
            took = self.timings["sink_caught_up_s"]
            self.note(f"sink group committed past news.enriched's end ({took:.1f}s)")
        except PipelineFailed as exc:
            self.check("drained", False, f"{exc} (waited {time.monotonic() - started:.0f}s)")
            return False
        self.check(
            "drained",
            True,
            f"both groups caught up {time.monotonic() - started:.1f}s after traffic and chaos",
        )
        return True

    async def _wait_for(
        self, group: str, targets: Mapping[TopicPartition, int], deadline: float
    ) -> None:
        """``newswire run``'s wait for a group, watched for a stall (see _drain)."""
        group_id = (
            self.settings.enricher.app_id if group == "enricher" else self.settings.sink.group_id
        )
        children = [self.fleet.current[role].child for role in (Role.ENRICHER, Role.SINK)]
        waiting = asyncio.ensure_future(
            _wait_for_group(self.settings, group_id, targets, children, deadline)
        )
        try:
            while not waiting.done():
                await asyncio.wait({waiting}, timeout=1.0)
                stalled = self.stalls[group].current_s(self.clock())
                if not waiting.done() and stalled > self.scenario.drain_stall_s:
                    raise PipelineFailed(
                        f"consumer group {group_id} is stuck: nothing committed for {stalled:.0f}s "
                        f"while behind ({self.stalls[group].last} committed)"
                    )
            waiting.result()
        finally:
            waiting.cancel()

    async def _progress(self) -> None:
        """Sample both groups every SAMPLE_EVERY_S (stalls), print a line every PROGRESS_EVERY_S."""
        kafka, topics = self.settings.kafka, self.settings.topics
        samples = 0
        while True:
            await asyncio.sleep(SAMPLE_EVERY_S)
            samples += 1
            with contextlib.suppress(Exception):
                targets = self.ledger.next_offsets()
                group = self.settings.enricher.app_id
                enricher = await committed_offsets(kafka, group, targets) if targets else {}
                enriched = await end_offsets(kafka, topics.enriched)
                group = self.settings.sink.group_id
                sink = await committed_offsets(kafka, group, enriched) if enriched else {}
                now = self.clock()
                self.stalls["enricher"].sample(now, _sum_committed(enricher), sum(targets.values()))
                self.stalls["sink"].sample(now, _sum_committed(sink), sum(enriched.values()))
                if samples % round(PROGRESS_EVERY_S / SAMPLE_EVERY_S):
                    continue
                dlq = await end_offsets(kafka, topics.dlq)
                up = ",".join(
                    f"{role.value}#{i.number}"
                    for role, i in self.fleet.current.items()
                    if i.running()
                )
                self.note(
                    f"sent {len(self.ledger.sent)}/{self.plan.total}; enricher committed "
                    f"{_sum_committed(enricher)}/{sum(targets.values())}; "
                    f"enriched {sum(enriched.values())}, sink committed {_sum_committed(sink)}; "
                    f"dlq {sum(dlq.values())}; up: {up or 'none'}"
                )

    # -- reading back and judging -------------------------------------------------

    async def _count(self) -> Count:
        self.note("reading news.enriched, news.dlq and the outputs back")
        return await read_back(self.settings, self.out_dir, self.postgres_dsn)

    async def _audit(self) -> dict[str, Any] | None:
        """``newswire audit --json``: its report, or None when it printed none."""
        env = child_environment(
            self.settings, out=self.out_dir, state_dir=self.run_dir / "state" / "audit"
        )
        command = [sys.executable, "-m", "newswire", "audit", "--json", "--out", str(self.out_dir)]
        if self.postgres_dsn:
            command += ["--postgres", self.postgres_dsn]
        self.note("running newswire audit --json")
        result = await asyncio.to_thread(
            subprocess.run,
            command,
            env=env,
            capture_output=True,
            text=True,
            timeout=AUDIT_TIMEOUT_S,
        )
        (self.run_dir / "logs" / "audit.stderr.log").write_text(result.stderr)
        (self.run_dir / "audit.json").write_text(result.stdout)
        report = _json_object(result.stdout)
        if result.returncode not in (0, 1) or report is None:
            self.check(
                "audit ran",
                False,
                f"newswire audit exited {result.returncode} without a JSON report: "
                f"{result.stderr.strip()[-500:]}",
            )
            return None
        report["_exit_code"] = result.returncode
        return report

    def _judge(self, count: Count | None, audit: dict[str, Any] | None) -> dict[str, Any]:
        return judge(
            self.findings,
            scenario=self.scenario.name,
            settings=self.settings,
            plan=self.plan,
            ledger=self.ledger,
            chaos=self.chaos,
            timings=self.timings,
            stalls=self.stalls,
            count=count,
            audit=audit,
        )


# -- small helpers ----------------------------------------------------------------------


def _json_object(text: str) -> dict[str, Any] | None:
    for candidate in (text, *reversed(text.strip().splitlines())):
        with contextlib.suppress(orjson.JSONDecodeError):
            value = orjson.loads(candidate)
            if isinstance(value, dict):
                return value
    return None


def _sum_committed(committed: Mapping[TopicPartition, int]) -> int:
    return sum(max(0, offset) for offset in committed.values())
