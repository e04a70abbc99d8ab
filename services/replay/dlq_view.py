"""Reading the dead-letter topic for people: ``newswire dlq list`` and ``newswire dlq show``.

A dead letter (``schemas/dead-letter.v1.json``) says which service gave up on which
record, why, and carries the record's bytes (base64, cut when too large, with the
size and the SHA-256 of the whole). This module reads letters without a consumer
group (it commits nothing, so it never disturbs ``dlq replay``), filters them, and
renders them as one line each or as the whole letter.

Payloads are untrusted bytes: what is printed is decoded as UTF-8 where it is, with
control characters shown escaped (``\\x1b``), so a letter cannot drive the terminal.
"""

from __future__ import annotations

import base64
import hashlib
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, get_args

import orjson

from newswire.common.errors import ErrorKind
from newswire.common.records import MAX_DEAD_LETTER_PAYLOAD, ServiceName
from newswire.common.settings import Settings
from newswire.replay.dlq import origin_text, read_record_at, skip_advice

#: The fixed sets a letter's ``service`` and ``kind`` come from.
SERVICES: tuple[str, ...] = get_args(ServiceName)
KINDS: tuple[str, ...] = tuple(kind.value for kind in ErrorKind)

#: Characters of payload ``dlq show`` prints unless asked for all of it.
PAYLOAD_EXCERPT_CHARS = 2000
#: Characters of the reason on a ``dlq list`` line.
REASON_EXCERPT_CHARS = 100
#: Bytes of a payload that is not UTF-8 shown as hex.
HEX_EXCERPT_BYTES = 256
#: How much of a payload a letter carries (records.dead_letter_payload_cap), said where
#: a cut letter is shown: the cut follows the failing service's message limit.
CUT_RULE = (
    f"a letter carries at most {MAX_DEAD_LETTER_PAYLOAD // 1024} KiB of a payload, "
    "or half of KAFKA_MAX_MESSAGE_BYTES when that is less"
)

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhdw])$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def check_choice(value: str | None, valid: Iterable[str], what: str) -> str | None:
    """VALUE if it is one of VALID (or None); else ValueError naming every valid one."""
    choices = tuple(valid)
    if value is None or value in choices:
        return value
    raise ValueError(f"{value!r} is not a {what}; use one of: {', '.join(choices)}")


def check_kind(value: str | None) -> str | None:
    return check_choice(value, KINDS, "dead-letter kind")


def check_service(value: str | None) -> str | None:
    return check_choice(value, SERVICES, "service")


def parse_time(text: str, *, now: datetime | None = None) -> datetime:
    """An ISO 8601 time (``2026-05-01``, ``2026-05-01T12:00Z``; UTC when no offset is
    given) or a duration ago (``90s``, ``15m``, ``2h``, ``3d``, ``1w``)."""
    cleaned = text.strip()
    match = _DURATION.match(cleaned.lower())
    if match:
        ago = timedelta(seconds=float(match[1]) * _UNIT_S[match[2]])
        return (now or datetime.now(UTC)) - ago
    try:
        value = datetime.fromisoformat(cleaned)
    except ValueError:
        raise ValueError(
            f"{text!r} is not a time; use ISO 8601 (2026-05-01, 2026-05-01T12:00Z) "
            "or how long ago (90s, 15m, 2h, 3d, 1w)"
        ) from None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def parse_origin(text: str) -> tuple[str, int, int]:
    """``TOPIC:PARTITION:OFFSET`` (Kafka topic names never hold a colon)."""
    topic, _, rest = text.rpartition(":")
    topic, _, partition = topic.rpartition(":")
    try:
        if not topic:
            raise ValueError
        return topic, int(partition), int(rest)
    except ValueError:
        raise ValueError(f"{text!r} is not TOPIC:PARTITION:OFFSET, e.g. news.raw:3:1187") from None


def parse_position(text: str) -> tuple[int | None, int]:
    """``OFFSET`` or ``PARTITION:OFFSET`` on the dead-letter topic."""
    partition, _, offset = text.rpartition(":")
    try:
        value = int(offset), (int(partition) if partition else None)
        if value[0] < 0 or (value[1] is not None and value[1] < 0):
            raise ValueError
    except ValueError:
        raise ValueError(
            f"{text!r} is not an OFFSET or PARTITION:OFFSET, e.g. 42 or 0:42"
        ) from None
    return value[1], value[0]


@dataclass(frozen=True)
class Letter:
    """One record of the dead-letter topic, decoded as far as it decodes."""

    partition: int
    offset: int
    timestamp_ms: int | None
    value: bytes
    body: dict[str, Any] | None  # None: not a JSON object

    @classmethod
    def from_record(
        cls, partition: int, offset: int, timestamp_ms: int | None, value: bytes | None
    ) -> Letter:
        raw = value or b""
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError:
            body = None
        return cls(partition, offset, timestamp_ms, raw, body if isinstance(body, dict) else None)

    def field(self, name: str) -> Any:
        return None if self.body is None else self.body.get(name)

    @property
    def service(self) -> str:
        return str(self.field("service") or "?")

    @property
    def kind(self) -> str:
        return str(self.field("kind") or "?")

    @property
    def reason(self) -> str:
        if self.body is None:
            return f"unreadable dead letter: not a JSON object ({len(self.value):,} bytes)"
        return str(self.field("reason") or "")

    @property
    def failed_at(self) -> datetime | None:
        """When the service gave up (``failed_at``), else the record's Kafka timestamp."""
        text = self.field("failed_at")
        if isinstance(text, str):
            try:
                value = datetime.fromisoformat(text)
                return value if value.tzinfo else value.replace(tzinfo=UTC)
            except ValueError:
                pass
        if self.timestamp_ms is not None and self.timestamp_ms >= 0:
            return datetime.fromtimestamp(self.timestamp_ms / 1000, UTC)
        return None

    @property
    def origin(self) -> dict[str, Any]:
        origin = self.field("origin")
        return origin if isinstance(origin, dict) else {}

    def payload(self) -> bytes:
        """The bytes the letter carries (all of the original unless truncated)."""
        try:
            return base64.b64decode(self.field("payload_b64") or "", validate=True)
        except ValueError:
            return b""

    @property
    def truncated(self) -> bool:
        return bool(self.field("payload_truncated"))

    def payload_size(self) -> int:
        size = self.field("payload_size")
        return size if isinstance(size, int) else len(self.payload())

    def payload_sha256(self) -> str:
        """SHA-256 of the whole original payload: carried when truncated, else computed."""
        carried = self.field("payload_sha256")
        if isinstance(carried, str) and carried:
            return carried
        return hashlib.sha256(self.payload()).hexdigest()


@dataclass(frozen=True)
class LetterQuery:
    """Which letters ``dlq list`` shows; every criterion given must hold."""

    service: str | None = None
    kind: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    origin: tuple[str, int, int] | None = None

    def accepts(self, letter: Letter) -> bool:
        if self.service is not None and letter.service != self.service:
            return False
        if self.kind is not None and letter.kind != self.kind:
            return False
        if self.since is not None or self.until is not None:
            at = letter.failed_at
            if at is None:
                return False
            if (self.since is not None and at < self.since) or (
                self.until is not None and at >= self.until
            ):
                return False
        if self.origin is not None:
            origin = letter.origin
            topic, partition, offset = self.origin
            here = (origin.get("topic"), origin.get("partition"), origin.get("offset"))
            if here != (topic, partition, offset):
                return False
        return True


# -- reading -------------------------------------------------------------------------


class NoDeadLetterTopic(LookupError):
    """The dead-letter topic does not exist on the broker (nothing was ever created)."""


async def dlq_partitions(settings: Settings) -> list[int]:
    """The dead-letter topic's partitions, asked of the whole cluster's metadata: asking
    for one topic by name creates it on brokers that auto-create topics."""
    from newswire.common.kafka import new_admin

    admin = new_admin(settings.kafka)
    await admin.start()
    try:
        for topic in await admin.describe_topics(None):
            if topic["topic"] == settings.topics.dlq and not topic["error_code"]:
                return sorted(p["partition"] for p in topic["partitions"])
    finally:
        await admin.close()
    raise NoDeadLetterTopic(settings.topics.dlq)


async def read_letters(settings: Settings, *, idle_ms: int = 1000) -> list[Letter]:
    """Every letter on the dead-letter topic, oldest first per partition, up to the end
    offsets seen at the start (letters arriving meanwhile wait for the next run)."""
    from aiokafka import TopicPartition

    from newswire.common.kafka import new_consumer

    partitions = await dlq_partitions(settings)
    consumer = new_consumer(settings.kafka, group_id=None, enable_auto_commit=False)
    await consumer.start()
    try:
        tps = [TopicPartition(settings.topics.dlq, p) for p in partitions]
        consumer.assign(tps)
        ends = await consumer.end_offsets(tps)
        starts = await consumer.beginning_offsets(tps)
        for tp in tps:
            consumer.seek(tp, starts[tp])
        pending = {tp for tp in tps if ends[tp] > starts[tp]}
        letters: list[Letter] = []
        while pending:
            batch = await consumer.getmany(*pending, timeout_ms=idle_ms, max_records=1000)
            if not batch:
                break  # the end offsets moved back (retention): what was there is read
            for tp, records in batch.items():
                for record in records:
                    if record.offset < ends[tp]:
                        letters.append(
                            Letter.from_record(
                                tp.partition, record.offset, record.timestamp, record.value
                            )
                        )
                if records and records[-1].offset + 1 >= ends[tp]:
                    pending.discard(tp)
        return sorted(
            letters,
            key=lambda letter: (
                letter.failed_at is None,
                letter.failed_at or 0,
                letter.partition,
                letter.offset,
            ),
        )
    finally:
        await consumer.stop()


async def read_letter(settings: Settings, partition: int, offset: int) -> Letter | str:
    """The letter at PARTITION:OFFSET, or why there is none (a sentence)."""
    from aiokafka import TopicPartition

    from newswire.common.kafka import new_consumer

    partitions = await dlq_partitions(settings)
    topic = settings.topics.dlq
    if partition not in partitions:
        return (
            f"{topic} has no partition {partition} (partitions: {', '.join(map(str, partitions))})"
        )
    consumer = new_consumer(settings.kafka, group_id=None, enable_auto_commit=False)
    await consumer.start()
    try:
        record = await read_record_at(
            consumer, TopicPartition(topic, partition), offset, what="dead letter"
        )
    finally:
        await consumer.stop()
    if isinstance(record, str):
        return record
    return Letter.from_record(partition, offset, record.timestamp, record.value)


# -- rendering -----------------------------------------------------------------------


def printable(text: str, *, keep_newlines: bool = False) -> str:
    """TEXT with control characters escaped (``\\x1b``), newlines and tabs kept if asked."""
    out = []
    for char in text:
        if keep_newlines and char in "\n\t":
            out.append(char)
        elif unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp"):
            out.append(char.encode("unicode_escape").decode("ascii"))
        else:
            out.append(char)
    return "".join(out)


def excerpt(text: str, limit: int) -> str:
    """TEXT on one line, at most LIMIT characters (an ellipsis marks a cut)."""
    flat = printable(" ".join(text.split()))
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def time_text(at: datetime | None) -> str:
    return "?" if at is None else at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def position_text(letter: Letter, *, with_partition: bool) -> str:
    return f"{letter.partition}:{letter.offset}" if with_partition else str(letter.offset)


LIST_HEADER = ("OFFSET", "FAILED AT (UTC)", "SERVICE", "KIND", "ORIGIN", "REASON")


def list_lines(letters: list[Letter], *, with_partition: bool) -> list[str]:
    """A header and one aligned line per letter."""
    rows = [LIST_HEADER] + [
        (
            position_text(letter, with_partition=with_partition),
            time_text(letter.failed_at),
            letter.service,
            letter.kind,
            origin_text(letter.origin),
            excerpt(letter.reason, REASON_EXCERPT_CHARS),
        )
        for letter in letters
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(LIST_HEADER) - 1)]
    return [
        "  ".join(
            [
                row[0].rjust(widths[0]),
                *(c.ljust(w) for c, w in zip(row[1:-1], widths[1:], strict=True)),
                row[-1],
            ]
        ).rstrip()
        for row in rows
    ]


def _key_text(origin: dict[str, Any]) -> str:
    key_b64 = origin.get("key_b64")
    if not key_b64:
        return "none"
    try:
        key = base64.b64decode(key_b64)
    except ValueError:
        return f"{key_b64!r} (not base64)"
    try:
        return printable(key.decode("utf-8"))
    except UnicodeDecodeError:
        return f"0x{key.hex()}"


def decode_payload(payload: bytes, *, truncated: bool) -> str | None:
    """PAYLOAD as text if it is UTF-8 (a cut payload may end inside a character)."""
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError as error:
        if (
            truncated
            and error.start >= len(payload) - 3
            and error.reason == "unexpected end of data"
        ):
            return payload[: error.start].decode("utf-8")
        return None


def show_lines(letter: Letter, *, topic: str, full: bool = False) -> list[str]:
    """The whole letter: what failed, why, where it came from, and its payload."""
    lines = [f"dead letter {topic}:{letter.partition}:{letter.offset}"]
    if letter.body is None:
        lines.append(f"  {letter.reason}")
        shown = decode_payload(letter.value, truncated=False)
        lines += [
            "",
            "record (as stored):",
            printable(
                shown if shown is not None else repr(letter.value[:HEX_EXCERPT_BYTES]),
                keep_newlines=True,
            ),
        ]
        return lines
    origin = letter.origin
    payload = letter.payload()
    size = letter.payload_size()
    if letter.truncated:
        carried = (
            f"truncated: the first {len(payload):,} of {size:,} bytes are carried here ({CUT_RULE})"
        )
        digest = f"sha256 of the whole: {letter.payload_sha256()}"
    else:
        carried = f"{size:,} bytes, whole"
        digest = f"sha256 {letter.payload_sha256()}"
    where = origin_text(origin)
    if "topic" in origin:
        where += f" (key: {_key_text(origin)})"
    fields = [
        ("failed at", str(letter.field("failed_at") or time_text(letter.failed_at))),
        ("service", letter.service),
        ("kind", letter.kind),
        ("reason", printable(letter.reason, keep_newlines=True).replace("\n", "\n" + " " * 13)),
        ("origin", where),
        ("payload", carried),
        ("", digest),
        ("schema", str(letter.field("schema_version") or "?")),
    ]
    lines += [f"  {name:<10} {value}".rstrip() for name, value in fields]
    if letter.truncated and "topic" in origin:
        lines.append(
            f"  {'':<10} the original stays on {origin['topic']} at partition "
            f"{origin.get('partition')}, offset {origin.get('offset')} (for its retention)"
        )
    elif letter.truncated:  # a file's line or a fetched item: no topic keeps the original
        lines.append(f"  {'':<10} {skip_advice(origin, truncated=True)}")
    lines.append("")
    text = decode_payload(payload, truncated=letter.truncated)
    if text is None:
        head = payload[:HEX_EXCERPT_BYTES]
        lines.append(f"payload: not UTF-8; the first {len(head):,} bytes as hex:")
        lines += [head[i : i + 32].hex(" ") for i in range(0, len(head), 32)]
    elif full or len(text) <= PAYLOAD_EXCERPT_CHARS:
        lines.append(f"payload (UTF-8, {len(text):,} characters):")
        lines.append(printable(text, keep_newlines=True))
    else:
        lines.append(
            f"payload (UTF-8, the first {PAYLOAD_EXCERPT_CHARS:,} of {len(text):,} characters; "
            "--full for all):"
        )
        lines.append(printable(text[:PAYLOAD_EXCERPT_CHARS], keep_newlines=True))
    return lines
