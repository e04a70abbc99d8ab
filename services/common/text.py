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
    ("أ", "ا"), ("إ", "ا"), ("آ", "ا"), ("ٱ", "ا"),
    # yaa variants (Arabic alef maqsura, Persian yeh, Pashto/Uyghur yeh)
    ("ى", "ي"), ("ی", "ي"), ("ې", "ي"), ("ئ", "ي"),
    # taa marbuta and the heh shapes of Persian, Sorani and Urdu typing
    ("ة", "ه"), ("ۀ", "ه"), ("ە", "ه"), ("ھ", "ه"), ("ہ", "ه"), ("ۃ", "ه"),
    # keheh -> kaf, waw with hamza
    ("ک", "ك"), ("ؤ", "و"),
    # Turkish dotted capital I casefolds to i + combining dot
    ("i\u0307", "i"),
    # zero-width joiners and marks: Persian/Sorani half-spaces join words
    ("\u200c", ""), ("\u200d", ""), ("\u200e", ""), ("\u200f", ""), ("\ufeff", ""),
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
