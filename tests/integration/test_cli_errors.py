"""The first hour with newswire (issue 14), against a real broker: exit statuses and
summaries that tell the truth, stderr a person can read, progress while it runs.

Commands run as child processes (``python -m newswire ...``) with stderr piped, the
way a script or ``| tee`` sees them; the progress callbacks are also checked in
process, where their timing can be observed.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest

from newswire.common.settings import Settings
from newswire.common.settings_env import as_environment
from newswire.replay.dlq import LetterFilter, redrive
from newswire.replay.service import replay
from tests.conftest import FIXTURES, SEEDS
from tests.integration.conftest import output_records, read_topic

REPLAY = FIXTURES / "replay"
_OWN_PREFIXES = ("KAFKA_", "TOPIC_", "SINK_", "ENRICHER_", "FETCHER_", "REPLAY_", "NEWSWIRE_")


def newswire(
    settings: Settings | None,
    *args: str,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """``python -m newswire ARGS`` configured for SETTINGS' broker and topics (None: the
    command's own defaults), stdout and stderr captured (so not a terminal)."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(_OWN_PREFIXES)}
    own = as_environment(settings) if settings is not None else {}
    return subprocess.run(
        [sys.executable, "-m", "newswire", *args],
        env=base | own | (env or {}),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


class Recorder:
    """A Progress that remembers what it was told, and when."""

    def __init__(self) -> None:
        self.began: list[tuple[str, int | None]] = []
        self.updates: list[tuple[float, int]] = []
        self.ended_at: float | None = None

    def begin(self, label: str, total: int | None) -> None:
        self.began.append((label, total))

    def update(self, done: int) -> None:
        self.updates.append((time.monotonic(), done))

    def end(self) -> None:
        self.ended_at = time.monotonic()


# --- 3. exit statuses and summaries ---------------------------------------------------


def test_replay_of_an_unreadable_file_fails_and_says_so_once(settings: Settings) -> None:
    """A missing path is a usage error before Kafka (tests/cli/test_first_hour.py); a
    file that is there but holds no article is found out as it is replayed."""
    empty = REPLAY / "empty.txt"
    result = newswire(settings, "replay", str(empty))
    assert result.returncode == 1
    assert result.stdout == "produced=0 articles=0 files=0 dead_letters=0 unreadable=1\n"
    assert result.stderr.splitlines() == [  # the warning once: no JSON log line besides
        f"skipped {empty}: empty file",
        "newswire replay: nothing replayed: 1 seed could not be replayed (see 'skipped')",
    ]


def test_replay_with_one_unreadable_file_is_incomplete(settings: Settings) -> None:
    empty = REPLAY / "empty.txt"
    result = newswire(settings, "replay", str(REPLAY / "headline.txt"), str(empty))
    assert result.returncode == 1
    assert result.stdout == "produced=1 articles=1 files=1 dead_letters=0 unreadable=1\n"
    assert result.stderr.splitlines() == [
        f"skipped {empty}: empty file",
        "newswire replay: incomplete: 1 seed could not be replayed (see 'skipped')",
    ]


def test_replay_that_did_everything_exits_0_and_says_nothing_on_stderr(settings: Settings) -> None:
    result = newswire(settings, "replay", str(REPLAY / "headline.txt"))
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == "produced=1 articles=1 files=1 dead_letters=0 unreadable=0\n"


def test_run_twice_into_one_out_says_what_was_new(tmp_path: Path) -> None:
    """`make run` twice: the second run writes nothing new, and its summary says so."""
    first = newswire(
        None, "run", "--seeds", str(SEEDS), "--out", "out", "--loop", "3", cwd=tmp_path
    )
    assert first.returncode == 0, first.stdout + first.stderr
    lines = first.stdout.splitlines()
    assert (
        "replayed: 3 records (1 article) from 1 file, 0 could not be replayed, "
        "0 records dead-lettered" in lines
    )
    assert "enriched: 1 (under out/: 1 new, 0 already there)" in lines
    assert "  absorbed:  2 (the same article again: not emitted twice)" in lines

    second = newswire(None, "run", "--seeds", str(SEEDS), "--out", "out", cwd=tmp_path)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "enriched: 1 (under out/: 0 new, 1 already there)" in second.stdout.splitlines()
    assert len(output_records(tmp_path / "out")) == 1


async def test_replay_of_a_folder_tree_is_incomplete_when_a_line_is_dead_lettered(
    settings: Settings,
) -> None:
    """A folder's subfolders are replayed, its other files are named as ignored, a
    dead-lettered .jsonl line makes the run incomplete (exit 1), and every record and
    letter names its file relative to the folder, so b/story.txt is not a/story.txt."""
    tree = REPLAY / "tree"
    result = newswire(settings, "replay", str(tree))
    assert result.returncode == 1, result.stderr
    assert result.stdout == (
        "produced=4 articles=4 files=4 dead_letters=1 unreadable=0 ignored=1\n"
    )
    lines = result.stderr.splitlines()
    assert lines[0] == f"ignored {tree / 'notes.md'}: not a seed file (.txt or .jsonl)"
    assert lines[-1] == (
        "newswire replay: incomplete: 1 record went to the dead-letter topic "
        "(see 'newswire dlq list --service replay')"
    )
    raw = [orjson.loads(m.value) for m in await read_topic(settings, settings.topics.raw)]
    assert sorted(r["source"].get("ref", "") for r in raw) == [
        "",  # the .jsonl record keeps its own source (a feed)
        "a/story.txt",
        "b/2026/story.txt",
        "b/story.txt",
    ]
    [letter] = [orjson.loads(m.value) for m in await read_topic(settings, settings.topics.dlq)]
    assert letter["origin"] == {"file": "b/records.jsonl", "line": 2}


def test_run_with_a_dead_lettered_line_is_incomplete_and_names_its_origin(tmp_path: Path) -> None:
    result = newswire(None, "run", "--seeds", str(REPLAY / "tree"), "--out", "out", cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert (
        "replayed: 4 records (4 articles) from 4 files, 0 could not be replayed, "
        "1 record dead-lettered, 1 file ignored (not .txt/.jsonl)" in lines
    )
    assert "dead letters: 1 (replay/decode=1)" in lines
    assert any(line.startswith("  - replay/decode b/records.jsonl:2: ") for line in lines)
    # run's own broker is stopped by now: 'dlq list' would find nothing to ask
    assert result.stderr.splitlines()[-1] == (
        "newswire run: incomplete: 1 record went to the dead-letter topic "
        "(see the dead letters listed above)"
    )


# --- 4. control characters ----------------------------------------------------------------


async def test_control_characters_never_reach_the_topic(settings: Settings) -> None:
    only = REPLAY / "control_only.txt"
    result = newswire(settings, "replay", str(REPLAY / "control_mixed.txt"), str(only))
    assert result.returncode == 1
    assert result.stderr.splitlines()[0] == (
        f"skipped {only}: no text: the file holds only control characters and whitespace"
    )
    [message] = await read_topic(settings, settings.topics.raw)
    assert b"\\u0000" not in message.value and b"\\u001b" not in message.value
    record = orjson.loads(message.value)
    assert record["title"] == "Storm closes mountain pass"


# --- 5. output a person can read ----------------------------------------------------------


async def test_a_line_over_the_message_limit_is_dead_lettered_naming_the_setting(
    settings: Settings,
) -> None:
    """Tester s8, finding 3: line 2 of 3 over the limit was "skipped" naming aiokafka's
    max_request_size, and never reached news.dlq. Now it is there with its origin and
    reason (``dlq list`` shows it), lines 1 and 3 are sent, and the exit status is 1."""
    env = {"KAFKA_MAX_MESSAGE_BYTES": "65536"}
    result = newswire(settings, "replay", str(REPLAY / "bigmid.jsonl"), env=env)
    assert result.returncode == 1, result.stderr
    assert result.stdout == "produced=2 articles=2 files=1 dead_letters=1 unreadable=0\n"
    assert "max_request_size" not in result.stderr and "skipped" not in result.stderr
    assert result.stderr.splitlines()[-1] == (
        "newswire replay: incomplete: 1 record went to the dead-letter topic "
        "(see 'newswire dlq list --service replay')"
    )
    raw = [orjson.loads(m.value)["title"] for m in await read_topic(settings, settings.topics.raw)]
    assert sorted(raw) == ["bm-1", "bm-3"]
    [message] = await read_topic(settings, settings.topics.dlq)
    letter = orjson.loads(message.value)
    assert (letter["kind"], letter["origin"]) == ("too_large", {"file": "bigmid.jsonl", "line": 2})
    assert letter["reason"].startswith("too_large: the record is ")
    assert "over the 65,536-byte message limit (KAFKA_MAX_MESSAGE_BYTES)" in letter["reason"]
    assert len(message.value) < 65536 and letter["payload_truncated"]

    listed = newswire(settings, "dlq", "list", "--service", "replay", env=env)
    assert listed.returncode == 0, listed.stderr
    assert "bigmid.jsonl:2" in listed.stdout and "too_large" in listed.stdout


async def test_a_refused_huge_text_is_dead_lettered_with_its_reason_as_an_excerpt(
    settings: Settings, tmp_path: Path
) -> None:
    """Over the raw schema's 2,000,000 characters: refused by the contract like a bad
    .jsonl line (tester s8, finding 3: it was "skipped", files=0, not in news.dlq)."""
    big = tmp_path / "big.txt"
    big.write_text("word " * 4_200_000)  # 21 MB, over the raw schema's 2,000,000 characters
    result = newswire(settings, "replay", str(big), env={"REPLAY_MAX_FILE_BYTES": "30000000"})
    assert result.returncode == 1
    assert len(result.stderr) < 2000, f"{len(result.stderr):,} bytes of stderr"
    assert "skipped" not in result.stderr
    assert result.stdout == "produced=0 articles=0 files=1 dead_letters=1 unreadable=0\n"
    [message] = await read_topic(settings, settings.topics.dlq)
    letter = orjson.loads(message.value)
    assert (letter["service"], letter["kind"], letter["origin"]) == (
        "replay",
        "schema",
        {"file": "big.txt", "line": 1},
    )
    assert re.fullmatch(
        r'schema \[raw-article\]: at text: "(word ){16}"… \(20,999,999 characters\) is longer '
        r"than 2000000 characters",
        letter["reason"],
    ), letter["reason"]
    assert letter["payload_truncated"] and letter["payload_size"] == 21_000_000
    assert len(message.value) < settings.kafka.max_message_bytes


def test_piped_replay_prints_progress_while_it_runs(settings: Settings) -> None:
    result = newswire(
        settings, "replay", str(REPLAY / "headline.txt"), "--rate", "10", "--loop", "70"
    )
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) >= 2, result.stderr
    midway = re.fullmatch(r"replay: records acked: (\d+)", lines[0])
    assert midway and 0 < int(midway[1]) < 70, lines  # said during the run, not at its end
    assert re.fullmatch(r"replay: records acked: 70 in \d+\.\ds", lines[-1]), lines
    assert result.stdout == "produced=70 articles=1 files=1 dead_letters=0 unreadable=0\n"


async def test_replay_progress_counts_acks_as_they_arrive(settings: Settings) -> None:
    recorder = Recorder()
    report = await replay(settings, [SEEDS], loop=10, rate=20.0, progress=recorder)
    assert report.produced == 10
    assert recorder.began == [("records acked", None)]
    counts = [done for _, done in recorder.updates]
    assert counts[:10] == list(range(1, 11)) and counts[-1] == 10
    first_ack, tenth_ack = recorder.updates[0][0], recorder.updates[9][0]
    assert tenth_ack - first_ack > 0.3, "acks counted one by one over the run, not at its end"
    assert recorder.ended_at is not None


async def test_dlq_replay_counts_the_letters_it_reads(settings: Settings) -> None:
    await replay(settings, [REPLAY / "records.jsonl"])  # two bad lines: two dead letters
    recorder = Recorder()
    report = await redrive(settings, only=LetterFilter(), dry_run=True, progress=recorder)
    assert report.skipped_no_topic == 2
    assert recorder.began == [("dead letters read", 2)]
    assert recorder.updates[-1][1] == 2 and recorder.ended_at is not None

    result = newswire(settings, "dlq", "replay", "--dry-run")
    assert (result.returncode, result.stderr) == (0, "")
    lines = result.stdout.splitlines()
    assert lines[:2] == [
        "would re-drive 0 dead letters",
        "skipped: 0 filtered out, 0 truncated, 2 with no topic, 0 unreadable",
    ]
    assert len(lines) == 4, lines  # one advice line per skipped letter: replay its file
    for line in lines[2:]:
        assert re.match(r"  records\.jsonl:\d+: a replayed file's line", line), line
        assert line.endswith("run newswire replay records.jsonl again"), line


@pytest.mark.parametrize("args", [["topics", "create"], ["dlq", "replay", "--dry-run"]])
def test_commands_with_a_broker_exit_0(settings: Settings, args: list[str]) -> None:
    result = newswire(settings, *args)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr and "Unclosed" not in result.stderr


# --- bench and soak: bad input is one line and a usage status, before any work ---------


def test_bench_sink_refuses_a_bad_or_dead_database_before_it_starts() -> None:
    for dsn, says in (
        ("not-a-dsn", "--postgres must be a postgresql:// DSN"),
        ("postgresql://nobody@127.0.0.1:9/none", "cannot use the database at --postgres: "),
    ):
        result = newswire(None, "bench", "sink", "--records", "10", "--postgres", dsn)
        assert result.returncode == 2, result.stderr
        (line,) = result.stderr.strip().splitlines()
        assert line.startswith(f"newswire bench sink: {says}"), line


def test_soak_refuses_a_file_as_its_run_directory(tmp_path: Path) -> None:
    afile = tmp_path / "notes.txt"
    afile.write_text("x")
    result = newswire(None, "soak", "--scenario", "trickle", "--run-dir", str(afile))
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"soak: run directory {afile} is a file; give a new folder with --run-dir"
    )


def test_fetch_with_its_web_port_taken_is_one_line_and_exit_2(
    settings: Settings, tmp_path: Path
) -> None:
    """Kafka answers, the fetcher's HealthServer cannot listen: CannotStart, reported by
    the shared command runner like any command's, not by fetch itself."""
    sources = tmp_path / "sources.yaml"
    sources.write_text(
        "sources:\n  - id: example\n    name: Example\n    kind: feed\n"
        "    url: https://example.com/feed.xml\n"
    )
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = newswire(
            settings,
            "fetch",
            "--sources",
            str(sources),
            env={"FETCHER_WEB_HOST": "127.0.0.1", "FETCHER_WEB_PORT": str(port)},
        )
    assert result.stderr.splitlines() == [
        f"newswire fetch: fetcher HTTP cannot listen on 127.0.0.1:{port}: Address already in use"
    ], result.stderr
    assert result.returncode == 2
