"""JsonLinesWriter on real files: atomic placement, date partitions, idempotency."""

from __future__ import annotations

import asyncio
import itertools
import os
import re
import tempfile
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from newswire.common.errors import CannotStart
from newswire.sink.writers import FlushResult, JsonLinesWriter, RecordRejected, Writer, WriterError
from newswire.sink.writers import jsonl as jsonl_module
from newswire.sink.writers.jsonl import write_lines
from tests.sink.helpers import (
    assert_valid,
    enriched_record,
    keyed,
    keys,
    output_files,
    output_lines,
    updated,
)

NAME = re.compile(r"^enriched-\d{8}T\d{12}Z-[0-9a-f]{8}-\d{6}\.jsonl$")


_offsets = itertools.count()


async def add_all(writer: JsonLinesWriter, records: list[dict[str, Any]]) -> None:
    for record in records:
        await writer.add(record, orjson.dumps(record), "enriched", 0, next(_offsets))


@pytest.fixture
async def writer(tmp_path: Path):
    opened = JsonLinesWriter(out_dir=tmp_path / "out")
    yield opened
    await opened.close()


def test_factory_builds_schema_valid_records() -> None:
    record = enriched_record()
    assert_valid(record)
    assert_valid(updated(record, text="Corrected body."))
    assert_valid(keyed("a1", "b2"))


async def test_cluster_fields_are_written_as_they_came(writer: JsonLinesWriter) -> None:
    """Since 1.2 a record says its role and the clusters it merged: the line is the
    record, so a consumer unions clusters from the files as from the topic."""
    copy, head = enriched_record(), enriched_record()
    head["dedupe"] |= {"cluster_id": copy["id"], "merged_clusters": ["f" * 32]}
    assert_valid(head)
    await add_all(writer, [copy, head])
    await writer.flush()
    assert {r["id"]: r for r in output_lines(writer.out_dir)}[head["id"]] == head


def test_is_a_writer(writer: JsonLinesWriter) -> None:
    assert isinstance(writer, Writer)


async def test_flush_places_whole_files_by_utc_date(writer: JsonLinesWriter) -> None:
    records = [
        enriched_record(fetched_at="2025-01-31T10:00:00Z"),
        enriched_record(fetched_at="2025-01-31T23:59:59.999Z"),
        enriched_record(fetched_at="2025-01-31T23:30:00-02:00"),  # 01:30 UTC next day
        enriched_record(fetched_at="2025-02-01T00:00:00+00:00"),
    ]
    await add_all(writer, records)
    result = await writer.flush()

    assert result.written == 4
    assert len(result.locations) == 2
    files = output_files(writer.out_dir)
    assert [p.parent.name for p in files] == ["date=2025-01-31", "date=2025-02-01"]
    assert all(NAME.match(p.name) for p in files)
    assert {str(p) for p in files} == set(result.locations)
    assert list((writer.out_dir / ".tmp").iterdir()) == []
    assert len(files[0].read_bytes().splitlines()) == 2
    assert keys(output_lines(writer.out_dir)) == keys(records)
    assert output_lines(writer.out_dir)[0] == records[0]  # lines are the records themselves


async def test_each_flush_is_a_new_file_and_names_sort_in_write_order(
    writer: JsonLinesWriter,
) -> None:
    written: list[str] = []
    for _ in range(5):
        await add_all(writer, [enriched_record()])
        written.extend((await writer.flush()).locations)
    names = [Path(p).name for p in written]
    assert len(set(names)) == 5
    assert sorted(names) == names


async def test_empty_flush_writes_nothing(writer: JsonLinesWriter) -> None:
    assert await writer.flush() == FlushResult()
    assert output_files(writer.out_dir) == []


async def test_same_key_is_written_once_within_and_across_flushes(writer: JsonLinesWriter) -> None:
    record = enriched_record()
    await add_all(writer, [record, record])
    first = await writer.flush()
    await add_all(writer, [record])
    second = await writer.flush()

    assert (first.written, first.duplicates) == (1, 1)
    assert (second.written, second.duplicates) == (0, 1)
    assert second.locations == ()
    assert len(output_lines(writer.out_dir)) == 1


async def test_update_with_new_content_hash_is_written(writer: JsonLinesWriter) -> None:
    record = enriched_record()
    newer = updated(record, text="The corrected body of the article.")
    await add_all(writer, [record, newer, record, newer])
    assert (await writer.flush()).written == 2
    lines = output_lines(writer.out_dir)
    assert [line["dedupe"]["status"] for line in lines] == ["new", "update"]
    assert {line["id"] for line in lines} == {record["id"]}


async def test_restart_rebuilds_the_index_from_disk(tmp_path: Path) -> None:
    out = tmp_path / "out"
    records = [enriched_record(fetched_at=f"2025-01-{day:02d}T12:00:00Z") for day in (1, 2, 3)]
    first = JsonLinesWriter(out_dir=out)
    await add_all(first, records)
    await first.flush()
    await first.close()

    second = JsonLinesWriter(out_dir=out)
    try:
        assert second.known_keys == 3
        newer = updated(records[1], text="Changed text.")
        await add_all(second, [*records, newer])
        result = await second.flush()
    finally:
        await second.close()
    assert (result.written, result.duplicates) == (1, 3)
    assert keys(output_lines(out)) == keys([*records, newer])


async def test_stale_temp_files_are_removed_and_never_read(tmp_path: Path) -> None:
    out = tmp_path / "out"
    record = enriched_record()
    (out / ".tmp" / "half").mkdir(parents=True)
    (out / ".tmp" / "enriched-20250101T000000000000Z-deadbeef-000001.jsonl").write_bytes(
        orjson.dumps(record)[:40]
    )
    opened = JsonLinesWriter(out_dir=out)
    try:
        assert list((out / ".tmp").iterdir()) == []
        assert opened.known_keys == 0
        await add_all(opened, [record])
        assert (await opened.flush()).written == 1
    finally:
        await opened.close()


async def test_unreadable_lines_on_disk_do_not_stop_the_start(tmp_path: Path) -> None:
    out = tmp_path / "out"
    record = enriched_record()
    day = out / "date=2025-01-31"
    day.mkdir(parents=True)
    (day / "enriched-20250131T000000000000Z-00000000-000001.jsonl").write_bytes(
        orjson.dumps(record) + b"\n" + b"not json\n" + b"[1, 2]\n"
    )
    written_then = datetime(2025, 1, 31, 12, tzinfo=UTC).timestamp()  # within the index window
    opened = JsonLinesWriter(out_dir=out, clock=lambda: written_then)
    try:
        assert opened.known_keys == 1
    finally:
        await opened.close()


async def test_second_writer_on_the_same_directory_is_refused(writer: JsonLinesWriter) -> None:
    with pytest.raises(WriterError, match="already used"):
        JsonLinesWriter(out_dir=writer.out_dir)


@pytest.mark.parametrize(
    "change",
    [
        lambda r: r.pop("id"),
        lambda r: r["dedupe"].pop("content_hash"),
        lambda r: r.update(dedupe="x"),
        lambda r: r.update(fetched_at="yesterday"),
        lambda r: r.update(fetched_at=None),
    ],
)
async def test_records_without_key_or_date_are_rejected(
    writer: JsonLinesWriter, change: Any
) -> None:
    record = enriched_record()
    change(record)
    with pytest.raises(RecordRejected):
        await writer.add(record, b"{}", "enriched", 0, 0)
    assert writer.buffered == 0


async def test_failed_flush_keeps_what_was_not_placed_and_the_retry_writes_it_once(
    writer: JsonLinesWriter,
) -> None:
    early = enriched_record(fetched_at="2025-01-30T08:00:00Z")
    late = enriched_record(fetched_at="2025-01-31T08:00:00Z")
    blocker = writer.out_dir / "date=2025-01-31"
    blocker.write_text("a file where the date directory should be")
    await add_all(writer, [early, late])

    with pytest.raises(WriterError):
        await writer.flush()
    assert writer.buffered == 1  # the 30th was placed, the 31st is still buffered
    assert list((writer.out_dir / ".tmp").iterdir()) == []

    blocker.unlink()
    await add_all(writer, [early, late])  # redelivered meanwhile: both already known
    result = await writer.flush()
    assert (result.written, result.duplicates) == (1, 2)
    assert keys(output_lines(writer.out_dir)) == keys([early, late])


async def test_close_drops_unflushed_records(tmp_path: Path) -> None:
    out = tmp_path / "out"
    opened = JsonLinesWriter(out_dir=out)
    await add_all(opened, [enriched_record()])
    await opened.close()
    assert output_files(out) == []
    with pytest.raises(WriterError):
        await opened.flush()


# -- property: one line per distinct (id, content_hash), whatever happens ---------------

ops = st.lists(
    st.one_of(
        st.tuples(
            st.just("add"),
            st.sampled_from("abc"),  # ids
            st.sampled_from("012"),  # content hashes
            st.sampled_from(["2025-01-31T10:00:00Z", "2025-02-01T10:00:00Z"]),
        ),
        st.just(("flush",)),
        st.just(("restart",)),  # flush, close, open a new writer on the same directory
        st.just(("crash",)),  # close without flush; Kafka redelivers the lost records
    ),
    max_size=40,
)


async def _play(out: Path, script: list[tuple[str, ...]]) -> set[tuple[str, str]]:
    writer = JsonLinesWriter(out_dir=out)
    seen: set[tuple[str, str]] = set()
    unflushed: list[dict[str, Any]] = []
    try:
        for op in script:
            if op[0] == "add":
                record = keyed(op[1], op[2], fetched_at=op[3])
                await add_all(writer, [record])
                unflushed.append(record)
                seen.add((record["id"], record["dedupe"]["content_hash"]))
                continue
            if op[0] in ("flush", "restart"):
                await writer.flush()
                unflushed.clear()
            if op[0] in ("restart", "crash"):
                await writer.close()
                writer = JsonLinesWriter(out_dir=out)
                await add_all(writer, unflushed)  # redelivery of what was not committed
        await writer.flush()
    finally:
        await writer.close()
    return seen


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(script=ops)
def test_one_line_per_distinct_key_across_flushes_and_restarts(
    script: list[tuple[str, ...]],
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out"
        seen = asyncio.run(_play(out, script))
        lines = output_lines(out)
    assert keys(lines) == Counter(dict.fromkeys(seen, 1))


def test_an_out_dir_that_cannot_be_made_is_a_start_error_not_a_traceback(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("a file, not a folder")
    with pytest.raises(CannotStart, match="cannot be made a folder"):
        JsonLinesWriter(out_dir=tmp_path / "file" / "out")


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    texts=st.lists(st.binary(max_size=300).map(lambda b: b.replace(b"\n", b" ")), max_size=40),
    iov_max=st.sampled_from([2, 4, 6, jsonl_module.IOV_MAX]),
)
def test_write_lines_puts_every_text_on_its_own_line_in_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, texts: list[bytes], iov_max: int
) -> None:
    """Whatever the number of records per ``writev`` call, the file is the texts,
    each followed by one line break, in order."""
    monkeypatch.setattr(jsonl_module, "IOV_MAX", iov_max)
    path = tmp_path / "lines.jsonl"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    try:
        write_lines(fd, texts)
    finally:
        os.close(fd)
    assert path.read_bytes() == b"".join(text + b"\n" for text in texts)
