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


def sniff_format(text: str) -> DocFormat:
    """The format of a decoded body (see module docstring)."""
    head = text[:65536].lstrip("\ufeff \t\r\n")
    if head.startswith(("{", "[")):
        if head.startswith("{") and re.search(
            r'"version"\s*:\s*"https?://jsonfeed\.org/version/', head
        ):
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
