"""Text normalisation shared by ids, content hashes and matching.

Arabic-script text arrives with optional diacritics, tatweel and several spellings of
the same letters; two copies of one story must normalise to the same string.
"""

from __future__ import annotations

import re
import unicodedata

# Arabic harakat, Quranic marks, superscript alef; tatweel.
_ARABIC_MARKS = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640]")
_LETTER_FOLDS = str.maketrans(
    {
        "أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا",  # alef variants
        "ى": "ي", "ی": "ي", "ې": "ي",  # yaa variants (Arabic, Persian)
        "ة": "ه", "ۀ": "ه", "ە": "ه",  # taa marbuta, Persian/Kurdish heh forms
        "ك": "ك", "ک": "ك",  # keheh -> kaf
        "ؤ": "و", "ئ": "ي",
        "\u200c": " ", "\u200d": "", "\u200f": "", "\u200e": "", "\ufeff": "",
    }
)
_WHITESPACE = re.compile(r"\s+")


def _normalise_once(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    text = unicodedata.normalize("NFKC", text)
    text = _ARABIC_MARKS.sub("", text).translate(_LETTER_FOLDS)
    return _WHITESPACE.sub(" ", text).strip()


def normalise_text(text: str) -> str:
    """A comparison form: NFKC, case folded, Arabic marks and tatweel removed, letter
    variants folded, whitespace collapsed. Never used for display.

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
