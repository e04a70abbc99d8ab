"""The registry of source kinds: one module per kind, each registered here once.

To add a kind: write ``kinds/<name>.py`` (a :class:`~newswire.fetcher.kinds.base.Kind`
subclass and its ``KIND`` instance), add its member to
:class:`~newswire.fetcher.sources.model.SourceKind` and to the ``kind`` enum of
``schemas/sources.v1.json`` (and ``raw-article.v1.json``), and list its module below.
tests/fetcher/kinds checks that the three agree and that every kind reads its fixture.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from newswire.fetcher.kinds import feed, html, sitemap, wordpress
from newswire.fetcher.kinds.base import Kind, Reading
from newswire.fetcher.sources.model import SourceKind

__all__ = ["KINDS", "Kind", "Reading", "kind_of"]

#: Every kind the fetcher can poll, by the ``kind`` a sources file gives.
KINDS: Mapping[SourceKind, Kind] = MappingProxyType(
    {module.KIND.kind: module.KIND for module in (feed, wordpress, sitemap, html)}
)


def kind_of(kind: SourceKind) -> Kind:
    """The registered reader of ``kind`` (every member of SourceKind has one: tested)."""
    return KINDS[kind]
