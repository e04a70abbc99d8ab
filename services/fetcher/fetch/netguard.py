"""Refusing loopback, private, link-local and metadata addresses - on the resolved address.

A hostname is only a promise: ``feeds.example.com`` can resolve to ``10.0.0.5`` or
``169.254.169.254`` (cloud metadata), and a redirect can point anywhere. So the check
sits in the network backend, where httpcore opens TCP connections: the host is
resolved here, every address is checked, and the connection goes to the very address
that passed, so a second DNS answer cannot slip past the check (DNS rebinding).
Nothing is sent to a refused address: the error is raised before ``connect``.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable, Sequence
from typing import Any

import httpcore

from newswire.fetcher.errors import FetchError, FetchErrorKind

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

#: Cloud metadata endpoints that are not covered by "not global" (some are public-range).
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "169.254.170.2", "100.100.100.200", "fd00:ec2::254", "192.0.0.192")
)


class AddressPolicy:
    """Which addresses the fetcher may connect to: global unicast ones, plus the allow-list."""

    def __init__(self, allow: Iterable[IPNetwork] = ()) -> None:
        self._allow = tuple(allow)

    def allows(self, address: IPAddress) -> bool:
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        if any(address in net for net in self._allow if net.version == address.version):
            return True
        if address in METADATA_ADDRESSES:
            return False
        return address.is_global and not address.is_multicast

    def check(self, host: str, addresses: Sequence[IPAddress]) -> list[IPAddress]:
        """The allowed addresses of ``host``; raises ``blocked_address`` if there is none."""
        allowed = [a for a in addresses if self.allows(a)]
        if not allowed:
            shown = ", ".join(str(a) for a in addresses) or "nothing"
            raise FetchError(
                FetchErrorKind.BLOCKED_ADDRESS,
                f"{host} resolves to {shown}: loopback/private/link-local/metadata addresses are "
                "refused (open one with --allow-network CIDR)",
            )
        return allowed


async def resolve(host: str, port: int, timeout_s: float | None) -> list[IPAddress]:
    """Addresses of ``host`` (an IP literal resolves to itself without DNS)."""
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(
            loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), timeout=timeout_s
        )
    except TimeoutError as exc:
        raise httpcore.ConnectTimeout(f"resolving {host} timed out") from exc
    except OSError as exc:
        raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
    seen: dict[IPAddress, None] = {}
    for *_, sockaddr in infos:
        address = sockaddr[0]
        # Only the AF_INET/AF_INET6 forms come back for a host name, and both carry the
        # address as text; typeshed also allows the (int, bytes) form of IPv6-less builds.
        if isinstance(address, str):
            seen.setdefault(ipaddress.ip_address(address.split("%", 1)[0]), None)
    return list(seen)


class GuardedNetworkBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend with the address policy in front of every connect."""

    def __init__(
        self, policy: AddressPolicy, inner: httpcore.AsyncNetworkBackend | None = None
    ) -> None:
        self._policy = policy
        self._inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface passes it
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        allowed = self._policy.check(host, await resolve(host, port, timeout_s=timeout))
        last_error: Exception | None = None
        for address in allowed:
            try:
                return await self._inner.connect_tcp(
                    str(address),
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last_error = exc
        assert last_error is not None  # allowed is never empty
        raise last_error

    async def connect_unix_socket(self, *args: Any, **kwargs: Any) -> httpcore.AsyncNetworkStream:
        raise FetchError(
            FetchErrorKind.BLOCKED_ADDRESS, "unix sockets are never used by the fetcher"
        )

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)
