"""Reading a response body under a size cap that holds *after* decompression.

httpx's own decoders inflate each network chunk whole, so a 64 KiB chunk of a gzip
bomb becomes tens of megabytes before any cap can look at it. Here the raw bytes are
inflated with ``max_length``, so no more than ``cap + 1`` decoded bytes are ever held,
whatever the compression ratio. Only the encodings the fetcher advertises
(``gzip``, ``deflate``) are accepted.
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator

from newswire.fetcher.errors import FetchError, FetchErrorKind

ACCEPT_ENCODING = "gzip, deflate"
#: Decoded bytes produced per inflate step; small enough to bound memory per source.
_STEP = 256 * 1024


class _Inflater:
    """zlib with bounded output; handles gzip members back to back and raw deflate."""

    def __init__(self, encoding: str) -> None:
        self._encoding = encoding
        self._wbits = 16 + zlib.MAX_WBITS if encoding == "gzip" else zlib.MAX_WBITS
        self._obj = zlib.decompressobj(self._wbits)
        self._first = True
        self.left_over = 0  # input bytes of the last feed not inflated yet (output was full)

    def feed(self, data: bytes, room: int) -> bytes:
        """Inflate ``data``, returning at most ``room`` bytes (``room`` past the cap means stop)."""
        out = bytearray()
        pending = data
        while pending and len(out) < room:
            try:
                out += self._obj.decompress(pending, min(_STEP, room - len(out)))
            except zlib.error as exc:
                if self._first and self._encoding == "deflate" and self._wbits > 0:
                    self._wbits = -zlib.MAX_WBITS  # servers that send raw deflate
                    self._obj = zlib.decompressobj(self._wbits)
                    continue
                raise FetchError(
                    FetchErrorKind.MALFORMED, f"bad {self._encoding} data: {exc}"
                ) from exc
            self._first = False
            if self._obj.eof and self._obj.unused_data:
                pending = self._obj.unused_data  # another gzip member follows
                self._obj = zlib.decompressobj(self._wbits)
            else:
                pending = self._obj.unconsumed_tail
        self.left_over = len(pending)
        return bytes(out)


def _inflater_for(content_encoding: str | None) -> _Inflater | None:
    codings = [c.strip().lower() for c in (content_encoding or "").split(",") if c.strip()]
    codings = [c for c in codings if c != "identity"]
    if not codings:
        return None
    if len(codings) == 1 and codings[0] in ("gzip", "x-gzip", "deflate"):
        return _Inflater("gzip" if codings[0] in ("gzip", "x-gzip") else "deflate")
    raise FetchError(
        FetchErrorKind.UNSUPPORTED, f"content-encoding {content_encoding!r} was not asked for"
    )


async def read_capped(
    chunks: AsyncIterator[bytes], *, content_encoding: str | None, cap: int, bomb_ratio: float
) -> bytes:
    """The decoded body, or ``too_large`` / ``decompression_bomb`` once it passes ``cap``."""
    inflater = _inflater_for(content_encoding)
    body = bytearray()
    raw_size = 0
    async for chunk in chunks:
        raw_size += len(chunk)
        if inflater is None:
            body += chunk[: cap + 1 - len(body)]
        else:
            body += inflater.feed(chunk, cap + 1 - len(body))
        if len(body) > cap:
            consumed = raw_size - (inflater.left_over if inflater else 0)
            raise _over_cap(cap, consumed, compressed=inflater is not None, bomb_ratio=bomb_ratio)
    return bytes(body)


def _over_cap(cap: int, raw_size: int, *, compressed: bool, bomb_ratio: float) -> FetchError:
    """``raw_size`` is the compressed input actually inflated to pass the cap."""
    if compressed and cap / max(raw_size, 1) > bomb_ratio:
        return FetchError(
            FetchErrorKind.DECOMPRESSION_BOMB,
            f"{raw_size} compressed bytes inflated past the {cap}-byte cap "
            f"(ratio over {cap // max(raw_size, 1)}:1)",
        )
    return FetchError(
        FetchErrorKind.TOO_LARGE, f"body larger than the {cap}-byte cap (after decompression)"
    )
