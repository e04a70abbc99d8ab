"""The shared command runner and entry point: what stops a command is one line on
stderr and an exit status, whichever command it is."""

from __future__ import annotations

import sys

import pytest
import typer
import typer.rich_utils

from newswire.cli import main
from newswire.cli.exits import EXIT_USAGE, command_failures
from newswire.common.errors import CannotStart
from newswire.common.settings import KafkaSettings


def test_a_service_that_cannot_start_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str],
) -> None:
    why = "enricher HTTP cannot listen on 127.0.0.1:6066: Address already in use"
    with pytest.raises(typer.Exit) as stopped, command_failures("enrich", KafkaSettings()):
        raise CannotStart(why)
    assert stopped.value.exit_code == EXIT_USAGE == 2
    assert capsys.readouterr().err == f"newswire enrich: {why}\n"


def test_other_errors_are_not_swallowed() -> None:
    with pytest.raises(ZeroDivisionError), command_failures("enrich", KafkaSettings()):
        _ = 1 / 0


def test_the_entry_point_says_a_usage_error_in_one_line_through_public_api(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """One line and exit 2, with typer's own error formatter left as typer has it
    (not replaced by ours: a private function a typer release may rename)."""
    formatter = typer.rich_utils.rich_format_error
    monkeypatch.setattr(sys, "argv", ["newswire", "replay", "--rate", "0", "seeds"])
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code == 2
    assert capsys.readouterr().err == (
        "newswire replay: Invalid value for '--rate': must be a positive number of records "
        "per second, got 0 (see newswire replay --help)\n"
    )
    assert typer.rich_utils.rich_format_error is formatter


def test_the_entry_point_exits_with_the_command_status(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "argv", ["newswire", "topics", "list", "--declared"])
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code == 0 and "news.raw" in capsys.readouterr().out
