"""Bytes to entries: decode, sniff the format, hand the text to that format's adapter."""

from __future__ import annotations

from newswire.fetcher.errors import FetchError, FetchErrorKind
from newswire.fetcher.parse.decode import Decoded, decode_body
from newswire.fetcher.parse.feedroute import read_feed_xml
from newswire.fetcher.parse.jsonfeed import parse_json_feed
from newswire.fetcher.parse.model import FEED_FORMATS, ChildLink, DocFormat, Document, Entry
from newswire.fetcher.parse.sitemap import parse_sitemap
from newswire.fetcher.parse.sniff import sniff_format
from newswire.fetcher.parse.wordpress import parse_wordpress_posts

__all__ = [
    "FEED_FORMATS",
    "ChildLink",
    "Decoded",
    "DocFormat",
    "Document",
    "Entry",
    "decode_body",
    "parse_text",
    "sniff_format",
]


def parse_text(text: str, *, base_url: str, accept: frozenset[DocFormat]) -> Document:
    """Parse decoded ``text`` if its sniffed format is one of ``accept``; else ``unsupported``."""
    if not text.strip("\ufeff \t\r\n"):  # not "body is unknown": there is nothing to know
        what = "0 bytes" if not text else "only whitespace"
        raise FetchError(FetchErrorKind.MALFORMED, f"the body is empty ({what})")
    format_ = sniff_format(text)
    if format_ not in accept:
        expected = ", ".join(sorted(accept))
        raise FetchError(
            FetchErrorKind.UNSUPPORTED, f"body is {format_}, expected one of: {expected}"
        )
    if format_ in (DocFormat.RSS, DocFormat.RDF, DocFormat.ATOM):
        return read_feed_xml(text, base_url=base_url, format_=format_)
    if format_ is DocFormat.JSON_FEED:
        return parse_json_feed(text, base_url=base_url)
    if format_ is DocFormat.WORDPRESS or format_ is DocFormat.JSON:
        return parse_wordpress_posts(text, base_url=base_url)
    if format_ in (DocFormat.SITEMAP, DocFormat.SITEMAP_INDEX):
        return parse_sitemap(text, base_url=base_url)
    raise FetchError(FetchErrorKind.UNSUPPORTED, f"no adapter for {format_}")
