"""``newswire sources check FILE`` as a new user runs it: the real process, its words,
its exit status (0 valid, 1 problems, 2 nothing to check)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from newswire.fetcher.sources import check_report, check_sources_file, url_problem

#: What the schema says in its own words; an operator must never have to read it.
JSON_SCHEMA_WORDS = (
    "does not match",
    "oneOf",
    "is not valid under any of the schemas",
    "other candidates",
    "^[Hh]",
    "Additional properties",
    "is not of type",
    "Traceback",
)

PROBLEMS = """\
version: 1
sources:
  - id: good
    name: Good
    kind: feed
    url: https://good.example/feed
  - id: rudaw-en
    name: Rudaw English
    kind: feed
    url: "http://exa mple.com/feed"
    language: en
  - id: x
    name: X
    kind: podcast
    url: https://x.example/feed
    min_interval: 5x
    encoding: klingon-8
  - id: Bad_ID
    name: Bad
    kind: html
    url: ftp://bad.example/
  - id: h
    name: H
    kind: html
    url: https://h.example/
    selectors: {links: "a[[[", colour: red}
    langauge: ar
  - {id: good, name: Again, kind: feed, url: "https://again.example/feed", enabled: yes2}
"""


def newswire(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LOG_LEVEL": "WARNING"}
    return subprocess.run(
        [sys.executable, "-m", "newswire", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env=env,
    )


def test_every_problem_at_once_in_the_operators_words(tmp_path: Path) -> None:
    (tmp_path / "sources.yaml").write_text(PROBLEMS, encoding="utf-8")
    result = newswire("sources", "check", "sources.yaml", cwd=tmp_path)
    assert result.returncode == 2, result.stderr  # as fetch refuses it, not 1
    lines = result.stdout.splitlines()
    expected = [
        'sources.yaml:10: source "rudaw-en": url "http://exa mple.com/feed" is not a valid '
        "http(s) URL (space in host)",
        'sources.yaml:14: source "x": kind "podcast" is not one of feed, wordpress, sitemap, html',
        'sources.yaml:16: source "x": min_interval "5x" is not a duration: use a number of '
        'seconds (90) or a number with s, m, h or d ("30s", "15m", "2h", "1d")',
        "sources.yaml:17: source \"x\": unknown charset 'klingon-8' (names Python knows: "
        "utf-8, windows-1256, iso-8859-6, ...)",
        'sources.yaml:18: source "Bad_ID": id "Bad_ID" may use only a-z, 0-9, ".", "_" and "-", '
        'starting with a letter or digit, up to 100 characters (try "bad_id")',
        'sources.yaml:18: source "Bad_ID": kind html needs selectors (at least "links": the '
        "article links to follow)",
        'sources.yaml:21: source "Bad_ID": url "ftp://bad.example/" is not a valid http(s) URL '
        '(scheme "ftp" is not http or https)',
        'sources.yaml:26: source "h": not a CSS selector the HTML parser accepts: "a[[[" '
        "(selectors.links)",
        'sources.yaml:26: source "h": unknown selector "colour" (allowed: links, title, '
        "published, body, remove)",
        'sources.yaml:27: source "h": unknown field "langauge" (did you mean "language"?)',
        'sources.yaml:28: source "good": duplicate id, first used by sources[0] on line 3',
        'sources.yaml:28: source "good": enabled "yes2" must be true or false',
        "sources.yaml: 12 problems (5 of 6 sources)",
    ]
    assert lines == expected
    assert not any(word in result.stdout + result.stderr for word in JSON_SCHEMA_WORDS)


def test_schema_and_deeper_checks_are_reported_together(tmp_path: Path) -> None:
    """The charset check used to wait until the schema errors were fixed."""
    problems = check_sources_file(_write(tmp_path, PROBLEMS))
    text = "\n".join(problems)
    assert "kind" in text and "unknown charset 'klingon-8'" in text and "a[[[" in text


def test_a_valid_file_says_how_many_sources_were_checked(tmp_path: Path) -> None:
    _write(
        tmp_path,
        """\
sources:
  - {id: a, name: 2024-11-02, kind: feed, url: "https://a.example/feed ", verified: false}
  - id: b
    name: B
    kind: html
    url: https://b.example/
    selectors: {links: "h2 a"}
    enabled: false
""",
    )
    result = newswire("sources", "check", "sources.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == (
        "sources.yaml: OK, 2 sources checked, no problems (feed=1, html=1; 1 unverified, "
        "1 disabled)\n"
    )
    assert result.stderr == ""


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "missing.yaml: cannot read: No such file or directory"),
        (
            b"sources:\n  - id: a\n    name: [unclosed\n",
            "sources.yaml:4:1: invalid YAML: expected ',' or ']', but got '<stream end>' "
            "(while parsing a flow sequence started on line 3)",
        ),
        (b"sources:\n\t- id: a\n", "sources.yaml:2:1: invalid YAML: found character '\\t' "),
        (b"\xff\xfe\x00s", "sources.yaml: not UTF-8 text (byte 0: invalid start byte)"),
    ],
)
def test_nothing_to_check_is_exit_2_in_one_line(
    tmp_path: Path, content: bytes | None, expected: str
) -> None:
    name = "missing.yaml" if content is None else "sources.yaml"
    if content is not None:
        (tmp_path / name).write_bytes(content)
    result = newswire("sources", "check", name, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith(expected), line


def test_fetch_refuses_the_file_with_the_same_words(tmp_path: Path) -> None:
    (tmp_path / "sources.yaml").write_text(PROBLEMS, encoding="utf-8")
    result = newswire("fetch", "--sources", "sources.yaml", "--once", "--output", "-", cwd=tmp_path)
    assert result.returncode == 2 and result.stdout == ""
    assert (
        'sources.yaml:14: source "x": kind "podcast" is not one of feed, wordpress, sitemap, html'
        in result.stderr.splitlines()
    )
    assert (
        result.stderr.splitlines()[-1]
        == "newswire fetch: sources.yaml: not polling: fix the problems above first"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("not a document", 'the file must be a mapping with a "sources" list, not text'),
        ("", 'the file is empty: it needs a "sources" list'),
        ("sources:\n", '"sources" is empty: list the sources under it, each starting with "- "'),
        ("feeds: []\n", 'unknown top-level key "feeds" (allowed: sources, version)'),
        ("version: 2\nsources: []\n", "version 2 is not supported (only 1)"),
        ("sources:\n  - 5\n", "each source must be a mapping (key: value lines), not a number"),
        (
            "sources:\n  - {name: x}\n",
            'missing "id", "kind" and "url" (every source needs id, name, kind, url)',
        ),
        (
            "sources:\n  - {id: a, name: A, kind: feed, url: 'https://a.example/', language: no}\n",
            'language false must be text; YAML reads no as false, write "no" for the text',
        ),
        (
            "sources:\n  - {id: a, name: A, kind: feed, url: 'https://a.example/',"
            " max_interval: 0}\n",
            "max_interval 0 must be more than 0 seconds",
        ),
        (
            "sources:\n  - id: a\n    name: A\n    kind: feed\n    url: https://a.example/\n"
            "    url: https://b.example/\n",
            '"url" is given 2 times (lines 5, 6); only the last counts',
        ),
    ],
)
def test_structural_problems_in_words(tmp_path: Path, text: str, expected: str) -> None:
    problems = check_sources_file(_write(tmp_path, text))
    assert any(p.endswith(": " + expected) or p == expected for p in problems), problems


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://a.example/feed", None),
        ("http://127.0.0.1:8080/rss?x=1", None),
        ("https://[2001:db8::1]/feed", "IPv6 address hosts are not supported yet: use a host name"),
        ("https://موقع.example/خلاصة", None),
        ("http://exa mple.com/feed", "space in host"),
        ("https://a.example/my feed", "space in path: write it as %20"),
        ("example.com/feed", 'no scheme: write "https://example.com/feed"'),
        ("ftp://a.example/", 'scheme "ftp" is not http or https'),
        ("http:/a.example/", '"//" missing after "http:"'),
        ("https://a.example:99999/", "port 99999 is out of range"),
        ("https://a.example:http/", 'port "http" is not a number'),
        ("https://a..example/", "empty label in host"),
        ("https://a<b.example/", '"<" in host'),
        ("https:///feed", "no host"),
        (" https://a.example/", "starts with a space"),
        ("feed please", "not a URL"),
    ],
)
def test_url_problems(url: str, reason: str | None) -> None:
    assert url_problem(url) == reason


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sources.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_command_in_process(tmp_path: Path) -> None:
    """What ``newswire sources check`` runs (``check_report``), without a process: the
    summary on a usable file, every problem with its line and source on a bad one.
    (Replaces a test of ``commands.sources_check``, a second implementation the CLI
    never called.)"""
    good, bad = tmp_path / "good.yaml", tmp_path / "bad.yaml"
    good.write_text("sources:\n  - {id: a, name: A, kind: feed, url: 'https://a.example/'}\n")
    bad.write_text("sources:\n  - {id: a, name: A, kind: blog, url: 'https://a.example/'}\n")
    out, err = io.StringIO(), io.StringIO()
    assert check_report(good, out=out, err=err) == 0
    assert f"{good}: OK, 1 source checked, no problems (feed=1; 0 unverified)" in out.getvalue()
    out = io.StringIO()
    assert check_report(bad, out=out, err=err) == 2
    assert (
        f'{bad}:2: source "a": kind "blog" is not one of feed, wordpress, sitemap, html'
        in out.getvalue()
    )
    assert f"{bad}: 1 problem (1 of 1 sources)" in out.getvalue() and err.getvalue() == ""
