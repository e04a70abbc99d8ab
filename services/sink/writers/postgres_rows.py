"""Enriched records as rows of the ``articles`` table, or why PostgreSQL cannot take one.

Everything here is checked before any I/O (:meth:`PostgresWriter.prepare
<newswire.sink.writers.postgres.PostgresWriter.prepare>`), so a record PostgreSQL
would refuse for a reason we can see is dead-lettered on its own instead of failing
a whole batch's transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import asyncpg
import orjson

from newswire.common.times import parse_rfc3339
from newswire.sink.writers.base import RecordRejected

#: Longest value accepted in a b-tree indexed free-text column (ids, hashes, cluster
#: and source ids). A b-tree entry must fit in ~2.7 kB; longer would fail the whole
#: batch at flush time, so it is refused per record up front instead.
MAX_INDEXED_CHARS = 1000

#: Column order of the staging table, of COPY and of :func:`article_row`.
COLUMNS = (
    "id",
    "content_hash",
    "schema_version",
    "source_kind",
    "source_id",
    "source_ref",
    "url",
    "published_at",
    "fetched_at",
    "enriched_at",
    "language_code",
    "topics",
    "dedupe_status",
    "duplicate_of",
    "cluster_id",
    "record",
)


def find_nul(value: Any, path: str = "$") -> str | None:
    """JSON path of the first string (key or value) containing U+0000, else None."""
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, Mapping):  # a dict, or the sink's lean record (whole on use)
        for key, item in value.items():
            if "\x00" in str(key):
                return f"{path} (a key)"
            found = find_nul(item, f"{path}.{key}")
            if found:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = find_nul(item, f"{path}[{index}]")
            if found:
                return found
    return None


def parse_timestamp(value: Any, field: str, *, required: bool) -> datetime | None:
    """An RFC 3339 date-time as an aware datetime (UTC when it has no offset)."""
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise RecordRejected(f"'{field}' is not a date-time string: {value!r}")
    try:
        return parse_rfc3339(value)
    except ValueError as exc:
        raise RecordRejected(f"'{field}' is not an RFC 3339 date-time: {value!r}") from exc


def _text(value: Any, field: str, *, required: bool = False, indexed: bool = False) -> str | None:
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value):
        raise RecordRejected(f"'{field}' must be a {'non-empty ' if required else ''}string")
    if indexed and len(value) > MAX_INDEXED_CHARS:
        raise RecordRejected(
            f"'{field}' is {len(value)} characters long; at most {MAX_INDEXED_CHARS} can be indexed"
        )
    return value


def _object(record: Mapping[str, Any], field: str) -> dict[str, Any]:
    value = record.get(field)
    if not isinstance(value, dict):
        raise RecordRejected(f"'{field}' must be an object")
    return value


def _topic_ids(topics: Any) -> list[str]:
    if not isinstance(topics, list):
        raise RecordRejected("'topics' must be an array")
    ids = []
    for index, topic in enumerate(topics):
        if not isinstance(topic, dict):
            raise RecordRejected(f"'topics[{index}]' must be an object")
        ids.append(_text(topic.get("id"), f"topics[{index}].id", required=True, indexed=True))
    return [i for i in ids if i is not None]


#: How JSON text carries U+0000: only escaped (a raw control character is not JSON).
ESCAPED_NUL = b"\\u0000"


def article_row(record: Mapping[str, Any], raw: bytes | None = None) -> tuple[Any, ...]:
    """The staging-table row for ``record`` (in :data:`COLUMNS` order), or
    :class:`RecordRejected` saying which field PostgreSQL could not take and why.

    ``raw`` is the record's JSON text as read, when the caller decoded ``record`` from
    it: then it is the ``record`` document as is (PostgreSQL parses jsonb itself;
    encoding the parsed record again would cost a third of the row for nothing), and
    the record is searched for U+0000 only when the text holds the escape. The
    document is bytes either way: a connection sends it with
    :func:`send_jsonb_as_bytes`."""
    if raw is None or ESCAPED_NUL in raw:
        where = find_nul(record)
        if where is not None:
            raise RecordRejected(
                f"{where} contains a NUL character (U+0000), "
                "which PostgreSQL text and jsonb cannot store"
            )
    source, language, dedupe = (_object(record, f) for f in ("source", "language", "dedupe"))
    if raw is not None:
        document = raw.strip()
    else:
        try:
            document = orjson.dumps(dict(record))
        except orjson.JSONEncodeError as exc:
            raise RecordRejected(f"cannot encode record as JSON: {exc}") from exc
    return (
        _text(record.get("id"), "id", required=True, indexed=True),
        _text(dedupe.get("content_hash"), "dedupe.content_hash", required=True, indexed=True),
        _text(record.get("schema_version"), "schema_version", required=True, indexed=True),
        _text(source.get("kind"), "source.kind", required=True, indexed=True),
        _text(source.get("id"), "source.id", indexed=True),
        _text(source.get("ref"), "source.ref"),
        _text(record.get("url"), "url"),
        parse_timestamp(record.get("published_at"), "published_at", required=False),
        parse_timestamp(record.get("fetched_at"), "fetched_at", required=True),
        parse_timestamp(record.get("enriched_at"), "enriched_at", required=True),
        _text(language.get("code"), "language.code", required=True, indexed=True),
        _topic_ids(record.get("topics")),
        _text(dedupe.get("status"), "dedupe.status", required=True, indexed=True),
        _text(dedupe.get("duplicate_of"), "dedupe.duplicate_of", indexed=True),
        _text(dedupe.get("cluster_id"), "dedupe.cluster_id", indexed=True),
        document,
    )


#: The version byte of jsonb's binary format, followed by the JSON text.
JSONB_VERSION = b"\x01"


async def send_jsonb_as_bytes(connection: asyncpg.Connection) -> None:
    """On CONNECTION, jsonb values go as the JSON text's bytes (the ``record`` document
    of :func:`article_row`), in jsonb's binary format, with no ``str`` in between;
    read back they are ``str`` as asyncpg's default gives."""
    await connection.set_type_codec(
        "jsonb",
        schema="pg_catalog",
        encoder=_jsonb_bytes,
        decoder=_jsonb_text,
        format="binary",
    )


def _jsonb_bytes(document: bytes) -> bytes:
    return JSONB_VERSION + document


def _jsonb_text(data: bytes) -> str:
    return data[1:].decode()
