"""One encoding, one name: whichever detector or declaration chose it, the status line
and ``fetcher_encoding_guessed_total{encoding}`` spell it the WHATWG way
(``windows-1256``, not also ``cp1256``), so one encoding is one metric series."""

from __future__ import annotations

import codecs
import random
from encodings.aliases import aliases

import pytest
from hypothesis import given
from hypothesis import strategies as st

from newswire.common.encoding_guess import canonical_encoding
from newswire.common.settings import FetcherSettings
from newswire.fetcher.clock import ManualClock
from newswire.fetcher.fetch.client import HttpClient
from newswire.fetcher.metrics import FetcherMetrics
from newswire.fetcher.parse import decode_body
from newswire.fetcher.poller import Poller
from newswire.fetcher.sources import Source, SourceKind
from newswire.fetcher.state import SourceState
from tests.fetcher.server import FixtureServer, fixture, fixture_bytes

#: WHATWG labels (the Encoding Standard's names, chardetng's answers) Python decodes.
WHATWG = [
    "utf-8", "ibm866", "koi8-r", "koi8-u", "macintosh", "x-mac-cyrillic", "gbk", "gb18030",
    "big5", "euc-jp", "iso-2022-jp", "shift_jis", "euc-kr", "utf-16be", "utf-16le",
    *(f"iso-8859-{n}" for n in (2, 3, 4, 5, 6, 7, 8, 10, 13, 14, 15, 16)),
    *(f"windows-{n}" for n in range(1250, 1259)),
]  # fmt: skip
#: Every alias Python's codec registry knows, and every codec name it resolves to.
ALIASES = sorted({*aliases, *aliases.values()})


@pytest.mark.parametrize("label", WHATWG)
def test_a_whatwg_label_is_its_own_canonical_name(label: str) -> None:
    assert canonical_encoding(label) == label
    assert canonical_encoding(label.upper()) == label


@given(st.sampled_from(ALIASES))
def test_every_alias_of_a_codec_has_the_codecs_one_name(alias: str) -> None:
    name = canonical_encoding(alias)
    assert canonical_encoding(name) == name, "canonical names are fixed points"
    try:
        codec = codecs.lookup(alias).name
    except LookupError:
        return  # an alias of a codec this Python lacks
    assert name == canonical_encoding(codec) == canonical_encoding(alias.replace("_", "-"))


@given(st.sampled_from(ALIASES), st.binary(max_size=64))
def test_the_canonical_name_decodes_as_the_alias_does(alias: str, body: bytes) -> None:
    """The name shown is the codec that read the body, not a look-alike (the
    byte-order-mark variant excepted: the mark is not part of an encoding's name)."""
    try:
        codec = codecs.lookup(alias)
    except LookupError:
        return
    name = canonical_encoding(alias)
    canonical = codecs.lookup(name if name != "x-mac-cyrillic" else "mac-cyrillic")
    if codec.name == "utf-8-sig":
        assert canonical.name == "utf-8"
        return
    assert canonical.name == codec.name


def test_the_tester_spellings_are_one() -> None:
    assert {canonical_encoding(n) for n in ("cp1256", "windows-1256", "CP1256", "1256")} == {
        "windows-1256"
    }
    assert {canonical_encoding(n) for n in ("iso8859_6", "ISO-8859-6", "arabic")} == {"iso-8859-6"}
    assert canonical_encoding("iso8859-1") == canonical_encoding("latin-1") == "iso-8859-1"


def test_every_decoding_rule_reports_the_canonical_name() -> None:
    body = fixture_bytes("arabic-1256-declared.xml")  # declares windows-1256 in the document
    assert decode_body(body).encoding == "windows-1256"
    assert decode_body(body, override="cp1256").encoding == "windows-1256"
    undeclared = fixture_bytes("arabic-1256-undeclared.xml")
    assert decode_body(undeclared, language_hint="ar").encoding == "windows-1256"
    assert decode_body(undeclared).encoding == "windows-1256"


async def test_one_encoding_with_and_without_a_language_is_one_metric_series(
    server: FixtureServer, http: HttpClient, fetcher_settings: FetcherSettings
) -> None:
    """The tester's finding: ``language: ar`` led through charset-normalizer (``cp1256``),
    no language through chardetng (``windows-1256``): two series for one encoding."""
    poller = Poller(
        http, fetcher_settings, clock=ManualClock(start=1_793_700_000.0), rng=random.Random(7)
    )
    url = server.route("/ar", fixture("arabic-1256-undeclared.xml", "text/xml"))
    metrics = FetcherMetrics()
    lines = []
    for language in ("ar", None):
        source = Source(id="ar", name="Ar", kind=SourceKind.FEED, url=url, language=language)
        result = await poller.poll(source, SourceState("ar"))
        metrics.observe(result)
        lines.append(result.summary())
    assert all("encoding=windows-1256 (guessed)" in line for line in lines), lines
    series = {
        sample.labels["encoding"]: sample.value
        for metric in metrics.registry.collect()
        if metric.name == "fetcher_encoding_guessed"
        for sample in metric.samples
        if sample.name.endswith("_total")
    }
    assert series == {"windows-1256": 2.0}
