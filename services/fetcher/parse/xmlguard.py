"""Refusing XML that declares a DTD subset or entities, before any parser sees it.

feedparser drops most entity declarations itself and expat guards against the
classic billion-laughs, but "most" and "guards" are not policies: news feeds never
need an internal DTD subset, so any document whose prolog declares one, or any
``<!ENTITY``, is refused outright (``unsafe_xml``). A plain external DOCTYPE (RSS 0.91's
Netscape DTD) is allowed: nothing here ever fetches it. Invalid numeric character
references, which make feedparser raise, are replaced with U+FFFD so one bad
character does not cost the whole feed.
"""

from __future__ import annotations

import re

from newswire.fetcher.errors import FetchError, FetchErrorKind

_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_FIRST_ELEMENT = re.compile(r"<[A-Za-z_]")
_INTERNAL_SUBSET = re.compile(r"<!DOCTYPE[^>\[]*\[", re.IGNORECASE)
_ENTITY = re.compile(r"<!ENTITY", re.IGNORECASE)
_CHARREF = re.compile(r"&#(?:[xX]([0-9A-Fa-f]+)|([0-9]+));")
#: Prolog text examined; a prolog longer than this is itself suspicious.
MAX_PROLOG = 64 * 1024


def refuse_unsafe_xml(text: str) -> None:
    """Raise ``unsafe_xml`` if the prolog declares an internal DTD subset or an entity."""
    head = _COMMENT.sub("", text[: MAX_PROLOG * 2])
    first = _FIRST_ELEMENT.search(head)
    prolog = head[: first.start()] if first else head
    if len(prolog) > MAX_PROLOG:
        raise FetchError(
            FetchErrorKind.UNSAFE_XML, f"XML prolog longer than {MAX_PROLOG} characters"
        )
    if _ENTITY.search(prolog) or _INTERNAL_SUBSET.search(prolog):
        raise FetchError(
            FetchErrorKind.UNSAFE_XML,
            "XML with a DTD internal subset / entity declarations is refused",
        )


def _fix_charref(match: re.Match[str]) -> str:
    digits_hex, digits_dec = match.groups()
    try:
        code = int(digits_hex, 16) if digits_hex else int(digits_dec)
    except ValueError:
        return "\ufffd"
    if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF or len(match.group(0)) > 12:
        return "\ufffd"
    return match.group(0)


def repair_charrefs(text: str) -> str:
    """Replace numeric character references no parser can represent with U+FFFD."""
    return _CHARREF.sub(_fix_charref, text) if "&#" in text else text
