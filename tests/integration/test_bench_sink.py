"""``newswire bench sink`` end to end on the session broker, JSON Lines only (no DSN):
it exits 0, its figures on stdout for each round, the last line
``jsonl=R postgres=skipped`` with R the median of the rounds' ratios."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from newswire.common.settings_env import as_environment
from tests.conftest import SEEDS, SettingsFactory

SMALL = ("--seeds", str(SEEDS), "--timeout", "60")


def test_bench_sink_prints_both_rates_and_the_ratio_line(make_settings: SettingsFactory) -> None:
    settings = make_settings()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SINK_")}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "newswire",
            "bench",
            "sink",
            "--records",
            "200",
            "--rounds",
            "2",
            *SMALL,
        ],
        env=env | as_environment(settings),
        capture_output=True,
        text=True,
        timeout=90,
    )

    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.strip().splitlines()
    assert re.fullmatch(r"jsonl=\d+\.\d\d postgres=skipped", lines[-1]), lines
    rates = [float(m) for m in re.findall(r"([\d.]+) records/s", result.stdout)]
    assert len(rates) == 4 and all(rate > 0 for rate in rates), result.stdout
    sink, bare = rates[0::2], rates[1::2]
    by_round = re.search(r"jsonl +ratio by round: (\S+) (\S+) \(median (\S+)\)", result.stdout)
    assert by_round is not None, result.stdout
    ratios = [float(by_round[1]), float(by_round[2])]
    assert ratios == [round(s / b, 2) for s, b in zip(sink, bare, strict=True)]
    assert lines[-1] == f"jsonl={by_round[3]} postgres=skipped"
    assert abs(float(by_round[3]) - sum(ratios) / 2) <= 0.011  # the median of two
    assert "bench sink: jsonl" in result.stderr  # progress on stderr, not stdout
