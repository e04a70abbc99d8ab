"""The typed record contract and the JSON schemas say the same thing, key for key."""

from __future__ import annotations

from typing import Any, get_args, get_type_hints

import pytest

from newswire.common import contract
from newswire.common.contract import (
    DedupeRecord,
    EnrichedArticle,
    LanguageRecord,
    RawArticle,
    RecordSource,
    TopicRecord,
)
from newswire.common.records import raw_article
from newswire.common.schemas import SchemaName, schema_document, validate

RAW = schema_document(SchemaName.RAW)
ENRICHED = schema_document(SchemaName.ENRICHED)


def _object(schema: dict[str, Any]) -> dict[str, Any]:
    """Follow a ``$ref`` into the raw schema's ``$defs`` (the only kind the files use)."""
    ref = schema.get("$ref")
    if ref is None:
        return schema
    return RAW["$defs"][ref.rsplit("/", 1)[-1]]


def _items(schema: dict[str, Any]) -> dict[str, Any]:
    return schema["items"]


CASES = [
    ("raw", RawArticle, RAW),
    ("raw.source", RecordSource, _object(RAW["properties"]["source"])),
    ("enriched", EnrichedArticle, ENRICHED),
    ("enriched.source", RecordSource, _object(ENRICHED["properties"]["source"])),
    ("enriched.language", LanguageRecord, ENRICHED["properties"]["language"]),
    ("enriched.topics[]", TopicRecord, _items(ENRICHED["properties"]["topics"])),
    ("enriched.dedupe", DedupeRecord, ENRICHED["properties"]["dedupe"]),
]


@pytest.mark.parametrize(("where", "typed", "schema"), CASES, ids=[c[0] for c in CASES])
def test_typed_keys_are_the_schema_properties(where: str, typed: Any, schema: Any) -> None:
    required = set(schema.get("required", ()))
    properties = set(schema["properties"])
    assert typed.__required_keys__ == required, f"{where}: required keys differ"
    assert typed.__optional_keys__ == properties - required, f"{where}: optional keys differ"


def test_enums_are_the_schema_enums() -> None:
    source_kinds = _object(RAW["properties"]["source"])["properties"]["kind"]["enum"]
    statuses = ENRICHED["properties"]["dedupe"]["properties"]["status"]["enum"]
    assert list(get_args(contract.SourceKind)) == source_kinds
    assert list(get_args(contract.DedupeStatus)) == statuses
    roles = ENRICHED["properties"]["dedupe"]["properties"]["role"]["enum"]
    assert list(get_args(contract.DedupeRole)) == roles


def test_nested_records_are_typed_with_their_declarations() -> None:
    hints = get_type_hints(EnrichedArticle)
    assert hints["source"] is RecordSource
    assert hints["language"] is LanguageRecord
    assert hints["topics"] == list[TopicRecord]
    assert hints["dedupe"] is DedupeRecord


def test_a_built_raw_record_is_a_plain_dict_with_the_declared_keys() -> None:
    record: RawArticle = raw_article(source={"kind": "replay", "ref": "a.txt"}, text="body")
    validate(SchemaName.RAW, record)
    assert type(record) is dict
    assert (
        RawArticle.__required_keys__
        <= record.keys()
        <= (RawArticle.__required_keys__ | RawArticle.__optional_keys__)
    )
