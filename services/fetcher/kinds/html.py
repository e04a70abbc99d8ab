"""``kind: html``: an outlet with a weak feed or none, read from its listing page.

The listing gives article links (``selectors.links``) and their anchor texts; every
new item's page is fetched for title, date and text. Anchor texts are often "Read
more", so the page's own title wins over them.
"""

from __future__ import annotations

from newswire.fetcher.errors import FetchError, FetchErrorKind
from newswire.fetcher.fetch.client import FetchResponse
from newswire.fetcher.kinds.base import Kind, Reading, decode
from newswire.fetcher.parse import DocFormat, Document, Entry
from newswire.fetcher.parse.html import listing_document
from newswire.fetcher.sources.model import Source, SourceKind


class HtmlKind(Kind):
    kind = SourceKind.HTML
    formats = frozenset({DocFormat.HTML})
    page_title_first = True

    def needs_page(self, source: Source, entry: Entry) -> bool:
        return True

    async def read(self, response: FetchResponse, reading: Reading) -> Document:
        selectors = reading.source.selectors
        if selectors is None:  # the sources check forbids this; be explicit anyway
            raise FetchError(FetchErrorKind.UNSUPPORTED, "html source without selectors")
        text = decode(reading.source, response).text
        return listing_document(
            text, page_url=response.url, selector=selectors.links, language=None
        )


KIND = HtmlKind()
