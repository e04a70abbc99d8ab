"""Identity keys: the fallback chain, duplicates inside a document, URL spelling noise."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from newswire.fetcher.identity import CHAINS, identify, record_url
from newswire.fetcher.parse.model import Entry
from newswire.fetcher.sources import IdentityPolicy

WHEN = datetime(2026, 11, 2, 8, tzinfo=UTC)


def entry(
    guid: str | None = None, link: str | None = None, title: str | None = None, text: str = ""
) -> Entry:
    return Entry(guid=guid, link=link, title=title, text=text, published_at=WHEN)


def keys(entries: list[Entry], policy: IdentityPolicy = IdentityPolicy.GUID) -> list[str]:
    return [i.key for i in identify(entries, policy)]


def test_the_fallback_chain_by_policy() -> None:
    full = entry("g-1", "https://a.example/x", "Title")
    assert keys([full]) == ["guid:g-1"]
    assert keys([full], IdentityPolicy.LINK) == ["url:a.example/x"]
    assert keys([full], IdentityPolicy.TITLE)[0].startswith("title:title|2026-11-02")
    assert keys([entry(None, "https://a.example/x", "T")]) == ["url:a.example/x"]
    assert keys([entry(None, None, "T")])[0].startswith("title:t|")
    assert keys([entry(None, None, None, "only text")])[0].startswith("text:")
    assert keys([entry()]) == []  # nothing to identify it by: dropped


def test_a_guid_flipping_between_http_and_https_is_the_same_item() -> None:
    a = keys([entry("http://News.example/story?utm_source=x")])
    b = keys([entry("https://news.example/story#top")])
    assert a == b == ["url:news.example/story"]


def test_arabic_slugs_in_both_percent_encodings_are_the_same_item() -> None:
    lower = keys(
        [entry(link="https://pk.example/ar/%d8%b9%d8%b1%d8%a8%d9%8a/")], IdentityPolicy.LINK
    )
    upper = keys(
        [entry(link="https://pk.example/ar/%D8%B9%D8%B1%D8%A8%D9%8A/")], IdentityPolicy.LINK
    )
    raw = keys([entry(link="https://pk.example/ar/عربي/")], IdentityPolicy.LINK)
    assert lower == upper == raw


def test_duplicate_guids_inside_one_document_are_told_apart() -> None:
    a = entry("shared", "https://a.example/1", "A")
    b = entry("shared", "https://a.example/2", "B")
    identified = identify([a, b], IdentityPolicy.GUID)
    assert [i.key for i in identified] == [
        "guid:shared#url:a.example/1",
        "guid:shared#url:a.example/2",
    ]
    assert len({i.item_id for i in identified}) == 2


def test_the_same_item_listed_twice_is_kept_once() -> None:
    a = entry("g", "https://a.example/1", "A")
    assert len(identify([a, a], IdentityPolicy.GUID)) == 1


def test_duplicates_differing_only_in_text_get_ordinals() -> None:
    a, b = entry("g", None, None, "one"), entry("g", None, None, "two")
    assert [k.rsplit("#", 1)[0] for k in keys([a, b])] == ["guid:g", "guid:g"]
    assert len(set(keys([a, b]))) == 2


def test_record_url_is_canonical_and_falls_back_to_a_url_guid() -> None:
    assert (
        record_url(entry("x", "HTTPS://A.example:443/p?utm_medium=rss&b=1"))
        == "https://a.example/p?b=1"
    )
    assert record_url(entry("https://a.example/g", None)) == "https://a.example/g"
    assert record_url(entry("not-a-url", "javascript:void(0)")) is None


guids = st.one_of(
    st.none(),
    st.text(min_size=1, max_size=12),
    st.sampled_from(["http://a.example/1", "https://a.example/1", "x"]),
)
links = st.one_of(
    st.none(),
    st.sampled_from(
        ["https://a.example/1", "https://a.example/2", "/rel", "http://b.example/?utm_source=q"]
    ),
)
titles = st.one_of(st.none(), st.text(max_size=10))
entries = st.lists(st.builds(entry, guids, links, titles, st.text(max_size=10)), max_size=12)


@given(entries, st.sampled_from(list(IdentityPolicy)))
def test_keys_are_unique_within_a_document_and_stable(
    items: list[Entry], policy: IdentityPolicy
) -> None:
    first = identify(items, policy)
    assert len({i.key for i in first}) == len(first)
    assert [i.key for i in identify(items, policy)] == [i.key for i in first]


@given(entries, st.sampled_from(list(IdentityPolicy)))
def test_only_exact_repeats_or_unidentifiable_entries_are_dropped(
    items: list[Entry], policy: IdentityPolicy
) -> None:
    components = {tuple(component(e) for component in CHAINS[policy]) for e in items}
    assert len(identify(items, policy)) == len({c for c in components if any(c)})
