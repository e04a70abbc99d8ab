"""The enricher's pipeline without Kafka: what it derives from one raw record."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from newswire.common.errors import ErrorKind
from newswire.common.ids import content_hash
from newswire.common.records import raw_article
from newswire.common.schemas import SchemaName, validate
from newswire.enricher import pipeline as pipeline_module
from newswire.enricher.bands import Candidate
from newswire.enricher.clusters import Head, Placement
from newswire.enricher.dedupe import Verdict
from newswire.enricher.pipeline import (
    Emit,
    EnrichmentPipeline,
    Redelivered,
    Rejected,
    final_record,
    story_key,
)

TITLE = "Iraq beat Jordan to reach Asian Cup semi-final"
TEXT = (
    "Iraq's national team beat Jordan 2-1 in Doha on Monday.\n\n"
    "Fans celebrated in the streets of Baghdad and Basra late into the night."
)


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


def test_the_enriched_record_is_validated_once_before_the_probes(
    pipeline: EnrichmentPipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before the probes: a probe also joins the article to the band buckets, so a record
    refused after it stayed there (and its near-copies could be dropped as copies of a
    story never sent). Once: placing it does not validate again."""
    validated: list[dict[str, Any]] = []
    real = pipeline_module.validate
    monkeypatch.setattr(
        pipeline_module,
        "validate",
        lambda name, record: validated.append(record) or real(name, record),
    )
    outcome = pipeline.process(*payload(), lambda _id: None)
    assert isinstance(outcome, Emit) and validated == [outcome.record], "before the probes"
    twin = Candidate("b" * 32, 0.876543, 0.0, "c" * 32, exact=False)
    placed = Placement("c" * 32, Head(0.0, "d" * 32), ("e" * 32,))
    record = final_record(outcome, twin, placed)
    assert validated == [outcome.record], "once"
    assert record["dedupe"] | {"content_hash": ""} == {
        "status": "near_duplicate",
        "content_hash": "",
        "duplicate_of": "d" * 32,
        "similarity": 0.8765,
        "cluster_id": "c" * 32,
        "redeliveries": 0,
        "role": "member",
        "head_id": "d" * 32,
        "merged_clusters": ["e" * 32],
    }


def test_a_record_the_schema_refuses_is_rejected_before_it_is_looked_up(
    pipeline: EnrichmentPipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Validated once, in the stage: a refused record never probes the band buckets
    (where a probe also joins it) and never has a seen entry pending; the batch
    dead-letters it (tests/enricher/test_batch.py, tests/integration/test_enricher_refusals.py)."""
    real = pipeline_module.EnrichmentPipeline.enrich

    def broken(self: EnrichmentPipeline, raw: Any, decision: Any) -> Any:
        return real(self, raw, decision) | {"language": None}

    monkeypatch.setattr(pipeline_module.EnrichmentPipeline, "enrich", broken)
    outcome = pipeline.process(*payload(), lambda _id: None)
    assert isinstance(outcome, Rejected)
    assert outcome.error.kind is ErrorKind.SCHEMA


def _emit(pipeline: EnrichmentPipeline, **fields: Any) -> Emit:
    raw = raw_article(source={"kind": "replay", "ref": "t"}, text=TEXT, title=TITLE, **fields)
    outcome = pipeline.process(orjson.dumps(raw), raw["id"].encode(), lambda _id: None)
    assert isinstance(outcome, Emit)
    return outcome


def test_an_original_processed_after_its_copy_is_the_head_of_the_copys_cluster(
    pipeline: EnrichmentPipeline,
) -> None:
    original = _emit(pipeline, published_at="2026-03-01T08:00:00Z")
    key = story_key(original)
    assert key.article_id == original.article_id and key.at == 1772352000.0
    copy = Candidate("c" * 32, 0.71, 5.0, "c" * 32, exact=True)
    placed = Placement("c" * 32, key)
    dedupe = final_record(original, copy, placed)["dedupe"]
    assert dedupe["status"] == "new" and dedupe["duplicate_of"] is None
    assert dedupe["role"] == "head" and dedupe["head_id"] == original.article_id
    assert dedupe["cluster_id"] == "c" * 32 and dedupe["similarity"] == 0.71


def test_the_story_key_falls_back_to_the_fetch_time(pipeline: EnrichmentPipeline) -> None:
    emit = _emit(pipeline, published_at=None, fetched_at="2026-03-01T08:00:00Z")
    assert story_key(emit).at == 1772352000.0


def test_an_update_keeps_its_status_but_takes_its_cluster(pipeline: EnrichmentPipeline) -> None:
    emit = _emit(pipeline)
    update = Emit(emit.article_id, emit.record, emit.entry, Verdict.UPDATE, emit.fingerprint)
    update.record["dedupe"] |= {"status": "update", "duplicate_of": emit.article_id}
    twin = Candidate("c" * 32, 0.9, 0.0, "c" * 32, exact=False)
    dedupe = final_record(update, twin, Placement("c" * 32, Head(0.0, "c" * 32)))["dedupe"]
    assert dedupe["status"] == "update" and dedupe["duplicate_of"] == emit.article_id
    assert dedupe["cluster_id"] == "c" * 32 and dedupe["role"] == "member"
    assert dedupe["similarity"] is None


_IDS = st.text(alphabet="0123456789abcdef", min_size=32, max_size=32)


@settings(max_examples=60, deadline=None)
@given(
    cluster=_IDS,
    head=_IDS,
    merged=st.lists(_IDS, max_size=3, unique=True),
    similarity=st.floats(min_value=0.0, max_value=1.0),
    exact=st.booleans(),
    head_at=st.floats(allow_nan=False, allow_infinity=False),
    update=st.booleans(),
)
def test_every_placement_of_a_valid_record_is_valid(
    pipeline: EnrichmentPipeline,
    cluster: str,
    head: str,
    merged: list[str],
    similarity: float,
    exact: bool,
    head_at: float,
    update: bool,
) -> None:
    """The record is validated once, before the lookup (process); final_record only sets
    its dedupe fields from the answer, so whatever the buckets answer it stays valid."""
    emit = _emit(pipeline)
    if update:
        record = emit.record | {
            "dedupe": emit.record["dedupe"] | {"status": "update", "duplicate_of": emit.article_id}
        }
        emit = Emit(emit.article_id, record, emit.entry, Verdict.UPDATE, emit.fingerprint)
    candidate = Candidate(cluster, similarity, 0.0, cluster, exact=exact)
    placed = Placement(cluster, Head(head_at, head), tuple(merged))
    for record in (final_record(emit, candidate, placed), final_record(emit, None)):
        validate(SchemaName.ENRICHED, record)
