"""``kind: wordpress``: the site's REST API posts (``/wp-json/wp/v2/posts``), paged.

The source URL is the site root (or the endpoint). Further pages are read only while
every post of the last page read is new to this source, so a steady poll costs one
request and a source that published a lot since the last poll still loses nothing,
up to ``max_pages``.
"""

from __future__ import annotations

from dataclasses import replace

from newswire.fetcher.fetch.client import FetchResponse
from newswire.fetcher.kinds.base import Kind, Reading, parse
from newswire.fetcher.parse import DocFormat, Document, Entry
from newswire.fetcher.parse.wordpress import posts_url, total_pages
from newswire.fetcher.sources.model import Source, SourceKind


class WordPressKind(Kind):
    kind = SourceKind.WORDPRESS
    #: A posts list, or JSON the sniffer could not place (an empty list, an API error
    #: object): the WordPress adapter says what is wrong with it.
    formats = frozenset({DocFormat.WORDPRESS, DocFormat.JSON})

    def first_url(self, source: Source) -> str:
        return posts_url(source.url, 1)

    async def read(self, response: FetchResponse, reading: Reading) -> Document:
        source = reading.source
        document = parse(source, response, self.formats)
        entries: list[Entry] = list(document.entries)
        pages = min(total_pages(response.headers) or 1, reading.max_pages)
        page = 1
        while page < pages and reading.all_new(document.entries):
            page += 1
            more = parse(source, await reading.get(posts_url(source.url, page)), self.formats)
            if not more.entries:
                break
            document = more
            entries += more.entries
        return replace(document, entries=entries)


KIND = WordPressKind()
