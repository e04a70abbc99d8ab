"""SourceKind is declared once (fetcher/sources/model.py); the schemas must agree with it."""

from __future__ import annotations

import importlib.resources
from typing import Any

import orjson

from newswire.fetcher.sources.model import SourceKind

#: The one raw-record kind no sources file gives: records the replay service makes
#: from seed files (``source.ref`` names the file).
REPLAY = "replay"


def _schema(name: str) -> dict[str, Any]:
    return orjson.loads(importlib.resources.files("newswire.schemas").joinpath(name).read_bytes())


def test_the_sources_schema_accepts_exactly_the_source_kinds() -> None:
    enum = _schema("sources.v1.json")["$defs"]["source"]["properties"]["kind"]["enum"]
    assert enum == [k.value for k in SourceKind]


def test_raw_records_carry_the_source_kinds_and_replay_only() -> None:
    enum = _schema("raw-article.v1.json")["$defs"]["source"]["properties"]["kind"]["enum"]
    assert enum == [*(k.value for k in SourceKind), REPLAY]
