"""``kind: sitemap``: a (news) sitemap or a sitemap index at the source URL.

A sitemap lists links and dates, no text, so every new item's page is fetched. An
index is followed one level down, to at most ``max_pages`` child sitemaps.
"""

from __future__ import annotations

from dataclasses import replace

from newswire.fetcher.fetch.client import FetchResponse
from newswire.fetcher.kinds.base import Kind, Reading, parse
from newswire.fetcher.parse import DocFormat, Document, Entry
from newswire.fetcher.sources.model import Source, SourceKind

#: What a child of an index may be: a sitemap, never another index.
_CHILD_FORMATS = frozenset({DocFormat.SITEMAP})


class SitemapKind(Kind):
    kind = SourceKind.SITEMAP
    formats = frozenset({DocFormat.SITEMAP, DocFormat.SITEMAP_INDEX})

    def needs_page(self, source: Source, entry: Entry) -> bool:
        return True

    async def read(self, response: FetchResponse, reading: Reading) -> Document:
        document = parse(reading.source, response, self.formats)
        if document.format is not DocFormat.SITEMAP_INDEX:
            return document
        entries: list[Entry] = []
        for child in document.children[: reading.max_pages]:
            child_response = await reading.get(child.url)
            entries += parse(reading.source, child_response, _CHILD_FORMATS).entries
        return replace(document, entries=entries)


KIND = SitemapKind()
