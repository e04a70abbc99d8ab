"""HTML listings across pages, against a real multi-page site on the loopback server:
rel=next, a configured selector, numbered pages, loops, the page budget, and the stop
at a page of only known items."""

from __future__ import annotations

import random
from typing import Any

import pytest

from newswire.common.settings import FetcherSettings
from newswire.fetcher.clock import ManualClock
from newswire.fetcher.fetch.client import HttpClient
from newswire.fetcher.parse.html import next_page_url
from newswire.fetcher.poller import Poller, PollResult
from newswire.fetcher.sources import Selectors, Source, SourceKind
from newswire.fetcher.sources.model import Pagination
from newswire.fetcher.state import SourceState
from tests.fetcher.server import FixtureServer, fixture, fixture_bytes, static

SELECTORS = Selectors(links="article.teaser a", title="h1", body=".body")


@pytest.fixture
def poller(http: HttpClient, fetcher_settings: FetcherSettings) -> Poller:
    clock = ManualClock(start=1_793_700_000.0)
    return Poller(http, fetcher_settings, clock=clock, rng=random.Random(7))


def site(server: FixtureServer, *, back_to: str = "/news?page=1") -> str:
    """Three listing pages of three stories each; page 3 links back to page 1."""
    page3 = open_fixture("site/listing-3.html").replace("/news?page=1#top", back_to + "#top")
    server.route("/news?page=1", fixture("site/listing-1.html", "text/html"))
    server.route("/news?page=2", fixture("site/listing-2.html", "text/html"))
    server.route("/news?page=3", static(page3, "text/html"))
    for n in range(0, 13):
        server.route(f"/story/{n}", fixture("site/story.html", "text/html"))
    return server.route("/news", fixture("site/listing-1.html", "text/html"))


def open_fixture(name: str) -> str:
    return fixture_bytes(name).decode()


def html_source(url: str, **kwargs: Any) -> Source:
    return Source(
        id="site", name="Site", kind=SourceKind.HTML, url=url, selectors=SELECTORS, **kwargs
    )


def stories(result: PollResult) -> list[str]:
    return sorted(str(r.value["url"]).rsplit("/", 1)[-1] for r in result.records)


def listing_requests(server: FixtureServer) -> list[str]:
    return [path for path, _ in server.requests if path.startswith("/news")]


async def test_rel_next_is_followed_and_a_loop_back_to_page_1_stops(
    server: FixtureServer, poller: Poller
) -> None:
    url = site(server)
    result = await poller.poll(html_source(url, max_pages=10), SourceState("site"))
    assert result.outcome == "items", result.summary()
    assert stories(result) == [str(n) for n in range(1, 10)]
    # page 3's "next" is page 1 under another URL: read once, nothing new, the walk ends
    assert listing_requests(server) == ["/news", "/news?page=2", "/news?page=3", "/news?page=1"]


async def test_a_link_back_to_a_page_already_read_is_not_requested(
    server: FixtureServer, poller: Poller
) -> None:
    url = site(server, back_to="/news")
    result = await poller.poll(html_source(url, max_pages=10), SourceState("site"))
    assert len(result.records) == 9
    assert listing_requests(server) == ["/news", "/news?page=2", "/news?page=3"]


@pytest.mark.parametrize(("budget", "pages"), [(1, 1), (2, 2)])
async def test_the_page_budget_stops_the_walk(
    server: FixtureServer, poller: Poller, budget: int, pages: int
) -> None:
    url = site(server)
    result = await poller.poll(html_source(url, max_pages=budget), SourceState("site"))
    assert len(result.records) == 3 * pages
    assert len(listing_requests(server)) == pages


async def test_the_setting_is_the_budget_without_a_source_override(
    server: FixtureServer, http: HttpClient, fetcher_settings: FetcherSettings
) -> None:
    settings = fetcher_settings.model_copy(update={"max_pages": 2})
    poller = Poller(http, settings, clock=ManualClock(1_793_700_000.0), rng=random.Random(1))
    result = await poller.poll(html_source(site(server)), SourceState("site"))
    assert len(result.records) == 6 and len(listing_requests(server)) == 2


async def test_the_walk_stops_at_a_page_of_only_known_items(
    server: FixtureServer, poller: Poller
) -> None:
    url = site(server)
    first = await poller.poll(html_source(url, max_pages=10), SourceState("site"))
    assert len(first.records) == 9
    # page 1 now starts with a new story above two known ones (and a pinned known one)
    fresh = (
        open_fixture("site/listing-1.html")
        .replace('<a href="/story/3">Story 3</a>', '<a href="/story/3">Story 3</a></article>')
        .replace("<main>", '<main><article class="teaser"><a href="/story/0">Story 0</a></article>')
    )
    server.route("/news", static(fresh, "text/html"))
    server.requests.clear()
    second = await poller.poll(html_source(url, max_pages=10), first.state)
    assert stories(second) == ["0"]
    # page 1 had a new item, so page 2 was read; it held only known items: no page 3
    assert listing_requests(server) == ["/news", "/news?page=2"]
    server.requests.clear()
    server.route("/news", static(fresh + " ", "text/html"))
    third = await poller.poll(html_source(url, max_pages=10), second.state)
    assert third.records == [] and listing_requests(server) == ["/news"]


async def test_numbered_pages_until_one_fails(server: FixtureServer, poller: Poller) -> None:
    site(server)
    for n in (1, 2, 3):  # the same pages under /section/page/N/, with no rel=next at all
        body = open_fixture(f"site/listing-{n}.html")
        body = body.replace('rel="next nofollow"', "").replace('rel="next"', "")
        server.route(f"/section/page/{n}/", static(body, "text/html"))
    server.route("/section/page/4/", static("gone", status=404))
    source = html_source(
        server.url("/section/page/1/"),
        max_pages=10,
        pagination=Pagination(numbered="/section/page/{n}/"),
    )
    result = await poller.poll(source, SourceState("site"))
    assert result.outcome == "items" and len(result.records) == 9  # what was read stays
    assert [p for p, _ in server.requests if p.startswith("/section")] == [
        f"/section/page/{n}/" for n in (1, 2, 3, 4)
    ]


async def test_a_configured_next_page_selector(server: FixtureServer, poller: Poller) -> None:
    site(server)
    # page 1 without its <link rel=next>: only the pager's plain "2" link leads on
    page1 = open_fixture("site/listing-1.html").replace('<link rel="next" href="/news?page=2">', "")
    url = server.route("/sel", static(page1, "text/html"))
    plain = await poller.poll(html_source(url, max_pages=10), SourceState("site"))
    assert len(plain.records) == 3 and listing_requests(server) == []
    server.requests.clear()
    source = html_source(url, max_pages=10, pagination=Pagination(next="nav.pager a:last-child"))
    result = await poller.poll(source, SourceState("site"))
    assert len(result.records) == 9
    assert listing_requests(server) == ["/news?page=2", "/news?page=3", "/news?page=1"]


def test_next_page_order_selector_then_rel_next_then_numbered() -> None:
    html = (
        '<html><head><link rel="next" href="/rel"></head><body>'
        '<a class="more" href="/selected">more</a><a href="https://elsewhere.example/x" '
        'class="off">off</a></body></html>'
    )
    page = "https://site.example/list"

    def nxt(selector: str | None, numbered: str | None, body: str = html) -> str | None:
        return next_page_url(
            body, page_url=page, listing_url=page, selector=selector, numbered=numbered, number=2
        )

    assert nxt("a.more", "?p={n}") == "https://site.example/selected"
    assert nxt("a.missing", "?p={n}") == "https://site.example/rel"
    assert nxt(None, "?p={n}", "<p>no links</p>") == "https://site.example/list?p=2"
    assert nxt("a.off", None, "<a class='off' href='https://elsewhere.example/'>x</a>") is None
    assert nxt(None, None, "<p>no links</p>") is None
