"""The command line: every documented subcommand exists and the pure ones work."""

from __future__ import annotations

from typer.testing import CliRunner

from newswire.cli import app
from tests.conftest import FIXTURES

runner = CliRunner()


def test_documented_commands_exist() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in (
        "broker",
        "topics",
        "replay",
        "enrich",
        "sink",
        "run",
        "eval",
        "bench",
        "audit",
        "soak",
    ):
        assert command in result.output


def test_topics_list_shows_the_declared_layout() -> None:
    result = runner.invoke(app, ["topics", "list", "--declared"])
    assert result.exit_code == 0
    assert "news.raw\tpartitions=6" in result.output and "news.dlq" in result.output


def test_eval_prints_every_section_and_a_summary_line() -> None:
    eval_dir = FIXTURES / "eval"
    pairs = ["near_duplicates.jsonl", "near_duplicates_events.jsonl"]
    args = ["eval", str(eval_dir / "topics.jsonl")]
    args += [arg for name in pairs for arg in ("--near-duplicates", str(eval_dir / name))]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "== near-duplicates by split" in result.output
    lines = result.output.strip().splitlines()
    assert lines[-2] == "==== summary of the frozen split"
    assert lines[-1].startswith("min_topic_f1=") and "near_dup_recall=" in lines[-1]
    tuning = runner.invoke(app, [*args, "--split", "tuning"])
    assert tuning.exit_code == 0 and "frozen" not in tuning.output.split("==== details")[0]
    assert runner.invoke(app, [*args, "--split", "bogus"]).exit_code == 2


def test_eval_rejects_a_broken_file(tmp_path) -> None:
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"id": "x"\n')
    result = runner.invoke(app, ["eval", str(broken)])
    assert result.exit_code == 2


def test_bad_configuration_is_a_clear_error(monkeypatch) -> None:
    monkeypatch.setenv("TOPIC_PARTITIONS", "zero")
    result = runner.invoke(app, ["topics", "list"])
    assert result.exit_code == 2 and "TOPIC_PARTITIONS" in result.output.upper()
