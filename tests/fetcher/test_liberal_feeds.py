"""Liberal in what is read, strict in what is emitted: real-world feeds feedparser reads
(no links, author-only Atom entries, odd JSON Feed versions, truncated XML) and exactly
what the fetcher emits from them."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from newswire.common.schemas import SchemaName, validate
from newswire.common.settings import FetcherSettings
from newswire.fetcher.clock import ManualClock
from newswire.fetcher.errors import FetchError, FetchErrorKind
from newswire.fetcher.fetch.client import HttpClient
from newswire.fetcher.identity import identify
from newswire.fetcher.parse import DocFormat, Document, decode_body, parse_text, sniff_format
from newswire.fetcher.parse.feed import SKIP_CUT_OFF, SKIP_NO_TEXT, truncation
from newswire.fetcher.poller import Poller
from newswire.fetcher.records import build_record
from newswire.fetcher.sources import IdentityPolicy, Source, SourceKind
from newswire.fetcher.state import SourceState
from tests.fetcher.conftest import fetch_once_cli
from tests.fetcher.server import FixtureServer, fixture, fixture_bytes, sequence, static

ALL = frozenset(DocFormat)
FEED = Source(id="src", name="Source", kind=SourceKind.FEED, url="https://base.example/feed")
FETCHED = datetime(2026, 11, 3, tzinfo=UTC)


def parse(name: str) -> Document:
    text = decode_body(fixture_bytes(name), content_type=None).text
    return parse_text(text, base_url="https://base.example/feeds/x", accept=ALL)


def emitted(name: str, policy: IdentityPolicy = IdentityPolicy.GUID) -> list[dict]:
    """The raw records a first poll of fixture ``name`` would produce, schema-checked."""
    document = parse(name)
    records = []
    for item in identify(document.entries, policy):
        record = build_record(FEED, item, fetched_at=FETCHED, document_language=document.language)
        assert record is not None
        validate(SchemaName.RAW, record.value)
        records.append(record.value | {"item_key": item.key, "item_id": item.item_id})
    return records


# --- entries without links ----------------------------------------------------------------


def test_items_with_a_guid_and_no_link_are_articles() -> None:
    records = emitted("rss-guid-no-link.xml")
    assert [(r["item_key"], r["url"], r["title"]) for r in records] == [
        ("guid:urn:nolinks:2026:1001", None, "Oil exports rise in October"),
        ("guid:nolinks-1002", None, None),
        (
            "url:nolinks.example/news/1003",
            "https://nolinks.example/news/1003",
            "A permalink GUID stands in for the link",
        ),
        # isPermaLink defaults to true, but "nolinks-1004" is no URL: no link is made up
        # from it (it used to become https://base.example/feeds/nolinks-1004)
        ("guid:nolinks-1004", None, "A GUID that is no URL, though isPermaLink defaults to true"),
    ]
    assert records[1]["text"] == "A flash item: no title, no link, only its text."
    assert [r["guid"] for r in records] == [
        "urn:nolinks:2026:1001",
        "nolinks-1002",
        "https://nolinks.example/news/1003",
        "nolinks-1004",
    ]
    assert all(r["language_hint"] == "en" for r in records)


@pytest.mark.parametrize("policy", list(IdentityPolicy))
def test_ids_of_linkless_entries_are_stable(policy: IdentityPolicy) -> None:
    first = [(r["item_id"], r["id"]) for r in emitted("rss-guid-no-link.xml", policy)]
    again = [(r["item_id"], r["id"]) for r in emitted("rss-guid-no-link.xml", policy)]
    assert first == again and len({item_id for item_id, _ in first}) == 4


def test_an_atom_entry_with_an_id_an_author_and_a_title_is_an_article() -> None:
    document = parse("atom-author-only.xml")
    assert document.skipped == {SKIP_NO_TEXT: 1}  # the entry with only an id and an author
    assert [(e.guid, e.link) for e in document.entries] == [
        ("urn:depeches:2026:1", None),  # feedparser's link=id copy is not a link
        ("urn:depeches:2026:2", None),
    ]
    records = emitted("atom-author-only.xml")
    assert [(r["title"], r["text"], r["language_hint"]) for r in records] == [
        ("Le parlement adopte le budget", "Le parlement adopte le budget", "fr"),
        (None, "Une dépêche sans titre ni lien, seulement un résumé.", "fr"),
    ]


# --- JSON Feed ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (
            "jsonfeed-version-slash.json",
            [("slash-1", "https://slash.example/posts/1"), ("slash-2", None)],
        ),
        (
            "jsonfeed-escaped-http-version.json",
            [("e-1", "http://escaped.example/a/1"), ("e-2", "http://escaped.example/a/2")],
        ),
    ],
)
def test_json_feeds_with_an_odd_version_are_read(
    name: str, expected: list[tuple[str, str | None]]
) -> None:
    document = parse(name)
    assert document.format is DocFormat.JSON_FEED
    assert [(e.guid, e.link) for e in document.entries] == expected
    assert len(emitted(name)) == 2


@pytest.mark.parametrize(
    "text",
    [
        '{"version": "https://jsonfeed.org/version/1.1/", "items": []}',
        '{"version": "http://jsonfeed.org/version/1", "items": []}',
        '{"version": "https:\\/\\/www.JSONFeed.org\\/version\\/1.1", "items": []}',
        '{"version": "1.1", "items": [{"id": 1, "content_text": "no version URL at all"}]}',
    ],
)
def test_json_feed_is_recognised_however_its_version_is_spelled(text: str) -> None:
    assert sniff_format(text) is DocFormat.JSON_FEED


def test_json_that_is_no_feed_stays_json() -> None:
    assert sniff_format('{"items": [1, 2], "version": "2"}') is DocFormat.JSON


# --- truncated XML ------------------------------------------------------------------------


def test_a_feed_cut_after_its_last_item_is_read_whole_and_flagged() -> None:
    document = parse("rss-no-root-end.xml")
    assert [e.guid for e in document.entries] == ["cut-1", "cut-2"]
    assert document.malformed and document.skipped == {}
    assert document.defects == ("truncated: the document ends without </rss> after its last item",)
    assert [r["title"] for r in emitted("rss-no-root-end.xml")] == ["الخبر الأول", "الخبر الثاني"]


def test_a_feed_cut_inside_an_item_emits_only_complete_items() -> None:
    document = parse("rss-truncated-mid-item.xml")
    assert [e.guid for e in document.entries] == ["midcut-1", "midcut-2"]
    assert document.skipped == {SKIP_CUT_OFF: 1}
    assert document.defects == ("truncated: the document ends inside <item> 3",)


def test_a_feed_cut_before_any_complete_item_is_malformed() -> None:
    with pytest.raises(FetchError) as caught:
        parse("rss-truncated-first-item.xml")
    assert caught.value.kind is FetchErrorKind.MALFORMED
    assert caught.value.detail == (
        "truncated: the document ends inside <item> 1, before any item was complete"
    )


@pytest.mark.parametrize(
    ("text", "format_", "expected"),
    [
        ("<rss><channel><item><title>a</title></item></channel></rss>", DocFormat.RSS, None),
        ("<rss><channel><item>a</item></channel></rss>\n<b>Warning</b>: x", DocFormat.RSS, None),
        ("<rss><channel><item><title>a</title></item>", DocFormat.RSS, (1, False)),
        ("<rss><channel><item><title>a</title></item><item><title>b</ti", DocFormat.RSS, (2, True)),
        ("<rss><channel><item><title>a</title></item><item/>", DocFormat.RSS, (2, False)),
        ("<rss><channel><item><title>a</title>\n</channel>", DocFormat.RSS, (1, False)),
        ("<rss><channel><title>only the head", DocFormat.RSS, (0, False)),
        ("<feed><entry><id>x</id></entry><entry><id>y", DocFormat.ATOM, (2, True)),
        ("<a:feed xmlns:a='x'><a:entry><a:id>x</a:id></a:entry></a:feed>", DocFormat.ATOM, None),
        ("<rdf:RDF><item><title>a</title></item>", DocFormat.RDF, (1, False)),
    ],
)
def test_where_a_document_is_cut(
    text: str, format_: DocFormat, expected: tuple[int, bool] | None
) -> None:
    cut = truncation(text, format_)
    assert (None if cut is None else (cut.entries_started, cut.inside_entry)) == expected


# --- through the poller -------------------------------------------------------------------


@pytest.fixture
def poller(http: HttpClient, fetcher_settings: FetcherSettings) -> Poller:
    clock = ManualClock(start=1_793_700_000.0)
    return Poller(http, fetcher_settings, clock=clock, rng=random.Random(7))


def source(url: str) -> Source:
    return Source(id="src", name="Source", kind=SourceKind.FEED, url=url)


async def test_the_cut_item_is_emitted_whole_by_the_next_poll(
    server: FixtureServer, poller: Poller
) -> None:
    cut = fixture_bytes("rss-truncated-mid-item.xml")
    whole = cut + (
        b"dle of nothing: this time it arrived.</description>\n"
        b'      <guid isPermaLink="false">midcut-3</guid>\n    </item>\n  </channel>\n</rss>\n'
    )
    url = server.route("/cut", sequence(static(cut), static(whole)))
    first = await poller.poll(source(url), SourceState("src"))
    assert first.outcome == "incomplete" and first.defects
    assert [r.value["guid"] for r in first.records] == ["midcut-1", "midcut-2"]
    second = await poller.poll(source(url), first.state)
    assert not second.defects
    [record] = second.records
    assert record.value["guid"] == "midcut-3"
    assert record.value["text"].endswith("this time it arrived.")


async def test_an_entry_with_nothing_to_read_is_read_once_it_has_text(
    server: FixtureServer, poller: Poller
) -> None:
    bare = fixture_bytes("atom-author-only.xml")
    titled = bare.replace(
        b"<id>urn:depeches:2026:3</id>",
        b"<id>urn:depeches:2026:3</id><title>Troisi\xc3\xa8me d\xc3\xa9p\xc3\xaache</title>",
    )
    url = server.route("/atom", sequence(static(bare), static(titled)))
    first = await poller.poll(source(url), SourceState("src"))
    assert len(first.records) == 2 and first.dropped == 0
    second = await poller.poll(source(url), first.state)
    assert [(r.value["guid"], r.value["title"]) for r in second.records] == [
        ("urn:depeches:2026:3", "Troisième dépêche")
    ]


async def test_the_fetch_command_on_every_liberal_feed(
    server: FixtureServer, tmp_path: Path
) -> None:
    names = {
        "nolink": "rss-guid-no-link.xml",
        "author": "atom-author-only.xml",
        "slash": "jsonfeed-version-slash.json",
        "escaped": "jsonfeed-escaped-http-version.json",
        "noroot": "rss-no-root-end.xml",
        "midcut": "rss-truncated-mid-item.xml",
        "firstcut": "rss-truncated-first-item.xml",
    }
    lines = ["sources:"]
    for source_id, name in names.items():
        url = server.route(f"/{name}", fixture(name))
        lines.append(f'  - {{id: {source_id}, name: {source_id}, kind: feed, url: "{url}"}}')
    path = tmp_path / "sources.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, stdout, stderr = await fetch_once_cli(
        path, env={"FETCHER_PER_HOST_SPACING_S": "0"}, timeout_s=120
    )
    assert code == 1  # firstcut failed, and said so
    records = [orjson.loads(line) for line in stdout.splitlines()]
    for record in records:
        validate(SchemaName.RAW, record)
    per_source = {sid: sum(r["source"]["id"] == sid for r in records) for sid in names}
    assert per_source == {
        "nolink": 4,
        "author": 2,
        "slash": 2,
        "escaped": 2,
        "noroot": 2,
        "midcut": 2,
        "firstcut": 0,
    }
    report = {
        line.split()[0]: line for line in stderr.decode().splitlines() if line.startswith("source=")
    }
    assert (
        "outcome=error error=malformed detail='truncated: the document ends inside <item> 1, "
        "before any item was complete'" in report["source=firstcut"]
    )
    assert "outcome=incomplete items=2 listed=2" in report["source=midcut"]
    assert "skipped=1 (cut off by the truncation: 1)" in report["source=midcut"]
    assert "malformed='truncated: the document ends inside <item> 3'" in report["source=midcut"]
    assert "malformed=" not in report["source=nolink"]


def test_an_entry_with_only_a_link_is_kept_for_its_page() -> None:
    """A full_article source fills such an entry from its page: the parser must pass it
    on (skipping it lost the item for good once the feed's body hash was stored)."""
    xml = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
        "<item><link>https://base.example/news/1</link></item>"
        '<item><guid isPermaLink="false">nothing-1</guid></item>'
        "</channel></rss>"
    )
    document = parse_text(xml, base_url="https://base.example/feeds/x", accept=ALL)
    assert [entry.link for entry in document.entries] == ["https://base.example/news/1"]
    assert document.skipped == {SKIP_NO_TEXT: 1}
