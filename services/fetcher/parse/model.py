"""What every format adapter produces: entries and document-level hints, nothing else.

Adapters (RSS/Atom via feedparser, JSON Feed, WordPress, sitemaps, HTML) differ in
what they read; the rest of the fetcher only ever sees these types.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class DocFormat(StrEnum):
    """A document's format, as sniffed from its body (never from URL or Content-Type)."""

    RSS = "rss"
    RDF = "rdf"
    ATOM = "atom"
    JSON_FEED = "jsonfeed"
    WORDPRESS = "wordpress"  # a WP REST posts array
    SITEMAP = "sitemap"
    SITEMAP_INDEX = "sitemapindex"
    HTML = "html"
    JSON = "json"  # JSON, but not a format we know
    UNKNOWN = "unknown"


FEED_FORMATS = frozenset({DocFormat.RSS, DocFormat.RDF, DocFormat.ATOM, DocFormat.JSON_FEED})


@dataclass(frozen=True, slots=True)
class Entry:
    """One item of a document. ``link`` is absolute but not yet canonical; ``text`` is
    plain text (possibly empty when only a link is known, as in a sitemap)."""

    guid: str | None
    link: str | None
    title: str | None
    text: str
    published_at: datetime | None = None
    language: str | None = None
    summary_only: bool = False


def has_something_to_read(entry: Entry) -> bool:
    """A title, some text, or a link whose page can supply them (a ``full_article``
    source fetches it): an entry with none of these is skipped and not marked seen, so
    it is read once it has text."""
    return bool(entry.title or entry.text.strip() or entry.link)


@dataclass(frozen=True, slots=True)
class ChildLink:
    """A document the parsed one points at (child sitemap) with its last-modified time."""

    url: str
    modified_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Document:
    """A parsed document: its entries, and what it says about itself."""

    format: DocFormat
    entries: list[Entry] = field(default_factory=list)
    title: str | None = None
    language: str | None = None
    #: Shortest interval the document asks for (RSS ttl, sy:updatePeriod/Frequency), seconds.
    poll_hint_s: float | None = None
    children: list[ChildLink] = field(default_factory=list)
    #: The parser recovered from errors (ill-formed XML); entries may be partial.
    recovered: bool = False
    #: What was wrong with the document although entries were read from it
    #: (``truncated: ...``, ``ill-formed XML: ...``), for the poll report.
    defects: tuple[str, ...] = ()
    #: Entries read but not passed on, by reason (``no title, summary or content``).
    skipped: dict[str, int] = field(default_factory=dict)
    #: The document was cut short (no end of its root element): it could be read only
    #: in part, so the poll is ``incomplete`` even though its complete entries are kept.
    truncated: bool = False
    #: RSS/RDF/Atom: (the parser that read it, why the fast path refused it or ""), for
    #: ``fetcher_feed_parser_total``.
    parsed_by: tuple[str, str] | None = None
    #: The encoding the body was decoded with, and whether detection guessed it
    #: (nothing named it): a guess is reported so an operator can confirm it.
    encoding: str | None = None
    encoding_guessed: bool = False
    #: What was wrong with the encoding although the body decoded, and its kind
    #: (``invalid_utf8``, ``declared_implausible``), for the status line and metrics.
    encoding_note: str | None = None
    encoding_defect: str | None = None

    @property
    def malformed(self) -> bool:
        """Read, but not as written: an operator should look at this feed."""
        return self.recovered or bool(self.defects)
