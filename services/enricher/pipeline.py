"""One raw message in, one outcome out: the enricher's logic without Kafka.

The Faust agent only moves bytes and table entries; everything that decides what a
record becomes lives here, so it is tested directly and benchmarked alone (the
"compute limit" of ``newswire bench enrich``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import cast

from newswire.common.contract import DedupeRecord, DedupeStatus, EnrichedArticle, RawArticle
from newswire.common.errors import ErrorKind, InvalidRecord
from newswire.common.ids import content_hash_of_forms
from newswire.common.records import utc_now
from newswire.common.schemas import SchemaName, decode_json_object, schema_info, validate
from newswire.common.text import normalise_text
from newswire.enricher.bands import (
    Candidate,
    Member,
    Probe,
    closest,
    matches,
    placement,
    probe_band_keys,
    sketch,
)
from newswire.enricher.clusters import Head, Placement, story_at
from newswire.enricher.dedupe import Decision, SeenEntry, Verdict, decide
from newswire.enricher.language import LanguageIdentifier
from newswire.enricher.similarity import Fingerprint, NearDuplicateDetector
from newswire.enricher.topics import TopicClassifier


@dataclass(frozen=True, slots=True)
class Emit:
    """An enriched record to produce, and the table entry to store once it is delivered.

    ``record`` says ``new`` or ``update`` and is already valid against the enriched
    schema (:meth:`EnrichmentPipeline.process`); the near-duplicate lookup across
    partitions (see neardup.py) then places it in its story cluster
    (:func:`settled_record`).
    """

    article_id: str
    record: EnrichedArticle
    entry: SeenEntry
    verdict: Verdict
    fingerprint: Fingerprint


@dataclass(frozen=True, slots=True)
class Redelivered:
    """Same id, same content: nothing to emit, only the count in the table moves."""

    article_id: str
    entry: SeenEntry


@dataclass(frozen=True, slots=True)
class Rejected:
    """A record that goes to the dead-letter topic with this reason."""

    error: InvalidRecord


Outcome = Emit | Redelivered | Rejected
SeenLookup = Callable[[str], SeenEntry | None]


class EnrichmentPipeline:
    """Decode, validate, dedupe, tag language, classify topics, validate the enriched
    record; :func:`settled_record` then places it among its story's copies."""

    def __init__(
        self,
        *,
        languages: LanguageIdentifier,
        topics: TopicClassifier,
        near_duplicates: NearDuplicateDetector,
        max_classified_chars: int = 50_000,
    ) -> None:
        self._max_classified_chars = max_classified_chars
        self._languages = languages
        self._topics = topics
        self._near_duplicates = near_duplicates
        self._enriched_version = schema_info(SchemaName.ENRICHED).version

    @property
    def near_duplicates(self) -> NearDuplicateDetector:
        return self._near_duplicates

    def process(self, payload: bytes | None, key: bytes | None, seen: SeenLookup) -> Outcome:
        """Never raises for bad input: every failure becomes :class:`Rejected` with a reason."""
        try:
            raw = decode_json_object(payload, SchemaName.RAW)
            check_key_matches_id(key, raw["id"])
            # The body's comparison form, made once: the content hash and the fingerprint
            # both start from it (the classifier makes its own, see topics/tokens.py).
            text_form = normalise_text(raw["text"])
            title_form = normalise_text(raw["title"] or "")
            decision = decide(
                seen(raw["id"]), content_hash_of_forms(title_form, text_form), utc_now()
            )
            if decision.verdict is Verdict.REDELIVERY:
                return Redelivered(raw["id"], decision.entry)
            record = self.enrich(raw, decision)
            # Validated once, here: before the article probes the band buckets (where a
            # probe also joins it) and before its seen-table entry is pending. Checked
            # later, a refused record stayed in the buckets, and with drop_duplicates its
            # near-copies were dropped as copies of a story never sent. Placing it in its
            # cluster (final_record) only sets dedupe fields from ids and figures.
            validate(SchemaName.ENRICHED, record)
            fingerprint = self._near_duplicates.fingerprint_normalised(text_form)
            return Emit(raw["id"], record, decision.entry, decision.verdict, fingerprint)
        except InvalidRecord as error:
            return Rejected(error)
        except Exception as exc:  # a stage bug must not stop the stream
            return Rejected(InvalidRecord(ErrorKind.PROCESSING, f"{type(exc).__name__}: {exc}"))

    def enrich(self, raw: RawArticle, decision: Decision) -> EnrichedArticle:
        """The enriched record for a raw one that is not a redelivery."""
        language = self._languages.identify(
            raw["text"], title=raw["title"], declared=raw.get("language_hint")
        )
        # Topics are decided by the lead and the body's first pages; reading all of a
        # two-million-character text would hold the event loop for seconds.
        text = raw["text"][: self._max_classified_chars]
        topics = self._topics.classify(title=raw["title"], text=text, language=language.code)
        enriched: EnrichedArticle = {
            **raw,
            "schema_version": self._enriched_version,
            "enriched_at": utc_now(),
            "language": language.as_record(),
            "topics": [match.as_record() for match in topics],
            "dedupe": dedupe_record(raw["id"], decision),
        }
        return enriched


def check_key_matches_id(key: bytes | None, article_id: str) -> None:
    """news.raw must be keyed by article id: the dedupe table is co-partitioned with it."""
    if key is None or key != article_id.encode():
        shown = "none" if key is None else repr(key[:80])
        raise InvalidRecord(
            ErrorKind.SCHEMA,
            f"message key {shown} does not match record id {article_id!r}; "
            "records on news.raw must be keyed by their article id",
            schema=SchemaName.RAW.value,
        )


def story_key(emit: Emit) -> Head:
    """The article's place in its story's order: published, else fetched, then id."""
    record = emit.record
    return Head(story_at(record["published_at"], record["fetched_at"]), emit.article_id)


def with_candidate(
    emit: Emit, candidate: Candidate | None, placed: Placement | None = None
) -> EnrichedArticle:
    """The final record once the band buckets have answered.

    PLACED says the cluster (see clusters.py; None: a cluster of its own). The cluster
    fields are set on every record; the status only on a newcomer that is a ``member``
    (later than its head): an exact copy of another id's text is a ``duplicate``, a
    close rewrite a ``near_duplicate``, both pointing at the head known now. A newcomer
    earlier than every match is the ``head``: it copies nothing and stays ``new``,
    though it takes the existing cluster id. An update stays an update.
    """
    if placed is None:  # callers that know no order: a match is taken as the earlier
        placed = (
            Placement(emit.article_id, story_key(emit))
            if candidate is None
            else Placement(candidate.cluster_id, Head(float("-inf"), candidate.cluster_id))
        )
    role = placed.role(emit.article_id)
    dedupe: DedupeRecord = {
        **emit.record["dedupe"],
        "cluster_id": placed.cluster_id,
        "role": role,
        "head_id": placed.head.article_id,
        "merged_clusters": list(placed.merged),
    }
    if candidate is not None and emit.verdict is not Verdict.UPDATE:
        dedupe["similarity"] = round(candidate.similarity, 4)
        if role == "member":
            status: DedupeStatus = "duplicate" if candidate.exact else "near_duplicate"
            dedupe |= {"status": status, "duplicate_of": placed.head.article_id}
    record: EnrichedArticle = {**emit.record, "dedupe": dedupe}
    return record


@dataclass(frozen=True, slots=True)
class LookupKeys:
    """What the band lookup uses of an article, made once per article: its probes and
    its settling both need them."""

    sketch: bytes
    story: Head


def lookup_keys(emit: Emit) -> LookupKeys:
    return LookupKeys(sketch(emit.fingerprint.signature), story_key(emit))


def probe_for(
    emit: Emit, *, seen_at: float, reply_partition: int, keys: LookupKeys | None = None
) -> Probe:
    """The article's one probe: all its probe band keys, its sketch and story key (the
    exchange sends each band partition the keys it owns, neardup.py)."""
    keys = keys or lookup_keys(emit)
    return Probe(
        emit.article_id,
        probe_band_keys(emit.fingerprint.signature),
        emit.fingerprint.text_hash,
        keys.sketch,
        seen_at,
        reply_partition,
        keys.story.at,
        shingles=emit.fingerprint.shingles,
    )


def settled_record(
    emit: Emit, heard: Sequence[Member], *, threshold: float, keys: LookupKeys | None = None
) -> EnrichedArticle:
    """The record to send once the band buckets have answered with HEARD: placed among
    every member version it matches (clusters.py, :func:`final_record`)."""
    keys = keys or lookup_keys(emit)
    found = matches(
        emit.fingerprint.text_hash,
        keys.sketch,
        heard,
        threshold=threshold,
        own_shingles=emit.fingerprint.shingles,
    )
    placed = placement(emit.article_id, keys.story.at, found)
    return final_record(emit, closest(found), placed)


def final_record(
    emit: Emit, candidate: Candidate | None, placed: Placement | None = None
) -> EnrichedArticle:
    """The record to send: :func:`with_candidate`.

    Not validated again: EMIT's record was validated once, before it joined the band
    buckets (:meth:`EnrichmentPipeline.process`), and placing it only sets its dedupe
    fields from article ids, roles and a similarity in [0, 1], of the types the schema
    asks (tests/enricher/test_pipeline.py checks every placement against it)."""
    return with_candidate(emit, candidate, placed)


def dedupe_record(article_id: str, decision: Decision) -> DedupeRecord:
    entry = decision.entry
    return {
        "status": cast(DedupeStatus, decision.verdict.value),  # Verdict's values are these
        "content_hash": entry.content_hash,
        "duplicate_of": article_id if decision.verdict is Verdict.UPDATE else None,
        "similarity": None,
        "cluster_id": article_id,
        "redeliveries": entry.redeliveries,
        "role": "head",
        "head_id": article_id,
        "merged_clusters": [],
    }
