"""Stable identifiers: the article id and the content hash."""

from __future__ import annotations

import hashlib
import re

from newswire.common.text import normalise_text
from newswire.common.urls import identity_form

#: An article id as every record carries it (schemas: ``$defs/article_id``).
ARTICLE_ID = re.compile(r"[0-9a-f]{32}")


def is_article_id(text: str) -> bool:
    """32 lower-case hex digits: the form of every article id."""
    return ARTICLE_ID.fullmatch(text) is not None


def _digest(namespace: str, value: str) -> str:
    return hashlib.blake2b(f"{namespace}\x00{value}".encode(), digest_size=16).hexdigest()


def article_id_for_url(url: str) -> str:
    """Id from the canonical URL (scheme ignored), so re-polls and re-shares agree."""
    return _digest("url", identity_form(url))


def article_id_for_text(text: str) -> str:
    """Id for an article without a URL: its normalised text."""
    return _digest("text", normalise_text(text))


def article_id(url: str | None, text: str) -> str:
    return article_id_for_url(url) if url else article_id_for_text(text)


def content_hash(title: str | None, text: str) -> str:
    """Changes exactly when the normalised title or text changes."""
    return content_hash_of_forms(normalise_text(title or ""), normalise_text(text))


def content_hash_of_forms(title_form: str, text_form: str) -> str:
    """:func:`content_hash` from forms already normalised with
    :func:`~newswire.common.text.normalise_text` (``""`` for no title).

    For a caller that needs the normalised text for something else too (the enricher
    also fingerprints it): ``content_hash(t, x) == content_hash_of_forms(
    normalise_text(t or ""), normalise_text(x))``, byte for byte. Passing anything
    else gives a hash no consumer will match.
    """
    return _digest("content", f"{title_form}\x00{text_form}")
