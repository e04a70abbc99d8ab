"""Decoding defects served by the real loopback server and read by the real poller:
UTF-8 feeds with stray bytes stay UTF-8 (only the bad bytes become U+FFFD, said on the
status line and counted), a Latin charset declared for windows-1256 Arabic is flagged,
and a source's ``encoding`` spelled otherwise does not re-fetch."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from newswire.common.settings import FetcherSettings
from newswire.fetcher.clock import ManualClock
from newswire.fetcher.fetch.client import HttpClient
from newswire.fetcher.metrics import FetcherMetrics
from newswire.fetcher.parse import decode_body
from newswire.fetcher.poller import Poller
from newswire.fetcher.sources import Source, SourceKind
from newswire.fetcher.sources.model import normal_decoding_settings
from newswire.fetcher.state import SourceState
from tests.fetcher.server import FixtureServer, fixture, fixture_bytes

AR_TITLE = "انفجار في بغداد اليوم"
EN_TITLE = "“Minister” resigns — officials say"


@pytest.fixture
def poller(http: HttpClient, fetcher_settings: FetcherSettings) -> Poller:
    return Poller(
        http, fetcher_settings, clock=ManualClock(start=1_793_700_000.0), rng=random.Random(7)
    )


@pytest.mark.parametrize("declared", ["declared", "undeclared"])
@pytest.mark.parametrize(
    ("lang", "title"), [("ar", AR_TITLE), ("en", EN_TITLE)], ids=["arabic", "english"]
)
@pytest.mark.parametrize(("stem", "bad"), [("utf8-stray", 1), ("utf8-strays", 4)])
async def test_utf8_with_stray_bytes_stays_utf8(
    server: FixtureServer, poller: Poller, stem: str, bad: int, lang: str, title: str, declared: str
) -> None:
    name = f"{stem}-{lang}-{declared}.xml"
    url = server.route(f"/{name}", fixture(name, "text/xml"))
    metrics = FetcherMetrics()
    result = await poller.poll(
        Source(id="s", name="S", kind=SourceKind.FEED, url=url), SourceState("s")
    )
    metrics.observe(result)
    assert result.outcome == "items"
    assert result.records[0].value["title"] == title
    text = " ".join(r.value["text"] for r in result.records)
    assert text.count("\ufffd") == bad
    assert result.guessed_encoding is None
    noun = "sequence" if bad == 1 else "sequences"
    assert f"encoding=utf-8 ({bad} invalid UTF-8 {noun} replaced)" in result.summary()
    assert metrics.encoding_defects.labels("invalid_utf8")._value.get() == 1


def test_an_ascii_feed_declaring_utf8_with_one_stray_byte_stays_utf8() -> None:
    body = fixture_bytes("utf8-stray-en-declared.xml")
    for fancy, plain in (("\u2019", "'"), ("\u201c", '"'), ("\u201d", '"'), ("\u2014", "-")):
        body = body.replace(fancy.encode(), plain.encode())
    assert body.count(b"\x96") == 1 and max(body.replace(b"\x96", b"")) < 0x80
    decoded = decode_body(body)
    assert (decoded.encoding, decoded.text.count("\ufffd")) == ("utf-8", 1)
    assert decoded.note == "1 invalid UTF-8 sequence replaced"


@pytest.mark.parametrize(
    "name",
    [
        "legacy-ar-1256.xml",
        "legacy-fa-1256.xml",
        "legacy-ckb-1256.xml",
        "legacy-ru-1251.xml",
        "legacy-fr-1252.xml",
        "arabic-1256-declared.xml",
    ],
)
def test_legacy_bodies_are_not_taken_for_utf8_with_strays(name: str) -> None:
    assert decode_body(fixture_bytes(name)).encoding != "utf-8"


@given(st.text(alphabet=st.characters(min_codepoint=0x600, max_codepoint=0x6FF), min_size=20))
def test_arabic_utf8_with_one_stray_byte_loses_only_that_byte(words: str) -> None:
    body = f"<rss><item><title>{words}\x00</title></item></rss>".encode().replace(b"\x00", b"\x96")
    decoded = decode_body(body)
    assert decoded.encoding == "utf-8"
    assert decoded.text == body.decode("utf-8", errors="replace")


async def test_a_wrong_declared_latin_charset_is_flagged_and_counted(
    server: FixtureServer, poller: Poller
) -> None:
    url = server.route("/mislabel", fixture("latin1-declared-1256.xml", "text/xml"))
    metrics = FetcherMetrics()
    result = await poller.poll(
        Source(id="m", name="M", kind=SourceKind.FEED, url=url), SourceState("m")
    )
    metrics.observe(result)
    assert result.outcome == "items"  # the declaration wins, as in browsers and Miniflux
    assert "encoding=iso-8859-1 (declared, looks like windows-1256)" in result.summary()
    assert metrics.encoding_defects.labels("declared_implausible")._value.get() == 1


@pytest.mark.parametrize("name", ["legacy-fr-1252.xml", "cp1252-french-declared.xml"])
def test_a_right_declared_latin_charset_is_not_flagged(name: str) -> None:
    body = fixture_bytes(name)
    decoded = decode_body(body, content_type="text/xml; charset=windows-1252")
    assert decoded.reason == "http" and decoded.note is None


async def test_a_respelled_encoding_does_not_refetch(server: FixtureServer, poller: Poller) -> None:
    url = server.route("/a", fixture("legacy-ar-1256.xml", "text/xml"))
    first = Source(id="a", name="A", kind=SourceKind.FEED, url=url, encoding="windows-1256")
    done = await poller.poll(first, SourceState("a"))
    assert done.records
    respelled = Source(id="a", name="A", kind=SourceKind.FEED, url=url, encoding="CP1256")
    again = await poller.poll(respelled, done.state)
    assert again.records == []  # same body, same codec: nothing emitted again
    assert again.state.decoded_under == done.state.decoded_under


def test_stored_settings_written_before_normalising_compare_equal() -> None:
    old = "encoding=Windows-1256;language=AR"
    assert normal_decoding_settings(old) == "encoding=cp1256;language=ar"
    assert normal_decoding_settings("encoding=windows-9999;language=") == (
        "encoding=windows-9999;language="
    )
