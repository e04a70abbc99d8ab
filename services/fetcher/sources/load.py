"""Loading a sources file for the fetcher, and ``newswire sources check``'s report."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path
from typing import Any, TextIO

from newswire.fetcher.errors import SourcesFileError
from newswire.fetcher.sources.check import Checker
from newswire.fetcher.sources.model import Source, SourceKind, build_source
from newswire.fetcher.sources.problems import Problem, SourcesFileInvalid, SourcesFileUnreadable
from newswire.fetcher.sources.yamltree import parse_yaml, read_text


def sources_file_problems(path: Path) -> tuple[list[Problem], Any]:
    """Every problem of the file at ``path`` and the parsed document.

    Raises :class:`SourcesFileUnreadable` when there is nothing to check (cannot read,
    not UTF-8, not YAML).
    """
    text = read_text(path)
    document, root = parse_yaml(path, text)
    return Checker(document, root).run(), document


def check_sources_file(path: Path) -> list[str]:
    """Every problem of the file at ``path``, each with its place; empty when usable."""
    try:
        load_sources(path)
    except SourcesFileError as error:
        return error.problems
    return []


def load_sources(path: Path) -> list[Source]:
    """The sources of the file at ``path``; raises :class:`SourcesFileError` listing
    every problem found (:class:`SourcesFileUnreadable` or :class:`SourcesFileInvalid`)."""
    problems, document = sources_file_problems(path)
    if problems:
        raise SourcesFileInvalid(str(path), problems)
    return [build_source(entry) for entry in document["sources"]]


def check_report(path: Path, *, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """``newswire sources check FILE``: every problem on its own line, then a count.

    Exit status: 0 usable (says how many sources were checked); 2 not usable, as
    ``fetch`` and ``sources apply`` refuse it: problems, or nothing to check (unreadable,
    not UTF-8, not YAML: one line on stderr). Not 1 for problems: a script's check
    and the fetch it guards said different things about the same file.
    """
    out, err = out or sys.stdout, err or sys.stderr
    name = str(path)
    try:
        problems, document = sources_file_problems(path)
    except SourcesFileUnreadable as error:
        print(error.render(), file=err)
        return 2
    entries = document.get("sources") if isinstance(document, dict) else None
    total = len(entries) if isinstance(entries, list) else 0
    if problems:
        for problem in problems:
            print(problem.render(name), file=out)
        touched = {p.path[1] for p in problems if len(p.path) >= 2 and p.path[0] == "sources"}
        count = f"{len(problems)} problem" + ("s" if len(problems) != 1 else "")
        affected = f" ({len(touched)} of {total} sources)" if total else ""
        print(f"{name}: {count}{affected}", file=out)
        return 2
    sources = [build_source(entry) for entry in document["sources"]]
    kinds = Counter(s.kind.value for s in sources)
    mix = ", ".join(f"{k.value}={kinds[k.value]}" for k in SourceKind if kinds[k.value])
    extra = [f"{sum(not s.verified for s in sources)} unverified"]
    if disabled := sum(not s.enabled for s in sources):
        extra.append(f"{disabled} disabled")
    noun = "source" if len(sources) == 1 else "sources"
    detail = f" ({mix}; {', '.join(extra)})" if sources else ""
    print(f"{name}: OK, {len(sources)} {noun} checked, no problems{detail}", file=out)
    return 0
