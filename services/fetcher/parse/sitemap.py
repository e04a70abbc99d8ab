"""News sitemaps and sitemap indexes (sitemaps.org 0.9 + Google News extension).

Parsed with lxml configured to resolve no entities, load no DTD and touch no network,
after the same prolog guard as feeds. An index yields child sitemaps (newest first);
a urlset yields entries with the news title, date and language where present, and the
article text is fetched from each page later (like an ``html`` source).
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urljoin

from lxml import etree

from newswire.fetcher.errors import FetchError, FetchErrorKind
from newswire.fetcher.parse.dates import parse_date
from newswire.fetcher.parse.model import ChildLink, DocFormat, Document, Entry
from newswire.fetcher.parse.xmlguard import refuse_unsafe_xml

NEWS_NS = "http://www.google.com/schemas/sitemap-news/0.9"


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        recover=True,
        remove_comments=True,
        remove_pis=True,
    )


def _local(tag: object) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def _child_text(element: etree._Element, name: str) -> str | None:
    for child in element:
        if _local(child.tag) == name and child.text and child.text.strip():
            return child.text.strip()
    return None


def parse_sitemap(text: str, *, base_url: str) -> Document:
    refuse_unsafe_xml(text)
    try:
        root = etree.fromstring(text.encode("utf-8"), parser=_parser())
    except etree.XMLSyntaxError as exc:
        raise FetchError(FetchErrorKind.MALFORMED, f"ill-formed sitemap: {exc}") from exc
    if root is None:
        raise FetchError(FetchErrorKind.MALFORMED, "empty sitemap document")
    if _local(root.tag) == "sitemapindex":
        return Document(format=DocFormat.SITEMAP_INDEX, children=_children(root, base_url))
    if _local(root.tag) != "urlset":
        raise FetchError(
            FetchErrorKind.UNSUPPORTED, f"not a sitemap: root element <{_local(root.tag)}>"
        )
    return Document(
        format=DocFormat.SITEMAP, entries=[e for e in (_entry(u, base_url) for u in root) if e]
    )


def _children(root: etree._Element, base_url: str) -> list[ChildLink]:
    children = [
        ChildLink(urljoin(base_url, loc), parse_date(_child_text(node, "lastmod")))
        for node in root
        if _local(node.tag) == "sitemap" and (loc := _child_text(node, "loc"))
    ]
    oldest = datetime.min.replace(tzinfo=None)
    return sorted(
        children,
        key=lambda c: c.modified_at.replace(tzinfo=None) if c.modified_at else oldest,
        reverse=True,
    )


def _entry(node: etree._Element, base_url: str) -> Entry | None:
    if _local(node.tag) != "url":
        return None
    loc = _child_text(node, "loc")
    if not loc:
        return None
    news = node.find(f"{{{NEWS_NS}}}news")
    title = date = language = None
    if news is not None:
        title = _child_text(news, "title")
        date = _child_text(news, "publication_date")
        publication = news.find(f"{{{NEWS_NS}}}publication")
        language = _child_text(publication, "language") if publication is not None else None
    link = urljoin(base_url, loc)
    return Entry(
        guid=link,
        link=link,
        title=title,
        text="",
        published_at=parse_date(date or _child_text(node, "lastmod")),
        language=language,
        summary_only=True,
    )
