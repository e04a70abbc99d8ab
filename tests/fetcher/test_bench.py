"""``bench fetch`` runs end to end on a handful of sources (its numbers are printed, not
asserted)."""

from __future__ import annotations

import io
import re

from newswire.fetcher.bench import bench_host, feed_body, run_bench


def test_bench_hosts_are_loopback_and_distinct() -> None:
    hosts = [bench_host(i) for i in range(1000)]
    assert len(set(hosts)) == 1000 and all(h.startswith("127.1.") for h in hosts)


async def test_bench_prints_rates_and_a_last_ratio_line() -> None:
    out = io.StringIO()
    await run_bench(sources=12, hosts=4, concurrency=4, out=out, rounds=2)
    lines = out.getvalue().splitlines()
    # Every warm pass delivers every item again: the feeds changed, nothing was skipped
    # as unchanged or seen, and the bare loop parsed as many.
    names = ("cold fetcher", "cold bare loop")
    names += ("warm fetcher #1", "warm bare loop #1", "warm fetcher #2", "warm bare loop #2")
    for line, name in zip(lines[1:7], names, strict=True):
        assert line.startswith(f"{name}: 12 sources") and "(240 items, 0 errors)" in line, line
    by_round = re.fullmatch(
        r"warm ratio by round: (\d+\.\d\d) (\d+\.\d\d) \(median (\d+\.\d\d)\)", lines[-4]
    )
    assert by_round, lines[-4]
    assert re.fullmatch(
        r"cpu: cold_ratio=\d+\.\d\d warm_ratio=\d+\.\d\d "
        r"\(bare / fetcher; warm by round: \d+\.\d\d \d+\.\d\d\)",
        lines[-3],
    )
    last = re.fullmatch(r"cold_ratio=\d+\.\d\d warm_ratio=(\d+\.\d\d)", lines[-2])
    assert last and last[1] == by_round[3]
    assert lines[-1] == f"ratio={last[1]}"


def test_each_generation_of_a_feed_is_all_new_items() -> None:
    first, second = feed_body(3, 0).decode(), feed_body(3, 1).decode()
    guids = [re.findall(r"<guid>(.*?)</guid>", body) for body in (first, second)]
    links = [re.findall(r"<link>(.*?)</link>", body) for body in (first, second)]
    assert len(guids[0]) == 20 and not set(guids[0]) & set(guids[1])
    assert not set(links[0][1:]) & set(links[1][1:])  # [0]: the channel's own link
