"""Which parser reads an RSS/Atom body: fastfeedparser when it is sure to agree, else feedparser.

feedparser (pure Python over SAX) is most of the fetcher's CPU time; fastfeedparser
(lxml plus a native extractor) reads the same well-formed feed ~30x faster. Its output
is not feedparser's, though: it fills ``content`` from ``<description>``, invents an id
from the link, repairs broken XML its own way, reads any date string (dateparser), and
does not report ``xml:lang`` or RSS ``<language>``. So the fast path is taken only for
documents whose every entry can be read the same way, and the facts fastfeedparser
does not give (which elements an entry has, the feed's language and poll hints) come
from one strict lxml parse of the same bytes, which is also the well-formedness test.

A body goes to feedparser (the reason travels in ``Document.parsed_by`` to
``fetcher_feed_parser_total``) when it is:

- not RSS 2.0 or Atom 1.0 (RDF / RSS 1.0, RSS 0.9x, Atom 0.3, CDF): ``format``;
- not well-formed XML (truncated, bozo), or has a DOCTYPE: ``ill-formed``;
- ``xml:base`` anywhere, ``xml:lang`` below the root: ``xml:lang/base``;
- an entry with a repeated field, an Atom or XHTML element inside an RSS item, XHTML
  or out-of-line Atom content, several Atom links: ``entry shape``;
- a date that is not plain RFC 822 or ISO 8601 (the parsers disagree on the rest): ``date``;
- fastfeedparser raised, or returned a different number of entries: ``fast parser``.

Anything else is read by both the same way: tests/fetcher/test_feedroute.py runs both
on every feed fixture, the hostile bodies of the liberal-feed tests and generated feeds.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import fastfeedparser
from feedparser.mixin import _FeedParserMixin
from lxml import etree

from newswire.fetcher.parse.feed import (
    feedparser_document,
    http_link,
    is_http_url,
    language_tag,
    poll_hint,
    prepare_feed_xml,
    readable,
)
from newswire.fetcher.parse.htmltext import html_to_text, tidy
from newswire.fetcher.parse.model import DocFormat, Document, Entry

FAST = "fastfeedparser"
FEEDPARSER = "feedparser"

ATOM = "{http://www.w3.org/2005/Atom}"
_CONTENT_ENCODED = "{http://purl.org/rss/1.0/modules/content/}encoded"
_DC = "{http://purl.org/dc/elements/1.1/}"
_SY = "{http://purl.org/rss/1.0/modules/syndication/}"
_XHTML = "{http://www.w3.org/1999/xhtml}"
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
_RSS_DATES = frozenset({"pubDate", f"{_DC}date", f"{_DC}modified", f"{_DC}created"})
_ATOM_DATES = frozenset({f"{ATOM}published", f"{ATOM}updated", f"{ATOM}issued", f"{ATOM}created"})
#: feedparser's published, then updated, then created.
_RSS_DATE_ORDER = ("pubDate", f"{_DC}date", f"{_DC}modified", f"{_DC}created")
_ATOM_DATE_ORDER = tuple(f"{ATOM}{name}" for name in ("published", "issued", "updated", "created"))
_RSS_SINGLE = frozenset({"title", "link", "guid", "description", _CONTENT_ENCODED, *_RSS_DATES})
_ATOM_SINGLE = frozenset(
    {f"{ATOM}{name}" for name in ("title", "id", "summary", "content")} | _ATOM_DATES
)
_HTML_TYPES = frozenset({"html", "xhtml", "text/html", "application/xhtml+xml"})
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_RFC822 = re.compile(
    r"(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun),\s*)?(\d{1,2}) (" + "|".join(_MONTHS) + r") (\d{4}) "
    r"(\d\d):(\d\d)(?::(\d\d))? ([+-]\d{4}|GMT|UTC|UT|Z)"
)
_ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d(?::\d\d(?:\.\d{1,6})?)?(?:Z|[+-]\d\d:\d\d)")
#: feedparser maps U+0080-U+009F to their windows-1252 characters, and re-decodes text
#: that looks like UTF-8 read as Latin-1 ("Ã©" -> "é"); fastfeedparser does neither.
_LATIN1_REPAIRS = re.compile(rb"\xc2[\x80-\x9f]|\xc3[\x82-\xb4]\xc2[\x80-\xbf]")
_ENTITY_LIKE = re.compile(r"&([A-Za-z0-9_]+);")
_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, recover=False
)

#: feedparser's guess whether RSS text is HTML, used as is so the two cannot drift apart.
looks_like_html = _FeedParserMixin.looks_like_html

log = logging.getLogger(__name__)


class Refused(Exception):
    """The fast path cannot promise feedparser's reading of this body; ``reason`` says why."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


def read_feed_xml(text: str, *, base_url: str, format_: DocFormat) -> Document:
    """An RSS/RDF/Atom body read by fastfeedparser where it agrees with feedparser, else
    by feedparser (:func:`parse.feed.parse_feed_xml`: same entries, same errors)."""
    repaired, data = prepare_feed_xml(text)
    try:
        document = _read(data, base_url, format_)
    except Refused as refused:
        log.debug("feed %s: feedparser, %s", base_url, refused)
        slow = feedparser_document(repaired, data, base_url=base_url, format_=format_)
        return replace(slow, parsed_by=(FEEDPARSER, refused.reason))
    return replace(document, parsed_by=(FAST, ""))


def fast_document(data: bytes, *, base_url: str, format_: DocFormat) -> Document | None:
    """The document as feedparser would make it, read the fast way; None to use feedparser.

    ``data`` is the UTF-8 body :func:`parse.feed.parse_feed_xml` prepared (DTDs refused,
    character references repaired). Never raises: every refusal is a fallback.
    """
    try:
        return _read(data, base_url, format_)
    except Refused:
        return None


def _read(data: bytes, base_url: str, format_: DocFormat) -> Document:
    if format_ not in (DocFormat.RSS, DocFormat.ATOM):
        raise Refused("format", format_.value)
    if b"<!DOCTYPE" in data[:4096] or b"xml:base" in data:
        raise Refused("ill-formed" if b"<!DOCTYPE" in data[:4096] else "xml:lang/base")
    if _LATIN1_REPAIRS.search(data):
        raise Refused("encoding", "C1 controls or UTF-8 read as Latin-1")
    try:
        root = etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise Refused("ill-formed", str(exc)) from None
    channel, items, language = _shape(root, format_, data)
    # The body is read twice: the strict lxml parse above, then fastfeedparser's own
    # pass. fastfeedparser 0.6.5 (the newest) has one public entry, parse(str | bytes),
    # and no way to take our tree: it runs its native extractor over the bytes (plus an
    # lxml parse of the feed header alone). We already hand it the prepared UTF-8
    # bytes, so it does not decode again; a str would be re-encoded, or fetched if it
    # began with http. Measured per body: our lxml parse 11-33 us, 2-5 % of this fast
    # path and ~1 % of a warm poll in bench fetch; fastfeedparser.parse 46-88 us.
    try:
        parsed = fastfeedparser.parse(data)  # bytes: a str could be fetched as a URL
    except Exception as exc:  # anything it raises is feedparser's to judge
        raise Refused("fast parser", f"{type(exc).__name__}: {exc}") from None
    raw_entries = parsed.get("entries", [])
    if len(raw_entries) != len(items):
        raise Refused("fast parser", f"{len(raw_entries)} entries for {len(items)} elements")
    read = _rss_entry if format_ is DocFormat.RSS else _atom_entry
    skipped: dict[str, int] = {}
    read_entries = [
        read(raw, item, base_url, language) for raw, item in zip(raw_entries, items, strict=True)
    ]
    entries = readable(read_entries, skipped)
    return Document(
        format=format_,
        entries=entries,
        title=tidy(str(parsed.get("feed", {}).get("title") or "")) or None,
        language=language,
        poll_hint_s=poll_hint(_hints(channel)),
        skipped=skipped,
    )


def _shape(
    root: etree._Element, format_: DocFormat, data: bytes
) -> tuple[etree._Element, list[etree._Element], str | None]:
    """(channel, entry elements, feed language), or Refused where the parsers part ways."""
    if b"xml:lang" in data and data.count(b"xml:lang") > (root.get(_XML_LANG) is not None):
        raise Refused("xml:lang/base", "xml:lang below the root")
    if format_ is DocFormat.RSS:
        channel = root.find("channel")
        if root.tag != "rss" or root.get("version") != "2.0" or channel is None:
            raise Refused("format", f"<{root.tag!s} version={root.get('version')!r}>")
        items = channel.findall("item")
        if len(items) != sum(1 for _ in root.iter("item")):
            raise Refused("entry shape", "items outside <channel>")
        languages = (channel.find("language"), channel.find(f"{_DC}language"))
        present = [element.text or "" for element in languages if element is not None]
        if len(present) > 1 or root.get(_XML_LANG) is not None:
            raise Refused("xml:lang/base", "more than one language declared")
        language = language_tag(present[0] if present else None)
        check: Callable[[etree._Element], None] = _check_rss_item
    else:
        if root.tag != f"{ATOM}feed":
            raise Refused("format", f"<{root.tag!s}>")
        channel = root
        items = root.findall(f"{ATOM}entry")
        language = language_tag(root.get(_XML_LANG))
        check = _check_atom_entry
    for item in items:
        check(item)
    return channel, items, language


def _check_rss_item(item: etree._Element) -> None:
    seen: set[Any] = set()
    for child in item:
        tag = child.tag
        if not isinstance(tag, str):
            continue  # comments, processing instructions
        if tag in seen and tag in _RSS_SINGLE:
            raise Refused("entry shape", f"repeated <{tag}>")
        if tag.startswith((ATOM, _XHTML)) or tag in ("content", "body", f"{_DC}description"):
            raise Refused("entry shape", f"<{tag}> in an RSS item")
        if tag in _RSS_DATES and seen & _RSS_DATES:
            raise Refused("entry shape", "more than one date")
        if len(child) and tag != _CONTENT_ENCODED and tag not in ("category", "source"):
            if tag in ("title", "link", "guid", "description"):
                raise Refused("entry shape", f"markup inside <{tag}>")
        seen.add(tag)


def _check_atom_entry(entry: etree._Element) -> None:
    seen: set[Any] = set()
    links = 0
    for child in entry:
        tag = child.tag
        if not isinstance(tag, str):
            continue
        if tag in seen and tag in _ATOM_SINGLE:
            raise Refused("entry shape", f"repeated <{tag}>")
        if tag == f"{ATOM}link":
            links += 1
        elif tag in (f"{ATOM}content", f"{ATOM}summary", f"{ATOM}title"):
            if child.get("type") in ("xhtml", "application/xhtml+xml") or child.get("src"):
                raise Refused("entry shape", "xhtml or out-of-line content")
            if len(child):
                raise Refused("entry shape", f"markup inside <{tag}>")
        elif not tag.startswith(ATOM) and tag.rsplit("}", 1)[-1] in ("date", "language"):
            raise Refused("entry shape", f"<{tag}> in an Atom entry")
        seen.add(tag)
    if links > 1:
        raise Refused("entry shape", f"{links} links")


def _date(element: etree._Element) -> datetime | None:
    """The element's date as feedparser reads it, if it is a real RFC 822 or ISO 8601
    time with a zone; else Refused (feedparser rolls 1999-13-40 over into 2000, reads
    zone-less times as UTC, and words through its own parsers: not worth matching)."""
    text = (element.text or "").strip()
    if not text:
        return None
    try:
        if _ISO.fullmatch(text):
            value = datetime.fromisoformat(text.replace("Z", "+00:00"))
        elif match := _RFC822.fullmatch(text):
            day, month, year, hour, minute, second, zone = match.groups()
            offset = (
                0
                if zone[0] not in "+-"
                else int(zone[0] + "1") * (int(zone[1:3]) * 60 + int(zone[3:5]))
            )
            value = datetime(
                int(year),
                _MONTHS.index(month) + 1,
                int(day),
                int(hour),
                int(minute),
                int(second or 0),
                tzinfo=timezone(timedelta(minutes=offset)),
            )
        else:
            raise Refused("date", repr(text[:40]))
    except (ValueError, OverflowError):
        raise Refused("date", repr(text[:40])) from None
    return value.astimezone(UTC).replace(microsecond=0)  # feedparser: whole seconds, UTC


def _hints(channel: etree._Element) -> dict[str, str]:
    """The poll hints in feedparser's key names, for :func:`parse.feed.poll_hint`."""
    pairs = (("ttl", "ttl"), ("sy_updateperiod", f"{_SY}updatePeriod"))
    hints = {key: (channel.findtext(tag) or "") for key, tag in pairs}
    frequency = channel.findtext(f"{_SY}updateFrequency")
    if frequency is not None:
        hints["sy_updatefrequency"] = frequency
    return hints


def _rss_entry(
    raw: dict[str, Any], item: etree._Element, base_url: str, language: str | None
) -> Entry:
    guid_el = item.find("guid")
    guid = (guid_el.text or "").strip() or None if guid_el is not None else None
    link_el = item.find("link")
    if link_el is not None:  # even empty: feedparser then ignores the GUID
        link = http_link(_rss_link_text(link_el.text or ""), base_url)
    elif guid and (guid_el is None or guid_el.get("isPermaLink", "true") != "false"):
        link = guid if is_http_url(guid) else None  # feedparser's guidislink, kept only if a URL
    else:
        link = None
    content = _content_value(raw) if item.find(_CONTENT_ENCODED) is not None else ""
    if content:
        text, summary_only = html_to_text(content), False
    else:
        text, summary_only = _plain(raw.get("description") or "", "text/html"), True
    return Entry(
        guid=guid,
        link=link,
        title=_title(raw.get("title"), html=None),
        text=text,
        published_at=_published(item, _RSS_DATE_ORDER),
        language=language,
        summary_only=summary_only,
    )


def _rss_link_text(text: str) -> str:
    """feedparser's repair of ``?a=1&amp;b=2`` in RSS links, on the element's text."""
    return _ENTITY_LIKE.sub(r"&\g<1>", text.strip().replace("&amp;", "&"))


def _atom_entry(
    raw: dict[str, Any], entry: etree._Element, base_url: str, language: str | None
) -> Entry:
    content = _content_value(raw) if entry.find(f"{ATOM}content") is not None else ""
    if content:
        text, summary_only = _plain(content, _atom_type(entry, "content")), False
    else:
        summary = (entry.findtext(f"{ATOM}summary") or "").strip()
        text, summary_only = _plain(summary, _atom_type(entry, "summary")), True
    link_el = entry.find(f"{ATOM}link")
    href = link_el.get("href") if link_el is not None else None
    alternate = link_el is not None and link_el.get("rel", "alternate") == "alternate"
    guid = (entry.findtext(f"{ATOM}id") or "").strip() or None  # fastfeedparser's may be a link
    if alternate and href:
        link = http_link(href, base_url)
    else:  # feedparser's guidislink holds for an Atom id too; kept only if a URL
        link = guid if guid and is_http_url(guid) else None
    return Entry(
        guid=guid,
        link=link,
        title=_title(raw.get("title"), html=_atom_type(entry, "title") in _HTML_TYPES),
        text=text,
        published_at=_published(entry, _ATOM_DATE_ORDER),
        language=language,
        summary_only=summary_only,
    )


def _atom_type(entry: etree._Element, name: str) -> str:
    element = entry.find(f"{ATOM}{name}")
    return (element.get("type") if element is not None else None) or "text"


def _content_value(raw: dict[str, Any]) -> str:
    contents = raw.get("content") or []
    return str(contents[0].get("value") or "").strip() if contents else ""  # as feedparser


def _title(title: Any, *, html: bool | None) -> str | None:
    """As parse.feed._title: HTML by its type (Atom), or for RSS by feedparser's own guess
    (``html=None``: a closing tag or an entity reference, all known to HTML)."""
    if not title:
        return None
    if html is None:
        html = looks_like_html(title)
    plain = html_to_text(title) if html or "<" in title else tidy(title)
    return " ".join(plain.split()) or None


def _plain(value: str, kind: str | None) -> str:
    html = (kind or "text/html") in _HTML_TYPES or "<" in value
    return html_to_text(value) if html else tidy(value)


def _published(item: etree._Element, dates: tuple[str, ...]) -> datetime | None:
    """The first date of ``dates`` (feedparser's order) the entry has: read from the
    element, not from fastfeedparser, which takes one from a GUID ``1001`` (the year 1001)
    when there is no date, and reads anything dateparser can."""
    for tag in dates:
        element = item.find(tag)
        if element is not None and (value := _date(element)) is not None:
            return value
    return None
