"""``sources discover``: alternates, WordPress API, common paths, sitemaps, HTML fallback."""

from __future__ import annotations

import io

import yaml

from newswire.fetcher.discover import discover, render
from newswire.fetcher.fetch.client import HttpClient
from newswire.fetcher.sources import load_sources
from tests.fetcher.server import FixtureServer, fixture, fixture_bytes, static

HOME = """<!DOCTYPE html><html lang="ar"><head><title>موقع تجريبي</title>
<link rel="alternate" type="application/rss+xml" href="/feed/">
<link rel="https://api.w.org/" href="/wp-json/"></head>
<body><article><h2><a href="/a/1">one</a></h2></article>\
<div class="wp-content"></div></body></html>"""


async def test_discover_finds_everything_a_site_offers(
    server: FixtureServer, http: HttpClient, tmp_path
) -> None:
    server.route("/", static(HOME, "text/html; charset=utf-8"))
    server.route("/feed/", fixture("rss2.xml"))
    server.route(
        "/wp-json/wp/v2/posts", static(fixture_bytes("wp-posts-1.json"), "application/json")
    )
    server.route(
        "/robots.txt", static(f"User-agent: *\nSitemap: {server.url('/news.xml')}\n", "text/plain")
    )
    server.route("/news.xml", fixture("sitemap-news.xml"))
    discovery = await discover(http, server.url("/"))
    kinds = {c.kind: c for c in discovery.candidates}
    assert kinds["feed"].entries == 4 and kinds["feed"].how == "<link rel=alternate>"
    assert kinds["wordpress"].entries == 2
    assert kinds["sitemap"].how == "robots.txt" and kinds["sitemap"].entries == 2
    assert kinds["html"].entries == 1
    out, err = io.StringIO(), io.StringIO()
    assert render(discovery, out, err) == 0
    proposal = yaml.safe_load(out.getvalue())["sources"][0]
    assert (proposal["kind"], proposal["url"], proposal["language"], proposal["verified"]) == (
        "feed",
        server.url("/feed/"),
        "ar",
        False,
    )
    path = tmp_path / "proposal.yaml"
    path.write_text(out.getvalue())
    assert load_sources(path)[0].name == "موقع تجريبي"  # the proposal is a valid sources file


async def test_discover_falls_back_to_html(server: FixtureServer, http: HttpClient) -> None:
    server.route("/", fixture("listing.html", "text/html"))
    discovery = await discover(http, server.url("/"))
    proposal = discovery.proposal()
    assert proposal is not None and proposal["kind"] == "html" and "selectors" in proposal


async def test_a_feed_url_is_its_own_proposal(server: FixtureServer, http: HttpClient) -> None:
    discovery = await discover(http, server.route("/atom", fixture("atom.xml")))
    assert [(c.kind, c.entries) for c in discovery.candidates] == [("feed", 2)]
