"""Unlabelled legacy-encoded feeds (no charset anywhere, no language) served by the real
loopback server and polled by the real poller: each comes out in its own script, and
the status line says the encoding was guessed."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from newswire.common.encoding_guess import implausible_words
from newswire.common.settings import FetcherSettings
from newswire.fetcher.clock import ManualClock
from newswire.fetcher.fetch.client import HttpClient
from newswire.fetcher.metrics import FetcherMetrics
from newswire.fetcher.parse import decode_body
from newswire.fetcher.poller import Poller
from newswire.fetcher.sources import Source, SourceKind
from newswire.fetcher.state import SourceState
from tests.fetcher.server import FixtureServer, conditional, fixture, fixture_bytes

LAST_MODIFIED = "Mon, 02 Nov 2026 08:00:00 GMT"


@pytest.fixture
def poller(http: HttpClient, fetcher_settings: FetcherSettings) -> Poller:
    return Poller(
        http, fetcher_settings, clock=ManualClock(start=1_793_700_000.0), rng=random.Random(7)
    )


@pytest.mark.parametrize(
    ("name", "encoding", "title"),
    [
        ("legacy-ar-1256.xml", "windows-1256", "اجتماع في بغداد"),
        ("legacy-ar-1256-title.xml", "windows-1256", "خبر عاجل"),
        ("legacy-ar-8859-6.xml", "iso-8859-6", "اجتماع في بغداد"),
        ("legacy-fa-1256.xml", "windows-1256", "نشست وزيران در تهران"),
        ("legacy-ckb-1256.xml", "windows-1256", "كؤبوونه\u200cوه\u200c له\u200c هه\u200cولير"),
        ("legacy-ru-1251.xml", "windows-1251", "Встреча в Москве"),
        ("legacy-ru-koi8r.xml", "koi8-u", "Встреча в Москве"),
        ("legacy-fr-1252.xml", "windows-1252", "Réunion à Genève"),
    ],
)
async def test_unlabelled_legacy_feed_is_read_in_its_own_script(
    server: FixtureServer, poller: Poller, name: str, encoding: str, title: str
) -> None:
    # text/xml without a charset, as python -m http.server and many CMSs send it
    url = server.route(f"/{name}", fixture(name, "text/xml"))
    source = Source(id="legacy", name="Legacy", kind=SourceKind.FEED, url=url)
    result = await poller.poll(source, SourceState("legacy"))
    assert result.outcome == "items"
    assert [r.value["title"] for r in result.records] == [title]
    assert result.guessed_encoding == encoding
    assert f"encoding={encoding} (guessed)" in result.summary()


async def test_a_named_encoding_is_not_reported_as_guessed(
    server: FixtureServer, poller: Poller
) -> None:
    body = fixture_bytes("legacy-ar-1256.xml")
    url = server.route("/labelled", fixture("legacy-ar-1256.xml", "text/xml; charset=windows-1256"))
    source = Source(id="labelled", name="L", kind=SourceKind.FEED, url=url)
    result = await poller.poll(source, SourceState("labelled"))
    assert result.records[0].value["title"] == "اجتماع في بغداد"
    assert result.guessed_encoding is None and "guessed" not in result.summary()
    assert decode_body(body, override="windows-1256").guessed is False


async def test_a_guess_is_counted_by_encoding(server: FixtureServer, poller: Poller) -> None:
    metrics = FetcherMetrics()
    url = server.route("/g", fixture("legacy-ar-8859-6.xml", "text/xml"))
    metrics.observe(
        await poller.poll(Source(id="g", name="G", kind=SourceKind.FEED, url=url), SourceState("g"))
    )
    assert metrics.encoding_guessed.labels("iso-8859-6")._value.get() == 1


def test_wrong_code_pages_show_in_their_words() -> None:
    # windows-1256 Arabic read as windows-1251 / KOI8: capitals inside words
    assert implausible_words("нхя зглА") == 1
    assert implausible_words("ЗМКгЗЪ Эн ИЫПЗП") == 1
    assert implausible_words("Встреча в Москве, ООН и МИД") == 0  # noqa: RUF001
    assert implausible_words("اجتماع في بغداد") == 0
    assert implausible_words("iPhone McDonald") == 0  # ASCII-only words are never judged
    assert implausible_words("Ã©tÃ©") == 1  # UTF-8 read as windows-1252
    assert implausible_words("abcпрАвда") == 1  # noqa: RUF001 (two scripts in one word)


_CYRILLIC_WORD = st.text(st.characters(min_codepoint=0x430, max_codepoint=0x44F), min_size=1)
_ARABIC_WORD = st.text(st.characters(min_codepoint=0x621, max_codepoint=0x64A), min_size=1)


@given(st.lists(_CYRILLIC_WORD | _ARABIC_WORD))
def test_words_of_one_script_in_small_letters_are_plausible(words: list[str]) -> None:
    text = " ".join(words)
    assert implausible_words(text) == 0
    assert implausible_words(text.title()) == 0
    assert implausible_words(text.upper()) == 0


async def test_fixing_a_sources_encoding_fetches_and_emits_its_items_again(
    server: FixtureServer, poller: Poller
) -> None:
    """An operator who sets ``encoding`` after a garbled poll gets the items again, not a
    304 behind the old validators; an unchanged source still polls conditionally."""
    body = fixture_bytes("legacy-ar-1256.xml")
    url = server.route("/cond", conditional(body, etag='"v1"', last_modified=LAST_MODIFIED))
    wrong = Source(id="c", name="C", kind=SourceKind.FEED, url=url, encoding="windows-1251")
    first = await poller.poll(wrong, SourceState("c"))
    assert first.records[0].value["title"] != "اجتماع في بغداد"
    again = await poller.poll(wrong, first.state)
    assert again.outcome == "not_modified" and again.status == 304

    fixed = replace(wrong, encoding="windows-1256")
    refetched = await poller.poll(fixed, again.state)
    assert refetched.outcome == "items" and refetched.status == 200
    assert [r.value["title"] for r in refetched.records] == ["اجتماع في بغداد"]
    assert refetched.records[0].article_id == first.records[0].article_id  # an update
    settled = await poller.poll(fixed, refetched.state)
    assert settled.outcome == "not_modified" and settled.status == 304


async def test_a_state_from_before_decoding_settings_were_kept_refetches_once(
    server: FixtureServer, poller: Poller
) -> None:
    body = fixture_bytes("legacy-ar-1256.xml")
    url = server.route("/old", conditional(body, etag='"v1"'))
    src = Source(id="o", name="O", kind=SourceKind.FEED, url=url, language="ar")
    first = await poller.poll(src, SourceState("o"))
    old = replace(first.state, decoded_under=None)  # as saved by an older fetcher
    second = await poller.poll(src, SourceState.from_json(old.to_json()))
    assert second.status == 200 and second.records == []  # fetched, nothing emitted twice
    assert second.state.decoded_under == src.decoding_settings
