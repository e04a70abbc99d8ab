"""The PostgreSQL writer's pure parts: records -> rows, refusals, migration files.

What touches a database is in tests/integration/test_sink_postgres.py.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from newswire.sink.migrations import MigrationFileError, load_migrations
from newswire.sink.writers import RecordRejected
from newswire.sink.writers.postgres import PostgresWriter, redacted
from newswire.sink.writers.postgres_rows import (
    COLUMNS,
    MAX_INDEXED_CHARS,
    article_row,
    find_nul,
    parse_timestamp,
)
from tests.sink.helpers import assert_valid, enriched_record


def as_columns(record: dict) -> dict:
    return dict(zip(COLUMNS, article_row(record), strict=True))


def test_row_holds_the_queried_fields_and_the_whole_record() -> None:
    record = enriched_record(url="https://news.example.org/a")
    record["topics"].append({"id": "iraq", "score": 0.4, "evidence": ["Basra"]})
    row = as_columns(record)
    assert row["id"] == record["id"]
    assert row["content_hash"] == record["dedupe"]["content_hash"]
    assert (row["source_kind"], row["source_id"], row["source_ref"]) == ("feed", "example", None)
    assert row["url"] == "https://news.example.org/a"
    assert row["topics"] == ["economy", "iraq"]
    assert row["language_code"] == "en"
    assert row["dedupe_status"] == "new"
    assert row["fetched_at"] == datetime(2025, 1, 31, 10, 15, tzinfo=UTC)
    assert orjson.loads(row["record"]) == record


def test_cluster_fields_travel_in_the_record_column() -> None:
    """Since 1.2: role, head_id and merged_clusters are in the jsonb record, no column
    and no migration (the migration's own rule for fields of later minor versions)."""
    record = enriched_record()
    record["dedupe"] |= {"cluster_id": "c" * 32, "role": "head", "merged_clusters": ["d" * 32]}
    assert_valid(record)
    row = as_columns(record)
    assert row["cluster_id"] == "c" * 32
    assert orjson.loads(row["record"])["dedupe"] == record["dedupe"]


def test_replay_record_without_url_or_publication_date() -> None:
    record = enriched_record()
    record["url"] = None
    record["published_at"] = None
    record["source"] = {"kind": "replay", "ref": "000_seed.txt"}
    assert_valid(record)
    row = as_columns(record)
    assert (row["url"], row["published_at"], row["source_id"]) == (None, None, None)
    assert row["source_ref"] == "000_seed.txt"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2025-01-31T10:15:00Z", datetime(2025, 1, 31, 10, 15, tzinfo=UTC)),
        ("2025-01-31t10:15:00z", datetime(2025, 1, 31, 10, 15, tzinfo=UTC)),
        ("2025-01-31T10:15:00", datetime(2025, 1, 31, 10, 15, tzinfo=UTC)),
        ("2016-12-31T23:59:60Z", datetime(2016, 12, 31, 23, 59, 59, tzinfo=UTC)),
        (
            "2025-01-31T13:15:00.123456789+03:00",
            datetime(2025, 1, 31, 10, 15, 0, 123456, tzinfo=UTC),
        ),
    ],
)
def test_rfc3339_timestamps_parse(value: str, expected: datetime) -> None:
    assert parse_timestamp(value, "fetched_at", required=True) == expected


@pytest.mark.parametrize("value", ["yesterday", 17, None])
def test_bad_required_timestamp_is_refused(value: object) -> None:
    with pytest.raises(RecordRejected, match="fetched_at"):
        parse_timestamp(value, "fetched_at", required=True)


@pytest.mark.parametrize(
    ("mutate", "where"),
    [
        (lambda r: r.update(text="a\x00b"), "$.text"),
        (lambda r: r.update(title="\x00"), "$.title"),
        (lambda r: r["topics"][0]["evidence"].append("x\x00"), "$.topics[0].evidence[1]"),
        (lambda r: r.update({"extra\x00": 1}), "$ (a key)"),
    ],
)
def test_nul_anywhere_is_refused_with_its_path(mutate, where: str) -> None:
    record = enriched_record()
    mutate(record)
    assert find_nul(record) == where
    with pytest.raises(RecordRejected, match="NUL character"):
        article_row(record)


@given(
    st.text(
        alphabet=st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)),
        max_size=50,
    )
)
def test_any_unicode_text_without_nul_is_accepted(text: str) -> None:
    record = enriched_record()
    record["title"] = text
    assert orjson.loads(as_columns(record)["record"])["title"] == text


def test_a_lone_surrogate_is_refused() -> None:
    record = enriched_record()
    record["text"] = "broken \ud800 text"
    with pytest.raises(RecordRejected, match="cannot encode record as JSON"):
        article_row(record)


def test_overlong_indexed_value_is_refused_up_front() -> None:
    record = enriched_record()
    record["dedupe"]["cluster_id"] = "c" * (MAX_INDEXED_CHARS + 1)
    with pytest.raises(RecordRejected, match=r"dedupe\.cluster_id"):
        article_row(record)


def test_missing_structure_is_refused() -> None:
    record = enriched_record()
    del record["dedupe"]
    with pytest.raises(RecordRejected, match="'dedupe' must be an object"):
        article_row(record)


async def test_add_refuses_without_buffering_and_keeps_the_later_version() -> None:
    writer = PostgresWriter(dsn="postgresql://nobody@127.0.0.1:9/none")  # add() does no I/O
    first = enriched_record()
    newer = dict(first, title="Another headline")
    await writer.add(first, b"", "enriched", 0, 0)
    await writer.add(newer, b"", "enriched", 0, 1)
    with pytest.raises(RecordRejected):
        await writer.add(enriched_record(text="\x00"), b"", "enriched", 0, 2)
    assert writer.buffered == 1
    await writer.close()


def test_dsn_is_redacted_in_messages() -> None:
    assert redacted("postgresql://sink:s3cret@db.internal:5433/news") == "db.internal:5433/news"
    assert "s3cret" not in PostgresWriter(dsn="postgresql://sink:s3cret@db/news").where


def test_shipped_migrations_are_numbered_from_one() -> None:
    migrations = load_migrations()
    assert [m.version for m in migrations] == list(range(1, len(migrations) + 1))
    assert migrations[0].name == "articles"
    assert "CREATE TABLE articles" in migrations[0].sql
    assert len(migrations[0].checksum) == 64


def _migration_package(root: Path, name: str, files: list[str]) -> str:
    package = root / name
    package.mkdir()
    (package / "__init__.py").write_text("")
    for file in files:
        (package / file).write_text("SELECT 1;")
    return name


@pytest.mark.parametrize("files", [["0001_a.sql", "0003_c.sql"], ["0001_a.sql", "0001_b.sql"]])
def test_gaps_or_repeats_in_migration_numbers_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, files: list[str]
) -> None:
    monkeypatch.syspath_prepend(str(tmp_path))
    name = _migration_package(tmp_path, f"migrations_{len(files)}_{files[1][:4]}", files)
    with pytest.raises(MigrationFileError, match="without gaps or repeats"):
        load_migrations(name)


def test_other_files_are_ignored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(tmp_path))
    name = _migration_package(tmp_path, "migrations_ok", ["0002_b.sql", "0001_a.sql", "README.md"])
    assert [(m.version, m.name) for m in load_migrations(name)] == [(1, "a"), (2, "b")]


def test_the_bytes_as_read_are_the_document_not_encoded_again() -> None:
    record = enriched_record()
    raw = b"  " + orjson.dumps(record, option=orjson.OPT_INDENT_2) + b"\n"
    row = dict(zip(COLUMNS, article_row(record, raw), strict=True))
    assert row["record"] == raw.strip()
    without_document = {k: v for k, v in as_columns(record).items() if k != "record"}
    assert {k: v for k, v in row.items() if k != "record"} == without_document


def test_an_escaped_nul_in_the_bytes_as_read_is_refused_with_its_path() -> None:
    record = enriched_record(text="a\x00b")
    with pytest.raises(RecordRejected, match=r"\$\.text contains a NUL"):
        article_row(record, orjson.dumps(record))


@given(
    st.text(
        alphabet=st.characters(blacklist_categories=("Cs",)),
        max_size=30,
    )
)
def test_with_or_without_the_bytes_as_read_a_record_is_refused_alike(text: str) -> None:
    record = enriched_record()
    record["title"] = text
    raw = orjson.dumps(record)

    def outcome(*args: Any) -> str:
        try:
            return orjson.loads(article_row(*args)[-1])["title"]
        except RecordRejected as rejected:
            return f"refused: {rejected}"

    assert outcome(record, raw) == outcome(record)
