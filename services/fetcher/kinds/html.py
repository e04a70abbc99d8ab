"""``kind: html``: an outlet with a weak feed or none, read from its listing page(s).

The listing gives article links (``selectors.links``) and their anchor texts; every
new item's page is fetched for title, date and text. Anchor texts are often "Read
more", so the page's own title wins over them.

A listing spread over pages is followed to its next page (the source's
``pagination.next`` selector, ``rel=next``, or ``pagination.numbered``) while the page
just read holds an item this source has not seen, up to ``max_pages`` pages a poll
(source, else ``FETCHER_MAX_PAGES``). Listings often pin old featured items on top,
so one known item does not stop the walk; a page of only known items does. A page
seen before in this poll (a loop: page 3 linking back to page 1), a page on another
site, an empty page and a page that fails all end the walk, keeping what was read.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from newswire.fetcher.errors import FetchError, FetchErrorKind
from newswire.fetcher.fetch.client import FetchResponse
from newswire.fetcher.kinds.base import Kind, Reading, decode
from newswire.fetcher.parse import DocFormat, Document, Entry
from newswire.fetcher.parse.html import listing_document, next_page_url
from newswire.fetcher.sources.model import Source, SourceKind

log = logging.getLogger(__name__)


class HtmlKind(Kind):
    kind = SourceKind.HTML
    formats = frozenset({DocFormat.HTML})
    page_title_first = True

    def needs_page(self, source: Source, entry: Entry) -> bool:
        return True

    async def read(self, response: FetchResponse, reading: Reading) -> Document:
        text, document = self._page(response, reading)
        listing_url = response.url
        entries = {entry.link: entry for entry in document.entries}
        visited = {_page_key(response.url)}
        fresh = document.entries
        for number in range(2, reading.max_pages + 1):
            if not (fresh and reading.any_new(fresh)):
                break  # a page of only known items: nothing older is new either
            url = self._next_url(text, response.url, listing_url, reading.source, number)
            if url is None or _page_key(url) in visited:
                break
            visited.add(_page_key(url))
            try:
                response = await reading.get(url)
            except FetchError as error:
                log.info("listing of %s: page %d not read (%s)", reading.source.id, number, error)
                break
            visited.add(_page_key(response.url))
            text, page = self._page(response, reading)
            fresh = [e for e in page.entries if e.link not in entries]
            entries.update((entry.link, entry) for entry in fresh)
        return replace(document, entries=list(entries.values()))

    @staticmethod
    def _page(response: FetchResponse, reading: Reading) -> tuple[str, Document]:
        selectors = reading.source.selectors
        if selectors is None:  # the sources check forbids this; be explicit anyway
            raise FetchError(FetchErrorKind.UNSUPPORTED, "html source without selectors")
        text = decode(reading.source, response).text
        document = listing_document(
            text, page_url=response.url, selector=selectors.links, language=None
        )
        return text, document

    @staticmethod
    def _next_url(
        text: str, page_url: str, listing_url: str, source: Source, number: int
    ) -> str | None:
        pagination = source.pagination
        return next_page_url(
            text,
            page_url=page_url,
            listing_url=listing_url,
            selector=pagination.next if pagination else None,
            numbered=pagination.numbered if pagination else None,
            number=number,
        )


def _page_key(url: str) -> str:
    """A page's identity for loop detection: the URL without fragment or trailing slash."""
    return url.split("#", 1)[0].rstrip("/")


KIND = HtmlKind()
