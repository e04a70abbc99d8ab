"""``bench memory``'s arithmetic without a broker: milestones, peak, slope, windows."""

from __future__ import annotations

import pytest

from newswire.cli.bench_memory import ServiceMemory, _with_window
from newswire.common.settings import Settings

MiB = 2**20


def test_each_milestone_keeps_the_rss_of_the_first_sample_past_it() -> None:
    memory = ServiceMemory()
    for rss, percent in ((100, 5.0), (110, 12.0), (130, 20.0), (150, 55.0), (140, 99.0)):
        memory.record(rss * MiB, percent)
    memory.record(160 * MiB, 100.0)
    memory.record(120 * MiB, 100.0)  # a sample after the end does not move the 100 % figure

    assert memory.at == {10: 110 * MiB, 50: 150 * MiB, 100: 160 * MiB}
    assert memory.peak == 160 * MiB


def test_one_sample_can_pass_several_milestones() -> None:
    memory = ServiceMemory()
    memory.record(90 * MiB, 60.0)
    assert memory.at == {10: 90 * MiB, 50: 90 * MiB}


def test_the_slope_is_kib_per_thousand_articles_over_the_second_half() -> None:
    memory = ServiceMemory(at={10: 0, 50: 100 * MiB, 100: 150 * MiB})
    # 50 MiB over the 50,000 articles of the second half: 1 KiB per article.
    assert memory.slope_kib_per_1000(100_000) == pytest.approx(1024.0)
    assert ServiceMemory(at={50: MiB, 100: MiB}).slope_kib_per_1000(1000) == 0.0


def test_a_window_shortens_both_windows_and_sweeps_four_times_per_window() -> None:
    settings = Settings()
    shortened = _with_window(settings, 120.0)
    assert shortened.enricher.dedupe_window_s == 120.0
    assert shortened.sink.index_window_s == 120.0
    assert shortened.enricher.expiry_sweep_s == 30.0
    assert _with_window(settings, None) is settings
