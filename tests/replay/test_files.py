"""Seed files -> raw records, against real fixture files (no Kafka)."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from newswire.common.errors import ErrorKind, InvalidRecord, SeedFileError
from newswire.common.ids import article_id_for_text
from newswire.common.schemas import SchemaName, validate
from newswire.common.text import strip_control_chars
from newswire.replay.files import (
    MAX_HEADLINE_CHARS,
    check_seeds,
    expand_seed_paths,
    read_seed_file,
    split_headline,
)
from tests.conftest import FIXTURES, SEEDS

REPLAY = FIXTURES / "replay"
MAX_BYTES = 8 * 1024 * 1024
SEED_NAME = "000_71de62777f81eff8.txt"


def read(path: Path, *, max_bytes: int = MAX_BYTES) -> list[dict]:
    return [item.record for item in read_seed_file(path, max_bytes=max_bytes).records]


# --- .txt ---------------------------------------------------------------------------


def test_seed_article_is_one_record_without_title_or_language() -> None:
    [record] = read(SEEDS / SEED_NAME)
    validate(SchemaName.RAW, record)
    assert record["source"] == {"kind": "replay", "ref": SEED_NAME}
    assert record["url"] is None and record["published_at"] is None
    assert record["language_hint"] is None  # language is the enricher's job
    assert record["title"] is None  # first line is a long sentence, not a headline
    assert record["text"].startswith("أفادت معلومات خاصة")
    assert record["id"] == article_id_for_text(record["text"])


def test_headline_becomes_title_and_leaves_the_body() -> None:
    [record] = read(REPLAY / "headline.txt")
    assert record["title"] == "Port strike ends after three weeks"
    assert record["text"].startswith("Dock workers voted on Tuesday")
    assert "Port strike" not in record["text"]
    assert record["id"] == article_id_for_text(record["text"])


def test_sentence_first_line_is_not_a_title() -> None:
    [record] = read(REPLAY / "no_headline.txt")
    assert record["title"] is None
    assert record["text"].startswith("The city council approved the budget")
    assert record["text"].endswith("two libraries.")


def test_bom_and_crlf_are_stripped() -> None:
    [record] = read(REPLAY / "bom.txt")
    assert record["title"] == "Storm closes mountain pass"
    assert record["text"] == "Snow and high winds closed the pass overnight, police said."


@pytest.mark.parametrize(
    ("text", "title"),
    [
        ("Headline\nBody.", "Headline"),
        ("Only one line without a stop", None),  # nothing follows: it is the body
        ("A sentence.\nBody.", None),
        ("Is it a question?\nBody.", None),
        ("هل هذا سؤال؟\nنص.", None),
        ("He said: “it is over.”\nBody.", None),  # punctuation inside closing quotes
        ("Lead-in:\nBody.", None),
        ("x" * (MAX_HEADLINE_CHARS + 1) + "\nBody.", None),
        ("x" * MAX_HEADLINE_CHARS + "\nBody.", "x" * MAX_HEADLINE_CHARS),
    ],
)
def test_split_headline(text: str, title: str | None) -> None:
    got_title, body = split_headline(text)
    assert got_title == title
    assert body == (text if title is None else text.partition("\n")[2])


# --- unreadable files ---------------------------------------------------------------


def test_windows_1256_file_is_a_clear_error() -> None:
    with pytest.raises(SeedFileError) as caught:
        read_seed_file(REPLAY / "arabic_windows1256.txt", max_bytes=MAX_BYTES)
    assert caught.value.path.endswith("arabic_windows1256.txt")
    assert "not UTF-8" in caught.value.reason
    assert "offset 0" in caught.value.reason
    assert "iconv -f windows-1256 -t utf-8" in caught.value.reason


@pytest.mark.parametrize(
    ("name", "encoding"),
    [("russian_windows1251.txt", "windows-1251"), ("french_windows1252.txt", "windows-1252")],
)
def test_a_legacy_file_gets_the_encoding_it_looks_like(name: str, encoding: str) -> None:
    with pytest.raises(SeedFileError) as caught:
        read_seed_file(REPLAY / name, max_bytes=MAX_BYTES)
    assert f"looks like {encoding}: iconv -f {encoding} -t utf-8 FILE" in caught.value.reason
    assert "1256" not in caught.value.reason


@pytest.mark.parametrize(
    ("name", "hint", "not_said"),
    [
        ("utf16.txt", "the file is UTF-16 (it starts with a UTF-16 byte-order mark)", "1256"),
        ("utf16.txt", "iconv -f utf-16 -t utf-8", "offset"),
        ("binary.txt", "looks binary, not text", "iconv"),
    ],
)
def test_a_file_that_is_not_utf8_gets_the_hint_that_fits(
    name: str, hint: str, not_said: str
) -> None:
    with pytest.raises(SeedFileError) as caught:
        read_seed_file(REPLAY / name, max_bytes=MAX_BYTES)
    assert hint in caught.value.reason and not_said not in caught.value.reason


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda d: REPLAY / "empty.txt", "empty file"),
        (lambda d: d / "missing.txt", "no such file"),
        (lambda d: d, "is a directory"),
        (lambda d: _write(d / "notes.md", b"# notes\n"), "unknown extension '.md'"),
        (lambda d: _write(d / "README", b"hello\n"), "unknown extension '(none)'"),
        (lambda d: _write(d / "blank.txt", b" \r\n\t\n"), "no text"),
        (lambda d: _write(d / "blank.jsonl", b"\n  \n"), "every line is blank"),
        (lambda d: _write(d / "big.txt", b"x" * 101), "101 bytes exceeds the 100-byte limit"),
    ],
)
def test_unreadable_files_raise_seed_file_error(tmp_path: Path, make, reason: str) -> None:
    path = make(tmp_path)
    with pytest.raises(SeedFileError) as caught:
        read_seed_file(path, max_bytes=100)
    assert caught.value.path == str(path)
    assert reason in caught.value.reason


def test_text_the_schema_cannot_take_is_a_failure_for_the_dead_letter_topic(
    tmp_path: Path,
) -> None:
    """Refused by the contract like a bad .jsonl line, not skipped as an unreadable file."""
    data = b"word " * 400_001  # > 2,000,000 characters
    path = _write(tmp_path / "huge.txt", data)
    seed = read_seed_file(path, max_bytes=MAX_BYTES, ref="day/huge.txt")
    assert seed.records == ()
    [failure] = seed.failures
    assert failure.origin == {"file": "day/huge.txt", "line": 1}
    assert failure.payload == data
    assert failure.error.kind is ErrorKind.SCHEMA
    assert "is longer than 2000000 characters" in failure.error.reason


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


# --- .jsonl -------------------------------------------------------------------------


def test_jsonl_keeps_good_lines_and_types_bad_ones() -> None:
    path = REPLAY / "records.jsonl"
    seed = read_seed_file(path, max_bytes=MAX_BYTES)
    raw_lines = path.read_bytes().split(b"\n")

    assert [item.line for item in seed.records] == [1, 5]
    titles = [item.record["title"] for item in seed.records]
    assert titles == ["Port strike ends", "Storm closes pass"]
    assert all(item.article_id == item.record["id"] for item in seed.records)

    decode, schema = seed.failures
    assert (decode.file, decode.line, decode.error.kind) == ("records.jsonl", 2, ErrorKind.DECODE)
    assert (schema.file, schema.line, schema.error.kind) == ("records.jsonl", 4, ErrorKind.SCHEMA)
    for failure in seed.failures:
        assert isinstance(failure.error, InvalidRecord)
        assert failure.payload == raw_lines[failure.line - 1]
        assert failure.origin == {"file": "records.jsonl", "line": failure.line}


def test_jsonl_tolerates_bom_crlf_and_keeps_bytes_of_non_utf8_lines(tmp_path: Path) -> None:
    good = (REPLAY / "records.jsonl").read_bytes().split(b"\n")[0]
    latin1 = '{"title": "caf\xe9"}'.encode("latin-1")
    path = _write(tmp_path / "mixed.jsonl", b"\xef\xbb\xbf" + good + b"\r\n" + latin1 + b"\r\n")
    seed = read_seed_file(path, max_bytes=MAX_BYTES)
    assert [item.line for item in seed.records] == [1]
    [failure] = seed.failures
    assert (failure.line, failure.error.kind, failure.payload) == (2, ErrorKind.DECODE, latin1)
    assert base64.b64decode(base64.b64encode(failure.payload)) == latin1


# --- paths --------------------------------------------------------------------------


def test_directories_expand_to_sorted_seed_files(tmp_path: Path) -> None:
    for name in ("b.jsonl", "a.txt", "c.md", "d.TXT"):
        _write(tmp_path / name, b"x")
    (tmp_path / "sub.txt").mkdir()  # a directory, even with a seed suffix, is not a seed
    single = REPLAY / "headline.txt"
    expanded = expand_seed_paths([tmp_path, single, tmp_path / "a.txt", tmp_path / "nope.txt"])
    assert expanded.files == [
        tmp_path / "a.txt",
        tmp_path / "b.jsonl",
        tmp_path / "d.TXT",
        single,
        tmp_path / "nope.txt",  # passed through: reading it says what is wrong
    ]
    assert expanded.errors == []


def test_directory_without_seeds_is_an_error(tmp_path: Path) -> None:
    _write(tmp_path / "notes.md", b"x")
    expanded = expand_seed_paths([tmp_path])
    assert expanded.files == []
    [error] = expanded.errors
    assert error.path == str(tmp_path) and "no .txt or .jsonl" in error.reason


def test_seed_directory_expands_to_the_seed_file() -> None:
    assert expand_seed_paths([SEEDS]).files == [SEEDS / SEED_NAME]


TREE = REPLAY / "tree"


def test_a_folder_includes_its_subfolders_in_a_fixed_order() -> None:
    """Seeds in subfolders are replayed (sorted at each level, hidden entries left out);
    other files are listed as ignored, not read and not an error."""
    expanded = expand_seed_paths([TREE])
    assert expanded.files == [
        TREE / "a" / "story.txt",
        TREE / "b" / "2026" / "story.txt",
        TREE / "b" / "records.jsonl",
        TREE / "b" / "story.txt",
    ]
    assert expanded.ignored == [TREE / "notes.md"]
    assert expanded.errors == []  # .hidden.txt (empty) was never read


def test_records_and_dead_letters_name_the_file_relative_to_the_folder() -> None:
    """Two folders with the same file names stay apart in source.ref and origin.file."""
    expanded = expand_seed_paths([TREE, TREE / "a" / "story.txt"])
    refs = [expanded.refs[path] for path in expanded.files]
    assert refs == ["a/story.txt", "b/2026/story.txt", "b/records.jsonl", "b/story.txt"]
    seeds = [read_seed_file(p, max_bytes=MAX_BYTES, ref=expanded.refs[p]) for p in expanded.files]
    assert [s.records[0].record["source"] for s in seeds if s.path.suffix == ".txt"] == [
        {"kind": "replay", "ref": ref} for ref in ("a/story.txt", "b/2026/story.txt", "b/story.txt")
    ]
    [failure] = seeds[2].failures
    assert failure.origin == {"file": "b/records.jsonl", "line": 2}
    direct = expand_seed_paths([TREE / "b" / "story.txt"])
    assert direct.refs == {TREE / "b" / "story.txt": "story.txt"}  # named itself: its name


def test_several_folders_replayed_at_once_prefix_their_refs(tmp_path: Path) -> None:
    """Two folders holding the same relative name: each file's ref starts with its
    folder's name, so records and dead letters tell them apart; two folders of the
    same name are named as given; two files named directly with one base name, too."""
    for folder in ("seeds", "more", "a/dup", "b/dup"):
        _write(tmp_path / folder / "x" / "story.txt", b"A story\n\nIts body.")
    seeds, more = tmp_path / "seeds", tmp_path / "more"
    found = expand_seed_paths([seeds, more])
    assert [found.refs[f] for f in found.files] == ["seeds/x/story.txt", "more/x/story.txt"]
    texts = [read_seed_file(f, max_bytes=MAX_BYTES, ref=found.refs[f]) for f in found.files]
    assert [t.records[0].record["source"]["ref"] for t in texts] == [
        "seeds/x/story.txt",
        "more/x/story.txt",
    ]
    same_name = expand_seed_paths([tmp_path / "a" / "dup", tmp_path / "b" / "dup"])
    assert sorted(same_name.refs.values()) == sorted(
        f"{(tmp_path / side / 'dup').as_posix()}/x/story.txt" for side in "ab"
    )
    direct = [seeds / "x" / "story.txt", more / "x" / "story.txt"]
    named = expand_seed_paths(direct)
    assert [named.refs[f] for f in named.files] == ["story.txt", direct[1].as_posix()]
    one = expand_seed_paths([seeds, direct[1]])
    assert [one.refs[f] for f in one.files] == ["x/story.txt", "story.txt"], "one folder: as before"


def test_the_check_reads_the_walk_it_is_given(tmp_path: Path) -> None:
    """The command walks each folder once and checks that walk: what was checked is
    what is replayed (a folder emptied after the walk is not walked again)."""
    _write(tmp_path / "seeds" / "story.txt", b"A story\n\nIts body.")
    found = expand_seed_paths([tmp_path / "seeds"])
    (tmp_path / "seeds" / "story.txt").unlink()
    assert check_seeds(tmp_path / "seeds", found) is None
    assert check_seeds(tmp_path / "seeds") is not None  # walked afresh: empty now


def test_a_folder_of_only_other_files_names_some_of_them(tmp_path: Path) -> None:
    (tmp_path / "deep").mkdir()
    for name in ("a.md", "b.csv", "c.pdf", "d.doc"):
        _write(tmp_path / "deep" / name, b"x")
    [error] = expand_seed_paths([tmp_path]).errors
    assert error.reason == (
        "directory holds no .txt or .jsonl seed files (subfolders included); "
        "4 other files: a.md, b.csv, c.pdf, ..."
    )
    assert expand_seed_paths([tmp_path]).ignored == []  # said once, in the error


def test_a_symlinked_folder_is_followed_once_and_a_loop_ends(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    _write(real / "story.txt", b"A story\n\nIts body.")
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    _write(seeds / "own.txt", b"Own\n\nIts body.")
    (seeds / "linked").symlink_to(real, target_is_directory=True)
    (seeds / "loop").symlink_to(seeds, target_is_directory=True)  # back up the tree
    found = expand_seed_paths([seeds])
    assert [found.refs[f] for f in found.files] == ["linked/story.txt", "own.txt"]
    assert found.errors == []


def test_a_subfolder_is_not_the_arguments_fault(tmp_path: Path) -> None:
    """Only what is wrong with the folder named is a usage error before anything runs;
    a subfolder with no seeds is no error at all."""
    (tmp_path / "a").mkdir()
    _write(tmp_path / "a" / "story.txt", b"A story\n\nIts body.")
    (tmp_path / "empty").mkdir()
    assert check_seeds(tmp_path) is None
    assert check_seeds(tmp_path / "empty") is not None


# --- property -----------------------------------------------------------------------

#: Text with something to show once control characters are removed (a file of nothing
#: but controls and whitespace is refused: tests/replay/test_control_characters.py).
visible_text = st.text(min_size=1, max_size=400).filter(
    lambda t: strip_control_chars(t).strip().strip("\ufeff")
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=visible_text, trailing=st.sampled_from([" ", "\t", "  \t ", "\u3000"]))
def test_any_text_is_a_valid_record_with_an_id_stable_under_line_endings(
    tmp_path: Path, text: str, trailing: str
) -> None:
    plain = _write(tmp_path / "plain.txt", text.encode("utf-8"))
    [record] = read(plain)
    validate(SchemaName.RAW, record)

    windows = text.replace("\r\n", "\n").replace("\n", f"{trailing}\r\n") + trailing + "\r\n"
    [variant] = read(_write(tmp_path / "windows.txt", windows.encode("utf-8")))
    assert variant["id"] == record["id"]
    assert (variant["title"], variant["text"]) == (record["title"], record["text"])
