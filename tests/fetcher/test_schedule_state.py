"""Scheduling and backoff as pure functions, and the polling state record."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from newswire.fetcher.errors import FetchErrorKind
from newswire.fetcher.schedule import (
    WEEK_S,
    Bounds,
    adaptive_interval,
    failure_delay,
    hint_floor,
    http_cache_hint,
    next_interval,
)
from newswire.fetcher.state import Pending, SourceState, SourceStatus

NOW = 1_800_000_000.0
BOUNDS = Bounds(300.0, 6 * 3600.0)


def test_adaptive_interval_follows_publishing_frequency() -> None:
    assert adaptive_interval([], NOW, BOUNDS) == BOUNDS.max_s
    daily = [NOW - d * 86400 for d in range(7)]
    assert adaptive_interval(daily, NOW, BOUNDS) == BOUNDS.max_s  # 7 a week -> 1 day, capped at 6 h
    busy = [NOW - i * 600 for i in range(1008)]  # every ten minutes for a week
    assert adaptive_interval(busy, NOW, BOUNDS) == 600.0
    flood = [NOW - i for i in range(10_000)]
    assert adaptive_interval(flood, NOW, BOUNDS) == BOUNDS.min_s
    assert (
        adaptive_interval([NOW - 2 * WEEK_S], NOW, BOUNDS) == BOUNDS.max_s
    )  # old items do not count


def test_cache_hints() -> None:
    assert http_cache_hint({"cache-control": "public, max-age=900"}, NOW) == 900.0
    assert http_cache_hint({"cache-control": "no-cache, max-age=900"}, NOW) is None
    assert http_cache_hint(
        {"expires": "Fri, 15 Jan 2027 08:10:00 GMT"}, 1_799_914_800.0
    ) == pytest.approx(1_799_916_600.0 - 1_799_914_800.0, abs=86400 * 400)
    assert http_cache_hint({"expires": "0"}, NOW) is None
    assert hint_floor([None, 1800.0, 60.0], cap_s=86400) == 1800.0
    assert hint_floor([10 * 86400.0], cap_s=86400) == 86400.0
    assert hint_floor([], cap_s=86400) == 0.0


@given(
    arrivals=st.lists(st.floats(min_value=NOW - 2 * WEEK_S, max_value=NOW), max_size=300),
    low=st.floats(min_value=1, max_value=3600),
    span=st.floats(min_value=0, max_value=86400),
    hint=st.one_of(st.none(), st.floats(min_value=0, max_value=10 * 86400)),
    jitter=st.floats(min_value=0, max_value=1),
    seed=st.integers(),
)
def test_next_interval_respects_bounds_hints_and_jitter(
    arrivals: list[float], low: float, span: float, hint: float | None, jitter: float, seed: int
) -> None:
    bounds = Bounds(low, low + span)
    cap = 86400.0
    interval = next_interval(
        arrivals=arrivals,
        now=NOW,
        bounds=bounds,
        hints=[hint],
        hint_cap_s=cap,
        jitter_ratio=jitter,
        rng=random.Random(seed),
    )
    floor = max(bounds.min_s, min(hint or 0.0, cap))
    assert interval >= floor  # never sooner than the bounds or the feed's own hints
    assert interval <= max(bounds.max_s, min(hint or 0.0, cap)) * (1 + jitter) + 1e-6


@given(
    failures=st.integers(min_value=1, max_value=200),
    retry=st.one_of(st.none(), st.floats(0, 86400)),
    seed=st.integers(),
)
def test_failure_backoff_grows_to_a_cap(failures: int, retry: float | None, seed: int) -> None:
    kwargs = {
        "bounds": BOUNDS,
        "base_s": 60.0,
        "cap_s": 12 * 3600.0,
        "jitter_ratio": 0.0,
        "rng": random.Random(seed),
    }
    delay = failure_delay(failures=failures, retry_after_s=retry, **kwargs)
    assert BOUNDS.min_s <= delay <= max(12 * 3600.0, retry or 0)
    assert delay >= (retry or 0)
    assert failure_delay(failures=failures + 1, retry_after_s=None, **kwargs) >= failure_delay(
        failures=failures, retry_after_s=None, **kwargs
    )


def test_backoff_sequence() -> None:
    delays = [
        failure_delay(
            failures=n,
            bounds=Bounds(60, 3600),
            base_s=60,
            cap_s=3600,
            retry_after_s=None,
            jitter_ratio=0,
            rng=random.Random(0),
        )
        for n in range(1, 10)
    ]
    assert delays == [60, 120, 240, 480, 960, 1920, 3600, 3600, 3600]


def test_state_moves_and_round_trips() -> None:
    state = SourceState("s1")
    assert state.status is SourceStatus.NEW and state.conditional_headers() == {}
    ok = state.succeeded(
        now=NOW,
        next_due_at=NOW + 600,
        interval_s=600,
        etag='"v1"',
        last_modified="Mon, 02 Nov 2026 08:00:00 GMT",
        body_hash="h",
        new_item_ids=["a", "b"],
        still_listed=[],
        arrivals=[NOW - 10],
        seen_max=3,
    )
    assert ok.status is SourceStatus.OK and ok.conditional_headers() == {
        "If-None-Match": '"v1"',
        "If-Modified-Since": "Mon, 02 Nov 2026 08:00:00 GMT",
    }
    again = ok.succeeded(
        now=NOW + 600,
        next_due_at=NOW + 1200,
        interval_s=600,
        etag=None,
        last_modified=None,
        body_hash="h2",
        new_item_ids=["c", "d"],
        still_listed=["a"],
        arrivals=[],
        seen_max=3,
    )
    assert again.seen == ("a", "c", "d")  # "b" left the document and aged out first
    failed = again.failed(kind=FetchErrorKind.RATE_LIMITED, detail="429", next_due_at=NOW + 5000)
    assert (failed.status, failed.failures, failed.etag) == (SourceStatus.RATE_LIMITED, 1, None)
    assert (
        failed.failed(kind=FetchErrorKind.TIMEOUT, detail="t", next_due_at=0).status
        is SourceStatus.FAILING
    )
    pending = failed.with_pending(Pending(("art1", "art2"), ("c1", "c2"), {0: 5, 2: 9}))
    assert SourceState.from_json(pending.to_json()) == pending
    resolved = pending.resolve_pending({"art2"}, now=NOW, seen_max=10)
    assert resolved.pending is None and resolved.seen[-1] == "c2" and "c1" not in resolved.seen


def test_silent_sources() -> None:
    state = SourceState("s", first_success_at=NOW - 10 * 86400, last_new_item_at=NOW - 4 * 86400)
    assert state.is_silent(NOW, 3 * 86400) and not state.is_silent(NOW, 5 * 86400)
    assert not SourceState("never-polled").is_silent(NOW, 1)


@given(
    host=st.from_regex(r"[a-z][a-z0-9-]{0,20}(\.[a-z]{2,6}){1,2}", fullmatch=True),
    paths=st.lists(st.from_regex(r"/[a-z0-9/]{0,20}", fullmatch=True), min_size=2, max_size=4),
    partitions=st.integers(min_value=1, max_value=64),
)
def test_every_source_of_a_host_is_on_one_partition(
    host: str, paths: list[str], partitions: int
) -> None:
    """The fleet's politeness rests on this: one host, one partition, one replica."""
    from newswire.common.kafka import host_partition

    urls = [f"https://{host}{paths[0]}", f"http://{host.upper()}:8080{paths[1]}"]
    urls += [f"https://{host}{path}?page=2" for path in paths[2:]]
    placed = {host_partition(url, partitions) for url in urls}
    assert len(placed) == 1 and 0 <= placed.pop() < partitions


def test_hosts_spread_over_partitions() -> None:
    from newswire.common.kafka import host_partition

    counts = [0] * 6
    for i in range(600):
        counts[host_partition(f"https://site{i}.example/feed", 6)] += 1
    assert all(60 < n < 140 for n in counts)


def test_a_state_on_two_partitions_is_read_as_its_latest_poll() -> None:
    """States written before they were placed by host (or before a URL moved host) may
    sit on another partition too: the later poll wins there, the later record here."""
    from newswire.fetcher.statestore import newer_state as _newer

    old, new = SourceState("s", last_attempt_at=NOW - 60), SourceState("s", last_attempt_at=NOW)
    assert _newer(new, 1, old, 4) and not _newer(old, 4, new, 1)
    assert _newer(old, 1, new, 1)  # one partition: write order, whatever the clocks say
    assert _newer(old, 3, None, None)
