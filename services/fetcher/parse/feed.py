"""RSS 0.9x/1.0/2.0, RDF and Atom 0.3/1.0 through feedparser - on text we decoded.

feedparser is given UTF-8 bytes in a BytesIO, never a string: a string that looks
like a URL or a file name makes feedparser fetch or open it. It is told the document
base is *not* given to feedparser: it would resolve every GUID that does not look
absolute (``ar-1001``) against the feed URL, so an item's identity would change with
the feed's address. Entry links are resolved here instead; links inside content do
not matter, since records carry plain text. Any exception feedparser raises is a
``malformed`` error for this source.
"""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any
from urllib.parse import urljoin

import feedparser

from newswire.fetcher.errors import FetchError, FetchErrorKind
from newswire.fetcher.parse.dates import from_struct_time
from newswire.fetcher.parse.decode import as_utf8_xml
from newswire.fetcher.parse.htmltext import html_to_text, tidy
from newswire.fetcher.parse.model import DocFormat, Document, Entry
from newswire.fetcher.parse.xmlguard import refuse_unsafe_xml, repair_charrefs

_UPDATE_PERIODS = {
    "hourly": 3600.0,
    "daily": 86400.0,
    "weekly": 604800.0,
    "monthly": 2592000.0,
    "yearly": 31536000.0,
}
_HTML_TYPES = ("text/html", "application/xhtml+xml", "html", "xhtml")


def parse_feed_xml(text: str, *, base_url: str, format_: DocFormat) -> Document:
    """Entries and hints of an XML feed; ``malformed`` when nothing can be read."""
    refuse_unsafe_xml(text)
    data = as_utf8_xml(repair_charrefs(text))
    try:
        result = feedparser.parse(
            io.BytesIO(data),
            response_headers={"content-type": "application/xml; charset=utf-8"},
            sanitize_html=False,  # records carry plain text (htmltext drops scripts & co.); saves ~20%
            resolve_relative_uris=False,
        )
    except Exception as exc:
        raise FetchError(
            FetchErrorKind.MALFORMED, f"feedparser raised {type(exc).__name__}: {exc}"
        ) from exc
    if result.get("bozo") and not result.entries:
        reason = result.get("bozo_exception")
        raise FetchError(
            FetchErrorKind.MALFORMED, f"ill-formed XML, no entries recovered: {reason}"
        )
    feed = result.get("feed", {})
    language = _language(feed.get("language"))
    return Document(
        format=format_,
        entries=[_entry(raw, base_url, language) for raw in result.entries],
        title=tidy(feed.get("title", "")) or None,
        language=language,
        poll_hint_s=poll_hint(feed),
        recovered=bool(result.get("bozo")),
    )


def poll_hint(feed: dict[str, Any]) -> float | None:
    """The shortest interval the feed asks for: RSS ``ttl`` (minutes) or sy:updatePeriod/Frequency."""
    hints: list[float] = []
    ttl = str(feed.get("ttl", "")).strip()
    if ttl.isdigit() and int(ttl) > 0:
        hints.append(int(ttl) * 60.0)
    period = _UPDATE_PERIODS.get(str(feed.get("sy_updateperiod", "")).strip().lower())
    if period:
        frequency = str(feed.get("sy_updatefrequency", "1")).strip()
        hints.append(period / max(int(frequency) if frequency.isdigit() else 1, 1))
    return max(hints) if hints else None


def _entry(raw: dict[str, Any], base_url: str, feed_language: str | None) -> Entry:
    text, summary_only = _body(raw)
    link = raw.get("link") or _alternate(raw)
    return Entry(
        guid=(raw.get("id") or "").strip() or None,
        link=urljoin(base_url, link.strip()) if link else None,
        title=_title(raw),
        text=text,
        published_at=_published(raw),
        language=_language((raw.get("title_detail") or {}).get("language")) or feed_language,
        summary_only=summary_only,
    )


def _alternate(raw: dict[str, Any]) -> str | None:
    for link in raw.get("links", []):
        if link.get("rel", "alternate") == "alternate" and link.get("href"):
            return str(link["href"])
    return None


def _title(raw: dict[str, Any]) -> str | None:
    title = raw.get("title")
    if not title:
        return None
    kind = (raw.get("title_detail") or {}).get("type", "text/plain")
    plain = html_to_text(title) if kind in _HTML_TYPES or "<" in title else tidy(title)
    return " ".join(plain.split()) or None


def _body(raw: dict[str, Any]) -> tuple[str, bool]:
    """(plain text, whether it is only a summary): full content beats the summary."""
    contents = [c for c in raw.get("content", []) if c.get("value")]
    if contents:
        best = max(contents, key=lambda c: len(c["value"]))
        return _plain(best["value"], best.get("type")), False
    summary = raw.get("summary") or ""
    return _plain(summary, (raw.get("summary_detail") or {}).get("type")), True


def _plain(value: str, kind: str | None) -> str:
    return (
        html_to_text(value) if (kind or "text/html") in _HTML_TYPES or "<" in value else tidy(value)
    )


def _published(raw: dict[str, Any]) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        value = from_struct_time(raw.get(key))
        if value is not None:
            return value
    return None


def _language(value: Any) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    return value.strip().replace("_", "-")[:35]
