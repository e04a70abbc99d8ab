"""Text normalisation shared by ids, content hashes and matching.

Arabic-script text arrives with optional diacritics, tatweel and several spellings of
the same letters; two copies of one story must normalise to the same string.
"""

from __future__ import annotations

import re
import unicodedata

# Arabic harakat, Quranic marks, superscript alef; tatweel.
_ARABIC_MARKS = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640]")
_FOLDS: tuple[tuple[str, str], ...] = (
    # alef variants
    ("أ", "ا"),
    ("إ", "ا"),
    ("آ", "ا"),
    ("ٱ", "ا"),
    # yaa variants (Arabic alef maqsura, Persian yeh, Pashto/Uyghur yeh)
    ("ى", "ي"),
    ("ی", "ي"),
    ("ې", "ي"),
    ("ئ", "ي"),
    # taa marbuta and the heh shapes of Persian, Sorani and Urdu typing
    ("ة", "ه"),
    ("ۀ", "ه"),
    ("ە", "ه"),
    ("ھ", "ه"),
    ("ہ", "ه"),
    ("ۃ", "ه"),
    # keheh -> kaf, waw with hamza
    ("ک", "ك"),
    ("ؤ", "و"),
    # Turkish dotted capital I casefolds to i + combining dot
    ("i\u0307", "i"),
    # zero-width joiners and marks: Persian/Sorani half-spaces join words
    ("\u200c", ""),
    ("\u200d", ""),
    ("\u200e", ""),
    ("\u200f", ""),
    ("\ufeff", ""),
    # Arabic-Indic and Persian digits -> ASCII
    *((chr(0x0660 + d), str(d)) for d in range(10)),
    *((chr(0x06F0 + d), str(d)) for d in range(10)),
)


def _normalise_once(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    text = unicodedata.normalize("NFKC", text)
    text = _ARABIC_MARKS.sub("", text)
    for variant, canonical in _FOLDS:  # str.replace per pair beats str.translate ~25x here
        if variant in text:
            text = text.replace(variant, canonical)
    return " ".join(text.split())


def normalise_text(text: str) -> str:
    """A comparison form: NFKC, case folded, Arabic marks and tatweel removed, letter
    variants and digits folded, whitespace collapsed. Never used for display.

    Removing a mark can bring two characters together that NFKC would compose, so the
    steps repeat until nothing changes; that makes the function idempotent, which ids
    and hashes rely on. Real text settles after one pass.
    """
    current = _normalise_once(text)
    for _ in range(3):
        following = _normalise_once(current)
        if following == current:
            break
        current = following
    return current


def clean_plain_text(text: str) -> str:
    """Display form of plain text: NFC, unified newlines, no trailing spaces or BOM."""
    text = unicodedata.normalize("NFC", text.lstrip("\ufeff"))
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    return "\n".join(lines).strip()


#: C0 and C1 control characters that are not whitespace a person typed: NUL, BEL,
#: ESC, DEL ... (tab, line feed and carriage return are kept).
_CONTROL_CHARS = re.compile("[\x00-\x08\x0e-\x1b\x1f\x7f-\x84\x86-\x9f]")
#: Controls that Python itself treats as line breaks (vertical tab, form feed, the
#: file/group/record separators, NEL): a newline, so the words either side stay apart.
_CONTROL_BREAKS = re.compile("[\x0b\x0c\x1c-\x1e\x85]")
_ANY_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
#: Terminal escape sequences (colours, cursor moves, window titles: CSI and OSC), removed
#: whole so no "[31m" is left behind when their ESC goes.
_ESCAPE_SEQUENCES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)")


def strip_control_chars(text: str) -> str:
    """TEXT without control characters other than tab, line feed and carriage return.

    Line-breaking controls (form feed, vertical tab, NEL ...) become ``\\n``; the rest
    (NUL, BEL, ESC, DEL, C1 controls ...) are removed, terminal escape sequences whole.
    Format characters such as the zero-width non-joiner are not controls and stay:
    Persian spelling needs them.
    """
    if not _ANY_CONTROL.search(text):  # the common case: nothing to do, no copy
        return text
    if "\x1b" in text:
        text = _ESCAPE_SEQUENCES.sub("", text)
    return _CONTROL_CHARS.sub("", _CONTROL_BREAKS.sub("\n", text))


def has_control_chars(text: str) -> bool:
    """Whether :func:`strip_control_chars` would change TEXT."""
    return _ANY_CONTROL.search(text) is not None


#: Characters of someone's text quoted in an error message.
EXCERPT_CHARS = 80


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """TEXT if it is short, else its first LIMIT characters marked as cut and sized:
    ``first words… (20,971,520 characters)``. For quoting input in error messages,
    which must stay a line, not a copy of the input."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text):,} characters)"
