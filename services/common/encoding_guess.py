"""Which legacy encoding an unlabelled body is in: chardetng's guess, checked.

chardetng (Firefox's detector for unlabelled legacy pages) ranks every legacy encoding
by letter-pair statistics and is right on anything sentence-long. On a few words it
can still pick a Cyrillic code page for windows-1256 Arabic ("خبر عاجل" came out as
"нхя зглА"). So its guess is one candidate next to the Arabic-script code pages this
service reads most (windows-1256, ISO-8859-6), and the candidates are ranked by how
plausible their decoded words are: a word mixing scripts, or a cased word with a
capital after a small letter ("зглА"), is how a wrong code page shows. The first
candidate with the fewest implausible words wins, chardetng's guess on a tie, so a
plain Cyrillic or Latin body keeps chardetng's answer.

:func:`canonical_encoding` is the one spelling of an encoding's name wherever it came
from (chardetng says ``windows-1256``, charset-normalizer and Python's codecs ``cp1256``):
the name an operator reads on a status line and a metric's label.
"""

from __future__ import annotations

import codecs
import re
import unicodedata

#: Code pages tried besides chardetng's guess (Arabic, Persian, Kurdish legacy sites).
ARABIC_SCRIPT_CANDIDATES = ("windows-1256", "iso-8859-6")
#: Decoded characters whose words are checked (the head of a large body says enough).
SAMPLE_CHARS = 65_536
_WORD = re.compile(r"[^\W\d_]+")
#: Python codec names whose WHATWG label (the web's, chardetng's) is not
#: :func:`canonical_encoding`'s rule (``cp125N`` -> ``windows-125N``, ``iso8859-N`` ->
#: ``iso-8859-N``, ``_`` -> ``-``).
_WHATWG_NAMES = {
    "utf-8-sig": "utf-8",  # the byte-order mark is not part of the name
    "utf-16-le": "utf-16le",
    "utf-16-be": "utf-16be",
    "mac-cyrillic": "x-mac-cyrillic",
    "mac-roman": "macintosh",
    "cp866": "ibm866",
    "cp864": "ibm864",
    "cp874": "windows-874",
    "iso2022_jp": "iso-2022-jp",
    "shift_jis": "shift_jis",
    "hz": "hz-gb-2312",
}
_CODE_PAGE = re.compile(r"cp(125\d)")
_ISO_8859 = re.compile(r"iso8859-(\d+)")


def guess_encoding(body: bytes) -> tuple[str, str] | None:
    """(text, encoding label) of the most plausible strict decoding, or None if none
    of the candidates decodes ``body`` without errors."""
    import chardetng_py

    labels = [chardetng_py.detect(body, allow_utf8=False).lower(), *ARABIC_SCRIPT_CANDIDATES]
    best: tuple[int, str, str] | None = None
    for label in dict.fromkeys(labels):
        text = _strict(body, label)
        if text is None:
            continue
        score = implausible_words(text[:SAMPLE_CHARS])
        if best is None or score < best[0]:
            best = (score, text, label)
    return (best[1], best[2]) if best is not None else None


def canonical_encoding(name: str) -> str:
    """The one spelling of encoding NAME: its WHATWG label (as browsers and chardetng
    name it: ``windows-1256``, ``iso-8859-6``, ``x-mac-cyrillic``), whichever alias
    Python, charset-normalizer or a document used (``cp1256``, ``ISO8859_6``, ``latin-1``).

    Aliases are resolved by Python's codec registry, so two names of one codec get one
    spelling; a name Python does not know is only lower-cased. Why: the name is the
    label of ``fetcher_encoding_guessed_total``, and one encoding under two spellings
    split into two series an alert matching one of them missed."""
    label = name.strip().lower()
    codec = _codec_name(label) or _codec_name(label.removeprefix("x-"))  # x-mac-cyrillic
    if codec is None:
        return label
    if codec in _WHATWG_NAMES:
        return _WHATWG_NAMES[codec]
    if match := _CODE_PAGE.fullmatch(codec):
        return f"windows-{match.group(1)}"
    if match := _ISO_8859.fullmatch(codec):
        return f"iso-8859-{match.group(1)}"
    return codec.replace("_", "-")


def _codec_name(label: str) -> str | None:
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def implausible_words(text: str) -> int:
    """How many non-ASCII words of ``text`` no language writes: letters of two scripts,
    or a capital after a small letter."""
    return sum(1 for word in _WORD.findall(text) if not word.isascii() and not _plausible(word))


def _plausible(word: str) -> bool:
    scripts = {unicodedata.name(ch, "?").split(" ", 1)[0] for ch in word}
    if len(scripts) > 1:
        return False
    tail = word[1:]
    return not (any(ch.isupper() for ch in tail) and any(ch.islower() for ch in word))


def _strict(body: bytes, label: str) -> str | None:
    try:
        codec = codecs.lookup(label.removeprefix("x-")).name  # x-mac-cyrillic: mac_cyrillic
        return body.decode(codec)
    except (LookupError, UnicodeDecodeError):
        return None
