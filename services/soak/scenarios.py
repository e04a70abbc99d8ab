"""The named soak scenarios: what ``newswire soak --scenario NAME`` runs.

A :class:`Scenario` is data only (a traffic spec, a chaos spec, the drain limits);
this module holds the five named ones and :func:`scenario_named`, so that the CLI
and the tests can list and build scenarios without loading the runner
(:mod:`newswire.soak.run`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from newswire.soak.chaos import ChaosSpec
from newswire.soak.traffic import LIMIT_SIZES, ArrivalSpec, Size, TrafficSpec


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


def _trickles_only(
    name: str,
    summary: str,
    *,
    good: int,
    size_mix: tuple[tuple[Size, float], ...],
    rate: tuple[float, float],
    length: tuple[int, int],
    specials: tuple[Size, ...] = (),
) -> Scenario:
    """A scenario without bursts or chaos: trickles at RATE records/s, LENGTH records
    long, with pauses between them."""
    return Scenario(
        name,
        summary,
        TrafficSpec(
            good=good,
            specials=specials,
            size_mix=size_mix,
            arrivals=ArrivalSpec(bursts=False, trickle_rate=rate, trickle_length=length),
        ),
    )


def _trickle(articles: int | None) -> Scenario:
    return _trickles_only(
        "trickle",
        "slow steady arrivals (5-20/s) with pauses of 1-5 s, no bursts, no kills",
        good=articles or 60,
        size_mix=SMALL_AND_MEDIUM,
        rate=(5.0, 20.0),
        length=(5, 20),
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
    return _trickles_only(
        "sizes",
        "records at and around the limits (text maxLength, message bytes; Latin and "
        "Arabic) between small ones; no kills",
        good=articles or 6,
        specials=LIMIT_SIZES,
        size_mix=SMALL_ONLY,
        rate=(1.0, 5.0),
        length=(2, 4),
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
