"""JSON Lines files on local disk: the sink's embedded default writer.

Layout::

    out_dir/
      .lock                      one writer per directory (flock)
      .tmp/                      files being written; emptied at start
      date=2025-01-31/           UTC date of the record's ``fetched_at``
        enriched-20250131T101500123456Z-3f9a1c2e-000001.jsonl

Every flush writes each date's part of the batch to a new file in ``.tmp/``, fsyncs
it, renames it into its date directory and fsyncs that directory. Rename is atomic,
so a reader listing ``date=*/`` sees whole files of whole lines or nothing; files are
never appended to, so their size and time span are bounded by the service's batch
limits. Names start with a fixed-width UTC timestamp, so they sort in write order;
the per-instance token and sequence number keep them unique.

Idempotency: the writer remembers the (``id``, ``dedupe.content_hash``) of every
line on disk and skips a record whose pair is already there, so Kafka redelivery
(after a crash between flush and commit, or a rebalance) adds no second line. An
update of an article (same id, new content hash) is a new pair and is written.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import logging
import os
import secrets
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from newswire.common.times import parse_rfc3339
from newswire.sink.writers.base import FlushResult, RecordRejected, WriterError

log = logging.getLogger(__name__)

TMP_DIR = ".tmp"
LOCK_FILE = ".lock"
DATE_DIR_PREFIX = "date="
SUFFIX = ".jsonl"


def record_key(record: dict[str, Any]) -> tuple[str, str]:
    """The idempotency key: article id and content hash."""
    article_id = record.get("id")
    dedupe = record.get("dedupe")
    content_hash = dedupe.get("content_hash") if isinstance(dedupe, dict) else None
    if not isinstance(article_id, str) or not article_id:
        raise RecordRejected("record has no string 'id'")
    if not isinstance(content_hash, str) or not content_hash:
        raise RecordRejected("record has no string 'dedupe.content_hash'")
    return article_id, content_hash


def key_digest(article_id: str, content_hash: str) -> bytes:
    """16 bytes per key instead of two 32-char strings: the index stays small in memory
    (~70 bytes a record in a set); 128 bits make a collision practically impossible."""
    return hashlib.blake2b(f"{article_id}\x00{content_hash}".encode(), digest_size=16).digest()


def partition_date(record: dict[str, Any]) -> str:
    """``YYYY-MM-DD`` of ``fetched_at`` in UTC; a time without offset is taken as UTC."""
    value = record.get("fetched_at")
    if not isinstance(value, str):
        raise RecordRejected("record has no string 'fetched_at'")
    try:
        moment = parse_rfc3339(value)
    except ValueError as exc:
        raise RecordRejected(f"'fetched_at' is not an ISO 8601 date-time: {value!r}") from exc
    return moment.astimezone(UTC).date().isoformat()


def _fsync_dir(path: Path) -> None:
    """Make a rename or a new entry in ``path`` survive a power cut."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _lock_dir(out_dir: Path) -> int:
    """Hold an exclusive flock on ``out_dir/.lock``: two writers on one directory would
    each miss the other's keys and wipe the other's temp files."""
    fd = os.open(out_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        os.close(fd)
        raise WriterError(f"{out_dir} is already used by another JSON Lines writer") from exc
    return fd


class JsonLinesWriter:
    """Idempotent, atomically written JSON Lines files partitioned by UTC date.

    Opening the writer (the constructor) locks the directory, removes stale temp
    files and rebuilds the key index from the files on disk; it blocks, which is fine
    because it runs once before the service starts consuming.
    """

    name = "jsonl"

    def __init__(self, *, out_dir: Path, prefix: str = "enriched") -> None:
        self._out_dir = Path(out_dir)
        self._prefix = prefix
        self._tmp_dir = self._out_dir / TMP_DIR
        self._token = secrets.token_hex(4)
        self._seq = 0
        self._out_dir.mkdir(parents=True, exist_ok=True)
        self._lock_fd: int | None = _lock_dir(self._out_dir)
        self._tmp_dir.mkdir(exist_ok=True)
        removed = self._remove_stale_temp_files()
        self._index, files = self._scan_index()
        self._pending: dict[str, list[bytes]] = {}  # date -> lines
        self._pending_keys: dict[str, list[bytes]] = {}  # date -> key digests, same order
        self._pending_set: set[bytes] = set()
        self._duplicates = 0
        self._unsynced_dirs: set[Path] = set()
        self._flush_lock = asyncio.Lock()
        log.info(
            "jsonl writer on %s: %d keys from %d files, %d stale temp files removed",
            self._out_dir,
            len(self._index),
            files,
            removed,
        )

    @property
    def out_dir(self) -> Path:
        return self._out_dir

    @property
    def buffered(self) -> int:
        """Records added but not flushed yet."""
        return len(self._pending_set)

    @property
    def known_keys(self) -> int:
        """Distinct (id, content_hash) pairs on disk."""
        return len(self._index)

    async def add(self, record: dict[str, Any], *, key: str, raw: bytes) -> None:
        """Buffer the record unless its (id, content_hash) is on disk or buffered already."""
        if self._lock_fd is None:
            raise WriterError("writer is closed")
        digest = key_digest(*record_key(record))
        if digest in self._index or digest in self._pending_set:
            self._duplicates += 1
            return
        day = partition_date(record)
        try:
            line = orjson.dumps(record) + b"\n"
        except orjson.JSONEncodeError as exc:
            raise RecordRejected(f"cannot encode record as JSON: {exc}") from exc
        self._pending.setdefault(day, []).append(line)
        self._pending_keys.setdefault(day, []).append(digest)
        self._pending_set.add(digest)

    async def flush(self) -> FlushResult:
        """Write one file per date in the buffer. On failure, what reached its final
        place counts as written and the rest stays buffered for the retry."""
        async with self._flush_lock:
            if self._lock_fd is None:
                raise WriterError("writer is closed")
            batches = {day: list(lines) for day, lines in sorted(self._pending.items())}
            if not batches and not self._unsynced_dirs:
                result = FlushResult(0, self._duplicates)
                self._duplicates = 0
                return result
            written: list[tuple[str, int, Path]] = []
            try:
                # The thread finishes even if we are cancelled: wait for it, so the
                # buffer is settled against what actually reached the disk.
                job = asyncio.ensure_future(
                    asyncio.to_thread(self._write_batches, batches, written)
                )
                try:
                    await asyncio.shield(job)
                except asyncio.CancelledError:
                    await asyncio.wait([job])
                    raise
            except OSError as exc:
                raise WriterError(
                    f"writing JSON Lines under {self._out_dir} failed: {exc}"
                ) from exc
            finally:
                count = self._settle(written)
            result = FlushResult(
                count, self._duplicates, tuple(str(path) for _, _, path in written)
            )
            self._duplicates = 0
            return result

    async def close(self) -> None:
        """Unlock the directory. Unflushed records are dropped: they were not
        committed, so Kafka delivers them again."""
        if self._lock_fd is None:
            return
        if self._pending_set:
            log.warning("jsonl writer closing with %d unflushed records", len(self._pending_set))
        fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
        os.close(self._lock_fd)
        self._lock_fd = None

    # -- blocking parts, run at start or in a worker thread -------------------------

    def _remove_stale_temp_files(self) -> int:
        """Left by a crash mid-flush; their records were never committed."""
        removed = 0
        for path in self._tmp_dir.iterdir():
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
            removed += 1
        return removed

    def _scan_index(self) -> tuple[set[bytes], int]:
        """Read our files line by line and keep only the two key fields of each."""
        index: set[bytes] = set()
        files = 0
        for path in self._out_dir.glob(f"{DATE_DIR_PREFIX}*/{self._prefix}-*{SUFFIX}"):
            files += 1
            with path.open("rb") as handle:
                for number, line in enumerate(handle, 1):
                    try:
                        index.add(key_digest(*record_key(orjson.loads(line))))
                    except (orjson.JSONDecodeError, RecordRejected, AttributeError) as exc:
                        log.warning("skipping unreadable line %s:%d: %s", path, number, exc)
        return index, files

    def _write_batches(
        self, batches: dict[str, list[bytes]], written: list[tuple[str, int, Path]]
    ) -> None:
        for directory in sorted(self._unsynced_dirs):
            _fsync_dir(directory)
            self._unsynced_dirs.discard(directory)
        for day, lines in batches.items():
            path = self._write_file(day, lines)
            written.append((day, len(lines), path))
            try:
                _fsync_dir(path.parent)
            except OSError:
                self._unsynced_dirs.add(path.parent)  # the next flush syncs it first
                raise

    def _write_file(self, day: str, lines: list[bytes]) -> Path:
        """Write, fsync, rename into place; returns the final path."""
        self._seq += 1
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        name = f"{self._prefix}-{stamp}-{self._token}-{self._seq:06d}{SUFFIX}"
        temp = self._tmp_dir / name
        final_dir = self._out_dir / f"{DATE_DIR_PREFIX}{day}"
        try:
            with temp.open("xb") as handle:
                handle.writelines(lines)
                handle.flush()
                os.fsync(handle.fileno())
            if not final_dir.is_dir():
                final_dir.mkdir(exist_ok=True)
                _fsync_dir(self._out_dir)
            os.rename(temp, final_dir / name)
        except BaseException:
            with contextlib.suppress(OSError):
                temp.unlink(missing_ok=True)
            raise
        return final_dir / name

    def _settle(self, written: list[tuple[str, int, Path]]) -> int:
        """Move the keys of lines that reached their final place into the index."""
        count = 0
        for day, n, _ in written:
            digests = self._pending_keys[day][:n]
            del self._pending[day][:n]
            del self._pending_keys[day][:n]
            if not self._pending[day]:
                del self._pending[day], self._pending_keys[day]
            self._index.update(digests)
            self._pending_set.difference_update(digests)
            count += n
        return count
