"""``kind: feed``: RSS 0.9x/2.0, RDF (RSS 1.0), Atom and JSON Feed at the source URL.

A feed carries its items whole (or as summaries): one request, one document.
"""

from __future__ import annotations

from newswire.fetcher.fetch.client import FetchResponse
from newswire.fetcher.kinds.base import Kind, Reading, parse
from newswire.fetcher.parse import FEED_FORMATS, Document
from newswire.fetcher.sources.model import SourceKind


class FeedKind(Kind):
    kind = SourceKind.FEED
    formats = FEED_FORMATS

    async def read(self, response: FetchResponse, reading: Reading) -> Document:
        return parse(reading.source, response, self.formats)


KIND = FeedKind()
