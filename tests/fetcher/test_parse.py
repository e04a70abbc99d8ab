"""Decoding, sniffing and every format adapter, on the fixture files."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import feedparser
import pytest
from hypothesis import given
from hypothesis import strategies as st

from newswire.fetcher.errors import FetchError, FetchErrorKind
from newswire.fetcher.parse import DocFormat, decode_body, parse_text, sniff_format
from newswire.fetcher.parse.decode import as_utf8_xml, language_in_document
from newswire.fetcher.parse.html import extract_article, listing_links
from newswire.fetcher.parse.htmltext import html_to_text
from newswire.fetcher.parse.xmlguard import refuse_unsafe_xml, repair_charrefs
from newswire.fetcher.sources import Selectors
from tests.fetcher.server import ARTICLE_A1_TEXT, article_a1_selectors, fixture_bytes

ALL = frozenset(DocFormat)
FIRST_ARABIC_TITLE = "رئيس الوزراء يلتقي وفدا من إقليم كردستان في بغداد"


def parse_fixture(name: str, content_type: str | None = None, **kwargs: object):
    decoded = decode_body(fixture_bytes(name), content_type=content_type, **kwargs)  # type: ignore[arg-type]
    return decoded, parse_text(decoded.text, base_url="https://base.example/feeds/x", accept=ALL)


# --- decoding ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content_type", "encoding", "reason"),
    [
        ("arabic-1256-declared.xml", None, "windows-1256", "document"),
        ("arabic-1256-undeclared.xml", "application/rss+xml", "windows-1256", "detected"),
        ("arabic-8859-6-http.xml", "text/xml; charset=ISO-8859-6", "iso-8859-6", "http"),
        ("arabic-8859-6-undeclared.xml", "text/xml", "iso-8859-6", "detected"),
    ],
)
def test_legacy_arabic_feeds_come_out_as_arabic(
    name: str, content_type: str | None, encoding: str, reason: str
) -> None:
    decoded, document = parse_fixture(name, content_type)
    assert (decoded.encoding, decoded.reason) == (encoding, reason)
    assert [e.guid for e in document.entries] == ["ar-1001", "ar-1002", "ar-1003"]
    assert document.entries[0].title == FIRST_ARABIC_TITLE
    assert "الموازنة وصادرات النفط" in document.entries[0].text


def test_feedparser_alone_gets_undeclared_windows_1256_wrong() -> None:
    """Why the fetcher decodes bodies itself: feedparser guesses windows-1252."""
    result = feedparser.parse(io.BytesIO(fixture_bytes("arabic-1256-undeclared.xml")))
    assert result.entries[0].title != FIRST_ARABIC_TITLE


def test_short_iso_8859_6_needs_the_language_hint() -> None:
    body = "رئيس الوزراء يلتقي وفدا".encode("iso8859_6")
    assert decode_body(body, language_hint="ar").text == "رئيس الوزراء يلتقي وفدا"


def test_override_beats_everything() -> None:
    body = fixture_bytes("arabic-1256-declared.xml")
    assert decode_body(body, override="iso-8859-6").reason == "override"
    assert decode_body(b"ascii only", override="cp1256").encoding == "windows-1256"


def test_utf8_beats_a_wrong_declaration_and_boms_are_honoured() -> None:
    body = '<?xml version="1.0" encoding="windows-1256"?><rss>عربي</rss>'.encode()
    assert decode_body(body, content_type="text/xml; charset=iso-8859-1").reason == "utf-8"
    assert decode_body(b"\xef\xbb\xbf<rss/>").text == "<rss/>"
    assert decode_body("<rss/>".encode("utf-16")).text == "<rss/>"


def test_language_sniffed_from_ascii_markup() -> None:
    assert language_in_document(b"<rss><channel><language>ar</language>") == "ar"
    assert language_in_document(b'<html lang="fa-IR">') == "fa"
    assert language_in_document(b"<rss/>") is None


def test_as_utf8_xml_rewrites_the_declaration() -> None:
    assert as_utf8_xml('<?xml version="1.0" encoding="windows-1256"?><a>ب</a>') == (
        '<?xml version="1.0" encoding="utf-8"?><a>ب</a>'.encode()
    )
    assert as_utf8_xml("<a/>") == b"<a/>"


@given(
    st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=200).filter(
        lambda t: not t.startswith("\ufeff")  # a leading BOM is the encoding's mark, dropped
    )
)
def test_utf8_round_trips(text: str) -> None:
    assert decode_body(text.encode()).text == text


# --- sniffing ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("rss2.xml", DocFormat.RSS),
        ("rdf.xml", DocFormat.RDF),
        ("atom.xml", DocFormat.ATOM),
        ("jsonfeed.json", DocFormat.JSON_FEED),
        ("wp-posts-1.json", DocFormat.WORDPRESS),
        ("sitemap-index.xml", DocFormat.SITEMAP_INDEX),
        ("sitemap-news.xml", DocFormat.SITEMAP),
        ("listing.html", DocFormat.HTML),
        ("rss091-netscape.xml", DocFormat.RSS),
        ("billion-laughs.xml", DocFormat.RSS),
        ("notafeed.txt", DocFormat.HTML),
    ],
)
def test_format_comes_from_the_body(name: str, expected: DocFormat) -> None:
    assert sniff_format(decode_body(fixture_bytes(name)).text) is expected


def test_html_where_a_feed_was_expected_is_unsupported() -> None:
    with pytest.raises(FetchError) as caught:
        parse_text(
            fixture_bytes("listing.html").decode(),
            base_url="https://x/",
            accept=frozenset({DocFormat.RSS}),
        )
    assert caught.value.kind is FetchErrorKind.UNSUPPORTED


# --- feeds --------------------------------------------------------------------------------


def test_rss2() -> None:
    _, document = parse_fixture("rss2.xml")
    first, undated, *_ = document.entries
    assert (document.format, document.language, document.poll_hint_s) == (
        DocFormat.RSS,
        "en",
        1800.0,
    )
    assert first.title == "Parliament passes the budget & oil law"
    assert (
        first.text == "The parliament passed the budget.\n\nSee the law."
    )  # content:encoded, no script
    assert not first.summary_only
    assert first.published_at == datetime(2026, 11, 2, 6, 30, tzinfo=UTC)
    assert undated.link == "https://base.example/news/undated"  # relative link resolved
    assert undated.published_at is None and undated.guid == "wire-undated-1"


def test_rdf_and_update_period() -> None:
    _, document = parse_fixture("rdf.xml")
    assert document.format is DocFormat.RDF and document.poll_hint_s == 3600.0
    assert [e.guid for e in document.entries] == ["https://rdf.example/a", "https://rdf.example/b"]
    assert document.entries[1].published_at == datetime(2026, 11, 1, 11, tzinfo=UTC)


def test_atom_with_xml_base() -> None:
    _, document = parse_fixture("atom.xml")
    one, two = document.entries
    assert (one.title, one.link) == ("Atom entry one", "https://atom.example/blog/posts/one")
    assert one.text == "Full content of one." and not one.summary_only
    assert two.summary_only and two.published_at == datetime(2026, 11, 1, 13, tzinfo=UTC)


def test_json_feed() -> None:
    _, document = parse_fixture("jsonfeed.json")
    first, second, third = document.entries
    assert (first.guid, first.title, first.text, first.language) == (
        "1001",
        "خبر عاجل من بغداد",
        "نص الخبر الكامل.",
        "ar",
    )
    assert second.link == "https://json.example/relative/item" and second.language == "en"
    assert third.link == "https://elsewhere.example/story" and third.summary_only


def test_rss_091_with_the_netscape_doctype_is_fine() -> None:
    _, document = parse_fixture("rss091-netscape.xml")
    assert document.entries[0].title == "Café opens"


def test_ill_formed_xml_is_recovered_when_possible_and_classified_when_not() -> None:
    _, document = parse_fixture("illformed.xml")
    assert document.recovered and document.entries[0].link == "https://broken.example/1"
    with pytest.raises(FetchError) as caught:
        parse_fixture("garbage.xml")
    assert caught.value.kind is FetchErrorKind.MALFORMED


@pytest.mark.parametrize("name", ["billion-laughs.xml", "external-entity.xml"])
def test_dtds_and_entities_are_refused_before_parsing(name: str) -> None:
    with pytest.raises(FetchError) as caught:
        parse_fixture(name)
    assert caught.value.kind is FetchErrorKind.UNSAFE_XML


def test_entity_declarations_hidden_behind_comments_are_still_found() -> None:
    with pytest.raises(FetchError):
        refuse_unsafe_xml('<?xml version="1.0"?><!-- <rss> --><!DOCTYPE x [<!ENTITY a "b">]><rss/>')
    refuse_unsafe_xml("<rss><description>&lt;!ENTITY is text here</description></rss>")


def test_out_of_range_character_references_do_not_cost_the_feed() -> None:
    _, document = parse_fixture("bad-charref.xml")
    assert document.entries[0].title == "Bad reference \ufffd inside"
    assert repair_charrefs("&#65;&#x10FFFF;&#xD800;&#0;") == "&#65;&#x10FFFF;\ufffd\ufffd"


def test_a_parser_exception_is_a_classified_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(*_: object, **__: object) -> None:
        raise OverflowError("Python int too large to convert to C int")

    monkeypatch.setattr(feedparser, "parse", explode)
    with pytest.raises(FetchError) as caught:
        parse_fixture("rdf.xml")  # RDF: always feedparser's (rss2.xml takes the fast path)
    assert caught.value.kind is FetchErrorKind.MALFORMED and "OverflowError" in caught.value.detail


# --- WordPress, sitemaps, HTML --------------------------------------------------------------


def test_wordpress_posts() -> None:
    _, document = parse_fixture("wp-posts-1.json")
    first, second = document.entries
    assert first.guid == "https://wp.example/?p=301" and first.title == "سياسة \u2013 عنوان أول"
    assert first.text == "المحتوى الكامل للمقال الأول.\n\nفقرة ثانية."
    assert first.published_at == datetime(2026, 11, 2, 8, tzinfo=UTC)
    assert second.link == "https://wp.example/2026/11/01/second/"


def test_sitemaps() -> None:
    _, index = parse_fixture("sitemap-index.xml")
    assert [c.url for c in index.children] == [
        "https://base.example/sitemaps/news.xml",
        "https://base.example/sitemaps/old.xml",
    ]
    _, urlset = parse_fixture("sitemap-news.xml")
    a1, a2 = urlset.entries
    assert (a1.link, a1.title, a1.language) == (
        "https://base.example/articles/a1.html",
        "عنوان من خريطة الموقع",
        "ar",
    )
    assert a2.published_at == datetime(2026, 11, 2, 7, tzinfo=UTC)


def test_listing_links_resolve_against_the_base_and_stay_on_site() -> None:
    links = listing_links(
        fixture_bytes("listing.html").decode(),
        page_url="https://pk.example/ar/index",
        selector="h2.post-title",
    )
    assert list(links) == [
        "https://pk.example/ar/articles/a1.html",
        "https://pk.example/ar/articles/a2.html",
    ]
    assert links["https://pk.example/ar/articles/a1.html"] == "مقال أول"


def test_article_by_selectors() -> None:
    article = extract_article(
        fixture_bytes("article-a1.html").decode(),
        url="https://pk.example/a1",
        selectors=article_a1_selectors(links="a"),
    )
    assert article.title == "قراءة في المشهد السياسي العراقي"
    assert article.text == ARTICLE_A1_TEXT
    assert article.published_at == datetime(2026, 11, 2, 5, tzinfo=UTC)
    assert (article.language, article.extractor) == ("ar", "selectors")


def test_article_falls_back_to_the_extractor() -> None:
    article = extract_article(
        fixture_bytes("article-a2.html").decode(),
        url="https://x.example/a2",
        selectors=Selectors(links="a", body=".no-such-thing"),
    )
    assert article.extractor == "trafilatura"
    assert article.text.startswith("This is paragraph 1 of a long article")
    assert "Copyright notice" not in article.text and "Home" not in article.text


def test_html_to_text_is_clean_plain_text() -> None:
    html = (
        "<div><p>One &amp; <b>two</b></p><script>x()</script>"
        "<ul><li>a</li><li>b</li></ul>three<br>four</div>"
    )
    assert html_to_text(html) == "One & two\n\na\n\nb\n\nthree\nfour"
    assert html_to_text("  plain   text ") == "plain text"
