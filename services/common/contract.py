"""The record contract, typed: raw and enriched articles as declared in ``schemas/``.

One declaration of each record's shape for the code that builds and reads them (the
fetcher's and replay's raw records, the enricher's pipeline), in the same words as
``schemas/raw-article.v1.json`` and ``schemas/enriched-article.v1.json``: a required
property of the schema is a required key here, an optional one is ``NotRequired``.
``tests/common/test_contract.py`` compares the two, so they cannot drift apart; a new
schema field is added in both places or the test fails.

TypedDicts are plain dicts at run time: no conversion, no validation, no cost. The
JSON schemas stay the judge of a record's values (patterns, lengths, ranges):
:func:`newswire.common.schemas.validate` checks those, once per record on each path.
Records from outside (a ``.jsonl`` seed, a message on news.raw) may carry fields a
later 1.x minor version adds; consumers ignore what they do not know.
"""

# No ``from __future__ import annotations`` here: Python 3.11's TypedDict reads
# ``NotRequired`` from evaluated annotations only, and would call every key required.
from typing import Literal, NotRequired, TypedDict

SourceKind = Literal["feed", "wordpress", "sitemap", "html", "replay"]
DedupeStatus = Literal["new", "update", "duplicate", "near_duplicate"]
DedupeRole = Literal["head", "member"]


class RecordSource(TypedDict):
    """``$defs/source`` of raw-article v1: where an article came from."""

    kind: SourceKind
    id: NotRequired[str]  # required unless kind is "replay"
    name: NotRequired[str]
    ref: NotRequired[str]  # required when kind is "replay": the seed file's name


class RawArticle(TypedDict):
    """A record on news.raw (raw-article v1.x), keyed by ``id``."""

    schema_version: str
    id: str
    source: RecordSource
    url: str | None
    title: str | None
    text: str
    published_at: str | None
    fetched_at: str
    language_hint: NotRequired[str | None]
    published_at_inferred: NotRequired[bool]  # since 1.1
    summary_only: NotRequired[bool]  # since 1.1
    guid: NotRequired[str]  # since 1.1


class LanguageRecord(TypedDict):
    """The enriched record's ``language``."""

    code: str
    confidence: float
    script: NotRequired[str | None]
    declared: NotRequired[str | None]
    conflict: NotRequired[bool]


class TopicRecord(TypedDict):
    """One entry of the enriched record's ``topics``."""

    id: str
    score: float
    evidence: list[str]


class DedupeRecord(TypedDict):
    """The enriched record's ``dedupe`` verdict."""

    status: DedupeStatus
    content_hash: str
    duplicate_of: NotRequired[str | None]
    similarity: NotRequired[float | None]
    cluster_id: NotRequired[str | None]
    redeliveries: NotRequired[int]
    role: NotRequired[DedupeRole]  # since 1.2
    head_id: NotRequired[str | None]  # since 1.2
    merged_clusters: NotRequired[list[str]]  # since 1.2


class EnrichedArticle(RawArticle):
    """A record on news.enriched (enriched-article v1.x): the raw article and its
    language, topics and dedupe verdict, keyed by ``id``."""

    enriched_at: str
    language: LanguageRecord
    topics: list[TopicRecord]
    dedupe: DedupeRecord


__all__ = [
    "DedupeRecord",
    "DedupeRole",
    "DedupeStatus",
    "EnrichedArticle",
    "LanguageRecord",
    "RawArticle",
    "RecordSource",
    "SourceKind",
    "TopicRecord",
]
