"""Whether a source URL is one the fetcher can poll, and if not, why in a few words."""

from __future__ import annotations

import ipaddress
import re

from newswire.common.urls import InvalidUrl, canonical_url

MAX_URL_CHARS = 4096


def url_problem(url: str) -> str | None:
    """Why ``url`` is not an http(s) URL the fetcher can poll (a short reason), or None.

    Stricter than the schema's pattern (which only looks at the start) and never raises:
    ``http://exa mple.com/feed`` -> ``space in host``.
    """
    if not url.strip():
        return "empty"
    text = url.rstrip()  # trailing blanks are dropped when the file is loaded
    if len(text) > MAX_URL_CHARS:
        return f"longer than {MAX_URL_CHARS} characters"
    if text[0].isspace():
        return "starts with a space"
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in text):
        return "control character in the URL"
    scheme, sep, rest = text.partition("://")
    if not sep:
        if re.match(r"^[\w-]+(\.[\w-]+)+(:\d+)?([/?#]\S*)?$", text):
            return f'no scheme: write "https://{text}"'
        named = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*):", text)
        if named and named.group(1).lower() in ("http", "https"):
            return f'"//" missing after "{named.group(1)}:"'
        if named and not text[named.end() :].isdigit():
            return f'scheme "{named.group(1)}" is not http or https'
        return "not a URL"
    if scheme.lower() not in ("http", "https"):
        return f'scheme "{scheme}" is not http or https'
    netloc = re.split(r"[/?#]", rest, maxsplit=1)[0]
    after = rest[len(netloc) :]
    hostport = netloc.rpartition("@")[2]
    if not hostport:
        return "no host"
    if any(ch.isspace() for ch in hostport):
        return "space in host"
    host, port = _split_port(hostport)
    reason = _host_problem(host) or _port_problem(port)
    if reason:
        return reason
    if any(ch.isspace() for ch in after):
        return "space in path: write it as %20"
    try:
        canonical_url(text)
    except (InvalidUrl, ValueError) as exc:
        return str(exc)
    return None


def _split_port(hostport: str) -> tuple[str, str | None]:
    if hostport.startswith("["):
        host, _, tail = hostport.partition("]")
        return host + "]", tail[1:] if tail.startswith(":") else (tail or None)
    host, sep, port = hostport.rpartition(":")
    return (host, port) if sep else (hostport, None)


def _host_problem(host: str) -> str | None:
    if host.startswith("["):
        try:
            ipaddress.IPv6Address(host.strip("[]"))
        except ValueError:
            return f'"{host}" is not an IPv6 address'
        # common.urls drops the brackets, so item URLs of such a host cannot be canonical
        return "IPv6 address hosts are not supported yet: use a host name"
    if not host:
        return "no host"
    bad = next((ch for ch in host if ch.isascii() and not (ch.isalnum() or ch in "-._")), None)
    if bad is not None:
        return f'"{bad}" in host'
    if host.startswith(".") or ".." in host:
        return "empty label in host"
    return None


def _port_problem(port: str | None) -> str | None:
    if port is None or port == "":
        return None
    if not port.isdigit():
        return f'port "{port}" is not a number'
    if not 0 < int(port) < 65536:
        return f"port {port} is out of range"
    return None
