"""A soak scenario: traffic + a chaos plan + the checks at the end, run against real services.

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
  each event. A kill may cost at most one batch per partition its enricher held
  (``ENRICHER_BATCH_SIZE`` x partitions); before any event, nothing may be emitted twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import orjson
from aiokafka import TopicPartition
from aiokafka.errors import KafkaError, MessageSizeTooLargeError
from pydantic import SecretStr

from newswire.cli.run import PipelineFailed, _wait_for_group, child_environment
from newswire.common.kafka import (
    committed_offsets,
    end_offsets,
    new_consumer,
    new_producer,
    topic_partitions,
)
from newswire.common.records import utc_now
from newswire.common.settings import Settings
from newswire.soak.chaos import (
    Action,
    ChaosEvent,
    ChaosRunner,
    ChaosSpec,
    EventRecord,
    Fleet,
    Role,
    plan_chaos,
)
from newswire.soak.traffic import (
    LIMIT_SIZES,
    ArrivalSpec,
    Burst,
    Kind,
    Limits,
    Pause,
    Size,
    TrafficPlan,
    TrafficRecord,
    TrafficSpec,
    Trickle,
    plan_traffic,
)

PROGRESS_EVERY_S = 5.0
SAMPLE_EVERY_S = 1.0
#: Stalls shorter than this are ordinary (Faust commits every few seconds): not reported.
STALL_SHOWN_S = 5.0
AUDIT_TIMEOUT_S = 600.0


# -- scenarios --------------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    name: str
    summary: str
    traffic: TrafficSpec
    chaos: ChaosSpec = field(default_factory=ChaosSpec)
    needs_postgres: bool = False
    #: Longest wait, once the traffic and the chaos are over, for both groups to catch up.
    drain_timeout_s: float = 240.0
    #: ... and longest a group behind its target may commit nothing before the run gives up.
    drain_stall_s: float = 90.0


SMALL_ONLY: tuple[tuple[Size, float], ...] = ((Size.SMALL, 1.0),)
SMALL_AND_MEDIUM: tuple[tuple[Size, float], ...] = ((Size.SMALL, 0.85), (Size.MEDIUM, 0.15))


def _trickle(articles: int | None) -> Scenario:
    return Scenario(
        "trickle",
        "slow steady arrivals (5-20/s) with pauses of 1-5 s, no bursts, no kills",
        TrafficSpec(
            good=articles or 60,
            size_mix=SMALL_AND_MEDIUM,
            arrivals=ArrivalSpec(bursts=False, trickle_rate=(5.0, 20.0), trickle_length=(5, 20)),
        ),
    )


def _poison(articles: int | None) -> Scenario:
    return Scenario(
        "poison",
        "20 poison records of five kinds interleaved with 22 good ones and one valid "
        "article near the size limit; no kills",
        TrafficSpec(
            good=articles or 22,
            poison=20,
            specials=(Size.NEAR_LIMIT,),
            size_mix=SMALL_AND_MEDIUM,
            arrivals=ArrivalSpec(
                burst_size=(5, 12), trickle_rate=(2.0, 20.0), trickle_length=(3, 10)
            ),
        ),
    )


def _sizes(articles: int | None) -> Scenario:
    return Scenario(
        "sizes",
        "records at and around the limits (text maxLength, message bytes; Latin and "
        "Arabic) between small ones; no kills",
        TrafficSpec(
            good=articles or 6,
            specials=LIMIT_SIZES,
            size_mix=SMALL_ONLY,
            arrivals=ArrivalSpec(bursts=False, trickle_rate=(1.0, 5.0), trickle_length=(2, 4)),
        ),
    )


def _crash(articles: int | None) -> Scenario:
    return Scenario(
        "crash",
        "bursts, trickles and pauses at ~8/s; enricher and sink SIGKILLed at seeded "
        "moments and restarted (3 times each), a second enricher replica joins mid-run "
        "and leaves later",
        TrafficSpec(
            good=articles or 300,
            poison=10,
            arrivals=ArrivalSpec(
                burst_size=(30, 100),
                trickle_rate=(2.0, 30.0),
                trickle_length=(15, 60),
                mean_rate=8.0,
            ),
        ),
        ChaosSpec(enricher_kills=3, sink_kills=3, replica=True),
    )


def _full(articles: int | None) -> Scenario:
    return Scenario(
        "full",
        "the acceptance run: 2,000 articles at ~40/s plus the poison mix (20 poison, 22 "
        "good, two of them near the size limit); enricher and sink SIGKILLed 3 times "
        "each, two enricher replicas for part of the run; JSON Lines and PostgreSQL",
        TrafficSpec(
            good=(articles or 2000) + 20,
            poison=20,
            specials=(Size.NEAR_LIMIT, Size.NEAR_LIMIT),
            arrivals=ArrivalSpec(
                burst_size=(50, 150),
                trickle_rate=(10.0, 50.0),
                trickle_length=(100, 400),
                mean_rate=40.0,
            ),
        ),
        ChaosSpec(enricher_kills=3, sink_kills=3, replica=True),
        needs_postgres=True,
        drain_timeout_s=600.0,
    )


SCENARIOS: dict[str, Callable[[int | None], Scenario]] = {
    "trickle": _trickle,
    "poison": _poison,
    "sizes": _sizes,
    "crash": _crash,
    "full": _full,
}


def scenario_named(
    name: str, *, articles: int | None = None, duration_s: float | None = None, **chaos: Any
) -> Scenario:
    """A named scenario; ARTICLES replaces its count of ordinary good articles,
    DURATION_S keeps its traffic going at least that long (more articles), CHAOS
    overrides fields of its ChaosSpec (tests use fewer kills)."""
    try:
        scenario = SCENARIOS[name](articles)
    except KeyError:
        raise ValueError(f"unknown scenario {name!r}; one of {', '.join(SCENARIOS)}") from None
    if duration_s is not None:
        arrivals = replace(scenario.traffic.arrivals, min_duration_s=duration_s)
        scenario = replace(scenario, traffic=replace(scenario.traffic, arrivals=arrivals))
    if chaos:
        scenario = replace(scenario, chaos=replace(scenario.chaos, **chaos))
    return scenario


# -- the run's records ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Sent:
    """One record as the broker acknowledged it."""

    index: int
    kind: Kind
    size: Size
    article_id: str | None
    partition: int
    offset: int
    at_s: float
    bytes: int
    note: str


@dataclass
class Ledger:
    """Everything the producer sent (from the acks), refused or failed to send."""

    topic: str
    sent: list[Sent] = field(default_factory=list)
    refused: list[tuple[TrafficRecord, str]] = field(default_factory=list)
    failed: list[tuple[TrafficRecord, str]] = field(default_factory=list)
    started_s: float | None = None
    finished_s: float | None = None

    def next_offsets(self) -> dict[TopicPartition, int]:
        targets: dict[TopicPartition, int] = {}
        for record in self.sent:
            tp = TopicPartition(self.topic, record.partition)
            targets[tp] = max(targets.get(tp, 0), record.offset + 1)
        return targets

    def of(self, *kinds: Kind) -> list[Sent]:
        return [s for s in self.sent if s.kind in kinds]

    @property
    def good(self) -> list[Sent]:
        return self.of(Kind.GOOD)

    @property
    def poison(self) -> list[Sent]:
        return [s for s in self.sent if s.kind.poison]


@dataclass
class Stall:
    """The longest time a group's committed offsets stood still while it was behind."""

    longest_s: float = 0.0
    longest_from_s: float | None = None
    _since: float | None = None
    _last: int = -1

    @property
    def last(self) -> int:
        return self._last

    def current_s(self, now: float) -> float:
        """How long the current stall has lasted (0 when the group is moving or done)."""
        return 0.0 if self._since is None else now - self._since

    def sample(self, now: float, done: int, target: int) -> None:
        if done >= target:
            self._since, self._last = None, done
            return
        if done != self._last or self._since is None:
            self._since, self._last = now, done
            return
        if now - self._since > self.longest_s:
            self.longest_s, self.longest_from_s = now - self._since, self._since


class RunClock:
    """Seconds since the traffic started (negative before)."""

    def __init__(self) -> None:
        self.origin = time.monotonic()

    def restart(self) -> None:
        self.origin = time.monotonic()

    def __call__(self) -> float:
        return time.monotonic() - self.origin


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


@dataclass
class SoakResult:
    scenario: str
    seed: int
    run_dir: Path
    figures: dict[str, Any]
    checks: list[Check]
    report: list[str]

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(check.ok for check in self.checks)

    @property
    def failed(self) -> list[Check]:
        return [check for check in self.checks if not check.ok]

    def summary_line(self) -> str:
        f = self.figures
        names = (
            "produced",
            "good",
            "poison",
            "lost",
            "dead_lettered",
            "duplicate_emissions",
            "kills",
            "rebalances",
        )
        parts = [f"{name}={f.get(name, '?')}" for name in names]
        if f.get("refused"):
            parts.insert(3, f"refused={f['refused']}")
        verdict = "ok" if self.ok else "FAILED (" + ", ".join(c.name for c in self.failed) + ")"
        return "soak: " + " ".join(parts) + " " + verdict

    def as_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "seed": self.seed,
            "ok": self.ok,
            "figures": self.figures,
            "checks": [{"name": c.name, "ok": c.ok, "detail": c.detail} for c in self.checks],
        }


# -- the run ----------------------------------------------------------------------------


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
        self.checks: list[Check] = []
        self.report: list[str] = []
        self.timings: dict[str, float] = {}
        self.stalls = {"enricher": Stall(), "sink": Stall()}

    def note(self, message: str) -> None:
        self._say(f"[{self.clock():7.1f}s] {message}")

    def check(self, name: str, ok: bool, detail: str) -> None:
        self.checks.append(Check(name, ok, detail))

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
        counted: _Count | None = None
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
            scenario.name, plan.seed, self.run_dir, figures, self.checks, self.report
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

    # -- counting -----------------------------------------------------------------

    async def _count(self) -> _Count:
        self.note("reading news.enriched, news.dlq and the outputs back")
        count = _Count()
        topics = self.settings.topics
        for message in await read_whole_topic(self.settings, topics.enriched):
            article_id, content_hash = _enriched_identity(message.value)
            count.enriched.append((message.partition, message.offset, article_id, content_hash))
        for message in await read_whole_topic(self.settings, topics.dlq):
            try:
                letter = orjson.loads(message.value)
                origin = letter["origin"]
                count.letters.append(
                    (
                        origin["topic"],
                        origin["partition"],
                        origin["offset"],
                        letter["kind"],
                        letter["reason"],
                        letter["service"],
                    )
                )
            except (orjson.JSONDecodeError, KeyError, TypeError):
                count.unreadable_letters += 1
        count.jsonl = read_jsonl_output(self.out_dir)
        if self.postgres_dsn:
            count.postgres = await read_postgres_output(self.postgres_dsn)
        return count

    async def _audit(self) -> dict[str, Any] | None:
        """``newswire audit --json`` when it is installed; its report, or None."""
        if not audit_available():
            self.note("newswire audit is not installed yet: the harness counts by id itself")
            return None
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

    # -- judging ------------------------------------------------------------------

    def _judge(self, count: _Count | None, audit: dict[str, Any] | None) -> dict[str, Any]:
        ledger, plan = self.ledger, self.plan
        figures: dict[str, Any] = {
            "scenario": self.scenario.name,
            "seed": plan.seed,
            "planned": plan.total,
            "produced": len(ledger.sent),
            "good": len(ledger.good),
            "poison": len(ledger.poison),
            "refused": len(ledger.refused),
            "kills": sum(1 for r in self.chaos.kills if r.pid is not None),
            "rebalances": self.chaos.rebalances,
            "traffic_s": round((ledger.finished_s or 0) - (ledger.started_s or 0), 1),
            **{k: round(v, 1) for k, v in self.timings.items()},
        }
        for name, stall in self.stalls.items():
            figures[f"{name}_longest_stall_s"] = round(stall.longest_s, 1)
            figures[f"{name}_longest_stall_from_s"] = (
                None if stall.longest_from_s is None else round(stall.longest_from_s, 1)
            )
        self._check_traffic()
        if count is None:
            return figures
        mine = count.tally(ledger)
        figures |= {
            "lost": len(mine.lost),
            "dead_lettered": mine.dead_lettered,
            "duplicate_emissions": mine.duplicate_emissions,
            "enriched_records": len(count.enriched),
            "audit": "newswire audit" if audit is not None else "soak count by id",
        }
        if audit is not None:
            self._judge_with_audit(audit, mine, figures)
        else:
            self.check("no loss", not mine.lost, _lost_detail(mine.lost))
        self._check_dead_letters(mine)
        self._check_outputs(count, audit)
        figures["per_event"] = self._check_duplicates(count)
        return figures

    def _check_traffic(self) -> None:
        oversize = self.plan.count(Kind.OVERSIZE)
        failed = [f"#{record.index} {record.kind}: {why}" for record, why in self.ledger.failed]
        every = len(self.ledger.sent) + len(self.ledger.refused) == self.plan.total
        ok = every and not failed and len(self.ledger.refused) == oversize
        detail = (
            f"{len(self.ledger.sent)} of {self.plan.total} records acknowledged"
            + (
                f", {len(self.ledger.refused)} oversize refused by the producer as they must be"
                if oversize
                else ""
            )
            + (f"; FAILED to send: {failed[:5]}" if failed else "")
        )
        self.check("traffic sent", ok, detail)

    def _judge_with_audit(
        self, audit: dict[str, Any], mine: _Tally, figures: dict[str, Any]
    ) -> None:
        lost = audit.get("lost") or []
        figures["lost"] = len(lost) if isinstance(lost, list) else int(lost)
        for name in ("dead_lettered", "duplicate_emissions"):
            value = audit.get(name)
            if value is not None:
                figures[name] = len(value) if isinstance(value, list) else value
        figures["audit_ok"] = audit.get("ok")
        self.check(
            "no loss",
            figures["lost"] == 0,
            "newswire audit: " + _lost_detail(lost if isinstance(lost, list) else []),
        )
        self.check(
            "audit ok",
            audit.get("_exit_code") == 0 and bool(audit.get("ok")),
            f"newswire audit exit {audit.get('_exit_code')}, ok={audit.get('ok')}",
        )
        their_lost = (
            {entry.get("id") for entry in lost if isinstance(entry, dict)}
            if isinstance(lost, list)
            else set()
        )
        our_lost = {s.article_id for s in mine.lost}
        if their_lost != our_lost or audit.get("duplicate_emissions") not in (
            None,
            mine.duplicate_emissions,
        ):
            self.report.append(
                "note: the audit and the harness's own count differ: lost "
                f"{len(their_lost)} vs {len(our_lost)}, duplicate emissions "
                f"{audit.get('duplicate_emissions')} vs {mine.duplicate_emissions}"
            )

    def _check_dead_letters(self, mine: _Tally) -> None:
        poison = self.ledger.poison
        missing = [s for s in poison if s.index not in mine.letter_of]
        no_reason = [
            s
            for s in poison
            if s.index in mine.letter_of and not mine.letter_of[s.index][1].strip()
        ]
        kinds = Counter(mine.letter_of[s.index][0] for s in poison if s.index in mine.letter_of)
        wrong_kind = [
            f"#{s.index} {s.kind} got {mine.letter_of[s.index][0]}"
            for s in poison
            if s.index in mine.letter_of and mine.letter_of[s.index][0] != s.kind.dead_letter_kind
        ]
        found = len(poison) - len(missing)
        detail = f"{found} of {len(poison)} poison records dead-lettered ({dict(kinds)})"
        if missing:
            detail += "; missing: " + ", ".join(
                f"#{s.index} {s.kind} p{s.partition}@{s.offset} ({s.note})" for s in missing[:10]
            )
        if no_reason:
            detail += f"; {len(no_reason)} letters without a reason"
        if wrong_kind:
            self.report.append(
                "note: dead letters of an unexpected kind: " + "; ".join(wrong_kind[:10])
            )
        self.check("poison dead-lettered", not missing and not no_reason, detail)
        good_letters = [s for s in self.ledger.good if s.index in mine.letter_of]
        self.check(
            "good records not dead-lettered",
            not good_letters,
            f"{len(good_letters)} good records dead-lettered"
            + "".join(
                f"; #{s.index} {s.size} ({mine.letter_of[s.index][1][:200]})"
                for s in good_letters[:5]
            ),
        )
        if mine.poison_emitted:
            self.check(
                "poison not emitted",
                False,
                f"{len(mine.poison_emitted)} poison records reached news.enriched",
            )

    def _check_outputs(self, count: _Count, audit: dict[str, Any] | None) -> None:
        expected = {s.article_id for s in self.ledger.good}
        outputs = {"jsonl": count.jsonl} | (
            {"postgres": count.postgres} if count.postgres is not None else {}
        )
        audited = (audit or {}).get("output") or {}
        for name, output in outputs.items():
            assert output is not None
            missing, unexpected = expected - output.ids.keys(), output.ids.keys() - expected
            repeated = sum(n - 1 for n in output.ids.values())
            ok = not missing and not unexpected and not output.torn and not repeated
            detail = (
                f"{sum(output.ids.values())} {output.unit}, {len(output.ids)} distinct ids for "
                f"{len(expected)} good records: missing={len(missing)} "
                f"unexpected={len(unexpected)} repeated={repeated} torn={output.torn}"
            )
            if name in audited:
                theirs = audited[name]
                bad = {
                    k: theirs.get(k)
                    for k in ("missing", "differs", "torn")
                    if _amount(theirs.get(k))
                }
                ok = ok and not bad
                detail += f"; newswire audit: distinct_ids={theirs.get('distinct_ids')}" + (
                    f" {bad}" if bad else " clean"
                )
            self.check(f"{name} output", ok, detail)

    def _check_duplicates(self, count: _Count) -> list[dict[str, Any]]:
        """Put every duplicate emission down to the last enricher event before it."""
        enricher_events = [
            r
            for r in self.chaos.records
            if r.event.role is not Role.SINK and "enriched_end" in r.details
        ]
        position = {id(record): number for number, record in enumerate(enricher_events)}
        blamed: Counter[int] = Counter()  # index in enricher_events, -1: before any event
        seen: set[str] = set()
        for partition, offset, article_id, _hash in sorted(count.enriched):
            if article_id is None:
                continue
            if article_id not in seen:
                seen.add(article_id)
                continue
            culprit = -1
            for number, record in enumerate(enricher_events):
                if record.details["enriched_end"].get(partition, 0) <= offset:
                    culprit = number
            blamed[culprit] += 1
        batch = self.settings.enricher.batch_size
        partitions = self.settings.topics.partitions
        rows: list[dict[str, Any]] = []
        for record in self.chaos.records:
            row: dict[str, Any] = {
                "event": record.label,
                "at_s": round(record.at_s, 1),
                "raw_in_flight": record.details.get("raw_in_flight"),
            }
            if "sink_uncommitted" in record.details:
                row["sink_uncommitted"] = record.details["sink_uncommitted"]
            if id(record) in position:
                row["duplicates"] = blamed[position[id(record)]]
            if record.event.action is Action.KILL and record.event.role is not Role.SINK:
                owned = len(record.owned) if record.owned is not None else partitions
                row |= {"owned": record.owned, "bound": batch * owned}
            if record.stop_s is not None:
                row |= {"stopped_in_s": round(record.stop_s, 1), "exit_code": record.exit_code}
            if record.restarted_at_s is not None:
                row["restarted_after_s"] = round(record.restarted_at_s - record.at_s, 1)
            if record.ready_again_at_s is not None:
                row["ready_after_s"] = round(record.ready_again_at_s - record.at_s, 1)
            rows.append(row)
        over = [r for r in rows if "bound" in r and r["duplicates"] > r["bound"]]
        kills = [r for r in rows if "bound" in r]
        self.check(
            "duplicates per kill within one batch per partition",
            not over,
            (
                "; ".join(f"{r['event']}: {r['duplicates']} (bound {r['bound']})" for r in kills)
                or "no enricher kills"
            ),
        )
        self.check(
            "no duplicate emission without a kill or rebalance",
            blamed[-1] == 0,
            f"{blamed[-1]} ids emitted again before any enricher event",
        )
        return rows


# -- reading back -----------------------------------------------------------------------


async def read_whole_topic(settings: Settings, topic: str) -> list[Any]:
    """Every message of TOPIC from offset 0 to its end offsets (taken first)."""
    ends = await end_offsets(settings.kafka, topic)
    wanted = {tp: end for tp, end in ends.items() if end > 0}
    if not wanted:
        return []
    consumer = new_consumer(settings.kafka, group_id=None)
    await consumer.start()
    try:
        await topic_partitions(consumer, topic)
        consumer.assign(list(wanted))
        await consumer.seek_to_beginning(*wanted)
        messages: list[Any] = []
        while [tp for tp, end in wanted.items() if await consumer.position(tp) < end]:
            for tp, batch in (await consumer.getmany(timeout_ms=1000)).items():
                messages.extend(m for m in batch if m.offset < wanted[tp])
        return messages
    finally:
        await consumer.stop()


def _enriched_identity(value: bytes | None) -> tuple[str | None, str | None]:
    try:
        record = orjson.loads(value or b"")
        return record.get("id"), (record.get("dedupe") or {}).get("content_hash")
    except (orjson.JSONDecodeError, AttributeError):
        return None, None


@dataclass
class Output:
    unit: str
    ids: Counter[str] = field(default_factory=Counter)
    torn: int = 0


def read_jsonl_output(out_dir: Path) -> Output:
    """Ids of every line of every visible file (``date=*/*.jsonl``); a line that does
    not parse, or a file that does not end in a newline, counts as torn."""
    output = Output("lines")
    for path in sorted(out_dir.glob("date=*/*.jsonl")):
        data = path.read_bytes()
        if data and not data.endswith(b"\n"):
            output.torn += 1
        for line in data.splitlines():
            try:
                output.ids[orjson.loads(line)["id"]] += 1
            except (orjson.JSONDecodeError, KeyError, TypeError):
                output.torn += 1
    return output


async def read_postgres_output(dsn: str) -> Output:
    import asyncpg

    output = Output("rows")
    connection = await asyncpg.connect(dsn)
    try:
        exists = await connection.fetchval("SELECT to_regclass('articles') IS NOT NULL")
        if exists:
            for row in await connection.fetch("SELECT id FROM articles"):
                output.ids[row["id"]] += 1
    finally:
        await connection.close()
    return output


@dataclass
class _Tally:
    lost: list[Sent]
    letter_of: dict[int, tuple[str, str]]  # ledger index -> (kind, reason)
    dead_lettered: int
    duplicate_emissions: int
    poison_emitted: list[Sent]


@dataclass
class _Count:
    enriched: list[tuple[int, int, str | None, str | None]] = field(default_factory=list)
    letters: list[tuple[str, int, int, str, str, str]] = field(default_factory=list)
    unreadable_letters: int = 0
    jsonl: Output = field(default_factory=lambda: Output("lines"))
    postgres: Output | None = None

    def tally(self, ledger: Ledger) -> _Tally:
        """The count by id: each sent record's outcome from its id (news.enriched) or
        its position (a dead letter's origin)."""
        emitted = Counter(article_id for _, _, article_id, _ in self.enriched if article_id)
        by_origin = {
            (partition, offset): (kind, reason)
            for topic, partition, offset, kind, reason, _service in self.letters
            if topic == ledger.topic
        }
        letter_of = {
            s.index: by_origin[(s.partition, s.offset)]
            for s in ledger.sent
            if (s.partition, s.offset) in by_origin
        }
        lost = [s for s in ledger.sent if s.index not in letter_of and s.article_id not in emitted]
        poison_emitted = [
            s
            for s in ledger.poison
            if s.kind in (Kind.KEY_MISMATCH, Kind.NO_KEY) and s.article_id in emitted
        ]
        return _Tally(
            lost=lost,
            letter_of=letter_of,
            dead_lettered=len(letter_of),
            duplicate_emissions=sum(n - 1 for n in emitted.values()),
            poison_emitted=poison_emitted,
        )


# -- small helpers ----------------------------------------------------------------------


def audit_available() -> bool:
    """Is ``newswire audit`` (services/audit/command.py) installed next to this package?"""
    import newswire

    return (Path(newswire.__file__).parent / "audit" / "command.py").is_file()


def _json_object(text: str) -> dict[str, Any] | None:
    for candidate in (text, *reversed(text.strip().splitlines())):
        with contextlib.suppress(orjson.JSONDecodeError):
            value = orjson.loads(candidate)
            if isinstance(value, dict):
                return value
    return None


def _amount(value: Any) -> int:
    if isinstance(value, list | dict | set | tuple):
        return len(value)
    return int(value or 0)


def _sum_committed(committed: Mapping[TopicPartition, int]) -> int:
    return sum(max(0, offset) for offset in committed.values())


def _lost_detail(lost: list[Any]) -> str:
    if not lost:
        return "0 lost"
    shown = []
    for entry in lost[:10]:
        if isinstance(entry, Sent):
            where = f"p{entry.partition}@{entry.offset}"
            shown.append(f"{entry.article_id} {where} ({entry.kind}, sent t={entry.at_s:.1f}s)")
        elif isinstance(entry, dict):
            shown.append(f"{entry.get('id')} p{entry.get('partition')}@{entry.get('offset')}")
    more = f" and {len(lost) - 10} more" if len(lost) > 10 else ""
    return f"{len(lost)} lost: " + "; ".join(shown) + more


def environment_has_cluster() -> bool:
    return bool(os.environ.get("KAFKA_BOOTSTRAP_SERVERS"))


def report_lines(result: SoakResult) -> list[str]:
    """The final report: figures, each chaos event, each check; the summary line last."""
    f = result.figures
    lines = [f"report: soak {result.scenario} (seed {result.seed})"]
    traffic_s = f.get("traffic_s") or 0
    rate = f"{f['produced'] / traffic_s:.1f}/s" if traffic_s else "-"
    lines.append(
        f"  traffic: {f['produced']} records acknowledged in {traffic_s}s ({rate} on average): "
        f"{f['good']} good, {f['poison']} poison, {f['refused']} refused by the producer"
    )
    timings = [
        f"{name}={f[name]}s"
        for name in ("services_ready_s", "enricher_caught_up_s", "sink_caught_up_s")
        if name in f
    ]
    if timings:
        lines.append("  timings: " + " ".join(timings))
    for group in ("enricher", "sink"):
        if (f.get(f"{group}_longest_stall_s") or 0) >= STALL_SHOWN_S:
            lines.append(
                f"  longest stall of the {group} group: nothing committed for "
                f"{f[f'{group}_longest_stall_s']}s from t={f[f'{group}_longest_stall_from_s']}s "
                "while records waited (sampled every second)"
            )
    if "enriched_records" in f:
        lines.append(
            f"  news.enriched: {f['enriched_records']} records, "
            f"{f['duplicate_emissions']} duplicate emissions; dead letters for our records: "
            f"{f['dead_lettered']}; lost: {f['lost']} (counted by {f['audit']})"
        )
    for row in f.get("per_event", []):
        parts = [f"  {row['event']} at t={row['at_s']}s"]
        if "duplicates" in row:
            parts.append(f"duplicate emissions after it: {row['duplicates']}")
        if "bound" in row:
            owned = row["owned"] if row["owned"] is not None else "all (assignment unknown)"
            parts.append(f"bound {row['bound']} (one batch per partition held: {owned})")
        if row.get("raw_in_flight") is not None:
            parts.append(
                f"raw records the enricher group had not committed: {row['raw_in_flight']}"
            )
        if "sink_uncommitted" in row:
            parts.append(f"enriched records the sink had not committed: {row['sink_uncommitted']}")
        if "stopped_in_s" in row:
            parts.append(f"stopped in {row['stopped_in_s']}s with exit code {row['exit_code']}")
        if "restarted_after_s" in row:
            parts.append(f"restarted after {row['restarted_after_s']}s")
        if "ready_after_s" in row:
            parts.append(f"ready again after {row['ready_after_s']}s")
        lines.append("; ".join(parts))
    lines.append("  checks:")
    lines.extend(f"    {'ok  ' if c.ok else 'FAIL'} {c.name}: {c.detail}" for c in result.checks)
    lines.extend(f"  {note}" for note in result.report)
    lines.append(f"  run directory: {result.run_dir} (report.json, logs/, out/)")
    lines.append(result.summary_line())
    return lines
