"""What ``dlq replay`` says about the letters it cannot send: advice that can be followed.

Tester s9, finding 3: every skipped truncated letter read "re-drive from its topic:
<topic>:<partition>", which printed ``None:None`` for a fetched item (it never reached
a topic) and ``s66000.txt:1`` for a replayed file's line, as if that were a topic."""

from __future__ import annotations

from typing import Any

from newswire.common.errors import ErrorKind, InvalidRecord
from newswire.common.records import dead_letter, topic_origin
from newswire.replay.dlq import (
    ADVICE_SHOWN,
    ByOffset,
    LetterFilter,
    RedriveReport,
    describe,
    plan_redrive,
)

FETCHED = {
    "source_id": "rudaw",
    "url": "https://www.rudaw.net/arabic/long",
    "item_id": "i-1",
    "article_id": "a-1",
    "key_b64": "YS0x",
}


def _letter(origin: dict[str, Any], size: int) -> dict[str, Any]:
    return dead_letter(
        service="fetcher",
        error=InvalidRecord(ErrorKind.TOO_LARGE, "test"),
        payload=b"x" * size,
        origin=origin,
        max_payload=1000,
    )


def _skipped(origin: dict[str, Any], size: int = 5000) -> tuple[RedriveReport, list[str]]:
    report = RedriveReport()
    assert plan_redrive(_letter(origin, size), report, LetterFilter()) is None
    return report, describe(report, dry_run=True)


def test_a_fetched_item_is_named_by_source_and_url_never_none() -> None:
    report, lines = _skipped(FETCHED)
    assert len(report.skipped_truncated) == 1
    (advice,) = lines[2:]
    assert "None" not in advice
    assert "source rudaw https://www.rudaw.net/arabic/long (truncated)" in advice
    assert "saved it as seen" in advice and "KAFKA_MAX_MESSAGE_BYTES" in advice


def test_a_replayed_line_says_to_replay_its_file_again() -> None:
    _, lines = _skipped({"file": "s66000.txt", "line": 1})
    (advice,) = lines[2:]
    assert advice.startswith("  s66000.txt:1 (truncated): a replayed file's line")
    assert "newswire replay s66000.txt again" in advice
    assert "topic" not in advice


def test_a_topic_record_names_its_position_and_the_option_that_sends_it() -> None:
    _, lines = _skipped(topic_origin("news.raw", 2, 4, b"k"))
    (advice,) = lines[2:]
    assert "the original stays on news.raw, partition 2, offset 4" in advice
    assert "newswire dlq replay --by-offset sends the original from there" in advice


def test_by_offset_plans_to_read_the_original_at_its_position() -> None:
    report = RedriveReport()
    letter = _letter(topic_origin("news.raw", 2, 4, b"k"), 5000)
    planned = plan_redrive(letter, report, LetterFilter(), by_offset=True)
    assert isinstance(planned, ByOffset)
    assert (planned.topic, planned.partition, planned.offset) == ("news.raw", 2, 4)
    assert planned.sha256 == letter["payload_sha256"] and report.advice == []
    fetched = plan_redrive(_letter(FETCHED, 5000), report, LetterFilter(), by_offset=True)
    assert fetched is None and len(report.skipped_truncated) == 1, "no topic: nothing to read"


def test_a_whole_letter_with_no_topic_gets_advice_too() -> None:
    report, lines = _skipped({"file": "seeds/a.jsonl", "line": 7}, size=10)
    assert report.skipped_no_topic == 1 and not report.skipped_truncated
    assert lines[1] == "skipped: 0 filtered out, 0 truncated, 1 with no topic, 0 unreadable"
    assert lines[2].startswith("  seeds/a.jsonl:7: a replayed file's line")


def test_a_whole_topic_letter_is_sent_back_with_its_key() -> None:
    report = RedriveReport()
    planned = plan_redrive(
        _letter(topic_origin("news.raw", 0, 1, b"k"), 10), report, LetterFilter()
    )
    assert planned == ("news.raw", b"k", b"x" * 10) and report.advice == []


def test_many_skipped_letters_show_the_first_and_count_the_rest() -> None:
    report = RedriveReport()
    for line in range(ADVICE_SHOWN + 3):
        plan_redrive(_letter({"file": "f.txt", "line": line}, 10), report, LetterFilter())
    lines = describe(report, dry_run=True)
    assert len(lines) == 2 + ADVICE_SHOWN + 1
    assert lines[-1] == "  ... and 3 more (newswire dlq list)"
