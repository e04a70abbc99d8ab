"""What discovery found at a site, and the sources entry proposed from it."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from newswire.fetcher.discover.ids import primary_language, propose_id
from newswire.fetcher.errors import FetchError
from newswire.fetcher.sources.model import SourceKind

#: Article links on a listing page of a site with nothing better (the html proposal).
GENERIC_LINKS = "article a[href], h2 a[href], h3 a[href]"
#: Which kind is proposed when several yield entries: the most complete items first.
KIND_ORDER = {
    SourceKind.FEED: 0,
    SourceKind.WORDPRESS: 1,
    SourceKind.SITEMAP: 2,
    SourceKind.HTML: 3,
}


@dataclass(frozen=True, slots=True)
class Candidate:
    kind: SourceKind
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
        return min(usable, key=lambda c: (KIND_ORDER[c.kind], -c.entries)) if usable else None

    def proposal(self, taken: Collection[str] = ()) -> dict[str, object] | None:
        """A sources entry for the best candidate (``verified: false``); ids in ``taken``
        are avoided."""
        best = self.best()
        if best is None:
            return None
        url = self.site if best.kind == SourceKind.WORDPRESS else best.url
        host = urlsplit(url).hostname or "site"
        name = self.title or best.title or host.removeprefix("www.")
        language = primary_language(self.language) or primary_language(best.language)
        entry: dict[str, object] = {
            "id": propose_id(name, url, language, taken),
            "name": name[:500],
            "kind": str(best.kind),  # plain text: safe_dump refuses enum members
            "url": url,
        }
        if language:
            entry["language"] = language
        if best.kind == SourceKind.HTML:
            entry["identity"] = "link"
            entry["selectors"] = {"links": GENERIC_LINKS, "title": "h1"}
        entry["verified"] = False
        return entry
