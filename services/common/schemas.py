"""The versioned record contracts in ``schemas/``, loaded once and checked at boundaries.

Validation uses jsonschema-rs (draft 2020-12, formats on) because it runs on every
record in the hot path; the schema files themselves stay plain JSON Schema so any
consumer can use them with its own validator.
"""

from __future__ import annotations

import functools
import importlib.resources
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Literal, overload

import jsonschema_rs
import orjson

from newswire.common.errors import ErrorKind, InvalidRecord
from newswire.common.text import EXCERPT_CHARS, excerpt

if TYPE_CHECKING:
    from newswire.common.contract import EnrichedArticle, RawArticle


class SchemaName(StrEnum):
    RAW = "raw-article"
    ENRICHED = "enriched-article"
    DEAD_LETTER = "dead-letter"
    SOURCE = "source-record"  # one source on news.sources; refers to the sources file schema


@dataclass(frozen=True, slots=True)
class SchemaInfo:
    """Identity of a schema as carried in record headers and ``schema_version``."""

    name: SchemaName
    schema_id: str  # x-schema-id, e.g. newswire.raw-article
    version: str  # major.minor, e.g. 1.0
    uri: str  # $id

    @property
    def major(self) -> int:
        return int(self.version.split(".", 1)[0])


MAJOR = 1
#: The sources file format (operators' file), referred to by the source record schema.
SOURCES_FILE_SCHEMA = "sources.v1.json"


@functools.cache
def schema_file(filename: str) -> dict[str, Any]:
    """A schema of ``schemas/`` by file name, parsed once: the record contracts and the
    formats of the files operators edit (``taxonomy.v1.json``) come from one place."""
    resource = importlib.resources.files("newswire.schemas").joinpath(filename)
    return orjson.loads(resource.read_bytes())


@functools.cache
def file_validator(filename: str) -> Any:
    """A validator for a file format of ``schemas/`` that refers to no other schema,
    built once; ``format`` keywords are not checked. The caller words the errors: only
    it knows the file it is checking and how its operators name the places in it."""
    return jsonschema_rs.validator_for(schema_file(filename))


@functools.cache
def schema_document(name: SchemaName) -> dict[str, Any]:
    return schema_file(f"{name.value}.v{MAJOR}.json")


@functools.cache
def schema_info(name: SchemaName) -> SchemaInfo:
    doc = schema_document(name)
    return SchemaInfo(name, doc["x-schema-id"], doc["x-version"], doc["$id"])


@functools.cache
def _registry() -> jsonschema_rs.Registry:
    documents = [(schema_info(n).uri, schema_document(n)) for n in SchemaName]
    # the sources file format: a source record's ``source`` is one entry of it
    sources = schema_file(SOURCES_FILE_SCHEMA)
    return jsonschema_rs.Registry([*documents, (sources["$id"], sources)])


@functools.cache
def _validator(name: SchemaName) -> Any:
    return contract_validator(schema_document(name))


def contract_validator(document: dict[str, Any]) -> Any:
    """A validator for DOCUMENT (a contract of ``schemas/`` or a schema derived from
    one), checked as the contracts are: its references resolved among them, formats
    on."""
    return jsonschema_rs.validator_for(document, registry=_registry(), validate_formats=True)


def validate(name: SchemaName, record: Any) -> None:
    """Raise :class:`InvalidRecord` naming the first violation and where it is."""
    validator = _validator(name)
    if validator.is_valid(record):
        return
    error = next(iter(validator.iter_errors(record)))
    path = "/".join(str(p) for p in error.instance_path) or "(root)"
    message = _quoting_an_excerpt(error.message, error.instance)
    raise InvalidRecord(ErrorKind.SCHEMA, f"at {path}: {message}", schema=name.value)


#: A validator message longer than this is cut even when the value in it is not found.
MAX_MESSAGE_CHARS = 500


def _quoting_an_excerpt(message: str, instance: Any) -> str:
    """The validator's message with the offending value quoted as a short excerpt.

    jsonschema-rs starts most messages with the whole value as JSON (``"<20 MB of
    text>" is longer than 2000000 characters``); a reason that repeats the article is
    no reason, so the value is replaced by its first characters and its size.
    """
    if isinstance(instance, str) and len(instance) > EXCERPT_CHARS:
        shown = f"{_json(instance[:EXCERPT_CHARS])}… ({len(instance):,} characters)"
    elif isinstance(instance, dict | list):
        full = _json(instance)
        if len(full) <= EXCERPT_CHARS:
            return message
        shown = f"{full[:EXCERPT_CHARS]}… ({len(full):,} characters of JSON)"
    else:
        return message if len(message) <= MAX_MESSAGE_CHARS else excerpt(message, MAX_MESSAGE_CHARS)
    rendered = _json(instance)
    if rendered in message:
        return message.replace(rendered, shown, 1)
    return excerpt(message, MAX_MESSAGE_CHARS)


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


# A TypedDict is not a dict[str, Any] to mypy, so the literal overloads "overlap" the
# general one with another return type: that is the point of them.
@overload
def decode_json_object(  # type: ignore[overload-overlap]
    payload: bytes | None, name: Literal[SchemaName.RAW]
) -> RawArticle: ...
@overload
def decode_json_object(  # type: ignore[overload-overlap]
    payload: bytes | None, name: Literal[SchemaName.ENRICHED]
) -> EnrichedArticle: ...
@overload
def decode_json_object(payload: bytes | None, name: SchemaName) -> dict[str, Any]: ...
def decode_json_object(payload: bytes | None, name: SchemaName) -> Any:
    """Bytes off the wire -> a validated record, or :class:`InvalidRecord` (decode/schema).

    Typed by schema (:mod:`newswire.common.contract`) for the two article records."""
    if payload is None:
        raise InvalidRecord(ErrorKind.DECODE, "empty message (null value)", schema=name.value)
    try:
        record = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise InvalidRecord(
            ErrorKind.DECODE, _undecodable(payload, exc), schema=name.value
        ) from exc
    if not isinstance(record, dict):
        raise InvalidRecord(
            ErrorKind.SCHEMA,
            f"expected a JSON object, got {type(record).__name__}",
            schema=name.value,
        )
    validate(name, record)
    return record


def _undecodable(payload: bytes, error: orjson.JSONDecodeError) -> str:
    """Why PAYLOAD is no JSON. orjson says bytes that are not UTF-8 in its own terms
    (``str is not valid UTF-8: surrogates not allowed``), which names neither the
    byte nor where it is: those get the first bad byte and its offset instead. Only
    a payload already refused is decoded again, so good records pay nothing. Bytes
    that are UTF-8 but not JSON (``{"not json``) say "not JSON": blaming the encoding
    would send the reader looking for a bad byte that is not there."""
    try:
        payload.decode("utf-8")
    except UnicodeDecodeError as bad:
        byte = payload[bad.start]
        return f"not valid UTF-8: byte 0x{byte:02x} at offset {bad.start} ({bad.reason})"
    return f"not JSON: {error}"


def record_headers(name: SchemaName) -> list[tuple[str, bytes]]:
    """Kafka headers that let consumers route and validate without parsing the body."""
    info = schema_info(name)
    return [
        ("content-type", b"application/json"),
        ("schema-id", info.schema_id.encode()),
        ("schema-version", info.version.encode()),
    ]
