"""The fixed set of ways a poll can fail, and the one error type that carries them.

Every failure of a source ends in a :class:`FetchError` whose ``kind`` is one of
:class:`FetchErrorKind`. The poller never lets anything else escape for a single
source: a parser exception, a hostile body or a stalled server is a classified
outcome for that source (counted, backed off, reported), never a crash of the
service. Keeping the set closed is what lets metrics, the stderr report of
``--once`` and the polling state speak the same small vocabulary.
"""

from __future__ import annotations

from enum import StrEnum

from newswire.common.errors import NewswireError


class FetchErrorKind(StrEnum):
    """Why a poll failed. Stable strings: they appear in state, metrics and reports."""

    NETWORK = "network"  # DNS failure, connection refused/reset, TLS failure
    TIMEOUT = "timeout"  # connect, read or whole-request deadline passed
    HTTP_4XX = "http_4xx"  # a client error other than the ones below
    HTTP_5XX = "http_5xx"  # a server error other than 503 with Retry-After
    RATE_LIMITED = "rate_limited"  # 429, or 503 with Retry-After
    FORBIDDEN = "forbidden"  # 401/403 without a bot challenge
    BOT_CHALLENGE = "bot_challenge"  # a CDN/WAF interstitial instead of content
    TOO_LARGE = "too_large"  # body over the cap after decompression
    DECOMPRESSION_BOMB = "decompression_bomb"  # compressed body expanding past the cap
    BLOCKED_ADDRESS = "blocked_address"  # resolved to a loopback/private/metadata address
    REDIRECT_LOOP = "redirect_loop"  # a URL seen twice, or too many redirects
    UNSAFE_XML = "unsafe_xml"  # DTD internal subset / entity declarations
    MALFORMED = "malformed"  # not a document we can read (ill-formed XML, bad JSON, parser crash)
    UNSUPPORTED = "unsupported"  # a readable body of a format this kind cannot use
    ENCODING = "encoding"  # bytes that no candidate charset decodes
    #: the host's robots.txt disallows the URL for our user agent, or cannot be reached
    #: (5xx, 429, network: RFC 9309 says assume complete disallow until it answers)
    ROBOTS_DISALLOWED = "robots_disallowed"


#: Kinds that describe the remote refusing us, not being broken: their own source states.
REFUSAL_KINDS = frozenset(
    {
        FetchErrorKind.RATE_LIMITED,
        FetchErrorKind.FORBIDDEN,
        FetchErrorKind.BOT_CHALLENGE,
        FetchErrorKind.ROBOTS_DISALLOWED,
    }
)


class FetchError(NewswireError):
    """A classified failure of one request or one document, with what an operator needs.

    ``retry_after_s`` is the server's own word on when to come back (``Retry-After``),
    kept so the schedule and the per-host limiter can honour it.
    """

    def __init__(
        self,
        kind: FetchErrorKind,
        detail: str,
        *,
        url: str | None = None,
        status: int | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail
        self.url = url
        self.status = status
        self.retry_after_s = retry_after_s

    def __str__(self) -> str:
        status = f" HTTP {self.status}" if self.status is not None else ""
        where = f" ({self.url})" if self.url else ""
        return f"{self.kind}{status}: {self.detail}{where}"


class SourcesFileError(NewswireError):
    """A sources file that cannot be used; ``problems`` says what is wrong where."""

    def __init__(self, path: str, problems: list[str]) -> None:
        super().__init__(f"{path}: {len(problems)} problem(s): " + "; ".join(problems[:5]))
        self.path = path
        self.problems = problems
