"""The one YAML loader of the files operators edit: safe, repeats refused, dates as text."""

from __future__ import annotations

import pytest
import yaml

from newswire.common.yamlfile import (
    YamlFileError,
    key_node,
    line_of,
    load,
    load_tree,
    node_at,
    repeated_keys,
)


def test_a_repeated_key_is_refused_with_both_lines() -> None:
    text = "topics:\n  - id: a\n    languages:\n      ar: 1\n      en: 2\n      ar: 3\n"
    with pytest.raises(YamlFileError) as caught:
        load(text)
    error = caught.value
    assert (error.line, error.column) == (6, 7)
    assert error.problem == "duplicate key 'ar' (first on line 4)"
    assert str(error) == "line 6, column 7: duplicate key 'ar' (first on line 4)"


def test_a_repeated_key_in_a_flow_mapping_on_one_line_is_refused() -> None:
    with pytest.raises(YamlFileError, match=r"duplicate key 'a' \(first on line 1\)"):
        load("{a: 1, b: 2, a: 3}\n")


def test_keys_equal_as_values_repeat_even_when_spelled_differently() -> None:
    with pytest.raises(YamlFileError, match="duplicate key 1"):
        load("1: one\n0x1: also one\n")


def test_merge_keys_are_not_repeats() -> None:
    text = "base: &b {x: 1}\na:\n  <<: *b\n  y: 2\nc:\n  <<: *b\n  x: 3\n"
    assert load(text) == {"base": {"x": 1}, "a": {"x": 1, "y": 2}, "c": {"x": 3}}


def test_keeping_the_last_and_listing_the_repeats_for_a_report() -> None:
    text = "sources:\n  - id: a\n    url: x\n    url: y\n"
    document, root = load_tree(text, repeated_keys="last")
    assert document == {"sources": [{"id": "a", "url": "y"}]}
    assert list(repeated_keys(root)) == [(("sources", 0), "url", [3, 4])]
    assert line_of(node_at(root, ("sources", 0, "url"))) == 4  # the value loading kept
    assert line_of(key_node(root, ("sources", 0), "id")) == 2


@pytest.mark.parametrize("text", ["when: 2024-11-02\n", "when: 2024-11-02T10:00:00Z\n"])
def test_timestamps_stay_the_text_typed(text: str) -> None:
    assert load(text)["when"] == text.split(": ", 1)[1].strip()


def test_other_scalars_keep_their_yaml_types() -> None:
    assert load("a: 1\nb: 1.5\nc: true\nd: null\ne: no\n") == {
        "a": 1,
        "b": 1.5,
        "c": True,
        "d": None,
        "e": False,
    }


def test_python_objects_are_not_built() -> None:
    with pytest.raises(YamlFileError, match="could not determine a constructor"):
        load("!!python/object/apply:os.system ['true']\n")


def test_a_syntax_error_has_its_place_and_where_the_construct_started() -> None:
    with pytest.raises(YamlFileError) as caught:
        load("sources:\n  - id: a\n    name: [unclosed\n")
    error = caught.value
    assert (error.line, error.column) == (4, 1)
    assert error.problem == (
        "expected ',' or ']', but got '<stream end>' "
        "(while parsing a flow sequence started on line 3)"
    )
    assert isinstance(error.__cause__, yaml.YAMLError)


def test_empty_text_is_no_document() -> None:
    assert load_tree("") == (None, None)
    assert load("# only a comment\n") is None


def test_node_at_stops_at_the_deepest_node_the_file_has() -> None:
    _, root = load_tree("a:\n  b: [1, 2]\n")
    assert line_of(node_at(root, ("a", "b", 5, "c"))) == 2
    assert line_of(node_at(None, ("a",))) is None


@pytest.mark.parametrize("text", ["a: b\x00\n", "a: \x07\n", 'a: "\\ud800"\n', '"\\udfff": 1\n'])
def test_text_that_is_no_text_is_a_yaml_file_error(text: str) -> None:
    """PyYAML's reader error (raised as the loader starts) and a lone surrogate were
    tracebacks of every command that reads a YAML file."""
    with pytest.raises(YamlFileError):
        load(text)
