"""The fetcher's HTTP client: one GET with every safety rule, and a classified outcome.

Redirects are followed here, not by httpx, so each hop is counted, checked for loops,
spaced per host and connected through the address guard. The body is streamed and
capped after decompression. Whatever goes wrong ends in a :class:`FetchError` of a
fixed kind; a ``304`` is a normal outcome (``FetchResponse.not_modified``).
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import httpcore
import httpx

from newswire.common.settings import FetcherSettings
from newswire.fetcher.clock import Clock, SystemClock
from newswire.fetcher.errors import FetchError, FetchErrorKind
from newswire.fetcher.fetch.body import ACCEPT_ENCODING, read_capped
from newswire.fetcher.fetch.hosts import HostLimiter
from newswire.fetcher.fetch.netguard import AddressPolicy, GuardedNetworkBackend

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
#: Bytes of an error response kept to recognise a bot challenge.
ERROR_BODY_BYTES = 64 * 1024
#: Headers never carried to another origin on a redirect.
_PRIVATE_HEADERS = ("authorization", "cookie", "proxy-authorization")
#: Markers of CDN/WAF interstitials (Cloudflare, Sucuri, DDoS-Guard, Akamai, Imperva).
_CHALLENGE_MARKERS = (
    b"cf-browser-verification",
    b"challenge-platform",
    b"<title>just a moment",
    b"attention required! | cloudflare",
    b"sucuri website firewall",
    b"ddos-guard",
    b"access denied</title>",
    b"_incapsula_resource",
    b"please enable js and disable any ad blocker",
)
DEFAULT_RATE_LIMIT_PAUSE_S = 60.0


@dataclass(frozen=True, slots=True)
class FetchResponse:
    """A response worth reading (2xx) or a ``304``; ``url`` is the final URL."""

    url: str
    status: int
    headers: httpx.Headers
    body: bytes
    elapsed_s: float
    redirects: tuple[str, ...] = field(default=())

    @property
    def not_modified(self) -> bool:
        return self.status == 304


def parse_retry_after(value: str | None, now: float) -> float | None:
    """``Retry-After`` as seconds from ``now``: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - now)


def looks_like_bot_challenge(
    headers: httpx.Headers, body: bytes, *, error_status: bool = True
) -> bool:
    """A CDN or WAF page standing in for the content (its own state, not a generic 403).

    On a 200 only the unambiguous signs count (the ``cf-mitigated`` header, the
    interstitial's title): an article may well mention a WAF by name.
    """
    if headers.get("cf-mitigated", "").lower() == "challenge":
        return True
    head = body[:ERROR_BODY_BYTES].lower()
    markers = _CHALLENGE_MARKERS if error_status else _CHALLENGE_MARKERS[2:3]
    return any(marker in head for marker in markers)


def guarded_transport(
    settings: FetcherSettings,
    policy: AddressPolicy,
    *,
    inner: httpcore.AsyncNetworkBackend | None = None,
) -> httpx.AsyncHTTPTransport:
    """httpx's transport with its connection pool rebuilt on the guarded network backend.

    httpx does not expose ``network_backend``; the pool is swapped right after
    construction, with the same options httpx would use. No proxy, no environment.
    """
    limits = httpx.Limits(
        max_connections=settings.concurrency * 2,
        max_keepalive_connections=settings.keepalive_connections,
    )
    transport = httpx.AsyncHTTPTransport(limits=limits, trust_env=False, retries=0)
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=httpx.create_ssl_context(trust_env=False),
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        http1=True,
        http2=False,
        retries=0,
        network_backend=GuardedNetworkBackend(policy, inner),
    )
    return transport


class HttpClient:
    """GETs with timeouts, redirect limit, body cap, address guard and per-host limits."""

    def __init__(
        self,
        settings: FetcherSettings,
        *,
        clock: Clock | None = None,
        limiter: HostLimiter | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._settings = settings
        self._clock = clock or SystemClock()
        self.limiter = limiter or HostLimiter(
            concurrency=settings.per_host_concurrency,
            spacing_s=settings.per_host_spacing_s,
            clock=self._clock,
            # A short Retry-After is worth its wait; minutes of it held a fetch slot and,
            # before the deadline excluded the wait, made healthy sources look like the
            # server's timeout (FETCHER_HOST_PAUSE_MAX_WAIT_S).
            max_pause_wait_s=min(settings.host_pause_max_wait_s, settings.total_timeout_s),
        )
        self.policy = AddressPolicy(settings.allow_networks)
        self._client = httpx.AsyncClient(
            transport=transport or guarded_transport(settings, self.policy),
            timeout=httpx.Timeout(
                connect=settings.connect_timeout_s,
                read=settings.read_timeout_s,
                write=settings.read_timeout_s,
                pool=settings.total_timeout_s,
            ),
            follow_redirects=False,
            trust_env=False,
            headers={"User-Agent": settings.user_agent, "Accept-Encoding": ACCEPT_ENCODING},
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> HttpClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def get(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        max_bytes: int | None = None,
        timeout_s: float | None = None,
        before_request: Callable[[str], Awaitable[None]] | None = None,
        spaced: bool = True,
    ) -> FetchResponse:
        """GET ``url`` following redirects; a 2xx/304 response or a :class:`FetchError`.

        ``max_bytes`` and ``timeout_s`` replace the body cap and the whole-request
        deadline for one request (robots.txt has its own). ``before_request`` is awaited
        with the URL of every request, redirect hops included, and may refuse it by
        raising a :class:`FetchError` (the poller's robots.txt check). ``spaced=False``
        exempts the request from the host's spacing, not from its concurrency
        (:meth:`HostLimiter.slot`).

        The deadline (``timeout_s``, else FETCHER_TOTAL_TIMEOUT_S) runs only while a
        request is allowed to run: not while it waits for its host's slot or turn (the
        spacing, a 429's Retry-After pause) nor for ``before_request`` (robots.txt has
        its own deadline). A timeout is the server's slowness, never the host limiter's
        wait: that is reported as what it is (``rate_limited``, host paused)."""
        started = time.perf_counter()
        deadline = timeout_s or self._settings.total_timeout_s
        try:
            async with asyncio.timeout(None) as timer:
                return await self._follow(
                    url,
                    dict(headers or {}),
                    started,
                    max_bytes,
                    before_request,
                    spaced,
                    _Deadline(timer, deadline),
                )
        except TimeoutError as exc:
            raise FetchError(
                FetchErrorKind.TIMEOUT, f"no complete response within {deadline}s", url=url
            ) from exc

    async def _follow(
        self,
        url: str,
        headers: dict[str, str],
        started: float,
        max_bytes: int | None,
        before_request: Callable[[str], Awaitable[None]] | None,
        spaced: bool,
        deadline: _Deadline,
    ) -> FetchResponse:
        seen = [url]
        for _ in range(self._settings.max_redirects + 1):
            if before_request is not None:
                await before_request(url)
            status, response_headers, body = await self._one_request(
                url, headers, max_bytes, spaced, deadline
            )
            if status not in REDIRECT_STATUSES:
                return self._classify(
                    url, status, response_headers, body, started, tuple(seen[:-1])
                )
            target = _redirect_target(url, response_headers)
            if target in seen:
                raise FetchError(
                    FetchErrorKind.REDIRECT_LOOP, f"redirect loop back to {target}", url=seen[0]
                )
            if _origin(target) != _origin(url):
                headers = {k: v for k, v in headers.items() if k.lower() not in _PRIVATE_HEADERS}
            seen.append(target)
            url = target
        raise FetchError(
            FetchErrorKind.REDIRECT_LOOP,
            f"more than {self._settings.max_redirects} redirects",
            url=seen[0],
        )

    async def _one_request(
        self,
        url: str,
        headers: dict[str, str],
        max_bytes: int | None,
        spaced: bool,
        deadline: _Deadline,
    ) -> tuple[int, httpx.Headers, bytes]:
        host = _host_of(url)
        async with self.limiter.slot(host, spaced=spaced):
            with deadline.running():
                try:
                    async with self._client.stream("GET", url, headers=headers) as response:
                        body = await self._read_body(response, max_bytes)
                        return response.status_code, response.headers, body
                except FetchError as error:
                    error.url = error.url or url
                    raise
                except httpx.TimeoutException as exc:
                    raise FetchError(
                        FetchErrorKind.TIMEOUT, f"{type(exc).__name__}: {exc}", url=url
                    ) from exc
                except httpx.UnsupportedProtocol as exc:
                    raise FetchError(FetchErrorKind.UNSUPPORTED, str(exc), url=url) from exc
                except (httpx.TransportError, httpx.InvalidURL) as exc:
                    raise FetchError(
                        FetchErrorKind.NETWORK, f"{type(exc).__name__}: {exc}", url=url
                    ) from exc

    async def _read_body(self, response: httpx.Response, max_bytes: int | None) -> bytes:
        status = response.status_code
        if status in REDIRECT_STATUSES or status == 304:
            return b""
        ok_cap = max_bytes or self._settings.max_body_bytes
        cap = ok_cap if 200 <= status < 300 else ERROR_BODY_BYTES
        declared = response.headers.get("content-length", "")
        if (
            200 <= status < 300
            and declared.isdigit()
            and not response.headers.get("content-encoding")
        ):
            if int(declared) > cap:
                raise FetchError(
                    FetchErrorKind.TOO_LARGE,
                    f"Content-Length {declared} is over the {cap}-byte cap",
                )
        try:
            return await read_capped(
                response.aiter_raw(),
                content_encoding=response.headers.get("content-encoding"),
                cap=cap,
                bomb_ratio=self._settings.bomb_ratio,
            )
        except FetchError:
            if 200 <= status < 300:
                raise
            return b""  # an error page we cannot read is still an error of its status

    def _classify(
        self,
        url: str,
        status: int,
        headers: httpx.Headers,
        body: bytes,
        started: float,
        redirects: tuple[str, ...],
    ) -> FetchResponse:
        if 200 <= status < 300 or status == 304:
            if (
                status == 200
                and len(body) < 32768
                and looks_like_bot_challenge(headers, body, error_status=False)
            ):
                raise FetchError(
                    FetchErrorKind.BOT_CHALLENGE,
                    "a bot challenge page instead of content",
                    url=url,
                    status=status,
                )
            return FetchResponse(
                url, status, headers, body, time.perf_counter() - started, redirects
            )
        raise self._status_error(url, status, headers, body)

    def _status_error(
        self, url: str, status: int, headers: httpx.Headers, body: bytes
    ) -> FetchError:
        retry_after = parse_retry_after(headers.get("retry-after"), self._clock.time())
        if retry_after is not None:
            retry_after = min(retry_after, self._settings.hint_cap_s)
        if looks_like_bot_challenge(headers, body):
            kind = FetchErrorKind.BOT_CHALLENGE
        elif status == 429 or (status == 503 and retry_after is not None):
            kind = FetchErrorKind.RATE_LIMITED
            pause = retry_after or DEFAULT_RATE_LIMIT_PAUSE_S
            said = f"Retry-After {pause:.0f} s" if retry_after else f"{pause:.0f} s, no Retry-After"
            self.limiter.slow_down(_host_of(url), pause, f"{status}, {said}")
        elif status in (401, 403, 451):
            kind = FetchErrorKind.FORBIDDEN
        elif status >= 500:
            kind = FetchErrorKind.HTTP_5XX
        else:
            kind = FetchErrorKind.HTTP_4XX
        reason = headers.get("status-reason") or httpx.codes.get_reason_phrase(status)
        return FetchError(
            kind, reason or f"HTTP {status}", url=url, status=status, retry_after_s=retry_after
        )


class _Deadline:
    """One GET's whole-request deadline on an ``asyncio.timeout``, counted only while a
    request of it runs (:meth:`running`): the waits between (the host's slot and turn,
    robots.txt) are not the server's time."""

    def __init__(self, timer: asyncio.Timeout, seconds: float) -> None:
        self._timer = timer
        self._left = seconds

    @contextlib.contextmanager
    def running(self) -> Iterator[None]:
        loop = asyncio.get_running_loop()
        self._timer.reschedule(loop.time() + self._left)
        try:
            yield
        finally:
            when = self._timer.when()
            if when is not None and not self._timer.expired():
                self._left = max(0.0, when - loop.time())
                self._timer.reschedule(None)


def _redirect_target(url: str, headers: httpx.Headers) -> str:
    location = headers.get("location")
    if not location:
        raise FetchError(FetchErrorKind.MALFORMED, "redirect without a Location header", url=url)
    target = urljoin(url, location.strip())
    if urlsplit(target).scheme not in ("http", "https"):
        raise FetchError(
            FetchErrorKind.UNSUPPORTED, f"redirect to a non-HTTP URL {target!r}", url=url
        )
    return target.split("#", 1)[0]


def _host_of(url: str) -> str:
    host = urlsplit(url).hostname
    if not host:
        raise FetchError(FetchErrorKind.UNSUPPORTED, "URL without a host", url=url)
    return host


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    return parts.scheme, (parts.hostname or ""), parts.port
