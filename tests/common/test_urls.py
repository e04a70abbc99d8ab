from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from newswire.common import urls
from newswire.common.urls import InvalidUrl, _canonicalise, canonical_url, identity_form


@pytest.mark.parametrize(
    ("given_url", "expected"),
    [
        ("HTTP://Example.COM:80/a?b=2&a=1#frag", "http://example.com/a?a=1&b=2"),
        ("https://example.com:443/x", "https://example.com/x"),
        ("https://example.com:8443/x", "https://example.com:8443/x"),
        (
            "https://example.com/a?utm_source=tw&utm_medium=s&id=7&fbclid=abc&gclid=z",
            "https://example.com/a?id=7",
        ),
        ("https://example.com", "https://example.com/"),
        (
            "https://www.politicalkeys.com/ar/%d8%b9%d8%b1%d8%a8%d9%8a/",
            "https://www.politicalkeys.com/ar/%D8%B9%D8%B1%D8%A8%D9%8A/",
        ),
        (
            "https://www.politicalkeys.com/ar/عربي/",
            "https://www.politicalkeys.com/ar/%D8%B9%D8%B1%D8%A8%D9%8A/",
        ),
    ],
)
def test_canonical_spellings(given_url: str, expected: str) -> None:
    assert canonical_url(given_url) == expected


@pytest.mark.parametrize(
    "bad", ["", "example.com/a", "ftp://example.com/x", "mailto:a@b.c", "http:///nohost"]
)
def test_non_http_urls_are_refused(bad: str) -> None:
    with pytest.raises(InvalidUrl):
        canonical_url(bad)


def test_http_and_https_share_an_identity() -> None:
    assert identity_form("http://example.com/a") == identity_form("https://EXAMPLE.com/a#x")


path_segments = st.lists(
    st.text(alphabet=st.characters(categories=["L", "N"]), min_size=1, max_size=8), max_size=4
)
params = st.lists(
    st.tuples(st.sampled_from(["id", "p", "utm_source", "fbclid", "q"]), st.text(max_size=5)),
    max_size=5,
)


@given(
    path_segments,
    params,
    st.sampled_from(["http", "https", "HTTPS"]),
    st.sampled_from(["", ":80", ":443"]),
)
def test_canonicalisation_is_idempotent(
    segments: list[str], query: list[tuple[str, str]], scheme: str, port: str
) -> None:

    url = f"{scheme}://News.Example.org{port}/{'/'.join(segments)}?{urlencode(query)}#frag"
    once = canonical_url(url)
    assert _canonicalise(once) == once  # uncached: canonical_url caches ``once`` as its own form
    names = {name for name, _ in parse_qsl(urlsplit(once).query, keep_blank_values=True)}
    assert not names & {"utm_source", "fbclid"} and "#" not in once


def test_the_canonical_form_is_cached_as_its_own() -> None:
    """The record id canonicalises the canonical URL again: that must cost a lookup."""
    url = "HTTPS://Cache.Example/a/./b?utm_source=x&q=1"
    once = canonical_url(url)
    assert (urls._cache[url], urls._cache[once]) == (once, once)
    assert canonical_url(once) == once


def test_a_full_memo_keeps_the_recently_used_urls() -> None:
    """Bounded LRU: filling the memo evicts the least recently used entries, not the
    URLs every poll of a feed asks for again (a memo emptied when full loses them all)."""
    hot = "https://Hot.Example/story?utm_source=rss"
    canonical_url(hot)
    for i in range(urls._cache.maxsize):
        urls._cache[f"filler-{i}"] = f"filler-{i}"
    assert canonical_url(hot) == "https://hot.example/story"  # a hit: now the newest entry
    canonical_url("https://cold.example/a")  # a miss that must evict
    assert len(urls._cache) <= urls._cache.maxsize
    assert hot in urls._cache and "https://cold.example/a" in urls._cache
    assert "filler-0" not in urls._cache
