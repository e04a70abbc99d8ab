"""The id proposed for a new source: stable, readable, not already taken."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection
from urllib.parse import urlsplit

_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}$")
#: Longest proposed id (the schema allows 100).
MAX_ID = 60
#: Letters a folded name needs to make an id of its own (else host + path).
MIN_ID_LETTERS = 3
#: Letters NFKD does not decompose to ASCII.
_FOLD = str.maketrans(
    {"ß": "ss", "æ": "ae", "Æ": "ae", "ø": "o", "Ø": "o", "œ": "oe", "Œ": "oe", "ł": "l"}
    | {"Ł": "l", "đ": "d", "Đ": "d", "þ": "th", "Þ": "th", "\u0131": "i", "ð": "d", "Ð": "d"}
)


def ascii_fold(text: str) -> str:
    """``Dépêches`` -> ``Depeches``; letters with no ASCII form (Arabic) are dropped."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_FOLD))
    return "".join(ch for ch in decomposed if ch.isascii())


def slug(text: str, limit: int = MAX_ID) -> str:
    """Lowercase ASCII words joined by ``-``, cut at a word boundary within ``limit``."""
    words = re.sub(r"[^a-z0-9]+", "-", ascii_fold(text).lower()).strip("-")
    if len(words) > limit:
        words = words[:limit].rsplit("-", 1)[0] if "-" in words[:limit] else words[:limit]
    return words.strip("-")


def propose_id(
    name: str, url: str, language: str | None = None, taken: Collection[str] = ()
) -> str:
    """A stable id for a new source: see the package docstring (fetcher/discover)."""
    named = slug(name)
    if sum(ch.isalpha() for ch in named) >= MIN_ID_LETTERS:
        base = named
        if language and language not in named.split("-"):
            base = f"{named[: MAX_ID - len(language) - 1].rstrip('-')}-{language}"
    else:
        base = _host_path_id(url)
    if base not in taken:
        return base
    where = _host_path_id(url)
    for candidate in (f"{base}-{where}"[:MAX_ID].rstrip("-._"), where):
        if candidate not in taken:
            return candidate
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


def _host_path_id(url: str) -> str:
    parts = urlsplit(url)
    host = (parts.hostname or "site").lower().removeprefix("www.")
    host = re.sub(r"[^a-z0-9.-]+", "-", ascii_fold(host)).strip("-.") or "site"
    path = re.sub(r"\.(xml|rss|atom|json|php|aspx?|html?)$", "", parts.path.rstrip("/"))
    rest = slug(f"{path} {parts.query}", limit=MAX_ID - len(host) - 1)
    return f"{host}-{rest}" if rest else host


def primary_language(value: str | None) -> str | None:
    """``en-GB`` / ``ar_IQ`` -> ``en`` / ``ar``; None for anything that is not a code."""
    if not value:
        return None
    primary = re.split(r"[-_]", value.strip(), maxsplit=1)[0].lower()
    return primary if _LANGUAGE.match(primary) else None
