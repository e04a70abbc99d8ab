"""The records of a soak run: what was sent, how the groups kept up, what was found.

Plain data shared by the runner (:mod:`newswire.soak.run`), the read-back
(:mod:`newswire.soak.readback`), the checks (:mod:`newswire.soak.checks`) and the
report (:mod:`newswire.soak.report`); nothing here talks to Kafka or the services.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiokafka import TopicPartition

from newswire.soak.traffic import Kind, Size, TrafficRecord


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
