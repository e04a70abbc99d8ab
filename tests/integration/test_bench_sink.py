"""``newswire bench sink`` end to end on the session broker, JSON Lines only (no DSN):
it exits 0, its figures on stdout, the last line ``jsonl=R postgres=skipped``."""

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
        [sys.executable, "-m", "newswire", "bench", "sink", "--records", "200", *SMALL],
        env=env | as_environment(settings),
        capture_output=True,
        text=True,
        timeout=90,
    )

    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.strip().splitlines()
    assert re.fullmatch(r"jsonl=\d+\.\d\d postgres=skipped", lines[-1]), lines
    rates = [float(m) for m in re.findall(r"([\d.]+) records/s", result.stdout)]
    assert len(rates) == 2 and all(rate > 0 for rate in rates), result.stdout
    assert "bench sink: jsonl" in result.stderr  # progress on stderr, not stdout
