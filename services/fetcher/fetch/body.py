"""Reading a response body under a size cap that holds *after* decompression.

httpx's own decoders inflate each network chunk whole, so a 64 KiB chunk of a gzip
bomb becomes tens of megabytes before any cap can look at it. Here the raw bytes
(``aiter_raw``: httpx never decodes them, whichever decoder packages are installed)
are decompressed with a bound on the output of every step, so no more than about
``cap + 1`` decoded bytes are ever held, whatever the compression ratio. Only the
encodings the fetcher advertises are accepted: ``gzip``, ``deflate`` (zlib with
``max_length``), ``br`` (brotli's ``output_buffer_limit``) and ``zstd``
(``compression.zstd``'s ``max_length``; the ``backports.zstd`` package before 3.14).
"""

from __future__ import annotations

import sys
import zlib
from collections.abc import AsyncIterator
from typing import Protocol

import brotli

if sys.version_info >= (3, 14):
    from compression import zstd
else:
    from backports import zstd

from newswire.fetcher.errors import FetchError, FetchErrorKind

ACCEPT_ENCODING = "gzip, deflate, br, zstd"
#: Decoded bytes produced per decompression step; small enough to bound memory per source.
_STEP = 256 * 1024
#: Compressed bytes handed to brotli/zstd at once. They buffer what they are given, so
#: the input actually consumed (for the bomb ratio) is known to within one slice.
_SLICE = 512


class _Decoder(Protocol):
    #: Input bytes of the last ``feed`` not decoded yet (the output was full).
    left_over: int

    def feed(self, data: bytes, room: int) -> bytes:
        """Decode ``data``, returning at most ``room`` bytes (``room`` past the cap means stop)."""
        ...


class _Inflater:
    """zlib with bounded output; handles gzip members back to back and raw deflate."""

    def __init__(self, encoding: str) -> None:
        self._encoding = encoding
        self._wbits = 16 + zlib.MAX_WBITS if encoding == "gzip" else zlib.MAX_WBITS
        self._obj = zlib.decompressobj(self._wbits)
        self._first = True
        self.left_over = 0

    def feed(self, data: bytes, room: int) -> bytes:
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


class _Sliced:
    """Shared loop of the decoders that buffer their input (brotli, zstd): input in
    small slices, and no new slice until the decoder has given out what it holds."""

    name = ""

    def __init__(self) -> None:
        self.left_over = 0

    def feed(self, data: bytes, room: int) -> bytes:
        out = bytearray()
        offset = 0
        while len(out) < room:
            piece = b""
            if self._wants_input():
                if offset >= len(data):
                    break
                piece, offset = data[offset : offset + _SLICE], offset + _SLICE
            try:
                out += self._step(piece, min(_STEP, room - len(out)))
            except (brotli.error, zstd.ZstdError, EOFError) as exc:
                raise FetchError(FetchErrorKind.MALFORMED, f"bad {self.name} data: {exc}") from exc
        self.left_over = max(0, len(data) - offset)
        return bytes(out)

    def _wants_input(self) -> bool:
        """False while the decoder holds output it can give without new input."""
        raise NotImplementedError

    def _step(self, piece: bytes, limit: int) -> bytes:
        raise NotImplementedError


class _Brotli(_Sliced):
    name = "br"

    def __init__(self) -> None:
        super().__init__()
        self._obj = brotli.Decompressor()

    def _wants_input(self) -> bool:
        return bool(self._obj.is_finished() or self._obj.can_accept_more_data())

    def _step(self, piece: bytes, limit: int) -> bytes:
        if self._obj.is_finished():
            raise brotli.error("data after the end of the brotli stream")
        return bytes(self._obj.process(piece, output_buffer_limit=limit))


class _Zstd(_Sliced):
    """Frames back to back are one body (RFC 8878 allows concatenated frames)."""

    name = "zstd"

    def __init__(self) -> None:
        super().__init__()
        self._obj = zstd.ZstdDecompressor()

    def _wants_input(self) -> bool:
        if self._obj.eof:
            return not self._obj.unused_data  # else: the next frame is already here
        return bool(self._obj.needs_input)

    def _step(self, piece: bytes, limit: int) -> bytes:
        if self._obj.eof:
            piece = self._obj.unused_data + piece
            self._obj = zstd.ZstdDecompressor()
        return bytes(self._obj.decompress(piece, limit))


def _decoder_for(content_encoding: str | None) -> _Decoder | None:
    codings = [c.strip().lower() for c in (content_encoding or "").split(",") if c.strip()]
    codings = [c for c in codings if c != "identity"]
    if not codings:
        return None
    if len(codings) == 1 and codings[0] in ("gzip", "x-gzip", "deflate"):
        return _Inflater("gzip" if codings[0] in ("gzip", "x-gzip") else "deflate")
    if codings == ["br"]:
        return _Brotli()
    if codings == ["zstd"]:
        return _Zstd()
    raise FetchError(
        FetchErrorKind.UNSUPPORTED, f"content-encoding {content_encoding!r} was not asked for"
    )


async def read_capped(
    chunks: AsyncIterator[bytes], *, content_encoding: str | None, cap: int, bomb_ratio: float
) -> bytes:
    """The decoded body, or ``too_large`` / ``decompression_bomb`` once it passes ``cap``."""
    decoder = _decoder_for(content_encoding)
    body = bytearray()
    raw_size = 0
    async for chunk in chunks:
        raw_size += len(chunk)
        if decoder is None:
            body += chunk[: cap + 1 - len(body)]
        else:
            body += decoder.feed(chunk, cap + 1 - len(body))
        if len(body) > cap:
            consumed = raw_size - (decoder.left_over if decoder else 0)
            raise _over_cap(cap, consumed, compressed=decoder is not None, bomb_ratio=bomb_ratio)
    return bytes(body)


def _over_cap(cap: int, raw_size: int, *, compressed: bool, bomb_ratio: float) -> FetchError:
    """``raw_size`` is the compressed input actually decoded to pass the cap."""
    if compressed and cap / max(raw_size, 1) > bomb_ratio:
        return FetchError(
            FetchErrorKind.DECOMPRESSION_BOMB,
            f"{raw_size} compressed bytes inflated past the {cap}-byte cap "
            f"(ratio over {cap // max(raw_size, 1)}:1)",
        )
    return FetchError(
        FetchErrorKind.TOO_LARGE, f"body larger than the {cap}-byte cap (after decompression)"
    )
