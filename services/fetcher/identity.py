"""Which item is which: identity keys by policy, with a written fallback chain.

The chain, per source ``identity`` policy (the first component an entry has wins):

- ``guid`` (default): GUID -> link -> title + date -> text
- ``link``: link -> GUID -> title + date -> text
- ``title``: title + date -> link -> GUID -> text

Components are normalised so that spelling noise is not a new item: a GUID or link
that is a URL is compared in its canonical form without the scheme (a GUID that
flips between http and https, gains ``utm_*`` or changes percent-encoding case is the
same item); titles in their comparison form (``normalise_text``).

Two different entries of one document with the same key (CMSs that give every item
the feed's GUID, or repeat one) are told apart by the first later component of the
chain that differs between them; entries that agree on every component are one item
listed twice, and are kept once.

An entry without a link (an RSS item with only a GUID, an Atom entry with only an id)
is identified like any other, by the first component it has: its GUID under ``guid`` and
``link``, its title and date under ``title``. Its record has no URL, so its article id
comes from its text (common.ids); the item key, from the GUID, is what keeps it from
being emitted twice, and it does not change when the text is edited.

The item key is what the polling state remembers; it is not the article id, which
comes from the canonical URL (common.ids), so two sources carrying one story
converge downstream while each source still tracks its own items.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from newswire.common.text import normalise_text
from newswire.common.urls import InvalidUrl, canonical_url, identity_form
from newswire.fetcher.parse.model import Entry
from newswire.fetcher.sources.model import IdentityPolicy

Component = Callable[[Entry], str | None]


def url_component(value: str | None) -> str | None:
    """``url:`` + the scheme-less canonical form, for anything that is an http(s) URL."""
    if not value or "://" not in value:  # cheap test first: most GUIDs are not URLs
        return None
    try:
        return "url:" + identity_form(value)
    except InvalidUrl:
        return None


def guid_component(entry: Entry) -> str | None:
    guid = (entry.guid or "").strip()
    if not guid:
        return None
    return url_component(guid) or "guid:" + guid


def link_component(entry: Entry) -> str | None:
    return url_component(entry.link)


def title_component(entry: Entry) -> str | None:
    title = normalise_text(entry.title or "")
    if not title:
        return None
    date = entry.published_at.isoformat() if entry.published_at else ""
    return f"title:{title}|{date}"


def text_component(entry: Entry) -> str | None:
    text = normalise_text(entry.text)
    return "text:" + hashlib.blake2b(text.encode(), digest_size=16).hexdigest() if text else None


CHAINS: dict[IdentityPolicy, tuple[Component, ...]] = {
    IdentityPolicy.GUID: (guid_component, link_component, title_component, text_component),
    IdentityPolicy.LINK: (link_component, guid_component, title_component, text_component),
    IdentityPolicy.TITLE: (title_component, link_component, guid_component, text_component),
}


@dataclass(frozen=True, slots=True)
class Identified:
    """An entry with its identity key and the canonical URL its record will carry."""

    key: str
    entry: Entry
    url: str | None

    @property
    def item_id(self) -> str:
        """The compact form kept in the polling state (64-bit BLAKE2b, hex)."""
        return item_id(self.key)


def item_id(key: str) -> str:
    return hashlib.blake2b(key.encode(), digest_size=8).hexdigest()


def record_url(entry: Entry) -> str | None:
    """The canonical URL of an entry: its link, else a GUID that is a URL."""
    for candidate in (entry.link, entry.guid):
        if candidate:
            try:
                return canonical_url(candidate)
            except InvalidUrl:
                continue
    return None


def identify(entries: Sequence[Entry], policy: IdentityPolicy) -> list[Identified]:
    """Identity keys for a document's entries, in order; entries with no usable
    component at all (no GUID, link, title or text) are dropped.

    Only the primary component is computed for every entry; the rest of the chain
    only where entries share a primary key (canonicalising URLs is the costly part).
    """
    chain = CHAINS[policy]
    groups: dict[str, list[int]] = defaultdict(list)
    for index, entry in enumerate(entries):
        primary = next((c for c in (component(entry) for component in chain) if c), None)
        if primary is not None:
            groups[primary].append(index)
    keys: dict[int, str] = {}
    for primary, members in groups.items():
        if len(members) == 1:
            keys[members[0]] = primary
        else:
            parts = {i: [component(entries[i]) for component in chain] for i in members}
            keys.update(_split_group(primary, members, parts))
    return [Identified(keys[i], entries[i], record_url(entries[i])) for i in sorted(keys)]


def _split_group(
    primary: str, members: list[int], parts: dict[int, list[str | None]]
) -> dict[int, str]:
    """Keys for entries sharing ``primary``: refined by the first differing component."""
    distinct: dict[tuple[str | None, ...], int] = {}
    for index in members:
        distinct.setdefault(tuple(parts[index]), index)  # identical entries: the first stays
    kept = sorted(distinct.values())
    if len(kept) == 1:
        return {kept[0]: primary}
    width = len(parts[kept[0]])
    for position in range(width):
        values = [parts[i][position] for i in kept]
        if all(values) and len(set(values)) == len(values):
            return {i: f"{primary}#{parts[i][position]}" for i in kept}
    return {i: f"{primary}#{n}" for n, i in enumerate(kept)}
