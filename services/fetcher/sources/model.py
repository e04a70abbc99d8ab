"""What a sources file describes, once checked: sources, their kinds, their options.

``SourceKind`` is declared here and nowhere else: the sources schema's ``kind`` enum and
the raw-article schema's ``source.kind`` enum are tested against it (tests/fetcher/kinds),
and the kinds registry (``fetcher/kinds``) must have a reader for every member.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from newswire.common.contract import RecordSource

_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_DURATION = re.compile(r"^([0-9]+(?:\.[0-9]+)?)([smhd])$")


class SourceKind(StrEnum):
    """How a source is read: the ``kind`` of a sources file entry (one reader each in
    ``fetcher/kinds``), and ``source.kind`` of every raw record the source produces."""

    FEED = "feed"
    WORDPRESS = "wordpress"
    SITEMAP = "sitemap"
    HTML = "html"


class IdentityPolicy(StrEnum):
    """What identifies an item first; the rest of the chain follows (see identity.py)."""

    GUID = "guid"
    LINK = "link"
    TITLE = "title"


@dataclass(frozen=True, slots=True)
class Selectors:
    """CSS selectors of an ``html`` source (listing links; article title, date, body)."""

    links: str
    title: str | None = None
    published: str | None = None
    body: str | None = None
    remove: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Pagination:
    """How an ``html`` listing's next page is found (beyond ``rel=next``, always tried)."""

    #: CSS selector of the next-page link (or its container); tried first.
    next: str | None = None
    #: Numbered pages: a URL (absolute or relative to the listing) with ``{n}``,
    #: the page number from 2 (``?page={n}``, ``/page/{n}/``); tried last.
    numbered: str | None = None


@dataclass(frozen=True, slots=True)
class Source:
    """One entry of the sources file, with defaults applied and durations in seconds."""

    id: str
    name: str
    kind: SourceKind
    url: str
    language: str | None = None
    min_interval_s: float | None = None
    max_interval_s: float | None = None
    encoding: str | None = None
    identity: IdentityPolicy = IdentityPolicy.GUID
    headers: dict[str, str] = field(default_factory=dict)
    selectors: Selectors | None = None
    full_article: bool = False
    enabled: bool = True
    verified: bool = True
    #: Poll without consulting robots.txt: set only explicitly, reported on every poll.
    ignore_robots: bool = False
    pagination: Pagination | None = None
    #: Pages read per poll (listing pages, WordPress pages, child sitemaps); None: setting.
    max_pages: int | None = None

    @property
    def record_source(self) -> RecordSource:
        """The ``source`` object of every raw record this source produces."""
        return {"kind": self.kind.value, "id": self.id, "name": self.name}

    @property
    def decoding_settings(self) -> str:
        """The settings a body's text depends on (``encoding`` override, ``language``
        hint). Polling state keeps them with its validators: a change re-fetches."""
        return decoding_settings(self.encoding, self.language)


def decoding_settings(encoding: str | None, language: str | None) -> str:
    """``encoding=...;language=...`` with the codec's canonical name (``CP1256`` and
    ``windows-1256`` are one codec) and the language in lower case, so a change of
    spelling alone does not re-fetch and emit a source's items again."""
    codec = (encoding or "").strip()
    try:
        codec = codecs.lookup(codec).name if codec else ""
    except LookupError:
        codec = codec.lower()
    return f"encoding={codec};language={(language or '').strip().lower()}"


def normal_decoding_settings(settings: str) -> str:
    """A stored :func:`decoding_settings` string (perhaps written before names were
    normalised) in today's normal form."""
    encoding, _, language = settings.partition(";")
    return decoding_settings(
        encoding.removeprefix("encoding=") or None, language.removeprefix("language=") or None
    )


def parse_duration(value: float | int | str) -> float:
    """``90`` / ``"90s"`` / ``"15m"`` / ``"2h"`` / ``"1d"`` -> seconds."""
    if isinstance(value, int | float):
        return float(value)
    match = _DURATION.match(value)
    if match is None:
        raise ValueError(f"not a duration: {value!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def build_source(entry: dict[str, Any]) -> Source:
    selectors = entry.get("selectors")
    return Source(
        id=entry["id"],
        name=entry["name"],
        kind=SourceKind(entry["kind"]),
        url=entry["url"].strip(),
        language=entry.get("language"),
        min_interval_s=parse_duration(entry["min_interval"]) if "min_interval" in entry else None,
        max_interval_s=parse_duration(entry["max_interval"]) if "max_interval" in entry else None,
        encoding=entry.get("encoding"),
        identity=IdentityPolicy(entry.get("identity", "guid")),
        headers=dict(entry.get("headers") or {}),
        selectors=Selectors(**(selectors | {"remove": tuple(selectors.get("remove", ()))}))
        if selectors
        else None,
        full_article=bool(entry.get("full_article", False)),
        enabled=bool(entry.get("enabled", True)),
        verified=bool(entry.get("verified", True)),
        ignore_robots=entry.get("ignore_robots") is True,
        pagination=Pagination(**entry["pagination"]) if entry.get("pagination") else None,
        max_pages=entry.get("max_pages"),
    )
