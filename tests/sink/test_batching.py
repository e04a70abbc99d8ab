"""The batching base: buffers by partition, finds the records a destination refuses."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from newswire.sink.writers.base import BatchRejected, WriterError
from newswire.sink.writers.batching import MAX_WRITE_ATTEMPTS, BatchItem, WriteFailed
from tests.sink.memory import P0, P1, TOPIC, MemoryWriter


async def added(writer: MemoryWriter, tp_ids: list[tuple[int, str]]) -> None:
    for offset, (partition, ident) in enumerate(tp_ids):
        await writer.add({"id": ident}, b"{}", TOPIC, partition, offset)


def refuse(*bad: str):
    def fail(items: Sequence[BatchItem[str]]) -> BaseException | None:
        refused = [item.value for item in items if item.value in bad]
        return BatchRejected("mem", f"refused {refused}") if refused else None

    return fail


async def test_split_finds_every_refused_record_and_keeps_the_order() -> None:
    writer = MemoryWriter("mem", [])
    ids = [f"r{n}" for n in range(10)]
    await added(writer, [(0, ident) for ident in ids])
    writer.fail = refuse("r2", "r7")

    result = await writer.flush()

    assert writer.written == [i for i in ids if i not in ("r2", "r7")]
    assert [(r.offset, r.reason) for r in result.rejected] == [
        (2, "refused ['r2']"),
        (7, "refused ['r7']"),
    ]
    assert result.written == 8
    assert writer.buffered == 0


async def test_an_unavailable_destination_is_never_split_on() -> None:
    writer = MemoryWriter("mem", [])
    await added(writer, [(0, "a"), (0, "b")])
    writer.fail = lambda items: WriterError("disk full")

    for _ in range(MAX_WRITE_ATTEMPTS + 2):
        with pytest.raises(WriterError, match="disk full"):
            await writer.flush()
    assert writer.buffered == 2


async def test_a_bug_is_retried_then_split() -> None:
    writer = MemoryWriter("mem", [])
    await added(writer, [(0, "a"), (0, "b")])
    writer.fail = lambda items: TypeError("bug") if len(items) > 1 else None

    for attempt in range(1, MAX_WRITE_ATTEMPTS):
        with pytest.raises(WriteFailed, match=f"attempt {attempt} of"):
            await writer.flush()
    result = await writer.flush()  # split: each record alone works
    assert (result.written, result.rejected) == (2, ())
    assert writer.written == ["a", "b"]


async def test_flush_and_drop_are_per_partition() -> None:
    writer = MemoryWriter("mem", [])
    await added(writer, [(0, "a"), (1, "b"), (0, "c")])

    await writer.flush([P1])
    assert writer.written == ["b"]
    assert writer.drop([P0]) == 2
    assert writer.buffered == 0
    assert (await writer.flush()).written == 0
