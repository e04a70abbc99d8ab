"""Test helpers for the sink: valid enriched records and reading the output back.

Builders make records that pass ``schemas/enriched-article.v1.json``.

Ids and content hashes are computed the way the pipeline computes them, so records
look like the enricher's output; ``keyed`` forces an (id, content_hash) pair for
tests that only care about the idempotency key.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import itertools
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson

from newswire.common.ids import article_id, content_hash
from newswire.common.kafka import caught_up, committed_offsets, end_offsets, new_producer
from newswire.common.schemas import SchemaName, schema_info, validate
from newswire.common.settings import Settings
from newswire.sink.service import run_sink
from newswire.sink.writers.base import FlushResult, Partitions, Writer

#: Failure guard of the broker helpers below (never a timed assertion).
DEADLINE_S = 30.0

_serial = itertools.count(1)


def enriched_record(
    *,
    text: str | None = None,
    title: str | None = "A headline",
    url: str | None = None,
    fetched_at: str = "2025-01-31T10:15:00.000Z",
    status: str = "new",
) -> dict[str, Any]:
    """A valid enriched record; every call without ``text``/``url`` is a new article."""
    n = next(_serial)
    text = text if text is not None else f"Body of article number {n}. Prices rose again."
    url = url if url is not None else f"https://news.example.org/articles/{n}"
    ident = article_id(url, text)
    return {
        "schema_version": schema_info(SchemaName.ENRICHED).version,
        "id": ident,
        "source": {"kind": "feed", "id": "example", "name": "Example News"},
        "url": url,
        "title": title,
        "text": text,
        "published_at": "2025-01-31T09:00:00Z",
        "fetched_at": fetched_at,
        "enriched_at": "2025-01-31T10:15:01.000Z",
        "language": {
            "code": "en",
            "confidence": 0.98,
            "script": "Latn",
            "declared": "en",
            "conflict": False,
        },
        "topics": [{"id": "economy", "score": 1.5, "evidence": ["prices"]}],
        "dedupe": {
            "status": status,
            "content_hash": content_hash(title, text),
            "duplicate_of": None,
            "similarity": None,
            "cluster_id": ident,
            "redeliveries": 0,
            "role": "head",
            "head_id": ident,
            "merged_clusters": [],
        },
        "language_hint": "en",
    }


def updated(record: dict[str, Any], *, text: str) -> dict[str, Any]:
    """The same article (same id) with new content: an ``update``."""
    newer = copy.deepcopy(record)
    newer["text"] = text
    newer["dedupe"]["status"] = "update"
    newer["dedupe"]["content_hash"] = content_hash(newer["title"], text)
    return newer


def keyed(
    article: str, content: str, *, fetched_at: str = "2025-01-31T10:15:00Z"
) -> dict[str, Any]:
    """A valid record with a chosen id and content hash (hex strings of any length
    are padded to the schema's 32 characters)."""
    record = enriched_record(fetched_at=fetched_at)
    record["id"] = article.rjust(32, "0")
    record["dedupe"]["content_hash"] = content.rjust(32, "0")
    return record


def assert_valid(record: dict[str, Any]) -> None:
    validate(SchemaName.ENRICHED, record)


def output_files(out_dir: Path) -> list[Path]:
    return sorted(out_dir.glob("date=*/*.jsonl"))


def output_lines(out_dir: Path) -> list[dict[str, Any]]:
    """Every line of every output file, parsed; a torn line fails the test."""
    records = []
    for path in output_files(out_dir):
        data = path.read_bytes()
        assert data.endswith(b"\n"), f"{path} does not end with a newline"
        records.extend(orjson.loads(line) for line in data.splitlines())
    return records


def keys(records: list[dict[str, Any]]) -> Counter[tuple[str, str]]:
    return Counter((r["id"], r["dedupe"]["content_hash"]) for r in records)


# -- the sink on the real broker (integration tests) -----------------------------------


async def produce(settings: Settings, messages: list[tuple[bytes | None, bytes]]) -> None:
    """Put (key, value) messages on the enriched topic, every one acknowledged."""
    producer = new_producer(settings.kafka)
    await producer.start()
    try:
        futures = [
            await producer.send(settings.topics.enriched, value, key=key) for key, value in messages
        ]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


def as_messages(records: list[dict[str, Any]]) -> list[tuple[bytes | None, bytes]]:
    return [(r["id"].encode(), orjson.dumps(r)) for r in records]


async def sink_caught_up(settings: Settings) -> bool:
    """Has the sink's group committed everything on the enriched topic?"""
    targets = await end_offsets(settings.kafka, settings.topics.enriched)
    committed = await committed_offsets(settings.kafka, settings.sink.group_id, targets)
    return caught_up(committed, targets)


@contextlib.asynccontextmanager
async def running_sink(settings: Settings, **kwargs: Any) -> AsyncIterator[asyncio.Task[None]]:
    """``run_sink`` as a task; stopped (final flush and commit) on exit."""
    stop = asyncio.Event()
    task = asyncio.create_task(run_sink(settings, stop=stop, **kwargs))
    try:
        yield task
    finally:
        stop.set()
        await asyncio.wait_for(task, DEADLINE_S)


class WrappedWriter:
    """A writer that hands everything to ``inner``; tests override what they test."""

    def __init__(self, inner: Writer) -> None:
        self.name = inner.name
        self.inner = inner

    async def add(
        self, record: dict[str, Any], raw: bytes, topic: str, partition: int, offset: int
    ) -> None:
        await self.inner.add(record, raw, topic, partition, offset)

    async def flush(self, partitions: Partitions = None) -> FlushResult:
        return await self.inner.flush(partitions)

    def drop(self, partitions: Partitions) -> int:
        return self.inner.drop(partitions)

    async def close(self) -> None:
        await self.inner.close()
