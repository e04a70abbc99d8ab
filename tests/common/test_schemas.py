"""The schema files are the contract: they must be valid, versioned, and enforced."""

import json
from pathlib import Path

import jsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st

from newswire.common.errors import ErrorKind, InvalidRecord
from newswire.common.records import dead_letter, raw_article, topic_origin
from newswire.common.schemas import (
    SchemaName,
    decode_json_object,
    record_headers,
    schema_info,
    validate,
)

SCHEMA_DIR = Path(__file__).parents[2] / "schemas"


@pytest.mark.parametrize("path", sorted(SCHEMA_DIR.glob("*.json")), ids=lambda p: p.name)
def test_schema_files_are_valid_draft_2020_12(path: Path) -> None:
    document = json.loads(path.read_text())
    assert document["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(document)
    major = path.name.split(".v")[1].split(".")[0]
    assert document["x-version"].split(".")[0] == major


def test_every_record_kind_has_a_schema() -> None:
    for name in SchemaName:
        info = schema_info(name)
        assert info.major == 1 and info.schema_id.startswith("newswire.")


def _raw() -> dict:
    return raw_article(source={"kind": "replay", "ref": "a.txt"}, text="نص المقال")


def test_built_records_validate() -> None:
    validate(SchemaName.RAW, _raw())
    error = InvalidRecord(ErrorKind.DECODE, "not json")
    validate(
        SchemaName.DEAD_LETTER,
        dead_letter(
            service="enricher", error=error, payload=b"\xff", origin=topic_origin("t", 0, 5, None)
        ),
    )


@pytest.mark.parametrize(
    ("payload", "kind"),
    [
        (b"not json", ErrorKind.DECODE),
        (b"\xff\xfe", ErrorKind.DECODE),
        (None, ErrorKind.DECODE),
        (b"[1, 2]", ErrorKind.SCHEMA),
        (b'{"id": "x"}', ErrorKind.SCHEMA),
    ],
)
def test_bad_payloads_are_classified(payload: bytes | None, kind: ErrorKind) -> None:
    with pytest.raises(InvalidRecord) as caught:
        decode_json_object(payload, SchemaName.RAW)
    assert caught.value.kind is kind


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"\xff\xfe\x00bin", "not valid UTF-8: byte 0xff at offset 0 (invalid start byte)"),
        (
            b'{"id": "caf\xc3"}',
            "not valid UTF-8: byte 0xc3 at offset 11 (invalid continuation byte)",
        ),
        (
            b'{"id": "\xed\xa0\x80"}',
            "not valid UTF-8: byte 0xed at offset 8 (invalid continuation byte)",
        ),
    ],
)
def test_bytes_that_are_not_utf8_are_said_so_with_the_offset(payload: bytes, reason: str) -> None:
    """Tester s8, finding 4: orjson's own words were "surrogates not allowed"."""
    with pytest.raises(InvalidRecord) as caught:
        decode_json_object(payload, SchemaName.RAW)
    assert (caught.value.kind, caught.value.reason) == (ErrorKind.DECODE, reason)


@given(st.binary(min_size=1, max_size=64))
def test_a_payload_is_called_not_utf8_exactly_when_it_is_not(payload: bytes) -> None:
    """And then with the first bad byte and its offset, as Python's decoder finds it."""
    expected: str | None = None
    try:
        payload.decode("utf-8")
    except UnicodeDecodeError as bad:
        expected = f"not valid UTF-8: byte 0x{payload[bad.start]:02x} at offset {bad.start} ("
    with pytest.raises(InvalidRecord) as caught:
        decode_json_object(payload, SchemaName.RAW)
    said_not_utf8 = caught.value.reason.startswith("not valid UTF-8: ")
    assert said_not_utf8 == (expected is not None), (payload, caught.value.reason)
    if expected is not None:
        assert caught.value.reason.startswith(expected)
    elif caught.value.kind is ErrorKind.DECODE:
        assert caught.value.reason.startswith("not JSON: "), (payload, caught.value.reason)


@pytest.mark.parametrize("payload", [b'{"not json', b"caf\xc3\xa9 au lait", b"{'single': 1}"])
def test_utf8_that_is_not_json_is_called_not_json(payload: bytes) -> None:
    """Tester s9, finding 9: ``{"not json`` read "not valid UTF-8 JSON" although every
    byte is UTF-8; the reason must not send the reader after the encoding."""
    with pytest.raises(InvalidRecord) as caught:
        decode_json_object(payload, SchemaName.RAW)
    assert caught.value.kind is ErrorKind.DECODE
    assert caught.value.reason.startswith("not JSON: ")
    assert "UTF-8" not in caught.value.reason


def test_violation_names_the_field() -> None:
    record = _raw() | {"fetched_at": "yesterday"}
    with pytest.raises(InvalidRecord, match="fetched_at"):
        validate(SchemaName.RAW, record)


def test_minor_versions_are_accepted_and_unknown_fields_ignored() -> None:
    validate(SchemaName.RAW, _raw() | {"schema_version": "1.7", "added_in_1_7": True})
    with pytest.raises(InvalidRecord):
        validate(SchemaName.RAW, _raw() | {"schema_version": "2.0"})


def test_headers_carry_schema_identity() -> None:
    headers = dict(record_headers(SchemaName.ENRICHED))
    assert headers == {
        "content-type": b"application/json",
        "schema-id": b"newswire.enriched-article",
        "schema-version": b"1.2",
    }


def test_oversized_payloads_are_cut_but_traceable() -> None:
    import base64
    import hashlib

    payload = b"x" * 100_000
    error = InvalidRecord(ErrorKind.SCHEMA, "too big")
    letter = dead_letter(
        service="sink", error=error, payload=payload, origin=topic_origin("t", 1, 9, b"k")
    )
    validate(SchemaName.DEAD_LETTER, letter)
    assert letter["payload_truncated"] is True and letter["payload_size"] == 100_000
    assert letter["payload_sha256"] == hashlib.sha256(payload).hexdigest()
    assert payload.startswith(base64.b64decode(letter["payload_b64"]))
