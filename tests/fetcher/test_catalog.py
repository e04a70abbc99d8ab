"""The sources topic's records and the diff ``newswire sources apply`` prints."""

from __future__ import annotations

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from newswire.common.errors import ErrorKind, InvalidRecord
from newswire.fetcher.catalog import Published, decode_source, plan, plan_lines, source_record
from newswire.fetcher.sources import SourceKind


def entry(source_id: str, url: str = "https://example.iq/feed", **extra: object) -> dict:
    return {"id": source_id, "name": source_id.upper(), "kind": "feed", "url": url, **extra}


def encoded(value: dict) -> bytes:
    return orjson.dumps(source_record(value))


def test_a_record_round_trips_to_the_source() -> None:
    source = decode_source(b"rudaw", encoded(entry("rudaw", min_interval="15m", language="ar")))
    assert (source.id, source.kind, source.min_interval_s, source.language) == (
        "rudaw",
        SourceKind.FEED,
        900.0,
        "ar",
    )


@pytest.mark.parametrize(
    ("key", "value", "kind", "words"),
    [
        (b"x", b"not json", ErrorKind.DECODE, "not JSON"),
        (b"x", None, ErrorKind.DECODE, "empty message"),
        (b"x", encoded(entry("x", kind="podcast")), ErrorKind.SCHEMA, "at source/kind"),
        (b"x", encoded(entry("x", url="ftp://x")), ErrorKind.SCHEMA, "at source/url"),
        (b"x", orjson.dumps({"source": entry("x")}), ErrorKind.SCHEMA, "schema_version"),
        (b"y", encoded(entry("x")), ErrorKind.SCHEMA, "is not the source's id"),
        (None, encoded(entry("x")), ErrorKind.SCHEMA, "is not the source's id"),
    ],
)
def test_an_invalid_record_says_why(
    key: bytes | None, value: bytes | None, kind: ErrorKind, words: str
) -> None:
    with pytest.raises(InvalidRecord) as caught:
        decode_source(key, value)
    assert caught.value.kind is kind and words in caught.value.reason


def test_the_diff_names_added_changed_and_removed() -> None:
    published = {
        "same": Published(0, entry("same")),
        "moved": Published(1, entry("moved")),
        "gone": Published(2, entry("gone")),
        "broken": Published(3, None, "schema: at source/kind"),
    }
    wanted = {
        "same": entry("same"),
        "moved": entry("moved", url="https://other.iq/feed"),
        "broken": entry("broken"),
        "new": entry("new"),
    }
    change = plan(wanted, published)
    assert (change.added, change.changed, change.removed) == (
        ["new"],
        ["broken", "moved"],
        ["gone"],
    )
    assert plan_lines(change, published) == [
        "+ new",
        "~ broken (the topic's record is invalid: schema: at source/kind)",
        "~ moved",
        "- gone",
    ]


ids = st.sets(st.from_regex(r"[a-z][a-z0-9-]{0,8}", fullmatch=True), max_size=12)


@given(before=ids, after=ids, edited=ids)
def test_applying_the_diff_gives_the_file(
    before: set[str], after: set[str], edited: set[str]
) -> None:
    """Whatever the topic held, topic + diff == the file, and an unchanged id is untouched."""
    published = {
        sid: Published(0, entry(sid, notes="old" if sid in edited else "same")) for sid in before
    }
    wanted = {sid: entry(sid, notes="same") for sid in after}
    change = plan(wanted, published)
    result = {sid: p.entry for sid, p in published.items() if sid not in change.removed}
    result |= {sid: wanted[sid] for sid in change.added + change.changed}
    assert result == wanted
    assert set(change.changed) == before & after & edited
    assert plan(wanted, {sid: Published(0, e) for sid, e in wanted.items()}).empty
