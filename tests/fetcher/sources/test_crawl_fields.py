"""The sources file's crawl fields (``ignore_robots``, ``pagination``, ``max_pages``):
what they build, and bad values as one line each in the operator's words."""

from __future__ import annotations

from pathlib import Path

from newswire.fetcher.sources import check_sources_file, load_sources
from newswire.fetcher.sources.model import Pagination

GOOD = """\
sources:
  - id: h
    name: H
    kind: html
    url: https://h.example/news
    selectors: {links: "article a"}
    pagination: {next: "a.older", numbered: "?page={n}"}
    max_pages: 5
    ignore_robots: true
  - {id: f, name: F, kind: feed, url: "https://f.example/feed"}
"""

BAD = """\
sources:
  - id: a
    name: A
    kind: html
    url: https://a.example/news
    selectors: {links: "a.x"}
    ignore_robots: "yes"
    max_pages: 0
    pagination: {numbered: "/page/", nxt: "a"}
  - id: c
    name: C
    kind: feed
    url: https://c.example/feed
    pagination: {next: "a[[["}
"""


def test_crawl_fields_build_the_source(tmp_path: Path) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text(GOOD, encoding="utf-8")
    html, feed = load_sources(path)
    assert html.ignore_robots is True and html.max_pages == 5
    assert html.pagination == Pagination(next="a.older", numbered="?page={n}")
    # the override is never implied: absent means robots.txt is honoured
    assert (feed.ignore_robots, feed.pagination, feed.max_pages) == (False, None, None)


def test_bad_crawl_fields_are_one_line_each(tmp_path: Path) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text(BAD, encoding="utf-8")
    assert [line.split(": ", 2)[-1] for line in check_sources_file(path)] == [
        'ignore_robots "yes" must be true or false',
        "max_pages: 0 is less than the minimum of 1",
        'pagination.numbered "/page/" has no {n} for the page number '
        '(e.g. "?page={n}" or "/news/page/{n}/")',
        'unknown field "nxt"',
        "pagination is only used by kind html (listing pages)",
        'not a CSS selector the HTML parser accepts: "a[[[" (pagination.next)',
    ]
    assert [line.split(":", 1)[0] for line in check_sources_file(path)] == [
        "line 7",
        "line 8",
        "line 9",
        "line 9",
        "line 14",
        "line 14",
    ]
