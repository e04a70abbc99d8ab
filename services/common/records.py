"""Builders for the records on newswire's topics, so every service writes the same shape."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Literal

import orjson

from newswire.common.contract import RawArticle, RecordSource
from newswire.common.errors import InvalidRecord
from newswire.common.ids import article_id
from newswire.common.schemas import SchemaName, schema_info
from newswire.common.text import strip_control_chars

ServiceName = Literal["fetcher", "enricher", "sink", "replay"]


def utc_now() -> str:
    """RFC 3339 UTC timestamp with millisecond precision."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def raw_article(
    *,
    source: RecordSource,
    text: str,
    url: str | None = None,
    title: str | None = None,
    published_at: str | None = None,
    fetched_at: str | None = None,
    language_hint: str | None = None,
) -> RawArticle:
    """A raw article record; ``url`` must already be canonical (see common.urls).

    Control characters other than tab and line breaks (NUL, ESC, DEL ...) are removed
    from ``title`` and ``text`` (:func:`strip_control_chars`), so no producer puts them
    on ``news.raw``: PostgreSQL refuses NUL, terminals act on ESC. A title left empty
    by that becomes None; text left empty stays empty, and the raw schema refuses it.
    """
    text = strip_control_chars(text)
    if title:
        title = strip_control_chars(title) or None
    return {
        "schema_version": schema_info(SchemaName.RAW).version,
        "id": article_id(url, text),
        "source": source,
        "url": url,
        "title": title,
        "text": text,
        "published_at": published_at,
        "fetched_at": fetched_at or utc_now(),
        "language_hint": language_hint,
    }


#: Largest payload copied into a dead letter whole: base64 grows it by a third, and the
#: letter must still fit the topic's message limit (KAFKA_MAX_MESSAGE_BYTES, >= 64 KiB).
MAX_DEAD_LETTER_PAYLOAD = 48 * 1024


def dead_letter_payload_cap(max_message_bytes: int) -> int:
    """Bytes of a payload a dead letter carries whole under a MAX_MESSAGE_BYTES limit:
    base64 grows them by a third and the letter has its reason and origin besides, so
    at most half the limit (48 KiB at 4 MiB; 32 KiB at the 64 KiB minimum)."""
    return min(MAX_DEAD_LETTER_PAYLOAD, max_message_bytes // 2)


def dead_letter(
    *,
    service: ServiceName,
    error: InvalidRecord,
    payload: bytes | None,
    origin: dict[str, Any],
    max_payload: int = MAX_DEAD_LETTER_PAYLOAD,
) -> dict[str, Any]:
    """Everything needed to understand and re-drive a failed record, original bytes included.

    A payload too large to travel inside a dead letter is cut to ``max_payload`` bytes
    and marked so; its SHA-256 and ``origin`` (topic, partition, offset) still point at
    the untouched original, which stays on its topic for the retention period.
    """
    body = payload or b""
    letter = _dead_letter_body(service, error, body[:max_payload], origin)
    letter["payload_size"] = len(body)
    if len(body) > max_payload:
        letter["payload_truncated"] = True
        letter["payload_sha256"] = hashlib.sha256(body).hexdigest()
    return letter


def _dead_letter_body(
    service: ServiceName, error: InvalidRecord, body: bytes, origin: dict[str, Any]
) -> dict[str, Any]:
    return {
        "schema_version": schema_info(SchemaName.DEAD_LETTER).version,
        "service": service,
        "kind": error.kind.value,
        "reason": str(error)[:4000],
        "failed_at": utc_now(),
        "origin": origin,
        "payload_b64": base64.b64encode(body).decode("ascii"),
    }


def topic_origin(topic: str, partition: int, offset: int, key: bytes | None) -> dict[str, Any]:
    return {
        "topic": topic,
        "partition": partition,
        "offset": offset,
        "key_b64": base64.b64encode(key).decode("ascii") if key is not None else None,
    }


def encode(record: Mapping[str, Any]) -> bytes:
    return orjson.dumps(record)
