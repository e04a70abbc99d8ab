"""Typed errors that carry the context an operator needs to act on them."""

from __future__ import annotations

from enum import StrEnum


class ErrorKind(StrEnum):
    """Why a record could not be handled; the fixed set written to dead letters."""

    DECODE = "decode"  # not UTF-8 / not JSON
    SCHEMA = "schema"  # JSON, but not a valid record of its schema
    PROCESSING = "processing"  # a stage raised while handling a valid record
    REJECTED = "rejected"  # a writer refused the record's content
    TOO_LARGE = "too_large"  # the record (or what it became) exceeds the message size limit


class NewswireError(Exception):
    """Base of every error newswire raises on purpose."""


class InvalidRecord(NewswireError):
    """A record that cannot be accepted; it belongs on the dead-letter topic."""

    def __init__(self, kind: ErrorKind, reason: str, *, schema: str | None = None) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason
        self.schema = schema

    def __str__(self) -> str:
        where = f" [{self.schema}]" if self.schema else ""
        return f"{self.kind}{where}: {self.reason}"


class SeedFileError(NewswireError):
    """A seed file that cannot be replayed (unreadable, wrong encoding, too large)."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class BrokerError(NewswireError):
    """The embedded broker could not be started or reached."""


class BrokerPortInUse(BrokerError):
    """The embedded broker's port is taken: the user's to change (``--port``)."""


class CannotStart(NewswireError):
    """A service cannot start as configured (its port is taken, its output folder
    cannot be made): a usage error the operator fixes, reported in one line."""
