"""One poll of each kind against the real loopback server: records, state, outcomes."""

from __future__ import annotations

import random
from typing import Any

import pytest

from newswire.common.schemas import SchemaName, validate
from newswire.common.settings import FetcherSettings
from newswire.fetcher.clock import ManualClock
from newswire.fetcher.errors import FetchErrorKind
from newswire.fetcher.fetch.client import HttpClient
from newswire.fetcher.poller import Poller, PollResult
from newswire.fetcher.sources import IdentityPolicy, Selectors, Source, SourceKind
from newswire.fetcher.state import SourceState, SourceStatus
from tests.fetcher.server import (
    ARTICLE_A1_TEXT,
    FixtureServer,
    article_a1_selectors,
    conditional,
    fixture,
    fixture_bytes,
    sequence,
    stall,
    static,
)

LAST_MODIFIED = "Mon, 02 Nov 2026 08:00:00 GMT"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(start=1_793_700_000.0)  # 2026-11-03, after the fixtures' dates


@pytest.fixture
def poller(http: HttpClient, fetcher_settings: FetcherSettings, clock: ManualClock) -> Poller:
    return Poller(http, fetcher_settings, clock=clock, rng=random.Random(7))


def source(url: str, kind: SourceKind = SourceKind.FEED, **kwargs: Any) -> Source:
    return Source(id=kwargs.pop("id", "src"), name="Source", kind=kind, url=url, **kwargs)


def titles(result: PollResult) -> list[str | None]:
    return [r.value["title"] for r in result.records]


async def test_rss_poll_builds_valid_records(
    server: FixtureServer, poller: Poller, clock: ManualClock
) -> None:
    result = await poller.poll(
        source(server.route("/rss", fixture("rss2.xml"))), SourceState("src")
    )
    assert result.outcome == "items" and result.listed == 4 and len(result.records) == 4
    for record in result.records:
        validate(SchemaName.RAW, record.value)
        assert record.value["source"] == {"kind": "feed", "id": "src", "name": "Source"}
        assert record.article_id == record.value["id"]
    by_title = {r.value["title"]: r.value for r in result.records}
    budget = by_title["Parliament passes the budget & oil law"]
    assert budget["url"] == "https://wire.example/news/budget"  # tracking parameters gone
    assert (
        budget["published_at"] == "2026-11-02T06:30:00.000Z"
        and budget["published_at_inferred"] is False
    )
    undated = by_title["No date on this one"]
    assert (
        undated["published_at_inferred"] is True
        and undated["published_at"] == undated["fetched_at"]
    )
    assert undated["url"] == server.url(
        "/news/undated"
    )  # relative link resolved against the feed URL
    assert {"First story sharing a GUID", "Second story sharing a GUID"} <= set(by_title)
    assert titles(result)[-1] == "No date on this one"  # oldest first, undated last
    assert result.state.next_due_at - clock.time() >= 1800  # ttl 30 min is honoured


async def test_second_poll_emits_only_new_items(server: FixtureServer, poller: Poller) -> None:
    first_body = fixture_bytes("rss2.xml")
    extra = b"<item><title>Fresh</title><link>https://wire.example/news/fresh</link><guid>fresh-1</guid></item>"
    url = server.route(
        "/rss",
        sequence(static(first_body), static(first_body.replace(b"<item>", extra + b"<item>", 1))),
    )
    first = await poller.poll(source(url), SourceState("src"))
    second = await poller.poll(source(url), first.state)
    assert titles(second) == ["Fresh"] and second.listed == 5


async def test_304_flow_with_etag_and_last_modified(server: FixtureServer, poller: Poller) -> None:
    body = fixture_bytes("rss2.xml")
    url = server.route("/c", conditional(body, etag='"v1"', last_modified=LAST_MODIFIED))
    first = await poller.poll(source(url), SourceState("src"))
    assert first.state.etag == '"v1"' and first.state.last_modified == LAST_MODIFIED
    second = await poller.poll(source(url), first.state)
    assert (second.outcome, second.status, second.records) == ("not_modified", 304, [])
    assert server.requests[-1][1]["If-None-Match"] == '"v1"'
    assert second.state.seen == first.state.seen and second.state.failures == 0


async def test_a_feed_cut_short_is_fetched_whole_again_not_answered_304(
    server: FixtureServer, poller: Poller
) -> None:
    """The server's validators came with a document cut short: asking with them would
    get a 304 and hide the cut items until the feed changes."""
    body = fixture_bytes("rss-truncated-mid-item.xml")
    url = server.route("/cut", conditional(body, etag='"v1"', last_modified=LAST_MODIFIED))
    first = await poller.poll(source(url), SourceState("src"))
    assert first.outcome == "incomplete"
    assert (first.state.etag, first.state.last_modified) == (None, None)
    second = await poller.poll(source(url), first.state)
    assert second.status == 200
    assert "If-None-Match" not in server.requests[-1][1]


async def test_last_modified_alone_also_gives_304(server: FixtureServer, poller: Poller) -> None:
    url = server.route("/lm", conditional(fixture_bytes("atom.xml"), last_modified=LAST_MODIFIED))
    first = await poller.poll(source(url), SourceState("src"))
    second = await poller.poll(source(url), first.state)
    assert (
        second.outcome == "not_modified"
        and server.requests[-1][1]["If-Modified-Since"] == LAST_MODIFIED
    )


async def test_lying_validators_are_caught_by_the_body_hash(
    server: FixtureServer, poller: Poller
) -> None:
    url = server.route(
        "/same", static(fixture_bytes("rdf.xml"), headers={"ETag": '"changes-every-time"'})
    )
    first = await poller.poll(source(url), SourceState("src"))
    second = await poller.poll(source(url), first.state)
    assert second.outcome == "not_modified" and second.status == 200


async def test_429_with_retry_after_backs_off_and_is_its_own_state(
    server: FixtureServer, poller: Poller, clock: ManualClock
) -> None:
    url = server.route(
        "/busy", static(b"slow down", "text/plain", status=429, headers={"Retry-After": "7200"})
    )
    result = await poller.poll(source(url, min_interval_s=60.0), SourceState("src"))
    assert (
        result.outcome == "error"
        and result.error is not None
        and result.error.kind is FetchErrorKind.RATE_LIMITED
    )
    assert result.state.status is SourceStatus.RATE_LIMITED and result.state.failures == 1
    assert result.state.next_due_at - clock.time() >= 7200
    assert "error=rate_limited status=429" in result.summary()


async def test_failures_back_off_and_the_source_recovers(
    server: FixtureServer, poller: Poller
) -> None:
    url = server.route(
        "/flaky", sequence(static(b"", status=500), static(b"", status=502), fixture("atom.xml"))
    )
    state = SourceState("src")
    delays = []
    for _ in range(2):
        result = await poller.poll(source(url, min_interval_s=60.0), state)
        delays.append(result.state.next_due_at - result.state.last_attempt_at)  # type: ignore[operator]
        state = result.state
    assert state.failures == 2 and state.status is SourceStatus.FAILING and delays[1] > delays[0]
    recovered = await poller.poll(source(url), state)
    assert (
        recovered.outcome == "items"
        and recovered.state.failures == 0
        and recovered.state.status is SourceStatus.OK
    )


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("billion-laughs.xml", FetchErrorKind.UNSAFE_XML),
        ("garbage.xml", FetchErrorKind.MALFORMED),
        ("listing.html", FetchErrorKind.UNSUPPORTED),
    ],
)
async def test_bad_documents_are_classified_errors(
    server: FixtureServer, poller: Poller, name: str, kind: FetchErrorKind
) -> None:
    result = await poller.poll(source(server.route("/bad", fixture(name))), SourceState("src"))
    assert result.error is not None and result.error.kind is kind


@pytest.mark.parametrize("name", ["arabic-1256-undeclared.xml", "arabic-8859-6-undeclared.xml"])
async def test_arabic_legacy_feeds_over_http(
    server: FixtureServer, poller: Poller, name: str
) -> None:
    url = server.route("/ar", fixture(name, "application/rss+xml"))
    result = await poller.poll(source(url, language="ar"), SourceState("src"))
    assert titles(result)[0] == "رئيس الوزراء يلتقي وفدا من إقليم كردستان في بغداد"
    assert result.records[0].value["language_hint"] == "ar"


async def test_json_feed_over_http(server: FixtureServer, poller: Poller) -> None:
    result = await poller.poll(
        source(server.route("/feed.json", fixture("jsonfeed.json", "text/plain"))),
        SourceState("src"),
    )
    assert result.document_format == "jsonfeed" and len(result.records) == 3
    assert result.records[0].value["url"] == "https://json.example/ar/%D8%AE%D8%A8%D8%B1"


async def test_wordpress_pages_until_it_reaches_known_posts(
    server: FixtureServer, poller: Poller
) -> None:
    page1, page2 = fixture_bytes("wp-posts-1.json"), fixture_bytes("wp-posts-2.json")
    server.route("/wp-json/wp/v2/posts", static(b"[]", "application/json"))
    for page, body in ((1, page1), (2, page2)):
        path = (
            f"/wp-json/wp/v2/posts?per_page=20&page={page}&orderby=date&order=desc"
            "&_fields=id%2Cguid%2Clink%2Ctitle%2Ccontent%2Cexcerpt"
            "%2Cdate_gmt%2Cmodified_gmt%2Clang"
        )
        server.route(
            path,
            static(body, "application/json", headers={"X-WP-TotalPages": "2", "X-WP-Total": "3"}),
        )
    wp = source(server.url("/"), SourceKind.WORDPRESS)
    first = await poller.poll(wp, SourceState("src"))
    assert titles(first) == ["Third post", "Second post", "سياسة \u2013 عنوان أول"]
    assert first.requests == 2
    second = await poller.poll(wp, first.state)
    assert second.outcome == "not_modified" and second.requests == 1


async def test_sitemap_index_to_articles(server: FixtureServer, poller: Poller) -> None:
    server.route("/sitemaps/news.xml", fixture("sitemap-news.xml"))
    server.route(
        "/sitemaps/old.xml",
        static(b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"/>'),
    )
    server.route("/articles/a1.html", fixture("article-a1.html", "text/html"))
    server.route("/articles/a2.html", fixture("article-a2.html", "text/html; charset=utf-8"))
    result = await poller.poll(
        source(server.route("/sitemap.xml", fixture("sitemap-index.xml")), SourceKind.SITEMAP),
        SourceState("src"),
    )
    assert result.outcome == "items", result.summary()
    a1, a2 = (r.value for r in result.records)  # oldest first: a1 06:00Z, a2 07:00Z
    assert a2["title"] == "Economy grows in the third quarter"
    assert a2["text"].startswith("This is paragraph 1")
    assert a1["title"] == "عنوان من خريطة الموقع"  # the sitemap's news:title
    assert "الفقرة الأولى من المقال" in a1["text"] and a1["summary_only"] is False
    assert server.hits["/sitemaps/old.xml"] == 1  # both children read (max_pages=3)


async def test_html_listing_and_article_pages(server: FixtureServer, poller: Poller) -> None:
    server.route("/ar/articles/a1.html", fixture("article-a1.html", "text/html"))
    server.route("/ar/articles/a2.html", static(b"gone", "text/html", status=404))
    html = source(
        server.route("/ar/", fixture("listing.html", "text/html")),
        SourceKind.HTML,
        selectors=article_a1_selectors(links="h2.post-title a"),
        identity=IdentityPolicy.LINK,
        language="ar",
    )
    result = await poller.poll(html, SourceState("src"))
    by_url = {r.value["url"]: r.value for r in result.records}
    a1 = by_url[server.url("/ar/articles/a1.html")]
    assert (
        a1["title"] == "قراءة في المشهد السياسي العراقي"
        and a1["published_at"] == "2026-11-02T05:00:00.000Z"
    )
    assert a1["text"] == ARTICLE_A1_TEXT
    a2 = by_url[server.url("/ar/articles/a2.html")]  # 404 page: kept with what the listing said
    assert (a2["title"], a2["text"], a2["summary_only"]) == ("مقال ثان", "مقال ثان", True)
    again = await poller.poll(html, result.state)
    assert again.outcome == "not_modified"


async def test_article_fetch_budget_defers_the_rest(
    server: FixtureServer, http: HttpClient, fetcher_settings: FetcherSettings, clock: ManualClock
) -> None:
    settings = fetcher_settings.model_copy(update={"max_article_fetches": 1})
    limited = Poller(http, settings, clock=clock, rng=random.Random(1))
    server.route("/ar/articles/a1.html", fixture("article-a1.html", "text/html"))
    server.route("/ar/articles/a2.html", fixture("article-a2.html", "text/html"))
    html = source(
        server.route("/ar/", fixture("listing.html", "text/html")),
        SourceKind.HTML,
        selectors=Selectors(links="h2 a"),
    )
    first = await limited.poll(html, SourceState("src"))
    assert (len(first.records), first.deferred) == (1, 1)
    second = await limited.poll(html, first.state)  # not short-circuited by the body hash
    assert (len(second.records), second.deferred) == (1, 0)
    assert {r.value["url"] for r in first.records + second.records} == {
        server.url("/ar/articles/a1.html"),
        server.url("/ar/articles/a2.html"),
    }


async def test_full_article_for_summary_only_feeds(server: FixtureServer, poller: Poller) -> None:
    feed = (
        b'<rss version="2.0"><channel><title>t</title><item><title>Short</title><link>'
        + server.url("/story").encode()
        + b"</link><description>Just a teaser.</description></item></channel></rss>"
    )
    server.route("/story", fixture("article-a2.html", "text/html"))
    result = await poller.poll(
        source(server.route("/teaser", static(feed)), full_article=True), SourceState("src")
    )
    [record] = result.records
    assert record.value["title"] == "Short" and record.value["text"].startswith(
        "This is paragraph 1"
    )
    assert record.value["summary_only"] is False


async def test_a_stalled_source_is_a_timeout_not_a_hang(
    server: FixtureServer, poller: Poller
) -> None:
    result = await poller.poll(
        source(server.route("/stall", stall(seconds=10))), SourceState("src")
    )
    assert result.error is not None and result.error.kind is FetchErrorKind.TIMEOUT


def test_summary_line_is_one_line() -> None:
    result = PollResult(source("https://x.example/"), "items", SourceState("src"))
    assert "\n" not in result.summary()


@pytest.mark.parametrize(("body", "what"), [(b"", "0 bytes"), (b"\n  \r\n", "only whitespace")])
async def test_an_empty_body_is_called_empty(
    server: FixtureServer, poller: Poller, body: bytes, what: str
) -> None:
    """Not 'body is unknown, expected one of: atom, ...': there is nothing to sniff."""
    result = await poller.poll(source(server.route("/empty", static(body))), SourceState("src"))
    assert result.outcome == "error" and result.error is not None
    assert (result.error.kind, result.error.detail) == (
        FetchErrorKind.MALFORMED,
        f"the body is empty ({what})",
    )
