"""The first hour with newswire: help that reads like a well-kept CLI, ``--version``, the
operator's tools refusing what they cannot do, and the logs' building blocks.

Commands run as the operator runs them, ``python -m newswire ...`` in a child process;
no broker is needed here (tests/integration/test_operator_tools.py has the broker ones).
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import re
import shlex
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from importlib.metadata import version
from pathlib import Path

import orjson
import pytest
from pydantic import ValidationError

from newswire.cli import COMMANDS, app
from newswire.common.broker import free_port
from newswire.common.errors import ErrorKind
from newswire.common.logs import DemoteChatter, JsonLineFormatter
from newswire.common.settings import Settings, TopicSettings
from newswire.common.topics import TopicSpec, TopicState, duration_text, enricher_internal_topics
from newswire.enricher.batch import EnricherMetrics
from newswire.enricher.status import EnricherStatus, start_line
from newswire.replay.dlq_view import (
    KINDS,
    SERVICES,
    Letter,
    LetterQuery,
    decode_payload,
    list_lines,
    origin_text,
    parse_origin,
    parse_position,
    parse_time,
    show_lines,
)
from newswire.sink.metrics import SinkMetrics
from newswire.sink.status import SinkStatus

ROOT = Path(__file__).parents[2]
#: What typer 0.2x prints where click conventions print INTEGER, TEXT, PATH...: a
#: Python type in angle brackets (``<bool>``, ``<list[Path]>``) or ``{paths}``.
PYTHON_TYPE_PLACEHOLDER = re.compile(
    r"<(?:bool|int|float|str|path|file|dir|list\[|[a-z ]+range)|\{\w+\}"
)


def newswire(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The real command, with no broker reachable (a free port) unless ENV says otherwise."""
    environment = dict(os.environ) | {"KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{free_port()}"}
    environment |= {"COLUMNS": "100", "TERMINAL_WIDTH": "100"} | (env or {})
    return subprocess.run(
        [sys.executable, "-m", "newswire", *args],
        env=environment,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


# -- help and --version -----------------------------------------------------------------


def test_top_level_help_has_conventional_placeholders_and_panels() -> None:
    result = newswire("--help")
    assert result.returncode == 0, result.stderr
    assert not PYTHON_TYPE_PLACEHOLDER.search(result.stdout), result.stdout
    for panel in ("Run the pipeline", "Operate", "Measure"):
        assert panel in result.stdout
    assert "--version" in result.stdout and "-h" in result.stdout
    assert "$ newswire run --seeds seeds --out out" in result.stdout


def test_every_command_lists_its_one_line_summary() -> None:
    listings = {
        (): newswire("--help").stdout,
        **{
            (group,): newswire(group, "--help").stdout
            for group in ("topics", "dlq", "bench", "sources")
        },
    }
    for path, (summary, _) in COMMANDS.items():
        parent = tuple(path.split()[:-1])
        assert len(summary) <= 66, f"{path}: the summary wraps in an 80-column listing"
        rows = [line for line in listings[parent].splitlines() if f" {path.split()[-1]} " in line]
        assert any(summary in row for row in rows), f"{path}: {summary!r} not on one line"


@pytest.mark.parametrize("path", sorted(COMMANDS))
def test_every_command_help_has_types_and_an_example(path: str) -> None:
    result = newswire(*path.split(), "--help")
    assert result.returncode == 0, result.stderr
    assert not PYTHON_TYPE_PLACEHOLDER.search(result.stdout), result.stdout
    assert "Examples:" in result.stdout and f"$ newswire {path}" in result.stdout


def test_replay_help_reads_like_click() -> None:
    result = newswire("replay", "--help")
    assert "Usage: newswire replay [OPTIONS] PATH..." in result.stdout
    options = {
        line.split()[1]: line for line in result.stdout.splitlines() if line.startswith("│ --")
    }
    assert "FLOAT" in options["--rate"] and "INTEGER [x>=1]" in options["--loop"]
    flag = next(
        line
        for line in newswire("dlq", "replay", "--help").stdout.splitlines()
        if "--dry-run" in line
    )
    assert re.search(r"--dry-run\s+Count what", flag), "a flag takes no placeholder"


def test_paragraphs_are_not_wrapped_mid_sentence() -> None:
    """typer 0.2x kept a docstring's own line breaks: help broke off mid-sentence."""
    import typer

    def paragraphs(command: object) -> list[str]:
        found = [par for par in (getattr(command, "help", None) or "").split("\n\n")]
        for sub in getattr(command, "commands", {}).values():
            found += paragraphs(sub)
        return found

    assert not [
        par
        for par in paragraphs(typer.main.get_command(app))
        if "\n" in par and not par.startswith("\b")
    ]
    wide = newswire("dlq", "show", "--help", env={"TERMINAL_WIDTH": "300", "COLUMNS": "300"})
    paragraph = (
        "The payload is printed as UTF-8 text where it is UTF-8 (control characters escaped), "
        "else as hex."
    )
    assert any(paragraph in line for line in wide.stdout.splitlines()), wide.stdout


def test_version_comes_from_the_installed_package() -> None:
    result = newswire("--version")
    assert result.returncode == 0 and result.stdout == f"newswire {version('newswire')}\n"


@pytest.mark.parametrize("path", sorted(COMMANDS))
def test_every_example_parses(path: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Every option and argument of every example exists and converts, run from a
    checkout of the repository after ``newswire run`` made ``out``."""
    import typer

    for name in ("tests", "seeds", "sources.example.yaml"):
        (tmp_path / name).symlink_to(ROOT / name)
    (tmp_path / "out").mkdir()
    monkeypatch.chdir(tmp_path)
    root = typer.main.get_command(app)
    for example in COMMANDS[path][1]:
        words = [w for w in shlex.split(example) if not re.match(r"^[A-Z_]+=", w)]
        assert words[0] == "newswire"
        command, rest = root, words[1:]
        while hasattr(command, "commands") and rest and rest[0] in command.commands:
            command, rest = command.commands[rest[0]], rest[1:]
        assert command is not root and " ".join(words[1 : len(words) - len(rest)]) == path
        command.make_context(path, list(rest))


# -- the operator's tools refuse what they cannot do -------------------------------------


@pytest.mark.parametrize("command", [["dlq", "list"], ["dlq", "replay"]])
def test_unknown_kind_is_a_usage_error_listing_the_kinds(command: list[str]) -> None:
    result = newswire(*command, "--kind", "too-large")
    assert result.returncode == 2
    message = " ".join(result.stderr.split())
    assert "'too-large' is not a dead-letter kind" in message
    assert all(kind in message for kind in KINDS) and "too_large" in message


@pytest.mark.parametrize("command", [["dlq", "list"], ["dlq", "replay"]])
def test_unknown_service_is_a_usage_error_listing_the_services(command: list[str]) -> None:
    result = newswire(*command, "--service", "enrich")
    assert result.returncode == 2
    message = " ".join(result.stderr.split())
    assert "'enrich' is not a service" in message and all(name in message for name in SERVICES)


def test_the_kind_sets_are_the_fixed_ones() -> None:
    assert KINDS == tuple(kind.value for kind in ErrorKind) and "too_large" in KINDS
    schema = orjson.loads((ROOT / "schemas" / "dead-letter.v1.json").read_bytes())
    assert list(KINDS) == schema["properties"]["kind"]["enum"]
    assert list(SERVICES) == schema["properties"]["service"]["enum"]


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (["dlq", "list", "--since", "yesterday"], "is not a time"),
        (["dlq", "list", "--limit", "-1"], "--limit"),
        (["dlq", "show"], "give exactly one of them"),
        (["dlq", "show", "3", "--origin", "news.raw:0:3"], "give exactly one of them"),
        (["dlq", "show", "three"], "is not an OFFSET"),
        (["dlq", "show", "--origin", "news.raw:3"], "is not TOPIC:PARTITION:OFFSET"),
    ],
)
def test_dlq_usage_errors(args: list[str], complaint: str) -> None:
    result = newswire(*args)
    assert result.returncode == 2 and complaint in " ".join(result.stderr.split()), result.stderr


@pytest.mark.parametrize("args", [["topics", "list"], ["dlq", "list"], ["dlq", "show", "0"]])
def test_without_a_broker_one_line_and_exit_3(args: list[str]) -> None:
    result = newswire(*args, "--kafka-timeout", "1")
    assert result.returncode == 3, result.stderr
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert (
        line.startswith(f"newswire {' '.join(args[:2])}: Kafka at 127.0.0.1:")
        and "did not answer" in line
    )


def test_topics_list_declared_needs_no_broker() -> None:
    result = newswire("topics", "list", "--declared")
    assert result.returncode == 0
    assert (
        "news.raw\tpartitions=6\t" in result.stdout and "news.dlq\tpartitions=1\t" in result.stdout
    )


# -- dead letters, read and shown ------------------------------------------------------


def _letter(offset: int, **fields: object) -> Letter:
    body = {
        "schema_version": "1.1",
        "service": "enricher",
        "kind": "schema",
        "reason": "schema [newswire.raw-article]: 'text' is a required property",
        "failed_at": "2026-05-01T12:00:00.000Z",
        "origin": {"topic": "news.raw", "partition": 3, "offset": 1187, "key_b64": "a2V5"},
        "payload_b64": base64.b64encode(b'{"id": "x"}').decode(),
        "payload_size": 11,
    } | fields
    return Letter.from_record(0, offset, None, orjson.dumps(body))


def test_times_are_iso_or_how_long_ago() -> None:
    now = datetime(2026, 5, 1, 12, tzinfo=UTC)
    assert parse_time("2h", now=now) == now - timedelta(hours=2)
    assert parse_time("1w", now=now) == now - timedelta(days=7)
    assert parse_time("2026-05-01") == datetime(2026, 5, 1, tzinfo=UTC)
    assert parse_time("2026-05-01T14:00+02:00") == now
    with pytest.raises(ValueError, match="is not a time"):
        parse_time("yesterday")


def test_positions_and_origins() -> None:
    assert parse_position("42") == (None, 42) and parse_position("1:42") == (1, 42)
    assert parse_origin("news.raw:3:1187") == ("news.raw", 3, 1187)
    for bad in ("-1", "a:1", ""):
        with pytest.raises(ValueError):
            parse_position(bad)
    with pytest.raises(ValueError):
        parse_origin("news.raw:x:1")


def test_query_filters_by_service_kind_time_and_origin() -> None:
    letter = _letter(0)
    assert LetterQuery(service="enricher", kind="schema").accepts(letter)
    assert not LetterQuery(service="sink").accepts(letter)
    assert not LetterQuery(kind="decode").accepts(letter)
    assert LetterQuery(
        since=parse_time("2026-05-01T11:00Z"), until=parse_time("2026-05-01T13:00Z")
    ).accepts(letter)
    assert not LetterQuery(until=parse_time("2026-05-01T12:00Z")).accepts(letter), (
        "until is exclusive"
    )
    assert LetterQuery(origin=("news.raw", 3, 1187)).accepts(letter)
    assert not LetterQuery(origin=("news.raw", 3, 1188)).accepts(letter)


def test_a_list_line_has_offset_time_service_kind_origin_and_a_reason_excerpt() -> None:
    long_reason = "processing: " + "x" * 300 + "\n\x1b[2J"
    header, line = list_lines([_letter(7, reason=long_reason)], with_partition=False)
    assert header.split()[:3] == ["OFFSET", "FAILED", "AT"]
    assert line.split()[:5] == [
        "7",
        "2026-05-01T12:00:00Z",
        "enricher",
        "schema",
        "news.raw:3:1187",
    ]
    assert line.endswith("…") and "\x1b" not in line and len(line) < 200


def test_a_fetcher_dead_letter_shows_its_source_and_url_as_origin() -> None:
    """A record too large for Kafka never had a topic position: its source says where."""
    fetched = {"source_id": "rudaw-ar", "url": "https://www.rudaw.net/a/1", "item_id": "g:1"}
    assert origin_text(fetched) == "rudaw-ar https://www.rudaw.net/a/1"
    assert origin_text({**fetched, "url": None}) == "rudaw-ar g:1"
    assert origin_text({"file": "seeds/a.txt", "line": 1}) == "seeds/a.txt:1"
    assert origin_text({}) == "?"


def test_show_is_the_whole_letter_with_the_payload_as_text() -> None:
    text = "\n".join(show_lines(_letter(7), topic="news.dlq"))
    assert "dead letter news.dlq:0:7" in text
    assert "'text' is a required property" in text and "news.raw:3:1187 (key: key)" in text
    assert "11 bytes, whole" in text and hashlib.sha256(b'{"id": "x"}').hexdigest() in text
    assert text.endswith('payload (UTF-8, 11 characters):\n{"id": "x"}')


def test_show_a_truncated_letter_cut_inside_a_character() -> None:
    original = "é".encode() * 40_000
    carried = original[:49_151]  # ends half-way through an é
    letter = _letter(
        8,
        kind="too_large",
        payload_b64=base64.b64encode(carried).decode(),
        payload_size=len(original),
        payload_truncated=True,
        payload_sha256=hashlib.sha256(original).hexdigest(),
    )
    assert decode_payload(carried, truncated=True) == "é" * 24_575
    text = "\n".join(show_lines(letter, topic="news.dlq"))
    assert "truncated: the first 49,151 of 80,000 bytes are carried here" in text
    assert "at most 48 KiB of a payload, or half of KAFKA_MAX_MESSAGE_BYTES when that is" in text
    assert f"sha256 of the whole: {hashlib.sha256(original).hexdigest()}" in text
    assert "the original stays on news.raw at partition 3, offset 1187" in text
    assert "the first 2,000 of 24,575 characters; --full for all" in text
    assert "é" * 24_575 in "\n".join(show_lines(letter, topic="news.dlq", full=True))


def test_show_binary_as_hex_and_never_raw_control_characters() -> None:
    binary = _letter(9, payload_b64=base64.b64encode(b"\xff\x00\x1b[31m").decode(), payload_size=7)
    text = "\n".join(show_lines(binary, topic="news.dlq"))
    assert "payload: not UTF-8; the first 7 bytes as hex:\nff 00 1b 5b 33 31 6d" in text
    hostile = _letter(
        10, payload_b64=base64.b64encode("ok \x1b]0;pwned\x07 \u202e".encode()).decode()
    )
    shown = "\n".join(show_lines(hostile, topic="news.dlq"))
    assert "\x1b" not in shown and "\u202e" not in shown and "\\x1b]0;pwned\\x07" in shown
    unreadable = Letter.from_record(0, 11, None, b"not json")
    assert "unreadable dead letter" in "\n".join(show_lines(unreadable, topic="news.dlq"))


# -- topics: declared vs actual -----------------------------------------------------------


def test_differences_are_said_in_words() -> None:
    spec = TopicSpec("news.raw", 6, 1, {"retention.ms": "604800000", "cleanup.policy": "delete"})
    state = TopicState(spec, internal=False, exists=True, partitions=3, replication_factor=1)
    state.config = {"retention.ms": "86400000", "cleanup.policy": "delete"}
    assert state.differences() == [
        "partitions 6 declared, 3 on the broker",
        "retention.ms 7d declared, 1d on the broker",
    ]
    assert TopicState(spec, internal=False).differences() == [
        "missing on the broker: 'newswire topics create'"
    ]
    assert TopicState(spec, internal=True).differences() == [], "the enricher creates its own"
    assert [duration_text(ms) for ms in (-1, 21_600_000, 90_000, 1500)] == [
        "forever",
        "6h",
        "90s",
        "1500ms",
    ]


def test_internal_topic_names_match_the_enricher_app() -> None:
    """topics list names the enricher's internal topics without starting Faust: the names
    must stay those build_app gives them."""
    from newswire.common.topics import ENRICHER_EXCHANGE_RETENTION_MS
    from newswire.enricher.app import EXCHANGE_RETENTION, build_app

    settings = Settings(topics=TopicSettings(partitions=4))
    app = build_app(settings)
    built = {
        table.changelog_topic.get_topic_name(): table.changelog_topic.partitions
        for table in app.tables.values()
    }
    for agent in app.agents.values():
        if agent.channel.get_topic_name() != settings.topics.raw:
            built[agent.channel.get_topic_name()] = agent.channel.partitions
    built[f"{settings.enricher.app_id}-__assignor-__leader"] = 1  # Faust's own, one partition
    declared = {spec.name: spec.partitions for spec in enricher_internal_topics(settings)}
    assert declared == built
    assert ENRICHER_EXCHANGE_RETENTION_MS == EXCHANGE_RETENTION.total_seconds() * 1000


# -- logs ------------------------------------------------------------------------------


def _record(name: str, level: int, msg: str = "[^--Producer]: Starting...") -> logging.LogRecord:
    return logging.LogRecord(name, level, __file__, 1, msg, (), None)


@pytest.mark.parametrize("level", [logging.INFO, logging.DEBUG])
def test_faust_and_mode_chatter_is_debug(level: int) -> None:
    root = logging.getLogger()
    was = root.level
    root.setLevel(level)
    try:
        chatter = _record("faust.transport.drivers.aiokafka", logging.INFO)
        assert DemoteChatter().filter(chatter) is (level == logging.DEBUG)
        assert orjson.loads(JsonLineFormatter("enricher").format(chatter))["level"] == "debug"
        assert DemoteChatter().filter(_record("mode.supervisors", logging.INFO)) is (
            level == logging.DEBUG
        )
        assert DemoteChatter().filter(_record("faust.worker", logging.WARNING))
        assert DemoteChatter().filter(_record("newswire.enricher.status", logging.INFO))
    finally:
        root.setLevel(was)


def test_status_interval_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().status_interval_s == 30.0
    monkeypatch.setenv("NEWSWIRE_STATUS_INTERVAL_S", "2.5")
    assert Settings().status_interval_s == 2.5
    monkeypatch.setenv("NEWSWIRE_STATUS_INTERVAL_S", "0")
    with pytest.raises(ValidationError):
        Settings()


def test_enricher_status_line_reads_the_metrics() -> None:
    metrics = EnricherMetrics()
    clock = iter([0.0, 10.0]).__next__
    status = EnricherStatus(metrics, clock=clock)
    metrics.taken(1204)
    metrics.ended({"new": 1170, "duplicate": 10} | {"dead_letter_schema": 20, "redelivery": 4})
    line, counts = status.line(lag=12, assigned=3)
    assert line == (
        "enricher: 1,204 in (120.4/s), 1,180 enriched, 20 dead letters, 4 redeliveries, "
        "in flight 0, lag 12"
    )
    assert (
        counts.taken
        == counts.enriched + counts.dead_letters + counts.redeliveries + counts.in_flight
    )
    assert (
        "enricher starting: bootstrap 127.0.0.1:19092 (embedded); news.raw -> news.enriched"
        in start_line(Settings(), interval_s=30)
    )


def test_sink_status_line_reads_the_metrics() -> None:
    metrics = SinkMetrics()
    status = SinkStatus(metrics, clock=iter([0.0, 2.0]).__next__)
    metrics.consumed.inc(12)
    metrics.records_written.labels("jsonl").inc(10)
    metrics.records_skipped.labels("jsonl").inc(1)
    metrics.dead_letters.labels("schema").inc(1)
    line, _ = status.line()
    assert line == (
        "sink: 12 in (6.0/s), 10 written to jsonl, 1 skipped by jsonl, "
        "1 dead letters (schema 1), lag ?"
    )


def test_show_a_truncated_fetched_item_says_what_can_be_done() -> None:
    """Tester s9, finding 3: a fetched item has no topic to keep its original."""
    fetched = {"source_id": "rudaw-ar", "url": "https://www.rudaw.net/a/1", "item_id": "g:1"}
    letter = _letter(
        12,
        kind="too_large",
        origin=fetched,
        payload_b64=base64.b64encode(b"x" * 100).decode(),
        payload_size=70_000,
        payload_truncated=True,
        payload_sha256="0" * 64,
    )
    text = "\n".join(show_lines(letter, topic="news.dlq"))
    assert (
        "source rudaw-ar https://www.rudaw.net/a/1 (truncated): fetched, never on a topic" in text
    )
    assert "saved it as seen" in text and "the original stays on" not in text
