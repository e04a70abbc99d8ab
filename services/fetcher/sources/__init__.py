"""The sources file: what to poll, checked against ``schemas/sources.v1.json``.

Checking happens in two layers. The JSON Schema is the published contract (editors and
CI can use it on their own); the checks after it are the ones a schema cannot say
(duplicate ids, interval bounds in order, a charset Python knows, a CSS selector the
HTML parser accepts, a URL whose host has no space in it). Both layers run on every
entry, so one pass reports **every** problem of the file, each in the operator's words
(``kind "podcast" is not one of feed, wordpress, sitemap, html``, never the schema's
``oneOf``/regex internals) and with its place: the YAML line (from the node tree
``yaml.compose`` builds), the source's id, and the field.

A problem has two spellings: ``str(problem)``, ``line 12: sources[3] (id=rudaw).url:
...`` (the library's, kept by :func:`check_sources_file` and :class:`SourcesFileError`),
and :meth:`Problem.render`, ``sources.yaml:12: source "rudaw": ...`` (what
``newswire sources check`` prints, like a compiler).

The package, one module per responsibility: ``model`` (what a checked file describes:
:class:`Source`, :class:`SourceKind`), ``yamltree`` (reading the file through
:mod:`newswire.common.yamlfile`, naming places), ``words`` (values in the operator's
words), ``urlcheck`` (is a URL pollable), ``check`` (every problem of a document),
``problems`` (a problem and the errors that carry them), ``load`` (what the fetcher
and ``newswire sources check`` call).
"""

from __future__ import annotations

from newswire.fetcher.sources.check import sources_schema
from newswire.fetcher.sources.load import (
    check_report,
    check_sources_file,
    load_sources,
    sources_file_problems,
)
from newswire.fetcher.sources.model import (
    IdentityPolicy,
    Selectors,
    Source,
    SourceKind,
    parse_duration,
)
from newswire.fetcher.sources.problems import Problem, SourcesFileInvalid, SourcesFileUnreadable
from newswire.fetcher.sources.urlcheck import MAX_URL_CHARS, url_problem
from newswire.fetcher.sources.yamltree import MAX_SOURCES_FILE_BYTES

__all__ = [
    "MAX_SOURCES_FILE_BYTES",
    "MAX_URL_CHARS",
    "IdentityPolicy",
    "Problem",
    "Selectors",
    "Source",
    "SourceKind",
    "SourcesFileInvalid",
    "SourcesFileUnreadable",
    "check_report",
    "check_sources_file",
    "load_sources",
    "parse_duration",
    "sources_file_problems",
    "sources_schema",
    "url_problem",
]
