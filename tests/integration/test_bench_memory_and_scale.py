"""``newswire bench memory`` and ``bench enrich --workers`` end to end on the session
broker: exit 0, figures on stdout, progress on stderr, the documented last lines."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from newswire.common.settings_env import as_environment
from tests.conftest import SEEDS, SettingsFactory


def _bench(settings_env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SINK_", "ENRICHER_"))}
    return subprocess.run(
        [sys.executable, "-m", "newswire", "bench", *args, "--seeds", str(SEEDS)],
        env=env | settings_env,
        capture_output=True,
        text=True,
        timeout=240,
    )


def test_bench_memory_reports_each_service_at_each_milestone(
    make_settings: SettingsFactory,
) -> None:
    result = _bench(
        as_environment(make_settings()),
        "memory",
        "--articles",
        "300",
        "--window-s",
        "60",
        "--timeout",
        "180",
    )

    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.strip().splitlines()
    assert lines[0].startswith("articles=300 ") and "window=60s" in lines[0], lines
    for service in ("enrich", "sink"):
        (row,) = [line for line in lines if line.startswith(f"{service} ")]
        sizes = [float(m) for m in re.findall(r"([\d.]+)Mi", row)]
        assert len(sizes) == 4 and all(size > 10 for size in sizes), row  # 3 milestones + peak
    assert re.fullmatch(
        r"enrich_slope_kib_per_1k=-?\d+\.\d sink_slope_kib_per_1k=-?\d+\.\d", lines[-1]
    ), lines
    assert "bench memory: replaying 300 articles" in result.stderr


def test_bench_enrich_with_two_workers_prints_the_scale_out_side_by_side(
    make_settings: SettingsFactory,
) -> None:
    result = _bench(
        as_environment(make_settings()),
        "enrich",
        "--articles",
        "120",
        "--workers",
        "2",
        "--timeout",
        "120",
    )

    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.strip().splitlines()
    (scale,) = [line for line in lines if line.startswith("scale-out")]
    rates = re.findall(r"(\d) workers? ([\d.]+)/s \(x([\d.]+)\)", scale)
    assert [count for count, _, _ in rates] == ["1", "2"], scale
    assert all(float(rate) > 0 for _, rate, _ in rates), scale
    (cpu,) = [line for line in lines if line.startswith("cpu per article")]
    found = re.fullmatch(
        r"cpu per article: worker ([\d.]+) ms, stages alone ([\d.]+) ms, overhead (-?[\d.]+) ms",
        cpu,
    )
    assert found is not None, cpu
    worker, stages, overhead = map(float, found.groups())
    assert worker > 0 and stages > 0, cpu
    assert abs(overhead - (worker - stages)) <= 0.011, cpu
    assert re.fullmatch(
        r"efficiency=\d+\.\d\d compute_vs_transport=\d+\.\d\d writes_per_article=\d+\.\d\d",
        lines[-1],
    ), lines
