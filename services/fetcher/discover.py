"""``sources discover URL``: look at a site and propose a sources entry.

Tries, in order, what a person would: the page itself (is it a feed?), its
``<link rel="alternate">`` feeds, the WordPress REST API, common feed paths, and
sitemaps (``robots.txt`` ``Sitemap:`` lines and the usual names). Every candidate is
fetched through the same client as polling (address guard, limits, politeness) and
parsed, so a proposal is only made for something that actually yields entries.
"""

from __future__ import annotations

import asyncio
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TextIO
from urllib.parse import urljoin, urlsplit

import yaml
from selectolax.lexbor import LexborHTMLParser

from newswire.common.settings import Settings
from newswire.fetcher.errors import FetchError
from newswire.fetcher.fetch.client import HttpClient
from newswire.fetcher.parse import FEED_FORMATS, DocFormat, decode_body, parse_text, sniff_format
from newswire.fetcher.parse.html import listing_links, page_language
from newswire.fetcher.parse.wordpress import posts_url
from newswire.common.settings import FetcherSettings

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
GENERIC_LINKS = "article a[href], h2 a[href], h3 a[href]"
_ROBOTS_SITEMAP = re.compile(r"^\s*sitemap\s*:\s*(\S+)", re.IGNORECASE | re.MULTILINE)
#: Candidate URLs fetched at most, whatever the site offers.
MAX_PROBES = 16


@dataclass(frozen=True, slots=True)
class Candidate:
    kind: str  # feed | wordpress | sitemap | html
    url: str
    entries: int
    how: str  # where it was found
    format: str = ""


@dataclass
class Discovery:
    site: str
    language: str | None
    title: str | None
    candidates: list[Candidate]

    def best(self) -> Candidate | None:
        """Feeds with entries, then the WP API, then news sitemaps, then the HTML listing."""
        order = {"feed": 0, "wordpress": 1, "sitemap": 2, "html": 3}
        usable = [c for c in self.candidates if c.entries > 0]
        return min(usable, key=lambda c: (order[c.kind], -c.entries)) if usable else None

    def proposal(self) -> dict[str, object] | None:
        best = self.best()
        if best is None:
            return None
        host = urlsplit(self.site).hostname or "site"
        entry: dict[str, object] = {
            "id": re.sub(r"[^a-z0-9._-]+", "-", host.lower().removeprefix("www.")).strip("-")
            or "site",
            "name": self.title or host,
            "kind": best.kind,
            "url": self.site if best.kind == "wordpress" else best.url,
        }
        if self.language:
            entry["language"] = self.language.split("-", 1)[0].lower()
        if best.kind == "html":
            entry["identity"] = "link"
            entry["selectors"] = {"links": GENERIC_LINKS, "title": "h1"}
        entry["verified"] = False
        return entry


class _Prober:
    def __init__(self, http: HttpClient) -> None:
        self._http = http
        self.probes = 0
        self.tried: set[str] = set()

    async def document(self, url: str, accept: frozenset[DocFormat]) -> tuple[str, int] | None:
        """(format, entry count) of ``url`` if it parses as one of ``accept``."""
        if url in self.tried or self.probes >= MAX_PROBES:
            return None
        self.tried.add(url)
        self.probes += 1
        try:
            response = await self._http.get(url)
            text = decode_body(
                response.body, content_type=response.headers.get("content-type")
            ).text
            document = parse_text(text, base_url=response.url, accept=accept)
        except FetchError:
            return None
        return document.format.value, len(document.entries) + len(document.children)

    async def text(self, url: str) -> tuple[str, str] | None:
        try:
            response = await self._http.get(url)
        except FetchError:
            return None
        return response.url, decode_body(
            response.body, content_type=response.headers.get("content-type")
        ).text


async def discover(http: HttpClient, url: str) -> Discovery:
    prober = _Prober(http)
    page = await prober.text(url)
    if page is None:
        return Discovery(url, None, None, [])
    final_url, html = page
    discovery = Discovery(final_url, None, None, [])
    if sniff_format(html) in FEED_FORMATS:
        found = await prober.document(final_url, FEED_FORMATS)
        if found:
            discovery.candidates.append(
                Candidate("feed", final_url, found[1], "the URL itself", found[0])
            )
        return discovery
    tree = LexborHTMLParser(html)
    discovery.language = page_language(html)
    title = tree.css_first("title")
    discovery.title = " ".join(title.text().split()) if title is not None else None
    await _alternates(prober, discovery, tree, final_url)
    await _wordpress(prober, discovery, html, final_url)
    await _common_paths(prober, discovery, final_url)
    await _sitemaps(prober, discovery, final_url)
    links = listing_links(html, page_url=final_url, selector=GENERIC_LINKS)
    discovery.candidates.append(
        Candidate("html", final_url, len(links), f"links matching {GENERIC_LINKS!r}")
    )
    return discovery


async def _alternates(
    prober: _Prober, discovery: Discovery, tree: LexborHTMLParser, page_url: str
) -> None:
    for link in tree.css("link[rel~='alternate'][href]"):
        kind = (link.attributes.get("type") or "").lower()
        if kind in FEED_TYPES:
            href = urljoin(page_url, link.attributes.get("href") or "")
            found = await prober.document(href, FEED_FORMATS)
            if found:
                discovery.candidates.append(
                    Candidate("feed", href, found[1], "<link rel=alternate>", found[0])
                )


async def _wordpress(prober: _Prober, discovery: Discovery, html: str, page_url: str) -> None:
    if "wp-content" not in html and "api.w.org" not in html and "wp-json" not in html:
        return
    root = urljoin(page_url, "/")
    found = await prober.document(
        posts_url(root, 1, per_page=5), frozenset({DocFormat.WORDPRESS, DocFormat.JSON})
    )
    if found:
        discovery.candidates.append(Candidate("wordpress", root, found[1], "WP REST API", found[0]))


async def _common_paths(prober: _Prober, discovery: Discovery, page_url: str) -> None:
    if any(c.kind == "feed" and c.entries for c in discovery.candidates):
        return
    for path in COMMON_FEED_PATHS:
        url = urljoin(page_url, "/" + path)
        found = await prober.document(url, FEED_FORMATS)
        if found:
            discovery.candidates.append(
                Candidate("feed", url, found[1], "common feed path", found[0])
            )
            return


async def _sitemaps(prober: _Prober, discovery: Discovery, page_url: str) -> None:
    robots = await prober.text(urljoin(page_url, "/robots.txt"))
    declared = _ROBOTS_SITEMAP.findall(robots[1]) if robots else []
    for url in [*declared, *(urljoin(page_url, "/" + name) for name in COMMON_SITEMAPS)]:
        found = await prober.document(url, frozenset({DocFormat.SITEMAP, DocFormat.SITEMAP_INDEX}))
        if found:
            how = "robots.txt" if url in declared else "common sitemap path"
            discovery.candidates.append(Candidate("sitemap", url, found[1], how, found[0]))
            return


def render(discovery: Discovery, out: TextIO, err: TextIO) -> int:
    for c in discovery.candidates:
        print(
            f"candidate kind={c.kind} entries={c.entries} format={c.format or '-'} via={c.how!r} url={c.url}",
            file=err,
        )
    proposal = discovery.proposal()
    if proposal is None:
        print(f"nothing usable found at {discovery.site}", file=err)
        return 1
    out.write(yaml.safe_dump({"sources": [proposal]}, allow_unicode=True, sort_keys=False))
    return 0


async def discover_to(group: FetcherSettings, url: str, out: TextIO, err: TextIO) -> int:
    async with HttpClient(group) as http:
        return render(await discover(http, url), out, err)


def discover_command(settings: Settings, url: str, *, allow_network: Sequence[str] = ()) -> int:
    """``newswire sources discover URL``: candidates on stderr, a proposed entry (YAML) on stdout."""
    from newswire.fetcher.commands import fetcher_settings

    return asyncio.run(
        discover_to(fetcher_settings(settings, allow_network), url, sys.stdout, sys.stderr)
    )
