"""Process control for a soak run: the services as real child processes, and the chaos.

:class:`Fleet` starts ``newswire enrich`` and ``newswire sink`` exactly as ``newswire
run`` does (``spawn_service`` with ``child_environment``), a second enricher replica
on demand, and SIGKILLs, restarts and stops them. Every incarnation of a service logs
to its own file under ``RUN_DIR/logs/<role>.<n>/``; each role keeps its state
directory across restarts (a restarted replica is the same replica on the same disk).

:func:`plan_chaos` is pure: from a seed and the traffic's planned length it places
the kills (spread over the run, one per slot, so they never bunch up), the restart
delays, and the second replica's join and leave (two rebalances).
:class:`ChaosRunner` plays such a plan against a fleet on the run's clock. A kill
waits until its target is ready (partitions assigned), so it lands while the
service is working rather than while it starts; the caller's ``observe`` hook runs
right after each event (the scenario snapshots news.enriched there, to count what
is emitted again after each kill).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import httpx

from newswire.cli.run import Child, PipelineFailed, child_environment, spawn_service
from newswire.common.settings import Settings

#: Longest wait for a (re)started service to hold partitions before a kill.
READY_TIMEOUT_S = 180.0
READY_POLL_S = 0.2
#: How long a replica asked to leave (SIGTERM) may take before it is SIGKILLed, like a
#: Kubernetes pod's default termination grace period.
STOP_GRACE_S = 30.0


class Role(StrEnum):
    ENRICHER = "enricher"
    REPLICA = "enricher-2"
    SINK = "sink"

    @property
    def command(self) -> str:
        return "sink" if self is Role.SINK else "enrich"

    @property
    def port_variable(self) -> str:
        return "SINK_HTTP_PORT" if self is Role.SINK else "ENRICHER_WEB_PORT"


class Action(StrEnum):
    KILL = "kill"  # SIGKILL, then restart after a delay
    JOIN = "join"  # start the second enricher replica: a rebalance
    LEAVE = "leave"  # SIGTERM the second replica: another rebalance


@dataclass(frozen=True, slots=True)
class ChaosEvent:
    at_s: float  # seconds after the traffic starts
    action: Action
    role: Role
    restart_after_s: float = 0.0


@dataclass(frozen=True, slots=True)
class ChaosSpec:
    enricher_kills: int = 0
    sink_kills: int = 0
    replica: bool = False  # a second enricher replica joins mid-run ...
    replica_leaves: bool = True  # ... and is stopped later
    #: Kills fall in this share of the traffic's planned time.
    window: tuple[float, float] = (0.1, 0.85)
    restart_after_s: tuple[float, float] = (0.5, 3.0)
    replica_join_at: tuple[float, float] = (0.2, 0.35)
    replica_leave_at: tuple[float, float] = (0.6, 0.75)

    @property
    def kills(self) -> int:
        return self.enricher_kills + self.sink_kills

    @property
    def rebalances(self) -> int:
        """Planned membership changes of the enricher group (kills cause more)."""
        return int(self.replica) * (1 + int(self.replica_leaves))


def plan_chaos(spec: ChaosSpec, seconds: float, *, seed: int) -> list[ChaosEvent]:
    """Events in time order. A role's K kills fall one in each of K equal slots of the
    window, at a seeded moment within the slot, each with a seeded restart delay."""
    rng = random.Random(f"soak-chaos/{seed}")
    start, end = (seconds * share for share in spec.window)
    events: list[ChaosEvent] = []
    for role, kills in ((Role.ENRICHER, spec.enricher_kills), (Role.SINK, spec.sink_kills)):
        slot = (end - start) / kills if kills else 0.0
        for number in range(kills):
            at = start + slot * (number + rng.uniform(0.15, 0.85))
            delay = rng.uniform(*spec.restart_after_s)
            events.append(ChaosEvent(round(at, 3), Action.KILL, role, round(delay, 3)))
    if spec.replica:
        events.append(
            ChaosEvent(
                round(seconds * rng.uniform(*spec.replica_join_at), 3), Action.JOIN, Role.REPLICA
            )
        )
        if spec.replica_leaves:
            leave = round(seconds * rng.uniform(*spec.replica_leave_at), 3)
            events.append(ChaosEvent(leave, Action.LEAVE, Role.REPLICA))
    return sorted(events, key=lambda e: (e.at_s, e.action != Action.JOIN))


# -- the fleet --------------------------------------------------------------------------


@dataclass
class Incarnation:
    """One process of a role: the n-th start of it."""

    role: Role
    number: int
    child: Child
    port: int
    started: float  # run clock

    @property
    def pid(self) -> int:
        return self.child.process.pid

    def running(self) -> bool:
        return self.child.process.poll() is None


class Fleet:
    """The services of one run, started, killed and stopped by role."""

    def __init__(
        self, settings: Settings, *, run_dir: Path, out_dir: Path, clock: Callable[[], float]
    ) -> None:
        self.settings = settings
        self.run_dir = run_dir
        self.out_dir = out_dir
        self.clock = clock
        self.current: dict[Role, Incarnation] = {}
        self.history: list[Incarnation] = []
        self._starts: Counter[Role] = Counter()

    def start(self, role: Role) -> Incarnation:
        if role in self.current and self.current[role].running():
            raise RuntimeError(f"{role} is already running (pid {self.current[role].pid})")
        self._starts[role] += 1
        number = self._starts[role]
        state_dir = self.run_dir / "state" / role.value
        state_dir.mkdir(parents=True, exist_ok=True)
        log_dir = self.run_dir / "logs" / f"{role.value}.{number}"
        log_dir.mkdir(parents=True, exist_ok=True)
        env = child_environment(self.settings, out=self.out_dir, state_dir=state_dir)
        child = spawn_service(role.command, env, log_dir)
        child.name = f"{role.value}#{number}"
        incarnation = Incarnation(role, number, child, int(env[role.port_variable]), self.clock())
        self.current[role] = incarnation
        self.history.append(incarnation)
        return incarnation

    def running(self, role: Role) -> bool:
        return role in self.current and self.current[role].running()

    def check_alive(self, *roles: Role) -> None:
        """Raise PipelineFailed (with the log's last lines) for a role that died."""
        for role in roles or tuple(self.current):
            self.current[role].child.check_alive()

    async def ready(self, role: Role) -> bool:
        """Does the role's current process answer 200 on /readyz (partitions held)?"""
        incarnation = self.current[role]
        try:
            async with httpx.AsyncClient(timeout=2.0) as client:
                response = await client.get(f"http://127.0.0.1:{incarnation.port}/readyz")
        except httpx.HTTPError:
            return False
        return response.status_code == 200

    async def wait_ready(self, role: Role, *, timeout_s: float = READY_TIMEOUT_S) -> float:
        """Until /readyz answers 200; the run-clock time it did. Raises if it dies or times out."""
        deadline = time.monotonic() + timeout_s
        while True:
            self.check_alive(role)
            if await self.ready(role):
                return self.clock()
            if time.monotonic() > deadline:
                raise PipelineFailed(f"{role} was not ready within {timeout_s:.0f}s")
            await asyncio.sleep(READY_POLL_S)

    async def owned_partitions(self, role: Role, topic: str) -> list[int] | None:
        """TOPIC's partitions this enricher holds, from Faust's ``/router/topics`` (the
        assignment every member learnt at the last rebalance); None if it cannot say."""
        port = self.current[role].port
        try:
            async with httpx.AsyncClient(timeout=2.0) as client:
                response = await client.get(f"http://127.0.0.1:{port}/router/topics")
            distribution: dict[str, Any] = response.json()
        except (httpx.HTTPError, ValueError):
            return None
        for url, topics in distribution.items():
            if url.rstrip("/").endswith(f":{port}") and isinstance(topics, dict):
                return sorted(int(p) for p in topics.get(topic, []))
        return None

    async def kill(self, role: Role) -> int:
        """SIGKILL the role's process and reap it; its pid."""
        incarnation = self.current[role]
        incarnation.child.process.send_signal(signal.SIGKILL)
        await asyncio.to_thread(incarnation.child.process.wait)
        return incarnation.pid

    async def stop(self, role: Role, *, timeout_s: float = 30.0) -> int | None:
        """SIGTERM (SIGKILL after TIMEOUT_S); the exit code, None if it was not running."""
        incarnation = self.current.get(role)
        if incarnation is None:
            return None
        await asyncio.to_thread(incarnation.child.stop, timeout_s)
        return incarnation.child.process.returncode

    async def stop_all(self) -> dict[str, int | None]:
        roles = list(self.current)
        codes = await asyncio.gather(*(self.stop(role) for role in roles))
        return {role.value: code for role, code in zip(roles, codes, strict=True)}

    def kill_everything(self) -> None:
        """Last resort on the way out (an exception, Ctrl-C): no process is left behind."""
        for incarnation in self.history:
            if incarnation.running():
                with contextlib.suppress(OSError):
                    incarnation.child.process.kill()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    incarnation.child.process.wait(timeout=10)


# -- playing a plan ---------------------------------------------------------------------


@dataclass
class EventRecord:
    """What happened at one chaos event, for the report."""

    event: ChaosEvent
    at_s: float = 0.0  # when it happened (run clock)
    pid: int | None = None
    number: int = 0  # which incarnation of the role it hit
    owned: list[int] | None = None  # raw partitions the killed enricher held
    waited_ready_s: float = 0.0  # how long the kill waited for its target to be ready
    restarted_at_s: float | None = None
    ready_again_at_s: float | None = None
    exit_code: int | None = None  # of a replica stopped by LEAVE
    stop_s: float | None = None  # how long it took to stop
    details: dict[str, Any] = field(default_factory=dict)  # filled by the observe hook

    @property
    def label(self) -> str:
        return f"{self.event.action.value} {self.event.role.value}#{self.number}"


Observe = Callable[[EventRecord], Awaitable[None]]


class ChaosRunner:
    """Plays the events on the run clock; ``observe`` runs after each one."""

    def __init__(
        self,
        fleet: Fleet,
        events: list[ChaosEvent],
        *,
        raw_topic: str,
        observe: Observe,
        say: Callable[[str], None],
    ) -> None:
        self.fleet = fleet
        self.events = events
        self.raw_topic = raw_topic
        self.observe = observe
        self.say = say
        self.records: list[EventRecord] = []
        self._watchers: list[asyncio.Task[None]] = []

    @property
    def kills(self) -> list[EventRecord]:
        return [r for r in self.records if r.event.action is Action.KILL]

    @property
    def rebalances(self) -> int:
        return sum(
            1
            for r in self.records
            if r.event.action in (Action.JOIN, Action.LEAVE) and r.pid is not None
        )

    async def run(self) -> list[EventRecord]:
        try:
            for event in self.events:
                delay = event.at_s - self.fleet.clock()
                if delay > 0:
                    await asyncio.sleep(delay)
                record = EventRecord(event)
                self.records.append(record)
                await self._play(record)
            await asyncio.gather(*self._watchers)
        finally:
            for watcher in self._watchers:
                watcher.cancel()
        return self.records

    async def _play(self, record: EventRecord) -> None:
        event, fleet = record.event, self.fleet
        if event.action is Action.JOIN:
            incarnation = fleet.start(event.role)
            record.at_s, record.pid, record.number = (
                fleet.clock(),
                incarnation.pid,
                incarnation.number,
            )
            self.say(f"{record.label} (pid {record.pid}) joins the enricher group")
            await self.observe(record)
            self._watch_ready(record)
            return
        if event.action is Action.LEAVE:
            incarnation = fleet.current[event.role]
            record.at_s, record.pid, record.number = (
                fleet.clock(),
                incarnation.pid,
                incarnation.number,
            )
            record.exit_code = await fleet.stop(event.role, timeout_s=STOP_GRACE_S)
            record.stop_s = fleet.clock() - record.at_s
            how = (
                f"did not stop within {STOP_GRACE_S:.0f}s of SIGTERM, SIGKILLed"
                if record.exit_code == -signal.SIGKILL
                else f"exit {record.exit_code}"
            )
            self.say(f"{record.label} (pid {record.pid}) stopped in {record.stop_s:.1f}s: {how}")
            await self.observe(record)
            return
        before = fleet.clock()
        await fleet.wait_ready(event.role)
        record.waited_ready_s = fleet.clock() - before
        if event.role is not Role.SINK:
            record.owned = await fleet.owned_partitions(event.role, self.raw_topic)
        record.number = fleet.current[event.role].number
        record.pid = await fleet.kill(event.role)
        record.at_s = fleet.clock()
        owned = "" if record.owned is None else f", held raw partitions {record.owned}"
        self.say(f"{record.label} (pid {record.pid}) SIGKILLed at t={record.at_s:.1f}s{owned}")
        await self.observe(record)
        await asyncio.sleep(event.restart_after_s)
        incarnation = fleet.start(event.role)
        record.restarted_at_s = fleet.clock()
        self.say(f"{event.role.value}#{incarnation.number} (pid {incarnation.pid}) restarted")
        self._watch_ready(record)

    def _watch_ready(self, record: EventRecord) -> None:
        async def watch() -> None:
            with contextlib.suppress(PipelineFailed):
                record.ready_again_at_s = await self.fleet.wait_ready(record.event.role)

        self._watchers.append(asyncio.create_task(watch()))
