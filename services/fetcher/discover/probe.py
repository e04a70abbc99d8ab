"""Fetching and trying a site's candidates, in the order a person would (see the
package docstring)."""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

from selectolax.lexbor import LexborHTMLParser

from newswire.fetcher.discover.explain import short_reason
from newswire.fetcher.discover.model import GENERIC_LINKS, Attempt, Candidate, Discovery, Page
from newswire.fetcher.errors import FetchError, FetchErrorKind
from newswire.fetcher.fetch.client import FetchResponse, HttpClient
from newswire.fetcher.fetch.netguard import resolve
from newswire.fetcher.kinds.sitemap import SitemapKind
from newswire.fetcher.kinds.wordpress import WordPressKind
from newswire.fetcher.parse import (
    FEED_FORMATS,
    DocFormat,
    Document,
    decode_body,
    parse_text,
    sniff_format,
)
from newswire.fetcher.parse.html import listing_links, page_language
from newswire.fetcher.parse.wordpress import posts_url
from newswire.fetcher.sources.model import SourceKind

FEED_TYPES = (
    "application/rss+xml",
    "application/atom+xml",
    "application/feed+json",
    "application/json",
    "application/rdf+xml",
    "text/xml",
    "application/xml",
)
COMMON_FEED_PATHS = (
    "feed",
    "rss",
    "rss.xml",
    "feed.xml",
    "atom.xml",
    "index.xml",
    "feeds/posts/default",
    "?feed=rss2",
)
COMMON_SITEMAPS = ("news-sitemap.xml", "sitemap-news.xml", "sitemap_index.xml", "sitemap.xml")
SITEMAP_FORMATS = SitemapKind.formats
_ROBOTS_SITEMAP = re.compile(r"^\s*sitemap\s*:\s*(\S+)", re.IGNORECASE | re.MULTILINE)
#: Candidate URLs fetched at most, whatever the site offers.
MAX_PROBES = 16


class _Prober:
    """Fetches candidate URLs for one discovery: each URL once, at most ``MAX_PROBES``,
    and every one that gives nothing is recorded with what it gave instead."""

    def __init__(self, http: HttpClient, discovery: Discovery) -> None:
        self._http = http
        self._discovery = discovery
        self.probes = 0
        self.tried: set[str] = set()

    async def document(
        self, url: str, accept: frozenset[DocFormat], how: str
    ) -> tuple[str, Document] | None:
        """(format, document) of ``url`` if it parses as one of ``accept``."""
        if url in self.tried or self.probes >= MAX_PROBES:
            return None
        self.tried.add(url)
        self.probes += 1
        try:
            response = await self._http.get(url)
            text = _text(response)
            document = parse_text(text, base_url=response.url, accept=accept)
        except FetchError as error:
            self._discovery.attempts.append(Attempt(url, how, short_reason(error)))
            return None
        if not document.entries and not document.children:
            self._discovery.attempts.append(
                Attempt(url, how, f"a {document.format.value} document with no entries")
            )
        return document.format.value, document

    async def text(self, url: str, how: str) -> tuple[str, str] | None:
        self.tried.add(url)
        try:
            response = await self._http.get(url)
        except FetchError as error:
            self._discovery.attempts.append(Attempt(url, how, short_reason(error)))
            return None
        return response.url, _text(response)


def _text(response: FetchResponse) -> str:
    return decode_body(response.body, content_type=response.headers.get("content-type")).text


def _count(document: Document) -> int:
    return len(document.entries) + len(document.children)


def _candidate(kind: SourceKind, url: str, how: str, found: tuple[str, Document]) -> Candidate:
    format_, document = found
    return Candidate(kind, url, _count(document), how, format_, document.title, document.language)


async def discover(http: HttpClient, url: str) -> Discovery:
    """Everything ``url`` offers: the URL itself when it is a feed or sitemap, else the
    candidates found from its page. Never raises for what the site does: a failure of
    the URL itself is ``Discovery.error``, a failure of a candidate an ``Attempt``."""
    discovery = Discovery(url, None, None, [])
    try:
        response = await http.get(url)
    except FetchError as error:
        discovery.error = error
        if error.kind is FetchErrorKind.BLOCKED_ADDRESS:
            discovery.blocked = await _refused_addresses(http, error.url or url)
        return discovery
    prober = _Prober(http, discovery)
    prober.tried.add(url)
    discovery.site = response.url
    try:
        html = _text(response)
    except FetchError as error:
        discovery.error = error
        return discovery
    format_ = sniff_format(html)
    discovery.page = _page(response, format_)
    if format_ in FEED_FORMATS or format_ in SITEMAP_FORMATS:
        _the_url_itself(discovery, html, format_)
    else:
        await _from_the_page(prober, discovery, html)
    return discovery


def _page(response: FetchResponse, format_: DocFormat) -> Page:
    content_type = response.headers.get("content-type", "-").split(";")[0].strip()
    return Page(response.url, response.status, content_type, len(response.body), format_.value)


def _the_url_itself(discovery: Discovery, text: str, format_: DocFormat) -> None:
    """A feed or sitemap was given: it is the one candidate (or why it cannot be read)."""
    kind = SourceKind.FEED if format_ in FEED_FORMATS else SourceKind.SITEMAP
    try:
        document = parse_text(text, base_url=discovery.site, accept=FEED_FORMATS | SITEMAP_FORMATS)
    except FetchError as error:
        discovery.error = error
        return
    discovery.candidates.append(
        _candidate(kind, discovery.site, "the URL itself", (format_.value, document))
    )


async def _from_the_page(prober: _Prober, discovery: Discovery, html: str) -> None:
    """A page was given: its language and title, then every way to its items, best first,
    and last its own article links."""
    page_url = discovery.site
    tree = LexborHTMLParser(html)
    discovery.language = page_language(html)
    title = tree.css_first("title")
    discovery.title = (" ".join(title.text().split()) or None) if title is not None else None
    await _alternates(prober, discovery, tree, page_url)
    await _wordpress(prober, discovery, html, page_url)
    await _common_paths(prober, discovery, page_url)
    await _sitemaps(prober, discovery, page_url)
    links = listing_links(html, page_url=page_url, selector=GENERIC_LINKS)
    discovery.candidates.append(
        Candidate(SourceKind.HTML, page_url, len(links), f"links matching {GENERIC_LINKS!r}")
    )


async def _refused_addresses(http: HttpClient, url: str) -> list[str]:
    """The addresses of ``url``'s host the guard refuses (resolved again, as it did)."""
    parts = urlsplit(url)
    if not parts.hostname:
        return []
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        addresses = await resolve(parts.hostname, port, timeout_s=5.0)
    except Exception:  # the hint is a courtesy: never fail on it
        return []
    return [str(a) for a in addresses if not http.policy.allows(a)]


async def _alternates(
    prober: _Prober, discovery: Discovery, tree: LexborHTMLParser, page_url: str
) -> None:
    for link in tree.css("link[rel~='alternate'][href]"):
        kind = (link.attributes.get("type") or "").lower()
        if kind in FEED_TYPES:
            href = urljoin(page_url, link.attributes.get("href") or "")
            found = await prober.document(href, FEED_FORMATS, "<link rel=alternate>")
            if found:
                discovery.candidates.append(
                    _candidate(SourceKind.FEED, href, "<link rel=alternate>", found)
                )


async def _wordpress(prober: _Prober, discovery: Discovery, html: str, page_url: str) -> None:
    if "wp-content" not in html and "api.w.org" not in html and "wp-json" not in html:
        return
    root = urljoin(page_url, "/")
    found = await prober.document(
        posts_url(root, 1, per_page=5),
        WordPressKind.formats,
        "WP REST API",
    )
    if found:
        discovery.candidates.append(
            Candidate(SourceKind.WORDPRESS, root, _count(found[1]), "WP REST API", found[0])
        )


async def _common_paths(prober: _Prober, discovery: Discovery, page_url: str) -> None:
    if any(c.kind is SourceKind.FEED and c.entries for c in discovery.candidates):
        return
    for path in COMMON_FEED_PATHS:
        url = urljoin(page_url, "/" + path)
        found = await prober.document(url, FEED_FORMATS, "common feed path")
        if found and _count(found[1]):
            discovery.candidates.append(_candidate(SourceKind.FEED, url, "common feed path", found))
            return


async def _sitemaps(prober: _Prober, discovery: Discovery, page_url: str) -> None:
    robots = await prober.text(urljoin(page_url, "/robots.txt"), "robots.txt")
    declared = _ROBOTS_SITEMAP.findall(robots[1]) if robots else []
    for url in [*declared, *(urljoin(page_url, "/" + name) for name in COMMON_SITEMAPS)]:
        how = "robots.txt" if url in declared else "common sitemap path"
        found = await prober.document(url, SITEMAP_FORMATS, how)
        if found and _count(found[1]):
            discovery.candidates.append(_candidate(SourceKind.SITEMAP, url, how, found))
            return
