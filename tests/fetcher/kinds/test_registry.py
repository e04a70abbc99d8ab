"""The kinds registry: a reader for every kind, and each reads its fixture.

A fixture is given per kind below; a new kind without one fails here, so no kind is
registered that has never read a real document.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx
import pytest

from newswire.fetcher.fetch.client import FetchResponse
from newswire.fetcher.kinds import KINDS, Reading, kind_of
from newswire.fetcher.parse import DocFormat, Entry
from newswire.fetcher.sources.model import IdentityPolicy, Selectors, Source, SourceKind
from tests.conftest import FIXTURES


@dataclass(frozen=True)
class Case:
    """A kind's fixture and what reading it must give."""

    fixture: str
    content_type: str
    url: str
    entries: int
    format: DocFormat
    selectors: Selectors | None = None


CASES: dict[SourceKind, Case] = {
    SourceKind.FEED: Case(
        "rss2.xml", "application/rss+xml", "https://wire.example/rss", 4, DocFormat.RSS
    ),
    SourceKind.WORDPRESS: Case(
        "wp-posts-1.json", "application/json", "https://wp.example/", 2, DocFormat.WORDPRESS
    ),
    SourceKind.SITEMAP: Case(
        "sitemap-news.xml",
        "application/xml",
        "https://news.example/sitemap.xml",
        2,
        DocFormat.SITEMAP,
    ),
    SourceKind.HTML: Case(
        "listing.html",
        "text/html",
        "https://outlet.example/ar/",
        2,
        DocFormat.HTML,
        Selectors(links="h2 a"),
    ),
}


def test_every_kind_is_registered_once() -> None:
    assert set(KINDS) == set(SourceKind)
    assert all(KINDS[k].kind is k for k in SourceKind)


def test_every_kind_has_a_fixture() -> None:
    assert set(CASES) == set(KINDS)


async def _no_more_requests(url: str) -> FetchResponse:
    raise AssertionError(f"a single document needs no further request ({url})")


@pytest.mark.parametrize("kind", list(SourceKind), ids=str)
async def test_every_kind_reads_its_fixture(kind: SourceKind) -> None:
    case = CASES[kind]
    source = Source(
        id="src",
        name="Source",
        kind=kind,
        url=case.url,
        selectors=case.selectors,
        identity=IdentityPolicy.LINK,
    )
    reader = kind_of(kind)
    response = FetchResponse(
        url=reader.first_url(source),
        status=200,
        headers=httpx.Headers({"content-type": case.content_type}),
        body=(FIXTURES / "fetcher" / case.fixture).read_bytes(),
        elapsed_s=0.0,
    )
    reading = Reading(
        source=source,
        max_pages=5,
        get=_no_more_requests,
        all_new=lambda _: True,
        any_new=lambda _: True,
    )
    document = await reader.read(response, reading)
    assert document.format is case.format and document.format in reader.formats
    assert len(document.entries) == case.entries
    assert all(entry.link for entry in document.entries)


def test_only_link_only_kinds_always_need_the_article_page() -> None:
    entry = Entry(guid="g", link="https://x.example/a", title="T", text="body")
    always = {
        k
        for k in SourceKind
        if kind_of(k).needs_page(Source("s", "S", k, "https://x.example/"), entry)
    }
    assert always == {SourceKind.SITEMAP, SourceKind.HTML}
