"""Saying what discovery did: the candidates and the proposal, or why there is none."""

from __future__ import annotations

import ipaddress
import socket
import ssl
from collections.abc import Collection
from typing import TextIO
from urllib.parse import urlsplit

import yaml

from newswire.fetcher.discover.model import Discovery
from newswire.fetcher.errors import FetchError, FetchErrorKind
from newswire.fetcher.kinds.sitemap import SitemapKind
from newswire.fetcher.parse import FEED_FORMATS


def short_reason(error: FetchError) -> str:
    """What a failed request gave, in a few words (``HTTP 404 Not Found``)."""
    if error.status is not None and error.kind in (
        FetchErrorKind.HTTP_4XX,
        FetchErrorKind.HTTP_5XX,
        FetchErrorKind.FORBIDDEN,
        FetchErrorKind.RATE_LIMITED,
    ):
        return f"HTTP {error.status} {error.detail}".rstrip()
    if error.kind is FetchErrorKind.UNSUPPORTED and error.detail.startswith("body is "):
        return f"not a usable document ({error.detail})"
    return f"{error.kind}: {error.detail}"


def _causes(error: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and len(chain) < 10:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def describe_failure(discovery: Discovery, url: str) -> list[str]:
    """Why the URL itself gave nothing, and what to do about it (lines for stderr)."""
    error = discovery.error
    assert error is not None
    at = error.url or url
    host = urlsplit(at).hostname or at
    port = urlsplit(at).port
    hop = f" (redirected to {at})" if at.rstrip("/") != url.rstrip("/") else ""
    kind = error.kind
    if kind is FetchErrorKind.BLOCKED_ADDRESS:
        addresses = ", ".join(discovery.blocked)
        what = " and ".join(sorted({_address_class(a) for a in discovery.blocked}))
        if not discovery.blocked:
            said = f"{host} is not a public address"
        elif addresses == host.strip("[]"):
            said = f"{host} is a {what} address"
        else:
            said = f"{host} resolves to {addresses} ({what})"
        networks = [_single_network(a) for a in discovery.blocked] or ["CIDR"]
        allow = " ".join(f"--allow-network {n}" for n in networks)
        return [
            f"{url}: refused by the network guard{hop}: {said}; the fetcher only connects to "
            "public addresses",
            f"to allow it: newswire sources discover {url} {allow}",
        ]
    if kind is FetchErrorKind.NETWORK:
        return [f"{url}: {_network_reason(error, host, port)}{hop}"]
    if kind is FetchErrorKind.TIMEOUT:
        return [f"{url}: timed out{hop}: {_timeout_reason(error, host, port)}"]
    if kind is FetchErrorKind.BOT_CHALLENGE:
        status = f" (HTTP {error.status})" if error.status is not None else ""
        return [f"{url}: a bot challenge page (CDN/WAF) answered instead of the site{status}{hop}"]
    if error.status is not None:
        line = f"{url}: HTTP {error.status} {error.detail}{hop}".rstrip()
        advice = {
            FetchErrorKind.FORBIDDEN: "the server refuses the fetcher (some sites block "
            "unknown user agents or whole networks)",
            FetchErrorKind.RATE_LIMITED: "rate limited: try again later",
        }.get(kind)
        return [f"{line}: {advice}" if advice else line]
    page = discovery.page
    if page is not None and kind in (FetchErrorKind.MALFORMED, FetchErrorKind.UNSAFE_XML):
        return [f"{url}: fetched, looks like {page.format}, but cannot be read: {error.detail}"]
    return [f"{url}: {kind}{hop}: {error.detail}"]


def _timeout_reason(error: FetchError, host: str, port: int | None) -> str:
    where = f"{host} port {port}" if port else host
    name, _, rest = error.detail.partition(":")
    said = {
        "ConnectTimeout": f"no connection to {where} within the connect timeout",
        "ReadTimeout": "the server stopped sending (read timeout)",
        "WriteTimeout": "the server stopped reading the request (write timeout)",
        "PoolTimeout": "no free connection (pool timeout)",
    }.get(name)
    if said is None:
        return error.detail
    return f"{said}: {rest.strip()}" if rest.strip() else said


def _network_reason(error: FetchError, host: str, port: int | None) -> str:
    where = f"{host} port {port}" if port else host
    for cause in _causes(error):
        if isinstance(cause, socket.gaierror):
            return f"DNS lookup failed: no address for {host} ({cause.strerror or cause})"
        if isinstance(cause, ConnectionRefusedError):
            return f"connection refused: nothing is listening on {where}"
        if isinstance(cause, ssl.SSLError):
            return f"TLS handshake with {where} failed: {cause.reason or cause}"
        if isinstance(cause, ConnectionResetError):
            return f"connection reset by {where}"
        if isinstance(cause, OSError) and cause.errno in (101, 113):  # (host) unreachable
            return f"{where} is unreachable: {cause.strerror}"
    if "cannot resolve" in error.detail:
        return f"DNS lookup failed: {error.detail.partition('cannot resolve ')[2]}"
    return f"network error: {error.detail}"


def _address_class(address: str) -> str:
    ip = ipaddress.ip_address(address)
    for name, test in (
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("private", ip.is_private),
        ("multicast", ip.is_multicast),
    ):
        if test:
            return name
    return "reserved"


def _single_network(address: str) -> str:
    ip = ipaddress.ip_address(address)
    return f"{ip}/{ip.max_prefixlen}"


def render(discovery: Discovery, out: TextIO, err: TextIO, *, taken: Collection[str] = ()) -> int:
    """The proposal (YAML) on ``out``; candidates, or why there is none, on ``err``.

    0 with a proposal; 1 when the URL could not be fetched or offers nothing usable.
    """
    if discovery.error is not None and not discovery.candidates:
        for line in describe_failure(discovery, discovery.site):
            print(line, file=err)
        return 1
    for c in discovery.candidates:
        print(
            f"candidate kind={c.kind} entries={c.entries} format={c.format or '-'} "
            f"via={c.how!r} url={c.url}",
            file=err,
        )
    proposal = discovery.proposal(taken)
    if proposal is None:
        for line in _nothing_found(discovery):
            print(line, file=err)
        return 1
    out.write(yaml.safe_dump({"sources": [proposal]}, allow_unicode=True, sort_keys=False))
    return 0


def _nothing_found(discovery: Discovery) -> list[str]:
    page = discovery.page
    fetched = (
        f"HTTP {page.status}, {page.content_type}, {page.size} bytes, {page.format}"
        if page is not None
        else "fetched"
    )
    if page is not None and page.format in {f.value for f in FEED_FORMATS | SitemapKind.formats}:
        return [
            f"{discovery.site}: fetched ({fetched}), but the {page.format} document has no "
            "entries yet: nothing to propose until it lists some"
        ]
    lines = [
        f"{discovery.site}: fetched ({fetched}), but found no feed, WordPress API, sitemap "
        "or article links"
    ]
    lines += [f"  tried {a.url} ({a.how}): {a.outcome}" for a in discovery.attempts]
    return lines
