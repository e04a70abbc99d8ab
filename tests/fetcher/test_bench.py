"""``bench fetch`` runs end to end on a handful of sources (its numbers are printed, not
asserted)."""

from __future__ import annotations

import io
import re

from newswire.fetcher.bench import bench_host, run_bench


def test_bench_hosts_are_loopback_and_distinct() -> None:
    hosts = [bench_host(i) for i in range(1000)]
    assert len(set(hosts)) == 1000 and all(h.startswith("127.1.") for h in hosts)


async def test_bench_prints_rates_and_a_last_ratio_line() -> None:
    out = io.StringIO()
    await run_bench(sources=12, hosts=4, concurrency=4, out=out)
    lines = out.getvalue().splitlines()
    assert lines[1].startswith("fetcher: 12 sources") and "(240 items, 0 errors)" in lines[1]
    assert lines[2].startswith("bare loop: 12 sources") and "(240 items, 0 errors)" in lines[2]
    assert re.fullmatch(r"ratio=\d+\.\d\d", lines[-1])
