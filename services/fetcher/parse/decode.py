"""Bytes to text: trust valid UTF-8, else the declared charset, else detection.

feedparser, given bytes without a usable declaration, falls back to windows-1252,
which turns windows-1256 and ISO-8859-6 Arabic into Latin mojibake. So the fetcher
decodes every body itself, in this order, and hands parsers text (re-encoded as
UTF-8 where a parser wants bytes):

1. the source's ``encoding`` override (an operator's word beats the document's);
2. a byte-order mark;
3. valid UTF-8 (legacy encodings almost never form valid multi-byte UTF-8 by chance),
   and a body that is UTF-8 but for a few stray bytes (most of its non-ASCII characters
   are valid UTF-8 sequences, or it declares UTF-8 and the bad bytes are under 1% of it):
   read as UTF-8 with the bad bytes replaced by U+FFFD and counted, as a browser does
   for a UTF-8 page. Detection would read such a body as windows-1256, every Arabic or
   curly-quoted word garbled, and the plausibility check cannot tell (it yields Arabic);
4. a declared charset that decodes the body: HTTP ``Content-Type`` first, then the
   document's own (XML declaration, HTML ``<meta>``). The declaration wins, as in
   browsers and Miniflux (Go's ``charset.NewReader``), but a declared Latin single-byte
   charset (every byte decodes, so a wrong one never fails) whose words read
   implausibly while a guess reads cleanly is flagged: ``declared, looks
   like windows-1256`` on the status line, ``fetcher_encoding_defects_total``;
5. detection. With an Arabic-script language hint - the source's, or a
   ``<language>``/``lang`` the document states in ASCII - charset-normalizer is limited
   to the encodings that script uses. Without a hint, chardetng (Firefox's detector for
   unlabelled legacy web pages) ranks every legacy encoding by how plausible the
   decoded text is (letter-pair statistics per script), not by the first code page that
   decodes without errors, and its guess is checked against windows-1256 and
   ISO-8859-6 word by word (``common/encoding_guess.py``): charset-normalizer alone took a
   windows-1256 Arabic feed for mac_cyrillic, and short titles for Thai or Turkish.
   charset-normalizer remains the fallback when no candidate decodes strictly.

A detected encoding is a guess: :attr:`Decoded.guessed` says so, and the poll's status
line and ``fetcher_encoding_guessed_total`` report it, so an operator can set the
source's ``encoding`` or ``language``.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, replace

from newswire.common.encoding_guess import (
    SAMPLE_CHARS,
    canonical_encoding,
    guess_encoding,
    implausible_words,
)
from newswire.fetcher.errors import FetchError, FetchErrorKind

ARABIC_SCRIPT_LANGUAGES = frozenset({"ar", "fa", "ckb", "ku", "ur", "ps", "sd", "ug", "ks"})
ARABIC_SCRIPT_ENCODINGS = ["utf_8", "cp1256", "iso8859_6", "cp720", "cp864"]
_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_XML_DECL = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._:-]+)["']""")
_META_CHARSET = re.compile(
    rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.IGNORECASE
)
_LANGUAGE = re.compile(
    rb"""(?:<(?:dc:)?language>\s*|\b(?:xml:)?lang\s*=\s*["']|"language"\s*:\s*")([A-Za-z]{2,3})\b""",
    re.IGNORECASE,
)
#: Share of replacement characters tolerated in a last-resort lossy decode, and in a
#: body that declares UTF-8 (a stray byte in otherwise ASCII text).
MAX_REPLACEMENT_SHARE = 0.01
#: An undeclared body is UTF-8 with stray bytes when it has at least this many valid
#: non-ASCII characters per invalid sequence. Legacy feeds have about 0.05 (a Persian
#: windows-1256 letter pair can form a valid sequence by chance); UTF-8 with a stray
#: byte has tens or hundreds.
STRAY_RATIO = 1
#: Declared charsets whose every byte decodes, so a wrong one never fails: checked
#: (canonical names, as :attr:`Decoded.encoding` holds them).
LATIN_SINGLE_BYTE = frozenset({"iso-8859-1", "windows-1252", "iso-8859-15"})
#: The defect kinds of :attr:`Decoded.defect` (``fetcher_encoding_defects_total{defect}``).
INVALID_UTF8 = "invalid_utf8"
DECLARED_IMPLAUSIBLE = "declared_implausible"
#: Implausible words a declared Latin charset may yield before it is questioned.
MIN_IMPLAUSIBLE_WORDS = 2


@dataclass(frozen=True, slots=True)
class Decoded:
    """Decoded text, the codec used, and why it was chosen (for the operator and tests).

    ``encoding`` is always the canonical spelling (:func:`canonical_encoding`:
    ``windows-1256``, never ``cp1256``), whichever rule or library chose it: it is what
    the status line shows and the label ``fetcher_encoding_guessed_total`` counts by."""

    text: str
    encoding: str
    reason: str  # override | bom | utf-8 | http | document | detected | lossy
    #: What was wrong although the body decoded (``3 invalid UTF-8 bytes replaced``,
    #: ``declared, looks like windows-1256``), for the status line.
    note: str | None = None
    #: The kind of ``note`` for ``fetcher_encoding_defects_total``.
    defect: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "encoding", canonical_encoding(self.encoding))

    @property
    def guessed(self) -> bool:
        """Nothing named the encoding: detection (or a lossy UTF-8 read) chose it."""
        return self.reason in ("detected", "lossy")


def charset_from_content_type(content_type: str | None) -> str | None:
    if not content_type:
        return None
    for part in content_type.split(";")[1:]:
        name, _, value = part.partition("=")
        if name.strip().lower() == "charset" and value.strip():
            return value.strip().strip("\"'")
    return None


def declared_in_document(body: bytes) -> str | None:
    """The charset the document names itself: XML declaration, else HTML ``<meta>``."""
    head = body[:4096]
    match = _XML_DECL.match(head) or _META_CHARSET.search(head)
    return match.group(1).decode("ascii") if match else None


def language_in_document(body: bytes) -> str | None:
    """A language the document states in ASCII (``<language>``, ``lang=``, JSON ``language``)."""
    match = _LANGUAGE.search(body[:8192])
    return match.group(1).decode("ascii").lower() if match else None


def _codec(name: str | None) -> str | None:
    if not name:
        return None
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def _try(body: bytes, codec: str | None) -> str | None:
    if codec is None:
        return None
    try:
        return body.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return None


def decode_body(
    body: bytes,
    *,
    content_type: str | None = None,
    override: str | None = None,
    language_hint: str | None = None,
) -> Decoded:
    """Decode ``body`` by the rules in the module docstring; ``encoding`` error if nothing fits."""
    if override:
        return _decode_override(body, override)
    for bom, bom_codec in _BOMS:
        if body.startswith(bom):
            text = _try(body, bom_codec)
            if text is not None:
                return Decoded(text.lstrip("\ufeff"), bom_codec, "bom")
    text = _try(body, "utf-8")
    if text is not None:
        return Decoded(text, "utf-8", "utf-8")
    declarations = (
        ("http", _codec(charset_from_content_type(content_type))),
        ("document", _codec(declared_in_document(body))),
    )
    stray = _nearly_utf8(body, declared=any(codec == "utf-8" for _, codec in declarations))
    if stray is not None:
        return stray
    for reason, codec in declarations:
        text = _try(body, codec)
        if text is not None and codec is not None:
            return _checked_declared(body, Decoded(text, codec, reason))
    return _detect(body, language_hint or language_in_document(body))


def _nearly_utf8(body: bytes, *, declared: bool) -> Decoded | None:
    """``body`` as UTF-8 with its few bad sequences replaced, if it is UTF-8 but for
    them: at least :data:`STRAY_RATIO` valid non-ASCII characters per bad sequence,
    or (declared UTF-8) the bad sequences are under :data:`MAX_REPLACEMENT_SHARE` of all
    characters. Legacy text fails both: its
    non-ASCII bytes almost never form valid multi-byte sequences."""
    text = body.decode("utf-8", errors="replace")
    genuine = body.count(b"\xef\xbf\xbd")  # U+FFFD written in the document itself
    bad = text.count("\ufffd") - genuine
    valid = sum(1 for ch in text if ord(ch) > 0x7F) - bad
    nearly = bad * STRAY_RATIO <= valid
    if not (nearly or (declared and bad <= MAX_REPLACEMENT_SHARE * max(len(text), 1))):
        return None
    noun = "sequence" if bad == 1 else "sequences"
    return Decoded(text, "utf-8", "utf-8", f"{bad} invalid UTF-8 {noun} replaced", INVALID_UTF8)


def _checked_declared(body: bytes, decoded: Decoded) -> Decoded:
    """``decoded`` (a declared charset), flagged when the charset is a Latin single-byte
    one, its words read implausibly and a guessed decoding reads cleanly: windows-1256
    Arabic declared ISO-8859-1 comes out as 'ÇäÝÌÇÑ'. The declaration still wins (as
    in browsers and Miniflux); the note tells the operator to set ``encoding``."""
    if decoded.encoding not in LATIN_SINGLE_BYTE:
        return decoded
    sample = decoded.text[:SAMPLE_CHARS]
    implausible = implausible_words(sample)
    if implausible < MIN_IMPLAUSIBLE_WORDS:
        return decoded
    guessed = guess_encoding(body)
    if guessed is None or canonical_encoding(guessed[1]) == decoded.encoding:
        return decoded
    if implausible_words(guessed[0][:SAMPLE_CHARS]) * 4 > implausible:
        return decoded
    note = f"declared, looks like {canonical_encoding(guessed[1])}"
    return replace(decoded, note=note, defect=DECLARED_IMPLAUSIBLE)


def _decode_override(body: bytes, override: str) -> Decoded:
    codec = _codec(override)
    if codec is None:
        raise FetchError(FetchErrorKind.ENCODING, f"unknown override charset {override!r}")
    text = body.decode(codec, errors="replace")
    return Decoded(text.lstrip("\ufeff"), codec, "override")


def _detect(body: bytes, language: str | None) -> Decoded:
    import charset_normalizer

    primary = (language or "").split("-", 1)[0].lower()
    if primary in ARABIC_SCRIPT_LANGUAGES:
        best = charset_normalizer.from_bytes(body, cp_isolation=ARABIC_SCRIPT_ENCODINGS).best()
        if best is not None:
            return Decoded(str(best), best.encoding, "detected")
    guessed = guess_encoding(body)
    if guessed is not None:
        return Decoded(guessed[0], guessed[1], "detected")
    best = charset_normalizer.from_bytes(body).best()
    if best is not None:
        return Decoded(str(best), best.encoding, "detected")
    text = body.decode("utf-8", errors="replace")
    if text.count("\ufffd") <= MAX_REPLACEMENT_SHARE * max(len(text), 1):
        return Decoded(text, "utf-8", "lossy")
    raise FetchError(
        FetchErrorKind.ENCODING,
        "no charset decodes this body (declared none that fits, detection failed)",
    )


def as_utf8_xml(text: str) -> bytes:
    """``text`` as UTF-8 bytes whose XML declaration (if any) says so, for feedparser."""
    stripped = text.lstrip("\ufeff")
    if stripped.lstrip().startswith("<?xml"):
        end = stripped.find("?>")
        if end != -1:
            declaration = re.sub(r"""\sencoding\s*=\s*["'][^"']*["']""", "", stripped[:end])
            stripped = declaration + ' encoding="utf-8"' + stripped[end:]
    return stripped.encode("utf-8")
