"""What ``sources discover`` proposes for a feed: its own title and language, and an id
that is a slug of the title (or of host and path when the title is not Latin)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import yaml

from newswire.fetcher.discover import discover, propose_id, render
from newswire.fetcher.fetch.client import HttpClient
from newswire.fetcher.sources import load_sources
from tests.fetcher.server import FixtureServer, fixture

ARABIC_TITLE = "أخبار العراق اليوم"


async def proposal_for(http: HttpClient, url: str, tmp_path: Path) -> dict[str, object]:
    out, err = io.StringIO(), io.StringIO()
    assert render(await discover(http, url), out, err) == 0, err.getvalue()
    path = tmp_path / "proposal.yaml"
    path.write_text(out.getvalue(), encoding="utf-8")
    load_sources(path)  # every proposal is a valid sources file
    return yaml.safe_load(out.getvalue())["sources"][0]


@pytest.mark.parametrize(
    ("name", "id_", "title", "language"),
    [
        ("rss2.xml", "example-wire-en", "Example Wire", "en"),  # RSS <language>
        ("atom-author-only.xml", "depeches-sans-liens-fr", "Dépêches sans liens", "fr"),  # xml:lang
        ("jsonfeed.json", "json-feed-example-ar", "JSON Feed Example", "ar"),  # JSON Feed
        ("jsonfeed-version-slash.json", "trailing-slash-feed-en", "Trailing Slash Feed", "en"),
    ],
)
async def test_a_feed_is_named_by_its_title_in_its_language(
    server: FixtureServer,
    http: HttpClient,
    tmp_path: Path,
    name: str,
    id_: str,
    title: str,
    language: str,
) -> None:
    url = server.route(f"/feeds/{name}", fixture(name))
    proposal = await proposal_for(http, url, tmp_path)
    assert (proposal["id"], proposal["name"], proposal["language"]) == (id_, title, language)
    assert (proposal["kind"], proposal["url"], proposal["verified"]) == ("feed", url, False)


async def test_two_feeds_of_one_host_get_two_ids(
    server: FixtureServer, http: HttpClient, tmp_path: Path
) -> None:
    latin = [
        await proposal_for(http, server.route("/en/rss", fixture("rss2.xml")), tmp_path),
        await proposal_for(http, server.route("/en/atom", fixture("atom.xml")), tmp_path),
    ]
    assert [p["id"] for p in latin] == ["example-wire-en", "atom-example-en"]
    arabic = [
        await proposal_for(
            http, server.route("/ar/one.xml", fixture("arabic-template.xml")), tmp_path
        ),
        await proposal_for(
            http, server.route("/ar/two.xml", fixture("arabic-template.xml")), tmp_path
        ),
    ]
    assert [(p["id"], p["name"], p["language"]) for p in arabic] == [
        ("127.0.0.1-ar-one", ARABIC_TITLE, "ar"),
        ("127.0.0.1-ar-two", ARABIC_TITLE, "ar"),
    ]


@pytest.mark.parametrize(
    ("name", "url", "language", "taken", "expected"),
    [
        ("Rudaw", "https://www.rudaw.net/rss/en", "en", (), "rudaw-en"),
        ("Rudaw", "https://www.rudaw.net/rss/ar", "ar", (), "rudaw-ar"),
        ("Rudaw English", "https://www.rudaw.net/rss", "en", (), "rudaw-english-en"),
        ("Süddeutsche Straße", "https://sz.example/feed", "de", (), "suddeutsche-strasse-de"),
        ("BBC عربي", "https://feeds.bbci.co.uk/arabic/rss.xml", "ar", (), "bbc-ar"),
        ("روداو", "https://www.rudaw.net/arabic/rss.xml", "ar", (), "rudaw.net-arabic-rss"),
        ("قناة 24", "https://k24.example/?feed=rss2", None, (), "k24.example-feed-rss2"),
        ("Example Wire", "https://wire.example/rss", None, (), "example-wire"),
        (
            "Example Wire",
            "https://wire.example/rss",
            None,
            ("example-wire",),
            "example-wire-wire.example-rss",
        ),
        (
            "Example Wire",
            "https://wire.example/rss",
            None,
            ("example-wire", "example-wire-wire.example-rss", "wire.example-rss"),
            "example-wire-2",
        ),
    ],
)
def test_proposed_ids(
    name: str, url: str, language: str | None, taken: tuple[str, ...], expected: str
) -> None:
    assert propose_id(name, url, language, taken) == expected


def test_long_titles_make_ids_within_the_schema() -> None:
    proposed = propose_id("The " + "very " * 40 + "long title", "https://a.example/", "en")
    assert len(proposed) <= 60 and proposed.endswith("-en") and "--" not in proposed
