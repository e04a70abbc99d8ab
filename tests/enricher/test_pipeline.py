"""The enricher's pipeline without Kafka: what it derives from one raw record."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from newswire.common.errors import InvalidRecord
from newswire.common.ids import content_hash
from newswire.common.records import raw_article
from newswire.common.settings import Settings
from newswire.enricher import pipeline as pipeline_module
from newswire.enricher.app import build_pipeline
from newswire.enricher.bands import Candidate
from newswire.enricher.pipeline import Emit, EnrichmentPipeline, Redelivered, final_record

TITLE = "Iraq beat Jordan to reach Asian Cup semi-final"
TEXT = (
    "Iraq's national team beat Jordan 2-1 in Doha on Monday.\n\n"
    "Fans celebrated in the streets of Baghdad and Basra late into the night."
)


@pytest.fixture(scope="module")
def pipeline() -> EnrichmentPipeline:
    return build_pipeline(Settings())


def payload(title: str | None = TITLE, text: str = TEXT) -> tuple[bytes, bytes]:
    raw = raw_article(source={"kind": "replay", "ref": "t"}, text=text, title=title)
    return orjson.dumps(raw), raw["id"].encode()


def test_body_is_normalised_once_for_hash_and_fingerprint(
    pipeline: EnrichmentPipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[str] = []
    real = pipeline_module.normalise_text

    def counting(text: str) -> str:
        seen.append(text)
        return real(text)

    monkeypatch.setattr(pipeline_module, "normalise_text", counting)
    outcome = pipeline.process(*payload(), lambda _id: None)
    assert isinstance(outcome, Emit)
    assert seen == [TEXT, TITLE]
    assert outcome.record["dedupe"]["content_hash"] == content_hash(TITLE, TEXT)
    assert outcome.fingerprint == pipeline.near_duplicates.fingerprint(TEXT)


@pytest.mark.parametrize("title", [None, "", "  İSTANBUL  "])
def test_hashes_match_the_shared_functions(pipeline: EnrichmentPipeline, title: Any) -> None:
    text = "a\u200cb \u0640\u064e x\n\ny\u00ad z ١٢٣"
    outcome = pipeline.process(*payload(title, text), lambda _id: None)
    assert isinstance(outcome, Emit)
    assert outcome.record["dedupe"]["content_hash"] == content_hash(title, text)
    assert outcome.fingerprint.to_bytes() == pipeline.near_duplicates.fingerprint(text).to_bytes()
    again = pipeline.process(*payload(title, text), lambda _id: outcome.entry)
    assert isinstance(again, Redelivered)


def test_the_enriched_record_is_validated_once_on_its_final_form(
    pipeline: EnrichmentPipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    validated: list[dict[str, Any]] = []
    real = pipeline_module.validate
    monkeypatch.setattr(
        pipeline_module,
        "validate",
        lambda name, record: validated.append(record) or real(name, record),
    )
    outcome = pipeline.process(*payload(), lambda _id: None)
    assert isinstance(outcome, Emit) and validated == []
    twin = Candidate("b" * 32, 0.876543, 0.0, "c" * 32, exact=False)
    record = final_record(outcome, twin)
    assert validated == [record]
    assert record["dedupe"] | {"content_hash": ""} == {
        "status": "near_duplicate",
        "content_hash": "",
        "duplicate_of": "c" * 32,
        "similarity": 0.8765,
        "cluster_id": "c" * 32,
        "redeliveries": 0,
    }


def test_final_record_refuses_what_the_schema_refuses(pipeline: EnrichmentPipeline) -> None:
    outcome = pipeline.process(*payload(), lambda _id: None)
    assert isinstance(outcome, Emit)
    bad = Emit(
        outcome.article_id,
        outcome.record | {"language": None},
        outcome.entry,
        outcome.verdict,
        outcome.fingerprint,
    )
    with pytest.raises(InvalidRecord):
        final_record(bad, None)
    assert final_record(outcome, None) == outcome.record
