"""``sources discover URL``: look at a site and propose a sources entry.

Tries, in order, what a person would: the page itself (is it a feed, or a sitemap?),
its ``<link rel="alternate">`` feeds, the WordPress REST API, common feed paths, and
sitemaps (``robots.txt`` ``Sitemap:`` lines and the usual names). Every candidate is
fetched through the same client as polling (address guard, limits, politeness) and
parsed, so a proposal is only made for something that actually yields entries.

When nothing is proposed, the command says why, in one line an operator can act on:
the network guard refused the address (and the ``--allow-network`` that opens it),
the connection was refused, the name does not resolve, the server timed out or
answered an HTTP error, or the page was fetched but offers no feed, API, sitemap or
article links (then every URL tried is listed with what it gave).

The proposal: ``name`` is the page's title, else the feed's own title (``<title>`` of
the channel / Atom feed / JSON Feed), else the host; ``language`` is the page's
``lang``, else what the feed declares (RSS ``<language>``, Atom ``xml:lang``, JSON
Feed ``language``); ``id`` is a slug of the name folded to ASCII, plus the language
(``rudaw-en``), or, for a name with too little Latin in it (an Arabic title), the host
and the path of the proposed URL (``rudaw.net-rss-ar``), so two feeds of one host get
two ids. Ids already used by the file given with ``--sources`` are not proposed again.

The package: ``probe`` (what is fetched and tried, in that order), ``model`` (what was
found, and the proposal made of it), ``ids`` (the proposed id), ``explain`` (what
happened, in words an operator can act on) and ``command`` (the CLI's entry).
"""

from __future__ import annotations

from newswire.fetcher.discover.command import command_url, discover_command, discover_to
from newswire.fetcher.discover.explain import describe_failure, render, short_reason
from newswire.fetcher.discover.ids import ascii_fold, propose_id, slug
from newswire.fetcher.discover.model import Attempt, Candidate, Discovery, Page
from newswire.fetcher.discover.probe import discover

__all__ = [
    "Attempt",
    "Candidate",
    "Discovery",
    "Page",
    "ascii_fold",
    "command_url",
    "describe_failure",
    "discover",
    "discover_command",
    "discover_to",
    "propose_id",
    "render",
    "short_reason",
    "slug",
]
