"""The JSON Lines idempotency index is bounded by the index window (write time).

Start-up reads only the output written within the window; while running, keys older
than the window are dropped; a redelivery within the window is still skipped.
"""

from __future__ import annotations

import itertools
import os
import pathlib
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from newswire.sink.writers import JsonLinesWriter
from newswire.sink.writers.jsonl import key_digest
from newswire.sink.writers.keyindex import WindowedKeys, bucket_width, first_day_kept
from tests.sink.helpers import enriched_record, keys, output_lines

DAY_S = 24 * 3600.0
WEEK_S = 7 * DAY_S
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

_offsets = itertools.count()


class FakeClock:
    def __init__(self, start: datetime) -> None:
        self.now = start.timestamp()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


async def add_all(writer: JsonLinesWriter, records: list[dict[str, Any]]) -> None:
    for record in records:
        await writer.add(record, orjson.dumps(record), "enriched", 0, next(_offsets))


def write_day(out: Path, day: date, records: list[dict[str, Any]]) -> Path:
    """One output file as the writer of ``day`` left it: stamp and mtimes of that day."""
    directory = out / f"date={day.isoformat()}"
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"enriched-{day:%Y%m%d}T120000000000Z-0badcafe-000001.jsonl"
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records))
    noon = datetime(day.year, day.month, day.day, 12, tzinfo=UTC).timestamp()
    os.utime(path, (noon, noon))
    os.utime(directory, (noon, noon))
    return path


@pytest.fixture
def opened_paths(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Every output file the code under test opens."""
    opened: list[Path] = []
    real_open = pathlib.Path.open

    def spy(self: Path, *args: Any, **kwargs: Any) -> Any:
        if self.suffix == ".jsonl":
            opened.append(self)
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(pathlib.Path, "open", spy)
    return opened


async def test_start_reads_only_the_days_within_the_window(
    tmp_path: Path, opened_paths: list[Path]
) -> None:
    out = tmp_path / "out"
    days = [NOW.date() - timedelta(days=n) for n in range(60)]
    written = {day: [enriched_record(fetched_at=f"{day}T11:00:00Z")] for day in days}
    files = {day: write_day(out, day, written[day]) for day in days}
    opened_paths.clear()

    writer = JsonLinesWriter(out_dir=out, index_window_s=WEEK_S, clock=FakeClock(NOW))
    try:
        # the window reaches back to 02-22 (noon); one day of slack keeps 02-21 too,
        # and the date directory one day before that is listed (fetched_at skew)
        first = date(2026, 2, 21)
        assert first_day_kept(NOW.timestamp(), WEEK_S) == first
        kept = [day for day in days if day >= first]
        assert len(kept) == 9
        assert sorted(opened_paths) == sorted(files[day] for day in kept)
        assert (writer.scan.dirs_read, writer.scan.dirs_skipped) == (10, 50)
        assert (writer.scan.files_read, writer.scan.files_skipped) == (9, 1)
        assert writer.known_keys == 9
        assert writer.index_days == kept[::-1]

        recent = written[date(2026, 2, 25)]
        old = written[date(2026, 1, 15)]
        await add_all(writer, [*recent, *old])
        result = await writer.flush()
    finally:
        await writer.close()
    # within the window: skipped; past it: written again (the documented cost)
    assert (result.written, result.duplicates) == (1, 1)
    assert keys(output_lines(out))[next(iter(keys(old)))] == 2


async def test_a_late_record_in_an_old_date_directory_is_read_back(tmp_path: Path) -> None:
    """Fetched long ago, written now (a lagging sink, old seeds): its date directory is
    old but its mtime and file name are recent, so a restart still knows it."""
    out = tmp_path / "out"
    clock = FakeClock(NOW)
    late = enriched_record(fetched_at="2025-06-01T08:00:00Z")
    first = JsonLinesWriter(out_dir=out, index_window_s=WEEK_S, clock=clock)
    await add_all(first, [late])
    assert (await first.flush()).written == 1
    await first.close()
    directory = out / "date=2025-06-01"
    now = clock()
    os.utime(directory, (now, now))  # the rename's mtime, on the fake clock

    clock.advance(3 * DAY_S)
    second = JsonLinesWriter(out_dir=out, index_window_s=WEEK_S, clock=clock)
    try:
        assert second.known_keys == 1
        await add_all(second, [late])
        assert (await second.flush()).written == 0
    finally:
        await second.close()


async def test_keys_older_than_the_window_are_dropped_while_running(tmp_path: Path) -> None:
    out = tmp_path / "out"
    clock = FakeClock(NOW)
    writer = JsonLinesWriter(out_dir=out, index_window_s=WEEK_S, clock=clock)
    try:
        first_day = [enriched_record(fetched_at="2026-03-01T10:00:00Z") for _ in range(5)]
        await add_all(writer, first_day)
        assert (await writer.flush()).written == 5

        for _ in range(7):  # a redelivery within the window is still skipped
            clock.advance(DAY_S)
            await add_all(writer, [enriched_record(fetched_at="2026-03-02T10:00:00Z")])
            await add_all(writer, first_day[:1])
            result = await writer.flush()
            assert (result.written, result.duplicates) == (1, 1)
        assert writer.known_keys == 5 + 7

        clock.advance(2 * DAY_S)  # 9 days on: the first day's bucket is past window + slack
        await add_all(writer, [enriched_record(fetched_at="2026-03-10T10:00:00Z")])
        await writer.flush()
        assert writer.index_days[0] >= first_day_kept(clock(), WEEK_S)
        assert date(2026, 3, 1) not in writer.index_days
        assert writer.known_keys == 7 + 1
        for _ in range(30):  # a month more: memory holds a window of days, not history
            clock.advance(DAY_S)
            await add_all(writer, [enriched_record(fetched_at="2026-04-01T10:00:00Z")])
            await writer.flush()
        assert len(writer.index_days) <= 9
        assert writer.known_keys <= 9
    finally:
        await writer.close()


# -- property: never forgotten within the window, always forgotten after it + 2 buckets --


@given(
    steps=st.lists(
        st.tuples(st.floats(min_value=0, max_value=3 * DAY_S), st.booleans()), max_size=60
    ),
    window_s=st.floats(min_value=60.0, max_value=10 * DAY_S),
)
def test_windowed_keys_remember_exactly_the_window_give_or_take_the_slack(
    steps: list[tuple[float, bool]], window_s: float
) -> None:
    check_window(steps, window_s)


@given(
    steps=st.lists(st.tuples(st.floats(min_value=0, max_value=120.0), st.booleans()), max_size=80),
    window_s=st.floats(min_value=0.5, max_value=600.0),
)
def test_a_short_window_is_remembered_as_exactly_with_narrow_buckets(
    steps: list[tuple[float, bool]], window_s: float
) -> None:
    check_window(steps, window_s)


def check_window(steps: list[tuple[float, bool]], window_s: float) -> None:
    """Every key younger than the window is known; none older than the window plus two
    buckets (a quarter of the window each, within [1 s, 1 day]) is."""
    clock = FakeClock(NOW)
    index = WindowedKeys(window_s=window_s, clock=clock)
    width = bucket_width(window_s)
    added: dict[bytes, float] = {}
    for n, (advance, add) in enumerate(steps):
        clock.advance(advance)
        index.prune()
        if add:
            digest = key_digest(f"id{n}", "hash")
            index.add(digest)
            added[digest] = clock()
        for digest, at in added.items():
            age = clock() - at
            if age <= window_s:
                assert digest in index
            if age > window_s + 2 * width:
                assert digest not in index
        assert index.buckets <= window_s / width + 3


@pytest.mark.parametrize(
    ("window_s", "width_s"),
    [(0.2, 1.0), (20.0, 5.0), (3600.0, 900.0), (4 * DAY_S, DAY_S), (WEEK_S, DAY_S)],
)
def test_buckets_are_a_quarter_of_the_window_within_a_second_and_a_day(
    window_s: float, width_s: float
) -> None:
    assert bucket_width(window_s) == width_s


def test_with_a_day_wide_bucket_the_buckets_are_the_utc_days() -> None:
    """The default window keeps the layout it always had: one bucket per UTC day."""
    index = WindowedKeys(window_s=WEEK_S, clock=FakeClock(NOW))
    index.add(b"a" * 16, NOW.timestamp())
    index.add(b"b" * 16, NOW.replace(hour=0).timestamp())
    index.add(b"c" * 16, NOW.replace(hour=0).timestamp() - 1)
    assert index.days == [date(2026, 2, 28), date(2026, 3, 1)]
    assert index.buckets == 2


# -- a short window: restart and a long run keep a window of keys, not a day ---------


async def write_one(writer: JsonLinesWriter, record: dict[str, Any]) -> int:
    await add_all(writer, [record])
    return (await writer.flush()).written


async def test_a_restart_with_a_short_window_knows_what_it_wrote_within_it(
    tmp_path: Path,
) -> None:
    """Keys written within the window are read back at start and a redelivery of them
    is skipped; files older than the window plus two buckets are not even read."""
    out = tmp_path / "out"
    window = 60.0
    clock = FakeClock(NOW)
    writer = JsonLinesWriter(out_dir=out, index_window_s=window, clock=clock)
    records = [enriched_record(fetched_at="2026-03-01T11:00:00Z") for _ in range(20)]
    written_at: list[float] = []
    for record in records:  # one every 10 s: 200 s of history, 60 s of window
        assert await write_one(writer, record) == 1
        written_at.append(clock())
        clock.advance(10.0)
    await writer.close()

    clock.advance(5.0)
    second = JsonLinesWriter(out_dir=out, index_window_s=window, clock=clock)
    try:
        width = bucket_width(window)
        recent = [r for r, at in zip(records, written_at, strict=True) if clock() - at <= window]
        stale = [
            r
            for r, at in zip(records, written_at, strict=True)
            if clock() - at > window + 2 * width
        ]
        assert recent and stale
        assert len(recent) <= second.known_keys <= len(records) - len(stale)
        assert second.scan.files_skipped >= len(stale)
        for record in recent:  # a redelivery inside the window: never a second line
            assert await write_one(second, record) == 0
    finally:
        await second.close()
    lines = keys(output_lines(out))
    assert all(lines[k] == 1 for k in keys(recent))


async def test_a_short_window_holds_a_plateau_of_keys_over_a_long_run(tmp_path: Path) -> None:
    clock = FakeClock(NOW)
    writer = JsonLinesWriter(out_dir=tmp_path / "out", index_window_s=20.0, clock=clock)
    try:
        for _ in range(300):  # one record a second for five minutes
            await write_one(writer, enriched_record(fetched_at="2026-03-01T11:00:00Z"))
            clock.advance(1.0)
        # 20 s of window plus at most two 5-second buckets
        assert 20 <= writer.known_keys <= 30
    finally:
        await writer.close()
