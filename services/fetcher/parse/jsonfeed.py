"""JSON Feed 1.0 / 1.1 (https://jsonfeed.org), which feedparser 6 does not read.

Read liberally (sniff.py takes any spelling of the version URL, or none when the items
look like JSON Feed items; ``id`` may be a number), emitted strictly, by the rules of
feed.py: an item with a title, summary or content is an article even without ``url``;
an item with nothing to read is skipped (``Document.skipped``); only http(s) URLs
become links.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urljoin

import orjson

from newswire.fetcher.errors import FetchError, FetchErrorKind
from newswire.fetcher.parse.dates import parse_date
from newswire.fetcher.parse.feed import SKIP_NO_TEXT, is_http_url
from newswire.fetcher.parse.htmltext import html_to_text, tidy
from newswire.fetcher.parse.model import DocFormat, Document, Entry, has_something_to_read

SKIP_NOT_OBJECT = "item is not a JSON object"


def load_json(text: str) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise FetchError(FetchErrorKind.MALFORMED, f"invalid JSON: {exc}") from exc


def parse_json_feed(text: str, *, base_url: str) -> Document:
    feed = load_json(text)
    if not isinstance(feed, dict) or not isinstance(feed.get("items"), list):
        raise FetchError(FetchErrorKind.MALFORMED, "JSON Feed without an items list")
    base = feed.get("home_page_url") if isinstance(feed.get("home_page_url"), str) else base_url
    language = feed.get("language") if isinstance(feed.get("language"), str) else None
    entries: list[Entry] = []
    skipped: dict[str, int] = {}
    for item in feed["items"]:
        if not isinstance(item, dict):
            skipped[SKIP_NOT_OBJECT] = skipped.get(SKIP_NOT_OBJECT, 0) + 1
            continue
        entry = _entry(item, urljoin(base_url, base), language)
        if has_something_to_read(entry):
            entries.append(entry)
        else:
            skipped[SKIP_NO_TEXT] = skipped.get(SKIP_NO_TEXT, 0) + 1
    title = feed.get("title")
    return Document(
        format=DocFormat.JSON_FEED,
        entries=entries,
        title=title.strip() or None if isinstance(title, str) else None,
        language=language,
        skipped=skipped,
    )


def _entry(item: dict[str, Any], base: str, language: str | None) -> Entry:
    link = _string(item.get("url")) or _string(item.get("external_url"))
    html, plain, summary = (
        _string(item.get("content_html")),
        _string(item.get("content_text")),
        _string(item.get("summary")),
    )
    if html or plain:
        text, summary_only = (html_to_text(html) if html else tidy(plain or "")), False
    else:
        text, summary_only = tidy(summary or ""), True
    item_id = item.get("id")
    absolute = urljoin(base, link.strip()) if link else None
    return Entry(
        guid=str(item_id).strip() or None if item_id not in (None, "") else None,
        link=absolute if absolute and is_http_url(absolute) else None,
        title=" ".join(html_to_text(_string(item.get("title")) or "").split()) or None,
        text=text,
        published_at=parse_date(
            _string(item.get("date_published")) or _string(item.get("date_modified"))
        ),
        language=_string(item.get("language")) or language,
        summary_only=summary_only,
    )


def _string(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None
