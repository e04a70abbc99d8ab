"""Feed-less outlets: article links from a listing page, then title/date/body from each
article page by CSS selector, falling back to trafilatura's extractor where a
selector finds nothing (or none was given).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urljoin

from selectolax.lexbor import LexborHTMLParser, LexborNode

from newswire.common.urls import InvalidUrl, canonical_url
from newswire.fetcher.parse.dates import parse_date
from newswire.fetcher.parse.htmltext import absolute, document_base, node_text, tidy
from newswire.fetcher.parse.model import DocFormat, Document, Entry
from newswire.fetcher.sources.model import Selectors

log = logging.getLogger(__name__)

#: Attributes holding a machine-readable date, in the order they are trusted.
_DATE_ATTRIBUTES = ("datetime", "content", "data-date", "title")
_META_DATES = (
    "meta[property='article:published_time']",
    "meta[name='pubdate']",
    "meta[itemprop='datePublished']",
    "meta[name='date']",
    "time[datetime]",
)


def listing_links(html: str, *, page_url: str, selector: str) -> dict[str, str | None]:
    """Absolute article URLs on a listing page -> their anchor text, in page order, each
    once, on the listing's own site only (ads and partner links are not articles)."""
    tree = LexborHTMLParser(html)
    base = document_base(tree, page_url)
    site = _site(page_url)
    found: dict[str, str | None] = {}
    for node in tree.css(selector):
        anchor = node if node.tag == "a" else node.css_first("a[href]")
        url = absolute(base, anchor.attributes.get("href") if anchor is not None else None)
        if url and _site(url) == site:
            label = " ".join(node_text(anchor).split()) if anchor is not None else ""
            found.setdefault(url.split("#", 1)[0], label or None)
    return found


def listing_document(html: str, *, page_url: str, selector: str, language: str | None) -> Document:
    entries = [
        Entry(guid=url, link=url, title=label, text="", summary_only=True)
        for url, label in listing_links(html, page_url=page_url, selector=selector).items()
    ]
    return Document(
        format=DocFormat.HTML, entries=entries, language=language or page_language(html)
    )


def next_page_url(
    html: str,
    *,
    page_url: str,
    listing_url: str,
    selector: str | None,
    numbered: str | None,
    number: int,
) -> str | None:
    """The listing's next page (page ``number``), on the listing's own site, or None.

    Tried in order: the configured selector, ``<link rel=next>`` / ``<a rel=next>``, the
    configured numbered-page template (``{n}`` replaced by ``number``, resolved against
    the listing's first page, ``listing_url``)."""
    tree = LexborHTMLParser(html)
    base = document_base(tree, page_url)
    candidates = [_selected_href(tree, selector) if selector else None, _rel_next(tree)]
    found = [absolute(base, href) for href in candidates]
    if numbered:
        found.append(urljoin(listing_url, numbered.replace("{n}", str(number))))
    site = _site(page_url)
    for url in found:
        if url and _site(url) == site:
            return url.split("#", 1)[0]
    return None


def _selected_href(tree: LexborHTMLParser, css: str) -> str | None:
    node = tree.css_first(css)
    if node is None:
        return None
    anchor = node if node.tag in ("a", "link") else node.css_first("a[href]")
    return anchor.attributes.get("href") if anchor is not None else None


def _rel_next(tree: LexborHTMLParser) -> str | None:
    for node in tree.css("link[rel][href], a[rel][href]"):
        if "next" in (node.attributes.get("rel") or "").lower().split():
            return node.attributes.get("href")
    return None


@dataclass(frozen=True, slots=True)
class Article:
    title: str | None
    text: str
    published_at: datetime | None
    language: str | None
    extractor: str  # selectors | trafilatura | none


def extract_article(html: str, *, url: str, selectors: Selectors | None) -> Article:
    """Title, date and body of an article page: selectors first, trafilatura for what they miss."""
    tree = LexborHTMLParser(html)
    for css in selectors.remove if selectors else ():
        for node in tree.css(css):
            node.decompose()
    title = _first_text(
        tree, selectors.title if selectors and selectors.title else "h1"
    ) or _meta_title(tree)
    published = _date(tree, selectors.published if selectors else None)
    body = _selected_text(tree, selectors.body) if selectors and selectors.body else ""
    extractor = "selectors"
    if not body:
        body, extractor = _without_title(_fallback_text(html, url), title), "trafilatura"
    return Article(title, body, published, page_language(html), extractor if body else "none")


def _site(url: str) -> str:
    try:
        host = canonical_url(url).split("/")[2]
    except (InvalidUrl, IndexError):
        return ""
    return host.removeprefix("www.")


def _first_text(tree: LexborHTMLParser, css: str) -> str | None:
    node = tree.css_first(css)
    return " ".join(node_text(node).split()) or None if node is not None else None


def _meta_title(tree: LexborHTMLParser) -> str | None:
    meta = tree.css_first("meta[property='og:title']")
    if meta is not None and meta.attributes.get("content"):
        return tidy(meta.attributes["content"] or "") or None
    title = tree.css_first("title")
    return (" ".join(node_text(title).split()) or None) if title is not None else None


def _selected_text(tree: LexborHTMLParser, css: str) -> str:
    return "\n\n".join(text for node in tree.css(css) if (text := node_text(node)))


def _date(tree: LexborHTMLParser, css: str | None) -> datetime | None:
    for selector in ([css] if css else []) + list(_META_DATES):
        for node in tree.css(selector):
            value = _node_date(node)
            if value is not None:
                return value
    return None


def _node_date(node: LexborNode) -> datetime | None:
    for name in _DATE_ATTRIBUTES:
        value = parse_date(node.attributes.get(name))
        if value is not None:
            return value
    return parse_date(" ".join(node_text(node).split()))


def _without_title(text: str, title: str | None) -> str:
    """Extractors often repeat the headline as the first line of the body."""
    first, _, rest = text.partition("\n")
    return rest.strip() if title and first.strip() == title.strip() and rest.strip() else text


def page_language(html: str) -> str | None:
    tree = LexborHTMLParser(html[:16384])
    node = tree.css_first("html[lang]")
    lang = node.attributes.get("lang") if node is not None else None
    return lang.strip()[:35] if lang and lang.strip() else None


def _fallback_text(html: str, url: str) -> str:
    """trafilatura's main-text extraction; empty if it is not installed or finds nothing."""
    try:
        import trafilatura
    except ImportError:  # optional: selectors still work without it
        return ""
    try:
        text = trafilatura.extract(
            html, url=url, include_comments=False, include_tables=False, favor_precision=True
        )
    except Exception as exc:
        log.debug("trafilatura failed on %s: %s", url, exc)
        return ""
    return tidy(text or "")
