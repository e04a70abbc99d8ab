"""``newswire sources discover URL``: the command line's side of discovery."""

from __future__ import annotations

import asyncio
import ipaddress
import sys
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import TextIO

from newswire.common.settings import FetcherSettings, Settings
from newswire.fetcher.discover.explain import render
from newswire.fetcher.discover.probe import discover
from newswire.fetcher.errors import SourcesFileError
from newswire.fetcher.fetch.client import HttpClient
from newswire.fetcher.sources import load_sources, url_problem


async def discover_to(
    group: FetcherSettings, url: str, out: TextIO, err: TextIO, *, taken: Collection[str] = ()
) -> int:
    async with HttpClient(group) as http:
        return render(await discover(http, url), out, err, taken=taken)


def command_url(url: str, err: TextIO) -> str | None:
    """The URL to discover from the command line's argument, or None (a usage error,
    said on ``err``). A bare host (``www.example.iq/news``) is taken as https."""
    reason = url_problem(url)
    if reason is None:
        return url.strip()
    if reason.startswith("no scheme"):
        fixed = "https://" + url.strip()
        if url_problem(fixed) is None:
            print(f"no scheme given: using {fixed}", file=err)
            return fixed
    print(f'newswire sources discover: "{url}" is not an http(s) URL ({reason})', file=err)
    return None


def discover_command(
    settings: Settings,
    url: str,
    *,
    allow_network: Sequence[str] = (),
    sources: Path | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """``newswire sources discover URL``: candidates on stderr, a proposed entry (YAML)
    on stdout. Exit status: 0 proposal; 1 nothing usable (and why); 2 usage error (not
    an http(s) URL, a bad ``--allow-network``, an unusable ``--sources`` file)."""
    from newswire.fetcher.commands import fetcher_settings

    out, err = out or sys.stdout, err or sys.stderr
    target = command_url(url, err)
    if target is None:
        return 2
    for cidr in allow_network:
        try:
            ipaddress.ip_network(cidr.strip(), strict=False)
        except ValueError:
            print(
                f'newswire sources discover: --allow-network "{cidr}" is not a network '
                "(write a CIDR such as 127.0.0.1/32 or 10.0.0.0/8)",
                file=err,
            )
            return 2
    taken: set[str] = set()
    if sources is not None:
        try:
            taken = {s.id for s in load_sources(sources)}
        except SourcesFileError as error:
            print(
                f"newswire sources discover: --sources {sources}: {error.problems[0]} "
                f"(see: newswire sources check {sources})",
                file=err,
            )
            return 2
    group = fetcher_settings(settings, allow_network)
    return asyncio.run(discover_to(group, target, out, err, taken=taken))
