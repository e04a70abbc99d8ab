"""Replay against the real embedded broker: what lands on news.raw and news.dlq."""

from __future__ import annotations

import base64
import logging
from pathlib import Path

import orjson
import pytest
from aiokafka import TopicPartition
from aiokafka.structs import ConsumerRecord

from newswire.common.schemas import SchemaName, record_headers, validate
from newswire.common.settings import Settings
from newswire.replay.service import replay
from tests.conftest import FIXTURES, SEEDS
from tests.integration.conftest import read_topic

REPLAY = FIXTURES / "replay"


def consumed_next_offsets(records: list[ConsumerRecord]) -> dict[TopicPartition, int]:
    offsets: dict[TopicPartition, int] = {}
    for record in records:
        tp = TopicPartition(record.topic, record.partition)
        offsets[tp] = max(offsets.get(tp, 0), record.offset + 1)
    return offsets


async def test_seed_dir_looped_three_times(settings: Settings) -> None:
    report = await replay(settings, [SEEDS], loop=3)

    assert (report.produced, report.files, report.dead_letters) == (3, 1, 0)
    assert report.file_errors == []
    [article_id] = report.article_ids

    records = await read_topic(settings, settings.topics.raw)
    assert len(records) == 3
    for record in records:
        assert record.key == article_id.encode()
        assert list(record.headers) == record_headers(SchemaName.RAW)
        value = orjson.loads(record.value)
        validate(SchemaName.RAW, value)
        assert value["id"] == article_id
        assert value["source"] == {"kind": "replay", "ref": "000_71de62777f81eff8.txt"}
    assert report.next_offsets == consumed_next_offsets(records)
    assert all(tp.topic == settings.topics.raw for tp in report.next_offsets)


async def test_jsonl_bad_lines_become_dead_letters(settings: Settings) -> None:
    path = REPLAY / "records.jsonl"
    report = await replay(settings, [path], loop=2)

    assert (report.produced, report.files, report.dead_letters) == (4, 1, 2)  # letters once
    raw = await read_topic(settings, settings.topics.raw)
    assert sorted(r.key.decode() for r in raw) == sorted(2 * list(report.article_ids))
    assert report.next_offsets == consumed_next_offsets(raw)

    letters = await read_topic(settings, settings.topics.dlq)
    assert len(letters) == 2
    lines = path.read_bytes().split(b"\n")
    by_line: dict[int, dict] = {}
    for message in letters:
        letter = orjson.loads(message.value)
        validate(SchemaName.DEAD_LETTER, letter)
        assert list(message.headers) == record_headers(SchemaName.DEAD_LETTER)
        by_line[letter["origin"]["line"]] = letter
    assert sorted(by_line) == [2, 4]
    assert (by_line[2]["kind"], by_line[4]["kind"]) == ("decode", "schema")
    for line, letter in by_line.items():
        assert letter["service"] == "replay"
        assert letter["origin"] == {"file": "records.jsonl", "line": line}
        assert base64.b64decode(letter["payload_b64"]) == lines[line - 1]


async def test_unreadable_files_are_reported_and_skipped(
    settings: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    missing = tmp_path / "missing.txt"
    with caplog.at_level(logging.WARNING, logger="newswire.replay"):
        report = await replay(
            settings,
            [
                REPLAY / "empty.txt",
                REPLAY / "arabic_windows1256.txt",
                missing,
                REPLAY / "headline.txt",
            ],
            loop=2,
        )

    assert (report.produced, report.files) == (2, 1)
    assert [(Path(e.path).name, e.reason.split(":")[0]) for e in report.file_errors] == [
        ("empty.txt", "empty file"),
        ("arabic_windows1256.txt", "not UTF-8"),
        ("missing.txt", "no such file"),
    ]  # each reported once, though the set was replayed twice
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warned) == 3 and all("skipping seed file" in m for m in warned)
    assert len(await read_topic(settings, settings.topics.raw)) == 2


async def test_rate_limited_replay_delivers_everything(settings: Settings) -> None:
    """Spacing itself is asserted on a fake clock (tests/replay/test_pacing.py)."""
    report = await replay(settings, [SEEDS], loop=6, rate=20.0)
    assert report.produced == 6
    assert len(await read_topic(settings, settings.topics.raw)) == 6


async def test_progress_bar_writes_to_stderr_only(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    report = await replay(settings, [SEEDS], progress=True)
    assert report.produced == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert "replay" in err


@pytest.mark.parametrize(("kwargs", "message"), [({"loop": 0}, "loop"), ({"rate": 0.0}, "rate")])
async def test_bad_arguments_fail_before_producing(
    settings: Settings, kwargs: dict, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        await replay(settings, [SEEDS], **kwargs)


async def test_record_too_large_for_the_producer_is_dead_lettered_not_fatal(
    settings: Settings, tmp_path: Path
) -> None:
    """Schema-valid but over KAFKA_MAX_MESSAGE_BYTES: dead-lettered once (not per pass)
    with its origin and the head of its bytes, in a letter that fits the limit; the
    rest of the seeds still go out."""
    limit = 64 * 1024
    settings = settings.model_copy(
        update={"kafka": settings.kafka.model_copy(update={"max_message_bytes": limit})}
    )
    big = tmp_path / "a_big.txt"
    big.write_text("word " * 20_000)  # schema-valid, but over the 64 KiB message limit
    (tmp_path / "b_small.txt").write_text("A small article.\n")
    report = await replay(settings, [tmp_path], loop=2)

    assert report.produced == 2  # the small one, twice
    assert (report.dead_letters, report.file_errors, report.files) == (1, [], 2)
    assert len(await read_topic(settings, settings.topics.raw)) == 2
    [message] = await read_topic(settings, settings.topics.dlq)
    assert len(message.value) <= limit // 2 * 4 // 3 + 2048  # the cap, base64, the rest
    letter = orjson.loads(message.value)
    assert (letter["kind"], letter["origin"]) == ("too_large", {"file": "a_big.txt", "line": 1})
    assert letter["reason"].endswith(
        f"over the {limit:,}-byte message limit (KAFKA_MAX_MESSAGE_BYTES)"
    )
    assert letter["payload_truncated"] and letter["payload_size"] > limit
    assert len(base64.b64decode(letter["payload_b64"])) == limit // 2


async def test_two_folders_replayed_at_once_keep_their_files_apart(
    settings: Settings, tmp_path: Path
) -> None:
    """Both folders hold ``day/story.txt`` and ``day/records.jsonl``: each record's
    ``source.ref`` and each dead letter's ``origin.file`` start with its folder's name."""
    folders = [tmp_path / "one", tmp_path / "two"]
    for folder in folders:
        (folder / "day").mkdir(parents=True)
        (folder / "day" / "story.txt").write_text(f"Story of {folder.name}\n\nIts body.\n")
        (folder / "day" / "records.jsonl").write_bytes((REPLAY / "records.jsonl").read_bytes())
    report = await replay(settings, folders)
    assert report.dead_letters == 4 and report.file_errors == []

    raw = [orjson.loads(r.value) for r in await read_topic(settings, settings.topics.raw)]
    refs = {value["source"]["ref"] for value in raw if value["source"]["kind"] == "replay"}
    assert refs == {"one/day/story.txt", "two/day/story.txt"}
    letters = [orjson.loads(m.value) for m in await read_topic(settings, settings.topics.dlq)]
    assert sorted((letter["origin"]["file"], letter["origin"]["line"]) for letter in letters) == [
        ("one/day/records.jsonl", 2),
        ("one/day/records.jsonl", 4),
        ("two/day/records.jsonl", 2),
        ("two/day/records.jsonl", 4),
    ]
