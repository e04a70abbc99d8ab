"""The sink's boundary check of an enriched record, without decoding its text.

The contract is ``schemas/enriched-article.v1.json``, checked once here as everywhere
(:func:`newswire.common.schemas.decode_json_object`). What the sink does with a
record does not need its ``text`` as a Python string: the JSON Lines writer writes
the bytes as read, the PostgreSQL writer stores them as the row's document. Decoding
the text (most of a record: ~5 kB, most of the decoding time) into a string only to
drop it was most of the sink's work per record.

So the lean path checks the same contract in three steps, none of which builds the
text:

1. `simdjson <https://simdjson.org>`_ (pysimdjson) parses the whole message: it is
   JSON and UTF-8 throughout, the text included (at gigabytes a second);
2. msgspec decodes every field the schema names except ``text``, which it keeps as
   its raw JSON token (:class:`msgspec.Raw`);
3. the contract's own validator (jsonschema-rs, formats on) checks those fields
   against the schema with ``text`` left out, and the text's rules
   (``type: string``, ``minLength``, ``maxLength``, read from the schema) are checked
   on its token: a string token, not ``""``, and at most ``maxLength`` bytes between
   the quotes (a character is at least one byte, so that many bytes is at most that
   many characters).

A message the lean path does not accept goes the full way
(:func:`~newswire.common.schemas.decode_json_object`): an invalid one is refused with
the full path's own error, and one the lean path was too strict for (a text longer
in bytes than ``maxLength`` but not in characters, say) is accepted as before. So the
lean path only needs to be sound (what it accepts, the schema accepts):
``tests/sink/test_decode.py`` checks that, and that it accepts the valid records.

The record the writers get is a :class:`LeanRecord`: the checked fields as decoded;
anything else (``text``, fields of a later minor version) decodes the whole message
on first use, once.
"""

from __future__ import annotations

import copy
import functools
import logging
from collections.abc import Iterator, Mapping
from typing import Any

import msgspec
import orjson
import simdjson

from newswire.common.schemas import (
    SchemaName,
    contract_validator,
    decode_json_object,
    schema_document,
)

log = logging.getLogger(__name__)

#: Marks a field the lean record did not check (and so did not decode).
_ABSENT: Any = object()

#: The field the lean path keeps as raw bytes.
TEXT = "text"
#: The text rules the lean path knows how to check on the raw token.
_TEXT_RULES = frozenset({"type", "minLength", "maxLength", "description"})
#: The top-level keywords of the schema the lean path knows (none spans fields).
_TOP_LEVEL = frozenset(
    {"$schema", "$id", "title", "description", "x-schema-id", "x-version"}
    | {"type", "required", "properties"}
)


class LeanRecord(Mapping[str, Any]):
    """A validated enriched record whose fields not checked one by one (``text``,
    unknown ones) are decoded from the message on first use."""

    __slots__ = ("_fields", "_full", "_raw")

    def __init__(self, fields: dict[str, Any], raw: bytes) -> None:
        self._fields = fields
        self._raw = raw
        self._full: dict[str, Any] | None = None

    def __getitem__(self, key: str) -> Any:
        try:
            return self._fields[key]
        except KeyError:
            return self.whole()[key]

    def get(self, key: str, default: Any = None) -> Any:
        """As ``Mapping.get``, without its two extra calls: writers read a few fields
        of every record this way."""
        value = self._fields.get(key, _ABSENT)
        return self.whole().get(key, default) if value is _ABSENT else value

    def __iter__(self) -> Iterator[str]:
        return iter(self.whole())

    def __len__(self) -> int:
        return len(self.whole())

    def whole(self) -> dict[str, Any]:
        """Every field, the text included (decoded once)."""
        if self._full is None:
            self._full = orjson.loads(self._raw)
        return self._full


class _Lean:
    """The three steps of the module docstring, built once from the schema."""

    def __init__(self) -> None:
        document = copy.deepcopy(schema_document(SchemaName.ENRICHED))
        unknown = set(document) - _TOP_LEVEL
        if unknown:  # a rule across fields might involve the text, which is left out
            raise ValueError(f"the lean path does not know the schema keywords {unknown}")
        properties: dict[str, Any] = document["properties"]
        text_rules = properties.pop(TEXT)
        if (
            text_rules.get("type") != "string"
            or not set(text_rules) <= _TEXT_RULES
            or text_rules.get("minLength", 0) > 1  # n bytes may be fewer than n characters
        ):
            raise ValueError(f"the lean path cannot check the text's rules {text_rules}")
        self._min_bytes = 2 + text_rules.get("minLength", 0)
        self._max_bytes = 2 + int(text_rules.get("maxLength", 2**62))
        self._text_required = TEXT in document["required"]
        document["required"] = [name for name in document["required"] if name != TEXT]
        self._validator = contract_validator(document)
        self._names = list(properties)
        fields = [(name, Any, msgspec.UNSET) for name in self._names]
        shape = msgspec.defstruct("EnrichedShape", [*fields, (TEXT, msgspec.Raw, msgspec.Raw(b""))])
        self._decoder = msgspec.json.Decoder(shape)
        self._parser = simdjson.Parser()

    def check(self, raw: bytes) -> LeanRecord | None:
        """The record if the lean path accepts RAW, else None (then the full path
        decides)."""
        try:
            self._parser.parse(raw)  # JSON and UTF-8 throughout; the proxy is dropped
            shape = self._decoder.decode(raw)
        except (ValueError, msgspec.DecodeError):  # UnicodeDecodeError is a ValueError
            return None
        token = memoryview(getattr(shape, TEXT))  # no copy of the text
        if not self._text_ok(token):
            return None
        fields = {
            name: value
            for name in self._names
            if (value := getattr(shape, name)) is not msgspec.UNSET
        }
        if not self._validator.is_valid(fields):
            return None
        return LeanRecord(fields, raw)

    def _text_ok(self, token: memoryview) -> bool:
        if not token:
            return not self._text_required
        return token[:1] == b'"' and self._min_bytes <= len(token) <= self._max_bytes


@functools.cache
def _lean() -> _Lean | None:
    """The lean path, or None when the schema has rules it cannot check (then every
    message goes the full way: slower, never less strict)."""
    try:
        return _Lean()
    except ValueError as exc:
        log.warning("the sink checks every record the full way: %s", exc)
        return None


def lean_record(raw: bytes) -> LeanRecord | None:
    """The lean path alone (for tests and benchmarks): the record, or None."""
    lean = _lean()
    return None if lean is None else lean.check(raw)


def decode_enriched(payload: bytes | None) -> Mapping[str, Any]:
    """An enriched message off the wire -> a record valid under the contract, or
    :class:`~newswire.common.errors.InvalidRecord` (decode/schema) with the full
    path's reason. The lean path first; the full path for whatever it does not
    accept."""
    if payload is not None:
        record = lean_record(payload)
        if record is not None:
            return record
    return decode_json_object(payload, SchemaName.ENRICHED)
