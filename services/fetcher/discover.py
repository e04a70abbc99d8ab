"""``sources discover URL``: look at a site and propose a sources entry.

Tries, in order, what a person would: the page itself (is it a feed, or a sitemap?),
its ``<link rel="alternate">`` feeds, the WordPress REST API, common feed paths, and
sitemaps (``robots.txt`` ``Sitemap:`` lines and the usual names). Every candidate is
fetched through the same client as polling (address guard, limits, politeness) and
parsed, so a proposal is only made for something that actually yields entries.

When nothing is proposed, the command says why, in one line an operator can act on:
the network guard refused the address (and the ``--allow-network`` that opens it),
the connection was refused, the name does not resolve, the server timed out or
answered an HTTP error, or the page was fetched but offers no feed, API, sitemap or
article links (then every URL tried is listed with what it gave).

The proposal: ``name`` is the page's title, else the feed's own title (``<title>`` of
the channel / Atom feed / JSON Feed), else the host; ``language`` is the page's
``lang``, else what the feed declares (RSS ``<language>``, Atom ``xml:lang``, JSON
Feed ``language``); ``id`` is a slug of the name folded to ASCII, plus the language
(``rudaw-en``), or, for a name with too little Latin in it (an Arabic title), the host
and the path of the proposed URL (``rudaw.net-rss-ar``), so two feeds of one host get
two ids. Ids already used by the file given with ``--sources`` are not proposed again.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
import ssl
import sys
import unicodedata
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO
from urllib.parse import urljoin, urlsplit

import yaml
from selectolax.lexbor import LexborHTMLParser

from newswire.common.settings import FetcherSettings, Settings
from newswire.fetcher.errors import FetchError, FetchErrorKind, SourcesFileError
from newswire.fetcher.fetch.client import FetchResponse, HttpClient
from newswire.fetcher.fetch.netguard import resolve
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
from newswire.fetcher.sources import load_sources, url_problem

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
SITEMAP_FORMATS = frozenset({DocFormat.SITEMAP, DocFormat.SITEMAP_INDEX})
GENERIC_LINKS = "article a[href], h2 a[href], h3 a[href]"
_ROBOTS_SITEMAP = re.compile(r"^\s*sitemap\s*:\s*(\S+)", re.IGNORECASE | re.MULTILINE)
_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}$")
#: Candidate URLs fetched at most, whatever the site offers.
MAX_PROBES = 16
#: Longest proposed id (the schema allows 100).
MAX_ID = 60
#: Letters a folded name needs to make an id of its own (else host + path).
MIN_ID_LETTERS = 3
#: Letters NFKD does not decompose to ASCII.
_FOLD = str.maketrans(
    {"ß": "ss", "æ": "ae", "Æ": "ae", "ø": "o", "Ø": "o", "œ": "oe", "Œ": "oe", "ł": "l"}
    | {"Ł": "l", "đ": "d", "Đ": "d", "þ": "th", "Þ": "th", "\u0131": "i", "ð": "d", "Ð": "d"}
)
_KIND_ORDER = {"feed": 0, "wordpress": 1, "sitemap": 2, "html": 3}


@dataclass(frozen=True, slots=True)
class Candidate:
    kind: str  # feed | wordpress | sitemap | html
    url: str
    entries: int
    how: str  # where it was found
    format: str = ""
    title: str | None = None  # what the document calls itself
    language: str | None = None  # what the document declares


@dataclass(frozen=True, slots=True)
class Attempt:
    """A URL tried that gave no candidate, and what it gave instead."""

    url: str
    how: str
    outcome: str


@dataclass(frozen=True, slots=True)
class Page:
    """What the URL itself answered."""

    url: str
    status: int
    content_type: str
    size: int
    format: str


@dataclass
class Discovery:
    site: str
    language: str | None
    title: str | None
    candidates: list[Candidate]
    #: Why the URL itself could not be fetched or read (then there are no candidates).
    error: FetchError | None = None
    #: Addresses the network guard refused, for the ``--allow-network`` hint.
    blocked: list[str] = field(default_factory=list)
    page: Page | None = None
    attempts: list[Attempt] = field(default_factory=list)

    def best(self) -> Candidate | None:
        """Feeds with entries, then the WP API, then news sitemaps, then the HTML listing."""
        usable = [c for c in self.candidates if c.entries > 0]
        return min(usable, key=lambda c: (_KIND_ORDER[c.kind], -c.entries)) if usable else None

    def proposal(self, taken: Collection[str] = ()) -> dict[str, object] | None:
        """A sources entry for the best candidate (``verified: false``); ids in ``taken``
        are avoided."""
        best = self.best()
        if best is None:
            return None
        url = self.site if best.kind == "wordpress" else best.url
        host = urlsplit(url).hostname or "site"
        name = self.title or best.title or host.removeprefix("www.")
        language = _primary_language(self.language) or _primary_language(best.language)
        entry: dict[str, object] = {
            "id": propose_id(name, url, language, taken),
            "name": name[:500],
            "kind": best.kind,
            "url": url,
        }
        if language:
            entry["language"] = language
        if best.kind == "html":
            entry["identity"] = "link"
            entry["selectors"] = {"links": GENERIC_LINKS, "title": "h1"}
        entry["verified"] = False
        return entry


# --- ids -------------------------------------------------------------------------------


def ascii_fold(text: str) -> str:
    """``Dépêches`` -> ``Depeches``; letters with no ASCII form (Arabic) are dropped."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_FOLD))
    return "".join(ch for ch in decomposed if ch.isascii())


def slug(text: str, limit: int = MAX_ID) -> str:
    """Lowercase ASCII words joined by ``-``, cut at a word boundary within ``limit``."""
    words = re.sub(r"[^a-z0-9]+", "-", ascii_fold(text).lower()).strip("-")
    if len(words) > limit:
        words = words[:limit].rsplit("-", 1)[0] if "-" in words[:limit] else words[:limit]
    return words.strip("-")


def propose_id(
    name: str, url: str, language: str | None = None, taken: Collection[str] = ()
) -> str:
    """A stable id for a new source: see the module docstring."""
    named = slug(name)
    if sum(ch.isalpha() for ch in named) >= MIN_ID_LETTERS:
        base = named
        if language and language not in named.split("-"):
            base = f"{named[: MAX_ID - len(language) - 1].rstrip('-')}-{language}"
    else:
        base = _host_path_id(url)
    if base not in taken:
        return base
    where = _host_path_id(url)
    for candidate in (f"{base}-{where}"[:MAX_ID].rstrip("-._"), where):
        if candidate not in taken:
            return candidate
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


def _host_path_id(url: str) -> str:
    parts = urlsplit(url)
    host = (parts.hostname or "site").lower().removeprefix("www.")
    host = re.sub(r"[^a-z0-9.-]+", "-", ascii_fold(host)).strip("-.") or "site"
    path = re.sub(r"\.(xml|rss|atom|json|php|aspx?|html?)$", "", parts.path.rstrip("/"))
    rest = slug(f"{path} {parts.query}", limit=MAX_ID - len(host) - 1)
    return f"{host}-{rest}" if rest else host


def _primary_language(value: str | None) -> str | None:
    """``en-GB`` / ``ar_IQ`` -> ``en`` / ``ar``; None for anything that is not a code."""
    if not value:
        return None
    primary = re.split(r"[-_]", value.strip(), maxsplit=1)[0].lower()
    return primary if _LANGUAGE.match(primary) else None


# --- probing ---------------------------------------------------------------------------


class _Prober:
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


def _candidate(kind: str, url: str, how: str, found: tuple[str, Document]) -> Candidate:
    format_, document = found
    return Candidate(kind, url, _count(document), how, format_, document.title, document.language)


async def discover(http: HttpClient, url: str) -> Discovery:
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
    final_url = discovery.site = response.url
    try:
        html = _text(response)
    except FetchError as error:
        discovery.error = error
        return discovery
    format_ = sniff_format(html)
    discovery.page = Page(
        final_url,
        response.status,
        response.headers.get("content-type", "-").split(";")[0].strip(),
        len(response.body),
        format_.value,
    )
    if format_ in FEED_FORMATS or format_ in SITEMAP_FORMATS:
        kind = "feed" if format_ in FEED_FORMATS else "sitemap"
        try:
            document = parse_text(html, base_url=final_url, accept=FEED_FORMATS | SITEMAP_FORMATS)
        except FetchError as error:
            discovery.error = error
            return discovery
        discovery.candidates.append(
            _candidate(kind, final_url, "the URL itself", (format_.value, document))
        )
        return discovery
    tree = LexborHTMLParser(html)
    discovery.language = page_language(html)
    title = tree.css_first("title")
    discovery.title = (" ".join(title.text().split()) or None) if title is not None else None
    await _alternates(prober, discovery, tree, final_url)
    await _wordpress(prober, discovery, html, final_url)
    await _common_paths(prober, discovery, final_url)
    await _sitemaps(prober, discovery, final_url)
    links = listing_links(html, page_url=final_url, selector=GENERIC_LINKS)
    discovery.candidates.append(
        Candidate("html", final_url, len(links), f"links matching {GENERIC_LINKS!r}")
    )
    return discovery


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
                discovery.candidates.append(_candidate("feed", href, "<link rel=alternate>", found))


async def _wordpress(prober: _Prober, discovery: Discovery, html: str, page_url: str) -> None:
    if "wp-content" not in html and "api.w.org" not in html and "wp-json" not in html:
        return
    root = urljoin(page_url, "/")
    found = await prober.document(
        posts_url(root, 1, per_page=5),
        frozenset({DocFormat.WORDPRESS, DocFormat.JSON}),
        "WP REST API",
    )
    if found:
        discovery.candidates.append(
            Candidate("wordpress", root, _count(found[1]), "WP REST API", found[0])
        )


async def _common_paths(prober: _Prober, discovery: Discovery, page_url: str) -> None:
    if any(c.kind == "feed" and c.entries for c in discovery.candidates):
        return
    for path in COMMON_FEED_PATHS:
        url = urljoin(page_url, "/" + path)
        found = await prober.document(url, FEED_FORMATS, "common feed path")
        if found and _count(found[1]):
            discovery.candidates.append(_candidate("feed", url, "common feed path", found))
            return


async def _sitemaps(prober: _Prober, discovery: Discovery, page_url: str) -> None:
    robots = await prober.text(urljoin(page_url, "/robots.txt"), "robots.txt")
    declared = _ROBOTS_SITEMAP.findall(robots[1]) if robots else []
    for url in [*declared, *(urljoin(page_url, "/" + name) for name in COMMON_SITEMAPS)]:
        how = "robots.txt" if url in declared else "common sitemap path"
        found = await prober.document(url, SITEMAP_FORMATS, how)
        if found and _count(found[1]):
            discovery.candidates.append(_candidate("sitemap", url, how, found))
            return


# --- saying what happened --------------------------------------------------------------


def short_reason(error: FetchError) -> str:
    """What a failed request gave, in a few words (``HTTP 404 Not Found``)."""
    if error.status is not None and error.kind in (
        FetchErrorKind.HTTP_4XX,
        FetchErrorKind.HTTP_5XX,
        FetchErrorKind.FORBIDDEN,
        FetchErrorKind.RATE_LIMITED,
    ):
        return f"HTTP {error.status} {error.detail}".rstrip()
    if error.kind is FetchErrorKind.UNSUPPORTED and error.detail.startswith("body is "):
        return f"not a usable document ({error.detail})"
    return f"{error.kind}: {error.detail}"


def _causes(error: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and len(chain) < 10:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def describe_failure(discovery: Discovery, url: str) -> list[str]:
    """Why the URL itself gave nothing, and what to do about it (lines for stderr)."""
    error = discovery.error
    assert error is not None
    at = error.url or url
    host = urlsplit(at).hostname or at
    port = urlsplit(at).port
    hop = f" (redirected to {at})" if at.rstrip("/") != url.rstrip("/") else ""
    kind = error.kind
    if kind is FetchErrorKind.BLOCKED_ADDRESS:
        addresses = ", ".join(discovery.blocked)
        what = " and ".join(sorted({_address_class(a) for a in discovery.blocked}))
        if not discovery.blocked:
            said = f"{host} is not a public address"
        elif addresses == host.strip("[]"):
            said = f"{host} is a {what} address"
        else:
            said = f"{host} resolves to {addresses} ({what})"
        networks = [_single_network(a) for a in discovery.blocked] or ["CIDR"]
        allow = " ".join(f"--allow-network {n}" for n in networks)
        return [
            f"{url}: refused by the network guard{hop}: {said}; the fetcher only connects to "
            "public addresses",
            f"to allow it: newswire sources discover {url} {allow}",
        ]
    if kind is FetchErrorKind.NETWORK:
        return [f"{url}: {_network_reason(error, host, port)}{hop}"]
    if kind is FetchErrorKind.TIMEOUT:
        return [f"{url}: timed out{hop}: {_timeout_reason(error, host, port)}"]
    if kind is FetchErrorKind.BOT_CHALLENGE:
        status = f" (HTTP {error.status})" if error.status is not None else ""
        return [f"{url}: a bot challenge page (CDN/WAF) answered instead of the site{status}{hop}"]
    if error.status is not None:
        line = f"{url}: HTTP {error.status} {error.detail}{hop}".rstrip()
        advice = {
            FetchErrorKind.FORBIDDEN: "the server refuses the fetcher (some sites block "
            "unknown user agents or whole networks)",
            FetchErrorKind.RATE_LIMITED: "rate limited: try again later",
        }.get(kind)
        return [f"{line}: {advice}" if advice else line]
    page = discovery.page
    if page is not None and kind in (FetchErrorKind.MALFORMED, FetchErrorKind.UNSAFE_XML):
        return [f"{url}: fetched, looks like {page.format}, but cannot be read: {error.detail}"]
    return [f"{url}: {kind}{hop}: {error.detail}"]


def _timeout_reason(error: FetchError, host: str, port: int | None) -> str:
    where = f"{host} port {port}" if port else host
    name, _, rest = error.detail.partition(":")
    said = {
        "ConnectTimeout": f"no connection to {where} within the connect timeout",
        "ReadTimeout": "the server stopped sending (read timeout)",
        "WriteTimeout": "the server stopped reading the request (write timeout)",
        "PoolTimeout": "no free connection (pool timeout)",
    }.get(name)
    if said is None:
        return error.detail
    return f"{said}: {rest.strip()}" if rest.strip() else said


def _network_reason(error: FetchError, host: str, port: int | None) -> str:
    where = f"{host} port {port}" if port else host
    for cause in _causes(error):
        if isinstance(cause, socket.gaierror):
            return f"DNS lookup failed: no address for {host} ({cause.strerror or cause})"
        if isinstance(cause, ConnectionRefusedError):
            return f"connection refused: nothing is listening on {where}"
        if isinstance(cause, ssl.SSLError):
            return f"TLS handshake with {where} failed: {cause.reason or cause}"
        if isinstance(cause, ConnectionResetError):
            return f"connection reset by {where}"
        if isinstance(cause, OSError) and cause.errno in (101, 113):  # (host) unreachable
            return f"{where} is unreachable: {cause.strerror}"
    if "cannot resolve" in error.detail:
        return f"DNS lookup failed: {error.detail.partition('cannot resolve ')[2]}"
    return f"network error: {error.detail}"


def _address_class(address: str) -> str:
    ip = ipaddress.ip_address(address)
    for name, test in (
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("private", ip.is_private),
        ("multicast", ip.is_multicast),
    ):
        if test:
            return name
    return "reserved"


def _single_network(address: str) -> str:
    ip = ipaddress.ip_address(address)
    return f"{ip}/{ip.max_prefixlen}"


def render(discovery: Discovery, out: TextIO, err: TextIO, *, taken: Collection[str] = ()) -> int:
    """The proposal (YAML) on ``out``; candidates, or why there is none, on ``err``.

    0 with a proposal; 1 when the URL could not be fetched or offers nothing usable.
    """
    if discovery.error is not None and not discovery.candidates:
        for line in describe_failure(discovery, discovery.site):
            print(line, file=err)
        return 1
    for c in discovery.candidates:
        print(
            f"candidate kind={c.kind} entries={c.entries} format={c.format or '-'} "
            f"via={c.how!r} url={c.url}",
            file=err,
        )
    proposal = discovery.proposal(taken)
    if proposal is None:
        for line in _nothing_found(discovery):
            print(line, file=err)
        return 1
    out.write(yaml.safe_dump({"sources": [proposal]}, allow_unicode=True, sort_keys=False))
    return 0


def _nothing_found(discovery: Discovery) -> list[str]:
    page = discovery.page
    fetched = (
        f"HTTP {page.status}, {page.content_type}, {page.size} bytes, {page.format}"
        if page is not None
        else "fetched"
    )
    if page is not None and page.format in {f.value for f in FEED_FORMATS | SITEMAP_FORMATS}:
        return [
            f"{discovery.site}: fetched ({fetched}), but the {page.format} document has no "
            "entries yet: nothing to propose until it lists some"
        ]
    lines = [
        f"{discovery.site}: fetched ({fetched}), but found no feed, WordPress API, sitemap "
        "or article links"
    ]
    lines += [f"  tried {a.url} ({a.how}): {a.outcome}" for a in discovery.attempts]
    return lines


async def discover_to(
    group: FetcherSettings, url: str, out: TextIO, err: TextIO, *, taken: Collection[str] = ()
) -> int:
    async with HttpClient(group) as http:
        return render(await discover(http, url), out, err, taken=taken)


def command_url(url: str, err: TextIO) -> str | None:
    """The URL to discover from the command line's argument, or None (a usage error,
    said on ``err``). A bare host (``www.example.iq/news``) is taken as https."""
    reason = url_problem(url)
    if reason is None:
        return url.strip()
    if reason.startswith("no scheme"):
        fixed = "https://" + url.strip()
        if url_problem(fixed) is None:
            print(f"no scheme given: using {fixed}", file=err)
            return fixed
    print(f'newswire sources discover: "{url}" is not an http(s) URL ({reason})', file=err)
    return None


def discover_command(
    settings: Settings,
    url: str,
    *,
    allow_network: Sequence[str] = (),
    sources: Path | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """``newswire sources discover URL``: candidates on stderr, a proposed entry (YAML)
    on stdout. Exit status: 0 proposal; 1 nothing usable (and why); 2 usage error (not
    an http(s) URL, a bad ``--allow-network``, an unusable ``--sources`` file)."""
    from newswire.fetcher.commands import fetcher_settings

    out, err = out or sys.stdout, err or sys.stderr
    target = command_url(url, err)
    if target is None:
        return 2
    for cidr in allow_network:
        try:
            ipaddress.ip_network(cidr.strip(), strict=False)
        except ValueError:
            print(
                f'newswire sources discover: --allow-network "{cidr}" is not a network '
                "(write a CIDR such as 127.0.0.1/32 or 10.0.0.0/8)",
                file=err,
            )
            return 2
    taken: set[str] = set()
    if sources is not None:
        try:
            taken = {s.id for s in load_sources(sources)}
        except SourcesFileError as error:
            print(
                f"newswire sources discover: --sources {sources}: {error.problems[0]} "
                f"(see: newswire sources check {sources})",
                file=err,
            )
            return 2
    group = fetcher_settings(settings, allow_network)
    return asyncio.run(discover_to(group, target, out, err, taken=taken))
