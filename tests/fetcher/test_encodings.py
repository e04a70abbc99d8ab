"""brotli and zstd (and gzip/deflate) against a real loopback server: real compressed
bodies decode, and bombs of every encoding stop at the post-decompression cap."""

from __future__ import annotations

import itertools
import os
import tracemalloc
from collections.abc import AsyncIterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from newswire.fetcher.errors import FetchError, FetchErrorKind
from newswire.fetcher.fetch.body import read_capped
from newswire.fetcher.fetch.client import HttpClient
from tests.fetcher.server import FixtureServer, compress, encoded, fixture_bytes

ENCODINGS = ("gzip", "deflate", "br", "zstd")


@pytest.mark.parametrize("encoding", ENCODINGS)
async def test_a_real_compressed_feed_is_decoded(
    server: FixtureServer, http: HttpClient, encoding: str
) -> None:
    feed = fixture_bytes("rss2.xml")
    url = server.route(f"/{encoding}", encoded(feed, encoding))
    response = await http.get(url)
    assert response.body == feed
    assert server.requests[-1][1]["Accept-Encoding"] == "gzip, deflate, br, zstd"


@pytest.mark.parametrize("encoding", ENCODINGS)
async def test_a_bomb_of_each_encoding_is_stopped_at_the_cap(
    server: FixtureServer, http: HttpClient, encoding: str
) -> None:
    # 200 MiB of zeros: 200 KiB as gzip, 6 KiB as zstd, 329 bytes as brotli.
    url = server.route(f"/bomb-{encoding}", encoded(b"\0" * (200 * 1024 * 1024), encoding))
    with pytest.raises(FetchError) as caught:
        await http.get(url)
    assert caught.value.kind is FetchErrorKind.DECOMPRESSION_BOMB


@pytest.mark.parametrize("encoding", ENCODINGS)
async def test_a_large_body_that_compresses_modestly_is_too_large_not_a_bomb(
    server: FixtureServer, http: HttpClient, encoding: str
) -> None:
    # ~1 MiB of hex text compresses about 2:1: over the 256 KiB cap, far under the ratio.
    text = os.urandom(512 * 1024).hex().encode()
    url = server.route(f"/big-{encoding}", encoded(text, encoding))
    with pytest.raises(FetchError) as caught:
        await http.get(url)
    assert caught.value.kind is FetchErrorKind.TOO_LARGE


@pytest.mark.parametrize("encoding", ["br", "zstd"])
async def test_garbage_in_a_declared_encoding_is_malformed(
    server: FixtureServer, http: HttpClient, encoding: str
) -> None:
    from tests.fetcher.server import static

    url = server.route(
        f"/bad-{encoding}", static(b"not compressed at all", headers={"Content-Encoding": encoding})
    )
    with pytest.raises(FetchError) as caught:
        await http.get(url)
    assert caught.value.kind is FetchErrorKind.MALFORMED


async def _chunks(data: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


@pytest.mark.parametrize("encoding", ["br", "zstd"])
async def test_decoding_a_bomb_never_holds_much_more_than_the_cap(encoding: str) -> None:
    compressed = compress(b"\0" * (64 * 1024 * 1024), encoding)  # 64 MiB inflated
    cap = 1024 * 1024
    tracemalloc.start()
    try:
        with pytest.raises(FetchError) as caught:
            await read_capped(
                _chunks(compressed, 65536), content_encoding=encoding, cap=cap, bomb_ratio=100
            )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert caught.value.kind is FetchErrorKind.DECOMPRESSION_BOMB
    assert peak < 4 * cap  # output is bounded per decoding step, never 64 MiB


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.binary(max_size=20000),
    encoding=st.sampled_from(ENCODINGS),
    chunk=st.integers(min_value=1, max_value=4096),
    frames=st.integers(min_value=1, max_value=3),
)
async def test_any_body_in_any_chunking_decodes_to_itself(
    data: bytes, encoding: str, chunk: int, frames: int
) -> None:
    """Whatever the network chunking, and for gzip members / zstd frames back to back."""
    if encoding in ("gzip", "zstd"):
        cut = [len(data) * i // frames for i in range(frames + 1)]
        wire = b"".join(compress(data[a:b], encoding) for a, b in itertools.pairwise(cut))
    else:
        wire = compress(data, encoding)
    body = await read_capped(
        _chunks(wire, chunk), content_encoding=encoding, cap=10**6, bomb_ratio=100
    )
    assert body == data
