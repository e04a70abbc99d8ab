"""Dates from feeds and pages to aware UTC datetimes, and to the records' RFC 3339 form.

Real feeds carry RFC 822, ISO 8601, W3C datetimes, naive local times and nonsense.
Anything not credible (before 1990, or more than two days in the future) is treated as
absent, so the item gets the fetch time and says so rather than carrying a lie.
"""

from __future__ import annotations

import calendar
import email.utils
import time
from datetime import UTC, datetime, timedelta

EARLIEST_CREDIBLE = datetime(1990, 1, 1, tzinfo=UTC)
FUTURE_SLACK = timedelta(days=2)


def from_struct_time(value: time.struct_time | None) -> datetime | None:
    """feedparser's ``*_parsed`` values are UTC struct_times."""
    if value is None:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(value), tz=UTC)
    except (OverflowError, ValueError, OSError):
        return None


def parse_date(value: str | None) -> datetime | None:
    """ISO 8601 / RFC 3339 / W3C datetime / RFC 822; naive values are taken as UTC."""
    if not value or not isinstance(value, str):
        return None
    text = value.strip()
    parsed = _iso(text) or _rfc822(text)
    if parsed is None:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _iso(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None


def _rfc822(text: str) -> datetime | None:
    try:
        return email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None


def credible(value: datetime | None, now: datetime) -> datetime | None:
    """``value`` in UTC if it could be a publication time seen at ``now``, else None."""
    if value is None:
        return None
    value = value.astimezone(UTC)
    if value < EARLIEST_CREDIBLE or value > now + FUTURE_SLACK:
        return None
    return value


def rfc3339(value: datetime) -> str:
    """The records' timestamp form: UTC, milliseconds, ``Z``."""
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def from_epoch(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)
