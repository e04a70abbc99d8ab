"""RSS 0.9x/1.0/2.0, RDF and Atom 0.3/1.0 through feedparser - on text we decoded.

feedparser is given UTF-8 bytes in a BytesIO, never a string: a string that looks
like a URL or a file name makes feedparser fetch or open it. It is told the document
base is *not* given to feedparser: it would resolve every GUID that does not look
absolute (``ar-1001``) against the feed URL, so an item's identity would change with
the feed's address. Entry links are resolved here instead; links inside content do
not matter, since records carry plain text. Any exception feedparser raises is a
``malformed`` error for this source.

Liberal in what is read, strict in what is emitted:

- **An entry is an article when it has something to read** - a title, a summary or
  content - whatever else it lacks. An item with a GUID but no ``<link>``, or an Atom
  entry with only an id, an author and a title, is an article; its identity is its GUID
  (see identity.py: no link, so the chain's next component) and its record has no URL.
  An entry with nothing textual is skipped, counted in ``Document.skipped`` under
  ``SKIP_NO_TEXT``, and not remembered as seen, so it is read once it has text.
- **A link is emitted only if it is an http(s) URL.** feedparser copies a GUID into
  ``link`` when an item has none (``guidislink``); a GUID such as ``1001`` or
  ``tag:site,2026:1`` is not a link and resolving it against the feed URL would invent
  one (``https://site/feeds/1001``). Such entries keep the GUID and get no link.
- **A truncated document** (the connection dropped, a proxy cut the body): the root
  element is never closed. Complete items before the cut are emitted; an item the cut
  went through is skipped (``SKIP_CUT_OFF``) - emitting it would give downstream a
  half-written article and mark its id seen, so the whole article would never follow.
  The document is flagged (``recovered`` and a ``truncated: ...`` entry in
  ``defects``) for the poll report and the logs. A document cut before any item was
  complete is a ``malformed`` error: there is nothing to emit, and the poll must fail
  (and back off, and retry) rather than report a quiet success with no items.
"""

from __future__ import annotations

import io
import logging
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urljoin

import feedparser

from newswire.fetcher.errors import FetchError, FetchErrorKind
from newswire.fetcher.parse.dates import from_struct_time
from newswire.fetcher.parse.decode import as_utf8_xml
from newswire.fetcher.parse.htmltext import html_to_text, tidy
from newswire.fetcher.parse.model import DocFormat, Document, Entry, has_something_to_read
from newswire.fetcher.parse.xmlguard import refuse_unsafe_xml, repair_charrefs

_UPDATE_PERIODS = {
    "hourly": 3600.0,
    "daily": 86400.0,
    "weekly": 604800.0,
    "monthly": 2592000.0,
    "yearly": 31536000.0,
}
_HTML_TYPES = ("text/html", "application/xhtml+xml", "html", "xhtml")
SKIP_NO_TEXT = "no title, summary or content"
SKIP_CUT_OFF = "cut off by the truncation"
#: (entry element, root element) of each XML feed format, local names.
_ELEMENTS = {
    DocFormat.RSS: ("item", "rss"),
    DocFormat.RDF: ("item", "RDF"),
    DocFormat.ATOM: ("entry", "feed"),
}
_PREFIX = r"(?:[A-Za-z_][\w.-]*:)?"

log = logging.getLogger(__name__)


def parse_feed_xml(text: str, *, base_url: str, format_: DocFormat) -> Document:
    """Entries and hints of an XML feed read by feedparser; ``malformed`` when nothing
    can be read (see the module docstring for ill-formed and truncated documents)."""
    repaired, data = prepare_feed_xml(text)
    return feedparser_document(repaired, data, base_url=base_url, format_=format_)


def prepare_feed_xml(text: str) -> tuple[str, bytes]:
    """(text with impossible character references repaired, the same as UTF-8 bytes),
    after refusing DTD subsets and entities: what either parser may be given."""
    refuse_unsafe_xml(text)
    repaired = repair_charrefs(text)
    return repaired, as_utf8_xml(repaired)


def feedparser_document(
    repaired: str, data: bytes, *, base_url: str, format_: DocFormat
) -> Document:
    """:func:`parse_feed_xml` on a body :func:`prepare_feed_xml` prepared."""
    try:
        result = feedparser.parse(
            io.BytesIO(data),
            response_headers={"content-type": "application/xml; charset=utf-8"},
            # records carry plain text (htmltext drops scripts & co.); saves ~20%
            sanitize_html=False,
            resolve_relative_uris=False,
        )
    except Exception as exc:
        raise FetchError(
            FetchErrorKind.MALFORMED, f"feedparser raised {type(exc).__name__}: {exc}"
        ) from exc
    raw_entries = list(result.entries)
    defects: list[str] = []
    skipped: dict[str, int] = {}
    cut = truncation(repaired, format_) if result.get("bozo") else None
    if cut is not None:
        defects.append(cut.describe())
        raw_entries = _complete_entries(raw_entries, cut)
        if len(raw_entries) < len(result.entries):
            skipped[SKIP_CUT_OFF] = len(result.entries) - len(raw_entries)
        if not raw_entries:
            raise FetchError(
                FetchErrorKind.MALFORMED, f"{cut.describe()}, before any {cut.entry} was complete"
            )
    elif result.get("bozo"):
        reason = result.get("bozo_exception")
        if not raw_entries:
            raise FetchError(
                FetchErrorKind.MALFORMED, f"ill-formed XML, no entries recovered: {reason}"
            )
        defects.append(f"ill-formed XML: {reason}")
    feed = result.get("feed", {})
    language = language_tag(feed.get("language"))
    entries = readable([_entry(raw, base_url, language) for raw in raw_entries], skipped)
    if cut is not None:  # after readable(), so the count is the one the status line gives
        log.warning(
            "feed %s: %s; %d entries kept%s", base_url, defects[0], len(entries), skip_text(skipped)
        )
    return Document(
        format=format_,
        entries=entries,
        title=tidy(feed.get("title", "")) or None,
        language=language,
        poll_hint_s=poll_hint(feed),
        recovered=bool(result.get("bozo")),
        defects=tuple(defects),
        skipped=skipped,
        truncated=cut is not None,
    )


def skip_text(skipped: dict[str, int]) -> str:
    """``, skipped 1 (no title, summary or content)`` for a log line; "" for none."""
    if not skipped:
        return ""
    return ", skipped " + ", ".join(f"{n} ({why})" for why, n in sorted(skipped.items()))


def readable(entries: list[Entry], skipped: dict[str, int]) -> list[Entry]:
    """The entries with something to read; the others counted in ``skipped``."""
    kept = [entry for entry in entries if has_something_to_read(entry)]
    if len(kept) < len(entries):
        skipped[SKIP_NO_TEXT] = skipped.get(SKIP_NO_TEXT, 0) + len(entries) - len(kept)
    return kept


@dataclass(frozen=True, slots=True)
class Truncation:
    """Where a document whose root element is never closed stops."""

    entry: str  # "item" / "entry"
    root: str
    entries_started: int  # start tags of entries in the text
    inside_entry: bool  # the text ends inside the last entry
    start_tag_closed: bool = True  # the last entry's start tag has its ">"

    def describe(self) -> str:
        if self.inside_entry:
            return f"truncated: the document ends inside <{self.entry}> {self.entries_started}"
        if self.entries_started:
            return (
                f"truncated: the document ends without </{self.root}> after its last {self.entry}"
            )
        return f"truncated: the document ends before </{self.root}>"


def truncation(text: str, format_: DocFormat) -> Truncation | None:
    """How ``text`` is truncated, or None when its root element is closed.

    A document is truncated when no end tag of its root element follows the last
    entry (trailing junk after ``</rss>``, a PHP warning say, is not truncation). The
    last entry was cut when neither its own end tag nor an enclosing end tag
    (``</channel>``, the root's) follows its start tag: an unclosed ``<item>`` followed
    by ``</channel>`` is ill-formed, but complete.
    """
    if format_ not in _ELEMENTS:
        return None
    entry, root = _ELEMENTS[format_]
    starts = list(re.finditer(rf"<{_PREFIX}{entry}[\s/>]", text))
    tail = text[starts[-1].start() :] if starts else text
    if re.search(rf"</{_PREFIX}{root}\s*>", tail):
        return None
    inside = bool(starts) and not (
        re.match(rf"<{_PREFIX}{entry}\b[^>]*/>", tail)  # <item/>: empty, but whole
        or re.search(rf"</{_PREFIX}(?:{entry}|channel|{root})\s*>", tail)
    )
    return Truncation(entry, root, len(starts), inside, ">" in tail)


def _complete_entries(raw_entries: list[Any], cut: Truncation) -> list[Any]:
    """The entries of a truncated document that were read whole."""
    if not cut.inside_entry:
        return raw_entries
    if len(raw_entries) == cut.entries_started:
        return raw_entries[:-1]  # feedparser made an entry of every start tag: drop the cut one
    if len(raw_entries) == cut.entries_started - 1 and not cut.start_tag_closed:
        return raw_entries  # cut inside the start tag: the cut one never became an entry
    raise FetchError(
        FetchErrorKind.MALFORMED,
        f"{cut.describe()}, and its {len(raw_entries)} entries cannot be matched to the "
        f"{cut.entries_started} <{cut.entry}> start tags: cannot tell complete ones",
    )


def poll_hint(feed: dict[str, Any]) -> float | None:
    """The shortest interval the feed asks for: RSS ``ttl`` (minutes) or
    sy:updatePeriod/Frequency."""
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
    return Entry(
        guid=(raw.get("id") or "").strip() or None,
        link=_link(raw, base_url),
        title=_title(raw),
        text=text,
        published_at=_published(raw),
        language=language_tag((raw.get("title_detail") or {}).get("language")) or feed_language,
        summary_only=summary_only,
    )


def _link(raw: dict[str, Any], base_url: str) -> str | None:
    """The entry's http(s) link, absolute; never one made up from a GUID that is no URL."""
    if raw.get("guidislink"):  # feedparser's copy of the GUID: a link only if a URL
        guid = str(raw.get("link") or "").strip()
        return guid if is_http_url(guid) else http_link(_alternate(raw), base_url)
    return http_link(raw.get("link"), base_url) or http_link(_alternate(raw), base_url)


def http_link(link: Any, base_url: str) -> str | None:
    """``link`` resolved against the base, if that gives an http(s) URL."""
    if not isinstance(link, str) or not link.strip():
        return None
    absolute = urljoin(base_url, link.strip())
    return absolute if is_http_url(absolute) else None


def is_http_url(value: str) -> bool:
    """An absolute http(s) URL with a host."""
    head = value[:8].lower()
    return head.startswith(("http://", "https://")) and len(value.split("/", 3)[2:3][0]) > 0


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


def language_tag(value: Any) -> str | None:
    """A declared language as records carry it (``en_US`` -> ``en-US``), or None."""
    if not isinstance(value, str) or not value.strip():
        return None
    return value.strip().replace("_", "-")[:35]
