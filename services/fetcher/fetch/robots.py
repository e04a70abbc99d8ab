"""robots.txt: fetched once per host and TTL, read by protego, honoured for our user agent.

What a fetch of ``/robots.txt`` means follows RFC 9309 section 2.3.1:

* 2xx: its rules (``Disallow``/``Allow`` with wildcards, ``Crawl-delay``,
  ``Request-rate``) for the product token of ``FETCHER_USER_AGENT``;
* 4xx ("unavailable", 2.3.1.3): no rules, every path allowed;
* 5xx, 429 and network errors ("unreachable", 2.3.1.4): complete disallow, asked again
  after ``FETCHER_ROBOTS_RETRY_S``; rules fetched earlier stay in force instead when
  there are any (2.4 allows a cached copy while the file is unreachable);
* redirects are followed by the client, guarded per hop, up to ``FETCHER_MAX_REDIRECTS``
  (the RFC asks for at least five); the rules apply to the original host (2.3.1.2).

A robots.txt that is huge (over ``FETCHER_ROBOTS_MAX_BYTES``, at least the RFC's
500 KiB), slow (over ``FETCHER_ROBOTS_TIMEOUT_S``), binary, a redirect loop, a bomb or
otherwise unreadable is treated as "allow" with one warning per fetch, as major
crawlers do: a broken robots.txt must never stop a source, and never hang a poll.

Rules are cached per scheme, host and port for ``FETCHER_ROBOTS_TTL_S`` (the RFC:
not more than 24 hours); concurrent polls of one host wait for one fetch. The
``Crawl-delay`` (or ``Request-rate``) of a host becomes its spacing in the per-host
limiter, up to ``FETCHER_ROBOTS_MAX_CRAWL_DELAY_S``.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from enum import StrEnum
from urllib.parse import urlsplit

from protego import Protego

from newswire.common.settings import FetcherSettings
from newswire.fetcher.clock import Clock
from newswire.fetcher.errors import FetchError, FetchErrorKind
from newswire.fetcher.fetch.client import HttpClient

log = logging.getLogger(__name__)


class RobotsResult(StrEnum):
    """What one fetch of a robots.txt gave (the ``result`` label of the fetch metric)."""

    RULES = "rules"  # 2xx, parsed
    UNAVAILABLE = "unavailable"  # 4xx: allow all
    UNREACHABLE = "unreachable"  # 5xx / 429 / network: disallow all for a while
    FALLBACK = "fallback"  # huge, slow, binary, loop, unreadable: allow all, warned


#: Fetch failures that make a robots.txt "unreachable" (RFC 9309 2.3.1.4).
_UNREACHABLE_KINDS = frozenset(
    {FetchErrorKind.NETWORK, FetchErrorKind.HTTP_5XX, FetchErrorKind.RATE_LIMITED}
)
#: Share of undecodable bytes over which a body is binary, not a text file with typos.
_BINARY_SHARE = 0.1


@dataclass(frozen=True, slots=True)
class RobotsFetch:
    """One fetch of a host's robots.txt, for metrics: its result and why."""

    origin: str
    result: RobotsResult
    reason: str  # ok | http_4xx status | the fallback's cause (too_large, timeout, ...)


@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether a URL may be fetched; ``fetch`` is set when this check fetched robots.txt."""

    allowed: bool
    detail: str = ""
    fetch: RobotsFetch | None = None
    #: The error kind of a refusal: ``robots_disallowed``, or ``network`` when the host
    #: did not answer at all (a dead host is reported as one, not as a robots refusal).
    kind: FetchErrorKind = FetchErrorKind.ROBOTS_DISALLOWED


@dataclass
class _Entry:
    expires: float
    rules: Protego | None = None  # None: allow all, unless unreachable
    unreachable: str | None = None  # why nothing may be fetched from this origin now
    kind: FetchErrorKind = FetchErrorKind.ROBOTS_DISALLOWED


@dataclass
class RobotsRules:
    """The robots.txt cache of one fetcher (one per poller; no global state)."""

    http: HttpClient
    settings: FetcherSettings
    clock: Clock
    _entries: dict[str, _Entry] = field(default_factory=dict)
    _locks: dict[str, asyncio.Lock] = field(default_factory=dict)

    @property
    def agent(self) -> str:
        """The product token robots.txt groups are matched against (RFC 9309 2.2.1)."""
        return product_token(self.settings.user_agent)

    async def check(self, url: str) -> Verdict:
        """May ``url`` be fetched? Fetches the origin's robots.txt when not cached."""
        origin = _origin(url)
        if origin is None:
            return Verdict(True)
        fetched: RobotsFetch | None = None
        entry = self._fresh(origin)
        if entry is None:
            async with self._locks.setdefault(origin, asyncio.Lock()):
                entry = self._fresh(origin)
                if entry is None:
                    entry, fetched = await self._fetch(origin)
                    self._entries[origin] = entry
        return self._verdict(entry, url, fetched)

    def _fresh(self, origin: str) -> _Entry | None:
        entry = self._entries.get(origin)
        return entry if entry is not None and entry.expires > self.clock.monotonic() else None

    def _verdict(self, entry: _Entry, url: str, fetched: RobotsFetch | None) -> Verdict:
        if entry.unreachable is not None and entry.rules is None:
            return Verdict(False, entry.unreachable, fetched, entry.kind)
        if entry.rules is not None and not entry.rules.can_fetch(url, self.agent):
            path = urlsplit(url).path or "/"
            return Verdict(False, f"robots.txt disallows {path} for {self.agent}", fetched)
        return Verdict(True, "", fetched)

    async def _fetch(self, origin: str) -> tuple[_Entry, RobotsFetch]:
        now = self.clock.monotonic()
        settings = self.settings
        robots_url = f"{origin}/robots.txt"
        try:
            response = await self.http.get(
                robots_url,
                max_bytes=settings.robots_max_bytes,
                timeout_s=settings.robots_timeout_s,
                spaced=False,  # once per host and TTL: not worth a spacing turn
            )
        except FetchError as error:
            return self._failed(origin, error, now)
        # protego takes ~0.7 s for a 500 KiB file: parsed off the event loop
        rules, problem = await asyncio.to_thread(_parse, response.body)
        if rules is None:
            return self._fallback(origin, problem, now)
        self._apply_delay(origin, rules)
        entry = _Entry(expires=now + settings.robots_ttl_s, rules=rules)
        return entry, RobotsFetch(origin, RobotsResult.RULES, "ok")

    def _failed(self, origin: str, error: FetchError, now: float) -> tuple[_Entry, RobotsFetch]:
        status = error.status
        if error.kind is FetchErrorKind.BLOCKED_ADDRESS and _origin(error.url or "") == origin:
            # The network guard refused the host itself (not a redirect hop elsewhere):
            # it refuses the source's own request too, and that poll's status line says
            # so. No warning of its own here: one cause, one line (a "robots.txt
            # unusable" warning named the same refusal again, before it).
            entry = _Entry(expires=now + self.settings.robots_retry_s)
            return entry, RobotsFetch(origin, RobotsResult.UNAVAILABLE, error.kind.value)
        if error.kind in _UNREACHABLE_KINDS or (status is not None and status >= 500):
            why = f"HTTP {status}" if status is not None else f"{error.kind}: {error.detail}"
            label = f"http_{status}" if status is not None else error.kind.value
            detail = (
                f"robots.txt of {origin} is unreachable ({why}): nothing is fetched from "
                f"the host until it answers (RFC 9309 2.3.1.4)"
            )
            stale = self._entries.get(origin)
            entry = _Entry(
                expires=now + self.settings.robots_retry_s,
                rules=stale.rules if stale is not None else None,
                unreachable=detail,
                kind=FetchErrorKind.NETWORK
                if error.kind is FetchErrorKind.NETWORK
                else FetchErrorKind.ROBOTS_DISALLOWED,
            )
            log.warning("%s; asking again in %.0fs", detail, self.settings.robots_retry_s)
            return entry, RobotsFetch(origin, RobotsResult.UNREACHABLE, label)
        if status is not None and 400 <= status < 500:
            self.http.limiter.set_spacing(_host(origin), None)
            entry = _Entry(expires=now + self.settings.robots_ttl_s)
            return entry, RobotsFetch(origin, RobotsResult.UNAVAILABLE, f"http_{status}")
        return self._fallback(origin, _fallback_reason(error), now)

    def _fallback(self, origin: str, reason: str, now: float) -> tuple[_Entry, RobotsFetch]:
        log.warning(
            "robots.txt of %s is unusable (%s): treated as allow-all for %.0fs",
            origin,
            reason,
            self.settings.robots_ttl_s,
        )
        self.http.limiter.set_spacing(_host(origin), None)
        entry = _Entry(expires=now + self.settings.robots_ttl_s)
        return entry, RobotsFetch(origin, RobotsResult.FALLBACK, reason.split(":", 1)[0])

    def _apply_delay(self, origin: str, rules: Protego) -> None:
        """``Crawl-delay`` (or ``Request-rate``, as seconds per request) spaces the host."""
        delays = [rules.crawl_delay(self.agent) or 0.0]
        rate = rules.request_rate(self.agent)
        if rate is not None and rate.requests > 0:
            delays.append(rate.seconds / rate.requests)
        delay = max(delays)
        cap = self.settings.robots_max_crawl_delay_s
        if delay > cap:
            log.info("robots.txt of %s asks %.0fs between requests; %.0fs kept", origin, delay, cap)
            delay = cap
        self.http.limiter.set_spacing(_host(origin), delay or None)


def product_token(user_agent: str) -> str:
    """``newswire-fetcher/0.1 (...)`` -> ``newswire-fetcher``."""
    token = user_agent.strip().split("/", 1)[0].split(" ", 1)[0]
    return token or user_agent


def _parse(body: bytes) -> tuple[Protego | None, str]:
    """The rules of a robots.txt body, or None and why it cannot be used."""
    text = body.decode("utf-8", errors="replace").lstrip("\ufeff")
    if "\x00" in text or text.count("\ufffd") > len(text) * _BINARY_SHARE:
        return None, "binary: not a text file"
    try:
        return Protego.parse(text), ""
    except Exception as exc:  # a parser crash on hostile input is a fallback, not a failure
        return None, f"malformed: {type(exc).__name__}: {exc}"


def _fallback_reason(error: FetchError) -> str:
    names = {
        FetchErrorKind.TOO_LARGE: "too_large",
        FetchErrorKind.DECOMPRESSION_BOMB: "too_large",
        FetchErrorKind.TIMEOUT: "timeout",
        FetchErrorKind.REDIRECT_LOOP: "redirect_loop",
    }
    return f"{names.get(error.kind, error.kind.value)}: {error.detail}"


def _origin(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1].lower()}"


def _host(origin: str) -> str:
    return urlsplit(origin).hostname or ""
