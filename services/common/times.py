"""Timestamps on newswire's records: RFC 3339 in UTC, written and read one way.

Every record carries RFC 3339 date-times (``fetched_at``, ``enriched_at``, a seen
entry's ``l``...). Python's ``datetime.fromisoformat`` lacks two things RFC 3339
allows, lower-case ``t``/``z`` and a leap second ``:60``; reading them in one place
means the enricher, the sink's writers and the fetcher agree on every value.
"""

from __future__ import annotations

from datetime import UTC, datetime


def parse_rfc3339(value: str) -> datetime:
    """An aware datetime for an RFC 3339 date-time; one without offset is taken as UTC.

    Lower-case ``t``/``z`` are accepted and a leap second becomes ``:59``. Raises
    ``ValueError`` for anything else, so each caller decides what a bad value means.
    """
    if not isinstance(value, str):
        raise ValueError(f"not a date-time string: {value!r}")
    text = value.strip().upper()
    if len(text) > 19 and text[16:19] == ":60":
        text = f"{text[:17]}59{text[19:]}"
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
