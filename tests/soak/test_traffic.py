"""The soak harness's pure parts: traffic plans, records, chaos plans, scenarios.

Poison is judged by the enricher's own rules (its pipeline, no Kafka): every poison
record must be rejected with the dead-letter kind the harness expects, every good
record emitted. Records at the size limits are built once each (they are megabytes).
"""

from __future__ import annotations

import itertools
import random
import re
from pathlib import Path

import orjson
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from newswire.common.schemas import SchemaName, validate
from newswire.common.settings import Settings
from newswire.enricher.app import build_pipeline
from newswire.enricher.pipeline import Emit, EnrichmentPipeline, Rejected
from newswire.soak.chaos import Action, ChaosSpec, Role, plan_chaos
from newswire.soak.command import ScenarioName
from newswire.soak.ledger import Check, SoakResult, Stall
from newswire.soak.scenarios import SCENARIOS, scenario_named
from newswire.soak.traffic import (
    FIXED_FETCHED_AT,
    LIMIT_SIZES,
    POISON_KINDS,
    ArrivalSpec,
    Burst,
    Kind,
    Limits,
    Pause,
    RecordSpec,
    Script,
    Size,
    TrafficSpec,
    Trickle,
    build_record,
    phase_count,
    plan_arrivals,
    plan_traffic,
    text_of,
)

LIMITS = Limits.from_settings(Settings())
SMALL = ((Size.SMALL, 1.0),)


@pytest.fixture(scope="module")
def pipeline() -> EnrichmentPipeline:
    return build_pipeline(Settings())


def test_limits_come_from_the_settings_and_the_raw_schema() -> None:
    assert LIMITS == Limits(max_message_bytes=4 * 1024 * 1024, text_max_chars=2_000_000)


# -- arrivals ---------------------------------------------------------------------------

ranges = st.tuples(st.integers(1, 300), st.integers(0, 300)).map(lambda t: (t[0], t[0] + t[1]))
rates = st.tuples(st.floats(1.0, 50.0), st.floats(0.0, 49.0)).map(
    lambda t: (t[0], min(50.0, t[0] + t[1]))
)
arrival_specs = st.builds(
    ArrivalSpec,
    bursts=st.booleans(),
    burst_size=ranges,
    trickle_rate=rates,
    trickle_length=ranges,
    pauses=st.booleans(),
    pause_s=st.just((1.0, 5.0)),
)


@settings(max_examples=300, deadline=None)
@given(total=st.integers(1, 2000), spec=arrival_specs, seed=st.integers(0, 2**32))
@example(  # two one-record trickles and no burst: found by hypothesis
    total=2,
    spec=ArrivalSpec(
        bursts=True,
        burst_size=(1, 1),
        trickle_rate=(1.0, 1.0),
        trickle_length=(1, 1),
        pauses=False,
        pause_s=(1.0, 5.0),
    ),
    seed=108876,
)
def test_arrivals_send_every_record_in_bounded_phases(
    total: int, spec: ArrivalSpec, seed: int
) -> None:
    phases = plan_arrivals(total, spec, random.Random(seed))
    assert sum(phase_count(p) for p in phases) == total
    assert phases and not isinstance(phases[0], Pause) and not isinstance(phases[-1], Pause)
    for before, after in itertools.pairwise(phases):
        assert not (isinstance(before, Pause) and isinstance(after, Pause))
    for phase in phases:
        match phase:
            case Pause():
                assert spec.pauses and 1.0 <= phase.seconds <= 5.0
            case Burst():
                assert spec.bursts and 1 <= phase.count <= spec.burst_size[1]
            case Trickle():
                assert 1 <= phase.count <= spec.trickle_length[1]
                assert spec.trickle_rate[0] - 1e-3 <= phase.rate <= spec.trickle_rate[1] + 1e-3
    if total >= 2 and spec.pauses:
        assert any(isinstance(p, Pause) for p in phases), "pauses longer than a batch window"
    if total >= 2 and spec.bursts:
        assert any(isinstance(p, Burst) for p in phases)


@settings(max_examples=100, deadline=None)
@given(
    total=st.integers(200, 3000),
    mean=st.floats(5.0, 40.0),
    seed=st.integers(0, 2**32),
)
@example(total=200, mean=5.0, seed=2121705)  # bursts and pauses only: nothing to pace
def test_pacing_reaches_the_mean_rate_when_the_rates_allow_it(
    total: int, mean: float, seed: int
) -> None:
    spec = ArrivalSpec(
        burst_size=(10, 50), trickle_rate=(0.5, 500.0), trickle_length=(20, 100), mean_rate=mean
    )
    phases = plan_arrivals(total, spec, random.Random(seed))
    seconds = sum(p.seconds for p in phases if isinstance(p, Trickle | Pause))
    paused = sum(p.seconds for p in phases if isinstance(p, Pause))
    trickles = [p for p in phases if isinstance(p, Trickle)]
    clamped = any(p.rate in (0.5, 500.0) for p in trickles)
    # Only trickles can be paced: with none (all bursts and pauses), or with pauses or
    # bursts too long for that mean, or a rate at its clamp, the mean is out of reach.
    if trickles and paused < total / mean and not clamped:
        assert total / seconds == pytest.approx(mean, rel=0.02)


def test_a_minimum_duration_adds_records() -> None:
    spec = ArrivalSpec(bursts=False, trickle_rate=(10.0, 10.0), pauses=False, min_duration_s=30.0)
    phases = plan_arrivals(10, spec, random.Random(1))
    assert sum(p.seconds for p in phases if isinstance(p, Trickle)) >= 30.0
    assert sum(phase_count(p) for p in phases) >= 300


# -- record plans -----------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(good=st.integers(0, 200), poison=st.integers(0, 60), seed=st.integers(0, 2**32))
def test_records_hold_every_poison_kind_in_turn_and_good_records_for_the_rest(
    good: int, poison: int, seed: int
) -> None:
    spec = TrafficSpec(
        good=good, poison=poison, size_mix=SMALL, arrivals=ArrivalSpec(burst_size=(1, 20))
    )
    if good + poison == 0:
        return
    plan = plan_traffic(spec, seed=seed, limits=LIMITS)
    assert plan.total == good + poison and plan.good == good and plan.poison == poison
    kinds = [plan.count(kind) for kind in POISON_KINDS]
    assert max(kinds) - min(kinds) <= 1
    assert [s.index for s in plan.specs] == list(range(plan.total))


def test_the_same_seed_gives_the_same_plan_and_bytes() -> None:
    spec = scenario_named("poison").traffic
    first, again = (
        plan_traffic(spec, seed=7, limits=LIMITS),
        plan_traffic(spec, seed=7, limits=LIMITS),
    )
    other = plan_traffic(spec, seed=8, limits=LIMITS)
    assert first == again and first != other
    small = [s.index for s in first.specs if s.size is not Size.NEAR_LIMIT]
    assert [first.record(i) for i in small] == [again.record(i) for i in small]


@pytest.mark.parametrize("seed", range(20))
def test_poison_is_interleaved_with_good_records(seed: int) -> None:
    plan = plan_traffic(scenario_named("poison").traffic, seed=seed, limits=LIMITS)
    assert (plan.good, plan.poison) == (23, 20)
    runs = re.findall(r"P+", "".join("P" if s.kind.poison else "g" for s in plan.specs))
    assert len(runs) >= 5, "poison must come between good records, not in one block"


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32), script=st.sampled_from(list(Script)), chars=st.integers(1, 5000))
def test_texts_have_exactly_the_length_asked(seed: int, script: Script, chars: int) -> None:
    text = text_of(random.Random(seed), script, chars)
    assert len(text) == chars and not text.endswith(" ")


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32))
def test_good_records_are_emitted_and_poison_rejected_by_the_enrichers_rules(
    pipeline: EnrichmentPipeline, seed: int
) -> None:
    spec = TrafficSpec(good=15, poison=25, size_mix=SMALL, arrivals=ArrivalSpec(burst_size=(1, 10)))
    plan = plan_traffic(spec, seed=seed, limits=LIMITS)
    ids: set[str] = set()
    for index in range(plan.total):
        record = plan.record(index)
        outcome = pipeline.process(record.value, record.key, lambda _: None)
        if record.kind is Kind.GOOD:
            assert isinstance(outcome, Emit), (record.note, outcome)
            assert record.key == record.article_id.encode()
            validate(SchemaName.RAW, orjson.loads(record.value))
            assert record.article_id not in ids
            ids.add(record.article_id)
        else:
            assert isinstance(outcome, Rejected), record.note
            assert outcome.error.kind.value == record.expected_dead_letter, (record.note, outcome)


def test_every_poison_variant_is_rejected(pipeline: EnrichmentPipeline) -> None:
    """Every way of breaking a record, of each kind (variants cycle per kind)."""
    notes: dict[Kind, set[str]] = {kind: set() for kind in POISON_KINDS}
    for variant in range(8):
        for kind in POISON_KINDS:
            spec = RecordSpec(100 + variant, kind, Size.SMALL, Script.LATIN, variant)
            record = build_record(spec, seed=3, limits=LIMITS, fetched_at=FIXED_FETCHED_AT)
            outcome = pipeline.process(record.value, record.key, lambda _: None)
            assert (
                isinstance(outcome, Rejected)
                and outcome.error.kind.value == record.expected_dead_letter
            )
            notes[kind].add(record.note)
    assert {kind: len(n) for kind, n in notes.items()} == {
        Kind.NOT_UTF8: 3,
        Kind.NOT_JSON: 4,
        Kind.SCHEMA: 8,
        Kind.KEY_MISMATCH: 4,
        Kind.NO_KEY: 1,
    }


def test_records_at_and_around_the_limits(pipeline: EnrichmentPipeline) -> None:
    spec = TrafficSpec(good=0, specials=LIMIT_SIZES, arrivals=ArrivalSpec(bursts=False))
    plan = plan_traffic(spec, seed=11, limits=LIMITS)
    built = {s.size: plan.record(s.index) for s in plan.specs}
    assert set(built) == set(LIMIT_SIZES)
    text = {
        size: len(orjson.loads(r.value)["text"])
        for size, r in built.items()
        if size is not Size.OVER_BYTES
    }
    cap = LIMITS.text_max_chars
    assert text[Size.AT_TEXT_LIMIT] == cap and text[Size.UNDER_TEXT_LIMIT] == cap - 1
    assert text[Size.OVER_TEXT_LIMIT] == cap + 1 and text[Size.OVER_TEXT_LIMIT_ARABIC] > cap
    assert text[Size.NEAR_LIMIT] == cap  # Arabic: the schema's limit comes first at 4 MiB
    near = built[Size.NEAR_LIMIT].value
    assert 0.85 * LIMITS.max_message_bytes < len(near) <= LIMITS.valid_bytes
    assert len(near) > 1.8 * cap, "Arabic takes about two bytes a character"
    arabic_poison = built[Size.OVER_TEXT_LIMIT_ARABIC].value
    assert 0.95 * LIMITS.max_message_bytes < len(arabic_poison) < LIMITS.max_message_bytes - 1024
    assert len(built[Size.OVER_BYTES].value) > LIMITS.max_message_bytes
    for size, record in built.items():
        if size is Size.OVER_BYTES:
            continue
        outcome = pipeline.process(record.value, record.key, lambda _: None)
        expected = Emit if record.kind is Kind.GOOD else Rejected
        assert isinstance(outcome, expected), (size, record.note)


def test_a_small_message_limit_makes_near_limit_records_fit_it() -> None:
    limits = Limits(max_message_bytes=256 * 1024, text_max_chars=2_000_000)
    assert not limits.feasible(Size.AT_TEXT_LIMIT) and not limits.feasible(
        Size.OVER_TEXT_LIMIT_ARABIC
    )
    plan = plan_traffic(TrafficSpec(good=0, specials=LIMIT_SIZES), seed=1, limits=limits)
    assert {s.size for s in plan.specs} == {Size.NEAR_LIMIT, Size.OVER_BYTES}
    near = next(plan.record(s.index) for s in plan.specs if s.size is Size.NEAR_LIMIT)
    assert limits.valid_bytes - 8 * 1024 < len(near.value) <= limits.valid_bytes


# -- chaos plans ------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(
    enricher=st.integers(0, 5),
    sink=st.integers(0, 5),
    replica=st.booleans(),
    seconds=st.floats(5.0, 3600.0),
    seed=st.integers(0, 2**32),
)
def test_chaos_plans_spread_the_kills_over_the_window(
    enricher: int, sink: int, replica: bool, seconds: float, seed: int
) -> None:
    spec = ChaosSpec(enricher_kills=enricher, sink_kills=sink, replica=replica)
    events = plan_chaos(spec, seconds, seed=seed)
    assert events == plan_chaos(spec, seconds, seed=seed)
    assert [e.at_s for e in events] == sorted(e.at_s for e in events)
    kills = {
        role: [e for e in events if e.action is Action.KILL and e.role is role] for role in Role
    }
    assert (len(kills[Role.ENRICHER]), len(kills[Role.SINK]), len(kills[Role.REPLICA])) == (
        enricher,
        sink,
        0,
    )
    low, high = (seconds * share for share in spec.window)
    for role in (Role.ENRICHER, Role.SINK):
        times = [e.at_s for e in kills[role]]
        assert all(low - 1e-3 <= t <= high + 1e-3 for t in times)
        if len(times) > 1:  # one per slot: never two in the same slot
            slot = (high - low) / len(times)
            assert min(b - a for a, b in itertools.pairwise(times)) > 0.3 * slot - 1e-3
    assert all(0.5 <= e.restart_after_s <= 3.0 for e in events if e.action is Action.KILL)
    membership = [e.action for e in events if e.role is Role.REPLICA]
    assert membership == ([Action.JOIN, Action.LEAVE] if replica else [])
    assert spec.rebalances == len(membership)


# -- scenarios and the summary ----------------------------------------------------------


def test_the_cli_offers_every_scenario() -> None:
    assert {name.value for name in ScenarioName} == set(SCENARIOS)
    with pytest.raises(ValueError, match="unknown scenario"):
        scenario_named("nope")


def test_named_scenarios_have_the_issue_s_shapes() -> None:
    plans = {
        name: plan_traffic(scenario_named(name).traffic, seed=1, limits=LIMITS)
        for name in SCENARIOS
    }
    assert (plans["poison"].good, plans["poison"].poison) == (23, 20)
    assert (plans["full"].total, plans["full"].good, plans["full"].poison) == (2042, 2022, 20)
    assert plans["full"].total / plans["full"].seconds == pytest.approx(40, rel=0.05)
    assert not any(isinstance(p, Burst) for p in plans["trickle"].phases)
    assert all(5 <= p.rate <= 20 for p in plans["trickle"].phases if isinstance(p, Trickle))
    crash, full = scenario_named("crash").chaos, scenario_named("full").chaos
    assert (crash.enricher_kills, crash.sink_kills, crash.rebalances) == (3, 3, 2)
    assert (full.enricher_kills, full.sink_kills, full.rebalances) == (3, 3, 2)
    assert scenario_named("full").needs_postgres
    assert scenario_named("trickle", articles=7).traffic.good == 7
    longer = plan_traffic(scenario_named("trickle", duration_s=60).traffic, seed=1, limits=LIMITS)
    assert longer.seconds >= 60 and longer.good > 60
    assert scenario_named("crash", enricher_kills=2).chaos.enricher_kills == 2


def test_the_summary_is_one_line_with_every_figure() -> None:
    figures = {
        "produced": 2042,
        "good": 2022,
        "poison": 20,
        "lost": 0,
        "dead_lettered": 20,
        "duplicate_emissions": 31,
        "kills": 6,
        "rebalances": 2,
    }
    result = SoakResult("full", 1, Path("run"), figures, [Check("no loss", True, "0 lost")], [])
    assert result.summary_line() == (
        "soak: produced=2042 good=2022 poison=20 lost=0 dead_lettered=20 "
        "duplicate_emissions=31 kills=6 rebalances=2 ok"
    )
    failed = SoakResult(
        "full", 1, Path("run"), figures | {"lost": 3}, [Check("no loss", False, "3 lost")], []
    )
    assert failed.summary_line().endswith(
        "lost=3 dead_lettered=20 duplicate_emissions=31 kills=6 rebalances=2 FAILED (no loss)"
    )
    assert not SoakResult("x", 1, Path("run"), figures, [], []).ok, "no checks is no verdict"


def test_a_stall_is_the_longest_time_a_group_behind_its_target_commits_nothing() -> None:
    stall = Stall()
    for now, done, target in [
        (0, 0, 10),
        (1, 0, 10),
        (2, 5, 10),
        (3, 5, 10),
        (7, 5, 10),
        (8, 10, 10),
    ]:
        stall.sample(now, done, target)
        if now == 7:
            assert stall.current_s(7) == 5
    assert (stall.longest_s, stall.longest_from_s, stall.current_s(9)) == (5, 2, 0)
    stall.sample(20, 10, 10)  # idle and done is no stall
    assert stall.longest_s == 5
