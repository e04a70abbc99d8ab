"""The chaos harness in CI: real traffic through the real enricher and sink, counted by id.

Three bounded scenarios (a few minutes in all on two cores): a trickle with pauses
longer than the enricher's batch window, the poison mix, and a crash run with both
services SIGKILLed and a second enricher replica joining and leaving. Each ends with
``newswire audit --json`` accounting for every produced record by id (see
newswire.soak.scenario); a failed check fails the test with the harness's report.
The long acceptance run (``newswire soak --scenario full``) is for the README, not CI.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from newswire.common.settings import Settings
from newswire.soak.ledger import SoakResult
from newswire.soak.report import report_lines
from newswire.soak.run import run_scenario
from newswire.soak.scenarios import scenario_named

pytestmark = pytest.mark.timeout(300)


def assert_soak_ok(result: SoakResult) -> None:
    lines = report_lines(result)
    print("\n".join(lines))  # shown with -s, and with the failure
    failed = "\n".join(f"{c.name}: {c.detail}" for c in result.failed)
    assert result.ok, f"{lines[-1]}\n{failed}\nlogs: {result.run_dir / 'logs'}"
    assert result.figures["audit"] == "newswire audit", "the count by id is the audit's"
    assert result.figures["lost"] == 0


async def test_trickle_with_pauses_loses_nothing(settings: Settings, tmp_path: Path) -> None:
    """60 articles at 5-20/s in runs of 5-20, pauses of 1-5 s between (each longer than
    the 0.2 s batch window): every one must come out, none twice."""
    scenario = scenario_named("trickle")
    result = await run_scenario(
        scenario, settings, seed=20251204, run_dir=tmp_path / "soak", say=print
    )
    assert_soak_ok(result)
    figures = result.figures
    assert (figures["produced"], figures["good"], figures["poison"]) == (60, 60, 0)
    assert figures["duplicate_emissions"] == 0


async def test_poison_mix_is_dead_lettered_and_the_rest_written(
    settings: Settings, tmp_path: Path
) -> None:
    """20 poison records (not UTF-8, not JSON, schema-breaking, wrong key, no key)
    interleaved with 22 good articles and one valid Arabic article near the size limit."""
    scenario = scenario_named("poison")
    result = await run_scenario(scenario, settings, seed=7, run_dir=tmp_path / "soak", say=print)
    assert_soak_ok(result)
    figures = result.figures
    assert (figures["produced"], figures["good"], figures["poison"]) == (43, 23, 20)
    assert figures["dead_lettered"] == 20


async def test_crash_sigkills_and_a_rebalance_lose_nothing(
    settings: Settings, tmp_path: Path, postgres_db_dsn: str
) -> None:
    """A few hundred articles in bursts, trickles and pauses; the enricher and the sink
    SIGKILLed twice each, a second enricher replica joining and leaving; JSON Lines
    and PostgreSQL must both hold every good article once, and each kill may cost at
    most one batch of duplicate emissions."""
    scenario = scenario_named("crash", articles=200, enricher_kills=2, sink_kills=2)
    result = await run_scenario(
        scenario,
        settings,
        seed=3,
        run_dir=tmp_path / "soak",
        postgres_dsn=postgres_db_dsn,
        say=print,
    )
    assert_soak_ok(result)
    figures = result.figures
    assert (figures["kills"], figures["rebalances"]) == (4, 2)
    assert figures["poison"] == 10 and figures["dead_lettered"] == 10
    assert {c.name for c in result.checks} >= {"jsonl output", "postgres output"}
