"""Stable identifiers: the article id and the content hash."""

from __future__ import annotations

import hashlib

from newswire.common.text import normalise_text
from newswire.common.urls import identity_form


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
    return _digest("content", f"{normalise_text(title or '')}\x00{normalise_text(text)}")
