"""The fast feed path reads every body exactly as feedparser does, or hands it to feedparser.

Both parsers run on every XML fixture under tests/fixtures, on the hostile bodies of
test_liberal_feeds.py (truncated, bare, ill-formed) and on generated feeds: the
document (entries with guid, link, title, text after our HTML-to-text, published time,
language, summary flag; title, language, poll hint, skipped counts, defects) or the
error must be the same.
"""

from __future__ import annotations

from pathlib import Path

import fastfeedparser
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from newswire.fetcher.bench import feed_body
from newswire.fetcher.errors import FetchError
from newswire.fetcher.metrics import FetcherMetrics
from newswire.fetcher.parse import DocFormat, Document, decode_body, sniff_format
from newswire.fetcher.parse.feed import parse_feed_xml, prepare_feed_xml
from newswire.fetcher.parse.feedroute import FAST, FEEDPARSER, fast_document, read_feed_xml

FIXTURES = Path(__file__).parents[1] / "fixtures"
BASE = "https://base.example/feeds/x"
XML_FIXTURES = sorted(FIXTURES.rglob("*.xml"))
#: The bodies test_liberal_feeds.py and test_parse.py feed the parser inline.
HOSTILE = [
    "<rss><channel><item><title>a</title></item></channel></rss>",
    '<rss version="2.0"><channel><item>a</item></channel></rss>\n<b>Warning</b>: x',
    "<rss><channel><item><title>a</title></item>",
    "<rss><channel><item><title>a</title></item><item><title>b</ti",
    "<rss><channel><item><title>a</title></item><item/>",
    "<rss><channel><item><title>a</title>\n</channel>",
    "<rss><channel><title>only the head",
    "<feed><entry><id>x</id></entry><entry><id>y",
    "<a:feed xmlns:a='x'><a:entry><a:id>x</a:id></a:entry></a:feed>",
    "<rdf:RDF><item><title>a</title></item>",
    '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
    "<item><link>https://base.example/news/1</link></item>"
    '<item><guid isPermaLink="false">nothing-1</guid></item></channel></rss>',
    '<?xml version="1.0"?><!-- <rss> --><!DOCTYPE x [<!ENTITY a "b">]><rss/>',
    "<rss><description>&lt;!ENTITY is text here</description></rss>",
    '<rss version="2.0"><channel><item><title>&#0; and &#xD800;</title></item></channel></rss>',
    '<rss version="2.0"><channel></channel></rss>',
    '<rss version="2.0"/>',
    '<feed xmlns="http://www.w3.org/2005/Atom"/>',
    '<rss version="2.0"><channel><item><title>a</title></item></channel></rss>trailing junk',
]


def outcome(read: object) -> object:
    """A document's fields that reach a record, or the error's kind and detail."""
    try:
        document = read()  # type: ignore[operator]
    except FetchError as error:
        return ("error", error.kind, error.detail)
    if document is None:
        return None
    assert isinstance(document, Document)
    return (
        document.format,
        document.entries,
        document.title,
        document.language,
        document.poll_hint_s,
        document.skipped,
        document.recovered,
        document.defects,
    )


def fast(text: str, format_: DocFormat) -> object:
    def read() -> Document | None:
        _, data = prepare_feed_xml(text)
        return fast_document(data, base_url=BASE, format_=format_)

    return outcome(read)


def assert_same(text: str) -> object:
    """read_feed_xml == feedparser alone; and the fast path, where taken, == feedparser."""
    format_ = sniff_format(text)
    reference = outcome(lambda: parse_feed_xml(text, base_url=BASE, format_=format_))
    assert outcome(lambda: read_feed_xml(text, base_url=BASE, format_=format_)) == reference
    quick = fast(text, format_)
    assert quick is None or quick == reference or quick[0] == "error"  # type: ignore[index]
    if isinstance(quick, tuple) and quick[0] == "error":
        assert quick == reference  # refused before either parser (DTD): the same error
    return quick


def fixture_text(path: Path) -> str:
    return decode_body(path.read_bytes(), content_type=None).text


def routed(text: str) -> tuple[str, str] | None:
    """(parser, reason) that read ``text``; None if refused before either (DTD)."""
    try:
        return read_feed_xml(text, base_url=BASE, format_=sniff_format(text)).parsed_by
    except FetchError:
        return None


def test_the_fixtures_are_found() -> None:
    assert len(XML_FIXTURES) >= 20


@pytest.mark.parametrize("path", XML_FIXTURES, ids=lambda p: p.name)
def test_every_xml_fixture_reads_the_same(path: Path) -> None:
    assert_same(fixture_text(path))


@pytest.mark.parametrize("text", HOSTILE)
def test_every_hostile_body_reads_the_same(text: str) -> None:
    assert_same(text)


@pytest.mark.parametrize(
    ("name", "route"),
    [
        ("rss2.xml", (FAST, "")),
        ("arabic-1256-undeclared.xml", (FAST, "")),
        ("atom-author-only.xml", (FAST, "")),
        ("rss-guid-no-link.xml", (FAST, "")),
        ("bad-charref.xml", (FAST, "")),
        ("wordpress-mixed.xml", (FAST, "")),
        ("atom-plain.xml", (FAST, "")),
        ("atom.xml", (FEEDPARSER, "xml:lang/base")),
        ("rdf.xml", (FEEDPARSER, "format")),
        ("rss091-netscape.xml", (FEEDPARSER, "ill-formed")),
        ("illformed.xml", (FEEDPARSER, "ill-formed")),
        ("rss-truncated-mid-item.xml", (FEEDPARSER, "ill-formed")),
        ("rss-odd-dates.xml", (FEEDPARSER, "date")),
        ("billion-laughs.xml", None),
    ],
)
def test_which_parser_reads_each_fixture(name: str, route: tuple[str, str] | None) -> None:
    """The fast path is taken where promised (else the equivalence tests prove nothing)."""
    assert routed(fixture_text(FIXTURES / "fetcher" / name)) == route


def test_the_fast_path_agrees_on_the_fixtures_it_reads() -> None:
    fast_read = [p for p in XML_FIXTURES if fast(fixture_text(p), sniff_format(fixture_text(p)))]
    assert len(fast_read) >= 9
    for path in fast_read:
        text = fixture_text(path)
        assert fast(text, sniff_format(text)) == outcome(
            lambda text=text: parse_feed_xml(text, base_url=BASE, format_=sniff_format(text))
        )


def test_the_bench_feed_takes_the_fast_path() -> None:
    text = feed_body(7).decode()
    assert assert_same(text) is not None


def test_the_route_travels_with_the_poll_to_the_counter() -> None:
    from newswire.fetcher.poller import PollResult
    from newswire.fetcher.sources import Source, SourceKind
    from newswire.fetcher.state import SourceState

    metrics = FetcherMetrics()
    source = Source(id="s", name="S", kind=SourceKind.FEED, url="https://x.example/feed")
    for name in ("rdf.xml", "rss2.xml"):
        route = routed(fixture_text(FIXTURES / "fetcher" / name))
        metrics.observe(PollResult(source, "items", SourceState("s"), parsed_by=route))
    for parser, reason in ((FEEDPARSER, "format"), (FAST, "")):
        labels = {"parser": parser, "reason": reason}
        assert metrics.registry.get_sample_value("fetcher_feed_parser_total", labels) == 1


# --- generated feeds ----------------------------------------------------------------------

_PIECES = [*"ab Zé ع\t\n&<>;#\"'", "&amp;", "&lt;b&gt;", "&#233;", "]]>", "<p>", "</x>"]
#: Rare: what feedparser repairs and fastfeedparser does not (routed to feedparser).
_ODD_PIECES = ["Ã©", "\x85", "&foo;"]
_TEXT = st.lists(st.sampled_from(_PIECES * 8 + _ODD_PIECES), max_size=12).map("".join)
_DATES = st.sampled_from(
    [
        "Mon, 02 Nov 2026 06:30:00 GMT",
        "02 Nov 2026 09:00:00 +0300",
        "Tue, 02 Nov 2026 06:30 UT",
        "Mon, 2 Nov 2026 25:00:00 GMT",
        "Mon, 31 Feb 2026 10:00:00 +0000",
        "2026-11-02T06:30:00Z",
        "2026-11-02T06:30:00.123456+02:00",
        "2026-11-02T06:30:00",
        "2026-11-02",
        "yesterday",
        "1999-13-40T00:00:00Z",
        "",
    ]
)
_LINKS = st.sampled_from(
    ["https://x.example/a", "/relative/b", "1001", "tag:x,2026:1", "javascript:x", "", " "]
)


def _escape(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@st.composite
def _field(draw: st.DrawFn, tag: str, values: st.SearchStrategy[str]) -> str:
    value = draw(values)
    how = draw(st.sampled_from(["escaped", "cdata", "raw", "absent", "empty"]))
    if how == "absent":
        return ""
    if how == "empty":
        return f"<{tag}/>"
    if how == "cdata" and "]]>" not in value:
        return f"<{tag}><![CDATA[{value}]]></{tag}>"
    return f"<{tag}>{_escape(value) if how == 'escaped' else value}</{tag}>"


@st.composite
def rss_items(draw: st.DrawFn) -> str:
    parts = [
        draw(_field("title", _TEXT)),
        draw(_field("link", _LINKS)),
        draw(_field("description", _TEXT)),
        draw(_field("pubDate", _DATES)),
        draw(_field("content:encoded", _TEXT)),
        draw(_field("dc:creator", _TEXT)),
    ]
    guid = draw(_LINKS)
    permalink = draw(st.sampled_from(["", ' isPermaLink="false"', ' isPermaLink="true"']))
    if draw(st.booleans()):
        parts.append(f"<guid{permalink}>{_escape(guid)}</guid>")
    if draw(st.booleans()):
        parts.append(draw(_field("dc:date", _DATES)))
    order = draw(st.permutations(parts))
    return "<item>" + "".join(order) + "</item>"


@st.composite
def rss_feeds(draw: st.DrawFn) -> str:
    items = "".join(draw(st.lists(rss_items(), max_size=4)))
    head = draw(st.sampled_from(["", "<language>ar</language>", "<dc:language>fr</dc:language>"]))
    hint = draw(st.sampled_from(["", "<ttl>30</ttl>", "<sy:updatePeriod>daily</sy:updatePeriod>"]))
    version = draw(st.sampled_from(['version="2.0"', 'version="2.0"', 'version="0.92"', ""]))
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss {version} '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:sy="http://purl.org/rss/1.0/modules/syndication/">'
        f"<channel>{draw(_field('title', _TEXT))}{head}{hint}{items}</channel></rss>"
    )


@st.composite
def atom_entries(draw: st.DrawFn) -> str:
    kind = st.sampled_from(["", ' type="text"', ' type="html"'])
    parts = [
        draw(_field("id", _LINKS)),
        draw(_field("published", _DATES)),
        draw(_field("updated", _DATES)),
        f"<title{draw(kind)}>{_escape(draw(_TEXT))}</title>",
        draw(_field("author", st.just("<name>R</name>"))),
    ]
    if draw(st.booleans()):
        parts.append(f"<summary{draw(kind)}>{_escape(draw(_TEXT))}</summary>")
    if draw(st.booleans()):
        parts.append(f"<content{draw(kind)}>{_escape(draw(_TEXT))}</content>")
    if draw(st.booleans()):
        rel = draw(st.sampled_from(["", ' rel="alternate"', ' rel="self"', ' rel="related"']))
        parts.append(f'<link{rel} href="{_escape(draw(_LINKS))}"/>')
    return "<entry>" + "".join(draw(st.permutations(parts))) + "</entry>"


@st.composite
def atom_feeds(draw: st.DrawFn) -> str:
    entries = "".join(draw(st.lists(atom_entries(), max_size=4)))
    lang = draw(st.sampled_from(["", ' xml:lang="fa"']))
    return (
        f'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"{lang}>'
        f"{draw(_field('title', _TEXT))}{entries}</feed>"
    )


@st.composite
def damaged(draw: st.DrawFn, feeds: st.SearchStrategy[str]) -> str:
    """A generated feed, sometimes cut short or with a stray byte."""
    text = draw(feeds)
    damage = draw(st.sampled_from(["none", "none", "cut", "amp"]))
    if damage == "cut":
        return text[: draw(st.integers(min_value=1, max_value=max(1, len(text) - 1)))]
    if damage == "amp":
        at = draw(st.integers(min_value=0, max_value=len(text)))
        return text[:at] + "&" + text[at:]
    return text


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(damaged(st.one_of(rss_feeds(), atom_feeds())))
@example(
    '<rss version="2.0"><channel><item><guid>1001</guid><title>t</title></item></channel></rss>'
)
def test_the_router_equals_feedparser_or_falls_back(text: str) -> None:
    assert_same(text)


def test_an_exception_in_the_fast_parser_falls_back_to_feedparser(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    text = fixture_text(FIXTURES / "fetcher" / "rss2.xml")
    expected = outcome(lambda: parse_feed_xml(text, base_url=BASE, format_=DocFormat.RSS))

    def explode(*_: object, **__: object) -> None:
        raise OverflowError("Python int too large to convert to C int")

    monkeypatch.setattr(fastfeedparser, "parse", explode)
    assert routed(text) == (FEEDPARSER, "fast parser")
    assert outcome(lambda: read_feed_xml(text, base_url=BASE, format_=DocFormat.RSS)) == expected
