"""The sink's lean boundary check against the contract's full one.

The lean path (:mod:`newswire.sink.decode`) must be sound - what it accepts, the
schema accepts, with the same values - and must accept the valid records, else it
saves nothing. Whatever it does not accept goes the full way, so the sink refuses
exactly what the schema refuses, with the same reason.
"""

from __future__ import annotations

import copy
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from newswire.common.errors import InvalidRecord
from newswire.common.schemas import SchemaName, decode_json_object, schema_document
from newswire.sink.decode import decode_enriched, lean_record
from tests.sink.helpers import enriched_record

#: Any JSON value (small), for fields set to what the schema may or may not allow.
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)

#: Strings near the formats and patterns of the schema (dates, hashes, languages).
near_strings = st.sampled_from(
    [
        "",
        "2025-01-31T10:15:00Z",
        "2025-01-31T10:15:00.123+02:00",
        "2025-01-31t10:15:00z",
        "2025-01-31T10:15:00",
        "2025-02-30T10:15:00Z",
        "2016-12-31T23:59:60Z",
        "2025-01-31",
        "https://example.org/a?b=c",
        "not a uri",
        "//example.org/x",
        "0123456789abcdef0123456789abcdef",
        "0123456789ABCDEF0123456789ABCDEF",
        "en",
        "und",
        "Latn",
        "1.2",
        "2.0",
        "new",
        "head",
        "replay",
    ]
)


def full(raw: bytes) -> dict[str, Any] | InvalidRecord:
    try:
        return dict(decode_json_object(raw, SchemaName.ENRICHED))
    except InvalidRecord as error:
        return error


def assert_sound(raw: bytes) -> None:
    """What the lean path accepts, the full path accepts with the same values; and the
    sink's decode refuses exactly what the full path refuses, for the same reason."""
    lean = lean_record(raw)
    expected = full(raw)
    if lean is not None:
        assert not isinstance(expected, InvalidRecord), expected
        assert dict(lean) == expected
        assert all(lean[key] == value for key, value in expected.items())
    if isinstance(expected, InvalidRecord):
        with pytest.raises(InvalidRecord) as refused:
            decode_enriched(raw)
        assert (refused.value.kind, refused.value.reason) == (expected.kind, expected.reason)
    else:
        assert dict(decode_enriched(raw)) == expected


def paths(record: Any, prefix: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    """Every place in RECORD (keys and list items), to set or delete."""
    found: list[tuple[str | int, ...]] = []
    items = record.items() if isinstance(record, dict) else enumerate(record)
    for key, value in items:
        found.append((*prefix, key))
        if isinstance(value, dict | list):
            found.extend(paths(value, (*prefix, key)))
    return found


def schema_fields() -> list[str]:
    return list(schema_document(SchemaName.ENRICHED)["properties"])


@st.composite
def mutated(draw: st.DrawFn) -> dict[str, Any]:
    """A valid record with one to three places changed: set to any value or to a
    string near a format, deleted, or a field the schema names added."""
    record = copy.deepcopy(enriched_record(title=draw(st.none() | st.text(max_size=20))))
    for _ in range(draw(st.integers(1, 3))):
        where = draw(st.sampled_from(paths(record) + [(name,) for name in schema_fields()]))
        parent: Any = record
        for step in where[:-1]:
            parent = parent[step]
        action = draw(st.sampled_from(["set", "near", "delete"]))
        last = where[-1]
        if action == "delete" and isinstance(parent, dict):
            parent.pop(last, None)
        elif isinstance(parent, dict) or (isinstance(last, int) and last < len(parent)):
            parent[last] = draw(json_values if action == "set" else near_strings)
    return record


def test_valid_records_take_the_lean_path() -> None:
    records = [
        enriched_record(),
        enriched_record(title=None, url=None),
        enriched_record(text="ü" * 3000 + '\n\t"quoted" \\ / \u2028 😀', status="update"),
        {**enriched_record(), "guid": "g-1", "summary_only": True, "x-later-field": [1]},
    ]
    for record in records:
        raw = orjson.dumps(record)
        lean = lean_record(raw)
        assert lean is not None, record
        assert dict(lean) == record
        assert lean["text"] == lean.get("text") == record["text"]  # decoded on first use
        assert lean.get("no such field", "default") == "default"
        assert_sound(raw)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_the_lean_path_accepts_nothing_the_schema_refuses(record: dict[str, Any]) -> None:
    assert_sound(orjson.dumps(record))


@settings(max_examples=300)
@given(st.text(max_size=60), st.booleans())
def test_any_text_is_judged_alike(text: str, ascii_only: bool) -> None:
    record = enriched_record(text=text)
    option = 0 if not ascii_only else orjson.OPT_INDENT_2  # another layout of the bytes
    try:
        raw = orjson.dumps(record, option=option)
    except orjson.JSONEncodeError:  # a lone surrogate: not JSON text at all
        return
    assert_sound(raw)


@settings(max_examples=300)
@given(st.binary(min_size=1, max_size=6), st.integers(0, 200))
def test_broken_bytes_anywhere_are_refused_as_the_schema_refuses_them(junk: bytes, at: int) -> None:
    """Invalid UTF-8, raw control characters, broken escapes, stray quotes: spliced
    into the message (the text is most of it)."""
    raw = orjson.dumps(enriched_record())
    cut = min(at + raw.index(b'"text":') + 8, len(raw) - 1)
    assert_sound(raw[:cut] + junk + raw[cut:])


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"null",
        b"[]",
        b'"text"',
        b'{"text": "x"}',
        b"{" + b'"a":' * 3,
        orjson.dumps({**enriched_record(), "text": ""}),
        orjson.dumps({**enriched_record(), "text": 5}),
        orjson.dumps({**enriched_record(), "text": None}),
        orjson.dumps(enriched_record())[:-1] + b',"text":["late duplicate"]}',
        orjson.dumps(enriched_record()) + b" x",
    ],
)
def test_odd_messages_are_judged_alike(raw: bytes) -> None:
    assert_sound(raw)


def test_a_text_the_lean_path_cannot_measure_goes_the_full_way() -> None:
    """At most maxLength characters, but more bytes (escapes): the lean path cannot
    tell without decoding, so the full path decides - and accepts it."""
    limit = schema_document(SchemaName.ENRICHED)["properties"]["text"]["maxLength"]
    record = enriched_record(text="é" * limit)
    raw = orjson.dumps(record)
    assert lean_record(raw) is None
    assert decode_enriched(raw)["text"] == record["text"]
    too_long = orjson.dumps(enriched_record(text="x" * (limit + 1)))
    with pytest.raises(InvalidRecord, match="longer than"):
        decode_enriched(too_long)


def test_writers_see_the_whole_record_where_they_need_it() -> None:
    """The JSON Lines writer re-encodes a record that spans lines, the PostgreSQL
    writer searches one with an escaped NUL: both need the text the lean record did
    not decode."""
    from newswire.sink.writers.base import RecordRejected
    from newswire.sink.writers.jsonl import one_line
    from newswire.sink.writers.postgres_rows import article_row

    record = enriched_record(text="a NUL \x00 here")
    raw = orjson.dumps(record)
    lean = lean_record(raw)
    assert lean is not None
    with pytest.raises(RecordRejected, match=r"\$\.text contains a NUL"):
        article_row(lean, raw)

    spread = orjson.dumps(enriched_record(), option=orjson.OPT_INDENT_2)
    lean = lean_record(spread)
    assert lean is not None
    assert orjson.loads(one_line(lean, spread)) == orjson.loads(spread)
    assert b"\n" not in one_line(lean, spread)


@pytest.mark.parametrize(
    "change",
    [
        lambda doc: doc["properties"]["text"].update(minLength=2),
        lambda doc: doc["properties"]["text"].update(pattern="^[^<]*$"),
        lambda doc: doc.update(dependentRequired={"text": ["title"]}),
    ],
    ids=["minLength 2", "a text pattern", "a rule across fields"],
)
def test_a_schema_rule_the_lean_path_cannot_check_switches_it_off(
    change: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every record then goes the full way: slower, never less strict."""
    import newswire.sink.decode as decode

    document = copy.deepcopy(schema_document(SchemaName.ENRICHED))
    change(document)
    monkeypatch.setattr(decode, "schema_document", lambda name: document)
    decode._lean.cache_clear()
    try:
        record = enriched_record()
        assert lean_record(orjson.dumps(record)) is None
        assert dict(decode_enriched(orjson.dumps(record))) == record
    finally:
        monkeypatch.undo()
        decode._lean.cache_clear()
    assert lean_record(orjson.dumps(enriched_record())) is not None
