"""PostgreSQL DSNs checked where a user types them, before anything connects.

A DSN comes from a flag or a setting (``--postgres``, ``SINK_POSTGRES_DSN``); a mistake
in it is the user's, so it gets one line and exit 2 at start, not a traceback from
the driver once Kafka has answered. The line never repeats the DSN: it holds a
password.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from newswire.common.errors import NewswireError

SCHEMES = ("postgresql", "postgres")


class InvalidDsn(NewswireError):
    """A DSN that is not a postgresql:// URL the driver can read."""


def check_postgres_dsn(dsn: str, *, source: str) -> None:
    """Raise :class:`InvalidDsn`, naming SOURCE (the flag or variable), unless DSN is a
    ``postgresql://`` (or ``postgres://``) URL whose host and port parse."""
    try:
        parts = urlsplit(dsn)
        parts.port  # noqa: B018 -- parsing the port is the check
    except ValueError as exc:
        raise InvalidDsn(f"{source} is not a valid postgresql:// DSN: {exc}") from None
    if parts.scheme not in SCHEMES:
        raise InvalidDsn(f"{source} must be a postgresql:// DSN")
