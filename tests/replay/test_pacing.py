"""The replay rate limiter, on a fake clock so the tests are exact and instant."""

from __future__ import annotations

import pytest

from newswire.replay.pacing import Pacer


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


async def test_records_are_spaced_evenly() -> None:
    time = FakeTime()
    pacer = Pacer(10, clock=time.clock, sleep=time.sleep)
    for _ in range(21):
        await pacer.wait()
    assert time.now == pytest.approx(102.0)  # 21 records at 10/s: the last one at t+2s
    assert time.sleeps == pytest.approx([0.1] * 20)  # one per gap, never a burst


async def test_idle_time_earns_no_burst() -> None:
    time = FakeTime()
    pacer = Pacer(10, clock=time.clock, sleep=time.sleep)
    await pacer.wait()
    time.now += 5.0  # a long stall (e.g. awaiting deliveries)
    await pacer.wait()
    await pacer.wait()
    assert time.sleeps == pytest.approx([0.1])  # back on a 0.1 s schedule at once


async def test_high_rates_skip_sleeps_too_short_to_honour() -> None:
    time = FakeTime()
    pacer = Pacer(100_000, clock=time.clock, sleep=time.sleep)
    for _ in range(1001):
        await pacer.wait()
    assert time.now == pytest.approx(100.01, abs=0.0011)  # still ~100k/s overall
    assert len(time.sleeps) < 20


@pytest.mark.parametrize("rate", [0, -1.0, float("nan")])
def test_rate_must_be_positive(rate: float) -> None:
    with pytest.raises(ValueError, match="rate must be a positive number"):
        Pacer(rate)
