"""Control characters never reach news.raw, and error messages quote excerpts, not inputs.

Seeds (``.txt`` and ``.jsonl``), the one record builder (``raw_article``, which the
fetcher uses too) and schema validation messages; no Kafka.
"""

from __future__ import annotations

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from newswire.common.errors import ErrorKind, InvalidRecord, SeedFileError
from newswire.common.ids import article_id, article_id_for_text
from newswire.common.records import dead_letter, raw_article
from newswire.common.schemas import SchemaName, validate
from newswire.common.text import excerpt, has_control_chars, strip_control_chars
from newswire.replay.files import parse_jsonl, read_seed_file
from tests.conftest import FIXTURES

REPLAY = FIXTURES / "replay"
MAX_BYTES = 8 * 1024 * 1024
SOURCE = {"kind": "replay", "ref": "a.txt"}


# --- the cleaning rule ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "cleaned"),
    [
        ("plain text\twith tab\nand lines\r\n", "plain text\twith tab\nand lines\r\n"),
        ("NUL\x00 BEL\x07 DEL\x7f C1\x9b gone", "NUL BEL DEL C1 gone"),
        ("page one\x0cpage two\x0bthree\x85four", "page one\npage two\nthree\nfour"),
        ("\x1b[1;31mred\x1b[0m and \x1b]0;a title\x07plain", "red and plain"),
        ("\x1b]unterminated: only the ESC goes", "]unterminated: only the ESC goes"),
        ("\u0646\u06cc\u0645\u200c\u0641\u0627\u0635\u0644\u0647",) * 2,  # ZWNJ: not a control
        ("\x00\x01\x02", ""),
    ],
)
def test_control_characters_other_than_whitespace_are_removed(text: str, cleaned: str) -> None:
    assert strip_control_chars(text) == cleaned
    assert has_control_chars(text) == (text != cleaned)


def test_strings_without_controls_are_returned_as_they_are() -> None:
    text = "nothing to do here\n"
    assert strip_control_chars(text) is text


def test_excerpt_marks_the_cut_and_gives_the_size() -> None:
    assert excerpt("short") == "short"
    assert excerpt("x" * 80) == "x" * 80
    assert excerpt("y" * 20_971_520) == "y" * 80 + "… (20,971,520 characters)"


# --- .txt seeds -------------------------------------------------------------------------


def test_a_txt_seed_of_control_characters_is_refused_with_a_reason() -> None:
    with pytest.raises(SeedFileError) as caught:
        read_seed_file(REPLAY / "control_only.txt", max_bytes=MAX_BYTES)
    assert caught.value.reason == "no text: the file holds only control characters and whitespace"


def test_whitespace_only_txt_keeps_its_reason(tmp_path) -> None:
    blank = tmp_path / "blank.txt"
    blank.write_text("  \n\t\n")
    with pytest.raises(SeedFileError, match=r"only whitespace$"):
        read_seed_file(blank, max_bytes=MAX_BYTES)


def test_control_characters_are_removed_from_a_txt_seed() -> None:
    [item] = read_seed_file(REPLAY / "control_mixed.txt", max_bytes=MAX_BYTES).records
    record = item.record
    validate(SchemaName.RAW, record)
    assert record["title"] == "Storm closes mountain pass"
    assert record["text"] == "Snow and high winds closed the pass\novernight, police said."
    assert record["id"] == article_id_for_text(record["text"])
    assert not has_control_chars(orjson.dumps(record).decode("unicode_escape"))


# --- .jsonl seeds -----------------------------------------------------------------------


def _line(**fields: object) -> bytes:
    return orjson.dumps(raw_article(source=SOURCE, text="Body.") | fields)


def test_jsonl_records_lose_their_control_characters_but_keep_their_id() -> None:
    line = _line(title="Head\x00line", text="Body\x00 text\x1b[0m.", id="0" * 32)
    [item], failures = parse_jsonl(line + b"\n", "x.jsonl")
    assert failures == []
    assert (item.record["title"], item.record["text"]) == ("Headline", "Body text.")
    assert item.article_id == "0" * 32


def test_a_jsonl_record_whose_text_is_only_controls_is_a_dead_letter() -> None:
    records, [failure] = parse_jsonl(_line(text="\x00\x01 \x02") + b"\n", "x.jsonl")
    assert records == []
    assert failure.line == 1 and failure.error.kind is ErrorKind.SCHEMA
    assert "only control characters" in failure.error.reason


def test_jsonl_whitespace_text_without_controls_is_unchanged() -> None:
    [item], _ = parse_jsonl(_line(text="   ") + b"\n", "x.jsonl")
    assert item.record["text"] == "   "


# --- the record builder (the fetcher's path too) ----------------------------------------


def test_raw_article_cannot_emit_control_characters() -> None:
    record = raw_article(source=SOURCE, text="Body\x00 with NUL", title="\x1b[31mTitle\x00")
    assert (record["title"], record["text"]) == ("Title", "Body with NUL")
    assert record["id"] == article_id(None, "Body with NUL")
    validate(SchemaName.RAW, record)


def test_raw_article_title_of_only_controls_becomes_none() -> None:
    assert raw_article(source=SOURCE, text="Body.", title="\x00\x07")["title"] is None


def test_raw_article_is_unchanged_for_clean_input() -> None:
    record = raw_article(
        source={"kind": "feed", "id": "s"},
        text="Body.\n\tMore.",
        title="",
        url="https://a.example/x",
    )
    assert (record["title"], record["text"]) == ("", "Body.\n\tMore.")
    assert record["id"] == article_id("https://a.example/x", "Body.\n\tMore.")


# --- error messages quote excerpts ------------------------------------------------------


def test_a_schema_error_quotes_an_excerpt_of_a_huge_text() -> None:
    record = raw_article(source=SOURCE, text="word " * 500_000)  # 2,500,000 characters
    with pytest.raises(InvalidRecord) as caught:
        validate(SchemaName.RAW, record)
    message = str(caught.value)
    assert len(message) < 300
    assert message.startswith('schema [raw-article]: at text: "word word ')
    assert message.endswith('"… (2,500,000 characters) is longer than 2000000 characters')


def test_a_schema_error_quotes_an_excerpt_of_a_huge_object() -> None:
    record = raw_article(source=SOURCE, text="Body.") | {"source": {"kind": "x", "n": "y" * 5000}}
    with pytest.raises(InvalidRecord) as caught:
        validate(SchemaName.RAW, record)
    assert len(str(caught.value)) < 300


def test_short_schema_errors_are_unchanged() -> None:
    record = raw_article(source=SOURCE, text="Body.") | {"title": 5}
    with pytest.raises(
        InvalidRecord,
        match=r'^schema \[raw-article\]: at title: 5 is not of types "null", "string"$',
    ):
        validate(SchemaName.RAW, record)


def test_a_dead_letter_reason_is_a_reason_not_the_article() -> None:
    record = raw_article(source=SOURCE, text="x" * 2_000_001)
    with pytest.raises(InvalidRecord) as caught:
        validate(SchemaName.RAW, record)
    letter = dead_letter(
        service="replay", error=caught.value, payload=b"{}", origin={"file": "a", "line": 1}
    )
    assert len(letter["reason"]) < 300 and "(2,000,001 characters)" in letter["reason"]


# Replay publishes seed records with validated=True (one validation, when read): the
# cleaning after that validation must never make a valid record invalid.
_CONTROLISH = st.text(
    alphabet=st.one_of(
        st.sampled_from("\x00\x07\x0b\x0c\x1b[0m\x1b]0;t\x07\x85\x9b\x7f \n\t"),
        st.characters(codec="utf-8"),
    ),
    max_size=60,
)


@settings(max_examples=200, deadline=None)
@given(text=_CONTROLISH, title=st.one_of(st.none(), _CONTROLISH))
def test_a_cleaned_jsonl_record_is_still_valid(text: str, title: str | None) -> None:
    line = orjson.dumps(raw_article(source=SOURCE, text="Body.") | {"text": text, "title": title})
    records, failures = parse_jsonl(line + b"\n", "x.jsonl")
    for item in records:
        validate(SchemaName.RAW, item.record)
    assert len(records) + len(failures) == 1
