"""Entries to raw records (schema ``raw-article`` v1), built with common.records.

Beyond the v1 fields, records carry three optional fields proposed for raw-article
v1.1 (v1 allows unknown fields): ``published_at_inferred`` (the item had no credible
date, so ``published_at`` is the fetch time), ``guid`` (the source's own item id) and
``summary_only`` (the text is a feed summary, not the article).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from newswire.common.contract import RawArticle
from newswire.common.records import raw_article
from newswire.fetcher.identity import Identified
from newswire.fetcher.parse.dates import credible, rfc3339
from newswire.fetcher.sources.model import Source

MAX_TITLE = 2000
MAX_TEXT = 2_000_000
MAX_URL = 4096
MAX_LANGUAGE = 35
MAX_GUID = 1000


@dataclass(frozen=True, slots=True)
class RawRecord:
    """A record ready to produce, with the item it stands for."""

    article_id: str
    item_id: str
    value: RawArticle


def build_record(
    source: Source, identified: Identified, *, fetched_at: datetime, document_language: str | None
) -> RawRecord | None:
    """The raw record of an entry; None when it has neither text nor title."""
    entry = identified.entry
    title = " ".join((entry.title or "").split())[:MAX_TITLE] or None
    text = (entry.text or title or "")[:MAX_TEXT]
    if not text.strip():
        return None
    published = credible(entry.published_at, fetched_at)
    url = identified.url if identified.url and len(identified.url) <= MAX_URL else None
    language = (source.language or entry.language or document_language or "")[:MAX_LANGUAGE] or None
    value = raw_article(
        source=source.record_source,
        text=text,
        url=url,
        title=title,
        published_at=rfc3339(published or fetched_at),
        fetched_at=rfc3339(fetched_at),
        language_hint=language,
    )
    value["published_at_inferred"] = published is None
    value["summary_only"] = entry.summary_only
    if entry.guid:
        value["guid"] = entry.guid[:MAX_GUID]
    return RawRecord(value["id"], identified.item_id, value)
