"""Which format a body is in, from the body itself.

URLs and Content-Type lie (``/rss`` serving HTML, ``text/html`` serving RSS, JSON
served as ``text/plain``), so the decision is made on the text: the root element of
XML, or the shape of JSON.
"""

from __future__ import annotations

import re

from newswire.fetcher.parse.model import DocFormat

_COMMENT_OR_PI = re.compile(
    r"<!--.*?-->|<\?.*?\?>|<!DOCTYPE[^>\[]*(?:\[.*?\])?\s*>", re.DOTALL | re.IGNORECASE
)
_ROOT = re.compile(r"<([A-Za-z_][\w.:-]*)")
_ROOTS = {
    "rss": DocFormat.RSS,
    "rdf:rdf": DocFormat.RDF,
    "rdf": DocFormat.RDF,
    "feed": DocFormat.ATOM,
    "urlset": DocFormat.SITEMAP,
    "sitemapindex": DocFormat.SITEMAP_INDEX,
    "html": DocFormat.HTML,
}


#: JSON Feed's version URL however it is spelled: http or https, a trailing slash,
#: ``www.``, any case, or with the ``\/`` escapes PHP's json_encode writes.
_JSON_FEED_VERSION = re.compile(
    r'"version"\s*:\s*"(?:https?:)?(?:\\?/){2}(?:www\.)?jsonfeed\.org(?:\\?/)version', re.IGNORECASE
)
#: Without a version URL: an ``items`` list and a member only JSON Feed items have.
_JSON_FEED_ITEMS = re.compile(r'"items"\s*:\s*\[')
_JSON_FEED_MEMBERS = re.compile(r'"(?:content_html|content_text|date_published|external_url)"\s*:')


def _is_json_feed(head: str) -> bool:
    """A JSON Feed by its version URL, or (liberally) by the shape of its items."""
    if _JSON_FEED_VERSION.search(head):
        return True
    items = _JSON_FEED_ITEMS.search(head)
    return items is not None and _JSON_FEED_MEMBERS.search(head, items.end()) is not None


def sniff_format(text: str) -> DocFormat:
    """The format of a decoded body (see module docstring)."""
    head = text[:65536].lstrip("\ufeff \t\r\n")
    if head.startswith(("{", "[")):
        if head.startswith("{") and _is_json_feed(head):
            return DocFormat.JSON_FEED
        if (
            head.startswith("[")
            and re.search(r'"(?:guid|link)"\s*:', head[:8192])
            and '"rendered"' in head[:16384]
        ):
            return DocFormat.WORDPRESS
        return DocFormat.JSON
    if not head.startswith("<"):
        return DocFormat.UNKNOWN
    if re.match(r"<!doctype\s+html", head, re.IGNORECASE):
        return DocFormat.HTML
    match = _ROOT.search(_COMMENT_OR_PI.sub("", head[:8192]))
    if match is None:
        return DocFormat.UNKNOWN
    name = match.group(1).lower()
    local = name.rsplit(":", 1)[-1]
    return (
        _ROOTS.get(name)
        or _ROOTS.get(local)
        or (DocFormat.HTML if local in ("head", "body") else DocFormat.UNKNOWN)
    )
