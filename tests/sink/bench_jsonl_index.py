"""Start-up time and index size of the JSON Lines writer: whole history vs. window.

    .venv/bin/python -m tests.sink.bench_jsonl_index [--days 60] [--per-day 1000]

Builds ``days`` date directories of ``per-day`` records each (10 files a day, stamped
and dated as the writer would have written them on that day), then, in one run and on
the same files, opens the index the old way (every file, one set: the code before the
index window, copied here) and the new way (``JsonLinesWriter`` with the default
7-day window). Time is wall time of a second open (page cache warm); size is what tracemalloc
sees allocated by the open and still held.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from newswire.sink.writers.jsonl import (
    DEFAULT_INDEX_WINDOW_S,
    JsonLinesWriter,
    key_digest,
    record_key,
)
from tests.sink.helpers import enriched_record

FILES_PER_DAY = 10


def build(out: Path, days: int, per_day: int) -> None:
    today = datetime.now(UTC).date()
    for n in range(days):
        day = today - timedelta(days=n)
        directory = out / f"date={day.isoformat()}"
        directory.mkdir(parents=True)
        noon = datetime(day.year, day.month, day.day, 12, tzinfo=UTC).timestamp()
        per_file = per_day // FILES_PER_DAY
        for f in range(FILES_PER_DAY):
            lines = [
                orjson.dumps(enriched_record(fetched_at=f"{day}T11:00:00Z")) + b"\n"
                for _ in range(per_file)
            ]
            path = directory / f"enriched-{day:%Y%m%d}T12{f:02d}00000000Z-0badcafe-{f:06d}.jsonl"
            path.write_bytes(b"".join(lines))
            os.utime(path, (noon, noon))
        os.utime(directory, (noon, noon))


def old_scan(out: Path) -> set[bytes]:
    """The start-up read before the window: every file, every line, one set."""
    index: set[bytes] = set()
    for path in out.glob("date=*/enriched-*.jsonl"):
        with path.open("rb") as handle:
            for line in handle:
                index.add(key_digest(*record_key(orjson.loads(line))))
    return index


def new_scan(out: Path) -> JsonLinesWriter:
    return JsonLinesWriter(out_dir=out)


def measure(open_index: Callable[[Path], Any], out: Path) -> tuple[float, int, Any]:
    _close(open_index(out))  # warm the page cache
    started = time.perf_counter()
    held = open_index(out)
    seconds = time.perf_counter() - started
    _close(held)
    tracemalloc.start()
    held = open_index(out)
    size, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    _close(held)
    return seconds, size, held


def _close(held: Any) -> None:
    if isinstance(held, JsonLinesWriter):
        asyncio.run(held.close())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--per-day", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out"
        build(out, args.days, args.per_day)
        old_s, old_bytes, old_index = measure(old_scan, out)
        new_s, new_bytes, writer = measure(new_scan, out)
        total = args.days * args.per_day
        print(f"{args.days} days x {args.per_day} records = {total:,} records on disk")
        print(f"{'':34}{'start-up':>10}{'keys':>10}{'index size':>13}")
        print(
            f"{'before (whole directory)':34}{old_s:>9.2f}s{len(old_index):>10,}"
            f"{old_bytes / 2**20:>10.1f} MiB"
        )
        window_days = DEFAULT_INDEX_WINDOW_S / 86400
        label = f"after ({window_days:.0f}-day window)"
        print(
            f"{label:34}{new_s:>9.2f}s{writer.known_keys:>10,}"
            f"{new_bytes / 2**20:>10.1f} MiB"
            f"   ({writer.scan.files_read} of {args.days * FILES_PER_DAY} files,"
            f" {writer.scan.dirs_read} of {args.days} directories read;"
            f" oldest day kept {min(writer.index_days, default=date.today())})"
        )


if __name__ == "__main__":
    main()
