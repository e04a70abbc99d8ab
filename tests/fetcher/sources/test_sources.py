"""The sources file: schema, the checks a schema cannot make, and where each problem is."""

from __future__ import annotations

from pathlib import Path

import pytest

from newswire.fetcher.errors import SourcesFileError
from newswire.fetcher.sources import (
    IdentityPolicy,
    SourceKind,
    check_sources_file,
    load_sources,
    parse_duration,
)

REPO = Path(__file__).parents[3]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sources.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_shipped_example_is_valid_and_unverified() -> None:
    sources = load_sources(REPO / "sources.example.yaml")
    assert {s.kind for s in sources} == set(SourceKind)
    assert all(not s.verified for s in sources)
    assert {
        "politicalkeys-ar",
        "shafaq-ar",
        "rudaw-ar",
        "kurdistan24-ar",
        "alsumaria-ar",
        "aljazeera-ar",
        "bbc-arabic",
    } <= {s.id for s in sources}


def test_defaults_and_durations(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
sources:
  - {id: a, name: A, kind: feed, url: "https://a.example/feed", min_interval: 90, max_interval: 2h}
""",
    )
    [source] = load_sources(path)
    assert source.identity is IdentityPolicy.GUID
    assert (source.min_interval_s, source.max_interval_s) == (90.0, 7200.0)
    assert source.record_source == {"kind": "feed", "id": "a", "name": "A"}


@pytest.mark.parametrize(
    ("value", "seconds"),
    [(5, 5.0), ("30s", 30.0), ("15m", 900.0), ("1.5h", 5400.0), ("1d", 86400.0)],
)
def test_parse_duration(value: object, seconds: float) -> None:
    assert parse_duration(value) == seconds  # type: ignore[arg-type]


def test_every_problem_is_reported_with_line_index_and_id(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
sources:
  - id: good
    name: Good
    kind: feed
    url: https://a.example/feed
  - id: bad-kind
    name: Bad
    kind: rss
    url: https://b.example/feed
  - id: no-selectors
    name: HTML without selectors
    kind: html
    url: https://c.example/
""",
    )
    problems = check_sources_file(path)
    assert any(
        p.startswith("line 8: sources[1] (id=bad-kind).kind:") and "rss" in p for p in problems
    ), problems
    assert any("sources[2] (id=no-selectors)" in p and "selectors" in p for p in problems), problems


def test_semantic_checks(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
sources:
  - {id: a, name: A, kind: feed, url: "https://a.example/feed", encoding: klingon-8}
  - {id: a, name: A again, kind: feed, url: "https://a.example/other", \
min_interval: 2h, max_interval: 5m}
  - id: h
    name: H
    kind: html
    url: https://h.example/
    selectors: {links: "a[[[", title: h1}
""",
    )
    problems = check_sources_file(path)
    text = "\n".join(problems)
    assert "line 2: sources[0] (id=a).encoding: unknown charset 'klingon-8'" in text
    assert "line 3: sources[1] (id=a).id: duplicate id, first used by sources[0]" in text
    assert "min_interval '2h' is longer than max_interval '5m'" in text
    assert "sources[2] (id=h).selectors.links: not a CSS selector" in text


def test_yaml_syntax_errors_name_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "sources:\n  - id: a\n    name: [unclosed\n")
    [problem] = check_sources_file(path)
    assert problem.startswith("line ") and "invalid YAML" in problem


def test_unknown_fields_and_missing_list_are_refused(tmp_path: Path) -> None:
    assert any(
        '"sources" is a required property' in p
        for p in check_sources_file(write(tmp_path, "feeds: []\n"))
    )
    problems = check_sources_file(
        write(
            tmp_path,
            "sources:\n  - {id: a, name: A, kind: feed, url: 'https://a.example/', colour: red}\n",
        )
    )
    assert any("colour" in p for p in problems)


def test_unreadable_file_raises_with_path(tmp_path: Path) -> None:
    with pytest.raises(SourcesFileError) as caught:
        load_sources(tmp_path / "missing.yaml")
    assert "cannot read" in caught.value.problems[0]


def test_a_kind_that_is_not_text_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    """The selectors check looks the kind up among the kinds: a YAML list or mapping
    there must be worded as a wrong kind, never raise (unhashable)."""
    for kind in ("[feed]", "{a: b}"):
        path = write(
            tmp_path,
            f"sources:\n  - {{id: a, name: A, kind: {kind}, url: 'https://a.example/', "
            "selectors: {links: a}}\n",
        )
        assert any("kind" in p and "is not one of" in p for p in check_sources_file(path))
