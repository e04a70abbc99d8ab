"""What a source kind is, and the two helpers every kind reads a response with.

A kind says three things and nothing more: which URL a poll asks first, how a fetched
response (body, headers, final URL) becomes a :class:`Document`, and whether a new item
needs its article page fetched. Everything else - the conditional GET, "unchanged"
detection, identity, article pages, records, polling state - the poller does once for
all kinds, so no kind can do it differently (the model is Miniflux's reader: one
refresh flow, one parser per format).

A kind that needs more than one request per poll (WordPress pages, the children of a
sitemap index) asks :attr:`Reading.get` for them, so those requests go through the same
client and headers and are counted with the poll's own.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from typing import ClassVar

from newswire.fetcher.errors import FetchError
from newswire.fetcher.fetch.client import FetchResponse
from newswire.fetcher.parse import Decoded, DocFormat, Document, Entry, decode_body, parse_text
from newswire.fetcher.sources.model import Source, SourceKind


@dataclass(frozen=True, slots=True)
class Reading:
    """What a kind may use while it reads one poll's response."""

    source: Source
    #: Most documents a kind may read in one poll (WordPress pages, child sitemaps).
    max_pages: int
    #: A further GET of this poll (not conditional; counted with the poll's requests).
    get: Callable[[str], Awaitable[FetchResponse]]
    #: Every entry given is unseen by this source: a next page may hold more new ones.
    all_new: Callable[[Sequence[Entry]], bool]
    #: Some entry given is unseen by this source (a listing page not only of known items).
    any_new: Callable[[Sequence[Entry]], bool]


class Kind:
    """One source kind; a module per kind subclasses it and registers one instance."""

    #: The ``kind`` of the sources file this class reads.
    kind: ClassVar[SourceKind]
    #: Document formats a response of this kind may be in (sniffed from the body).
    formats: ClassVar[frozenset[DocFormat]] = frozenset()
    #: The article page's title wins over the entry's (listing anchors are often
    #: "Read more"); otherwise the entry's own title wins.
    page_title_first: ClassVar[bool] = False

    def first_url(self, source: Source) -> str:
        """The URL a poll asks first (conditionally): the source's URL unless the kind
        derives an endpoint from it."""
        return source.url

    def needs_page(self, source: Source, entry: Entry) -> bool:
        """Whether a new entry's article page is fetched: by default only when the
        source asks for full articles and the entry carries only a summary."""
        return source.full_article and entry.summary_only

    async def read(self, response: FetchResponse, reading: Reading) -> Document:
        """The document (entries and hints) of a fetched, changed response."""
        raise NotImplementedError


def decode(source: Source, response: FetchResponse) -> Decoded:
    """The body as text, with the source's charset override and language hint."""
    return decode_body(
        response.body,
        content_type=response.headers.get("content-type"),
        override=source.encoding,
        language_hint=source.language,
    )


def parse(source: Source, response: FetchResponse, accept: frozenset[DocFormat]) -> Document:
    """The response parsed as one of ``accept``; a parse error names the URL it came from
    (a decoding error does not: it never did, and reports and states keep their words)."""
    decoded = decode(source, response)
    try:
        document = parse_text(decoded.text, base_url=response.url, accept=accept)
    except FetchError as error:
        error.url = error.url or response.url
        raise
    return replace(
        document,
        encoding=decoded.encoding,
        encoding_guessed=decoded.guessed,
        encoding_note=decoded.note,
        encoding_defect=decoded.defect,
    )
