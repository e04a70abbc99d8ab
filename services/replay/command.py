"""``newswire replay`` and ``newswire dlq replay``: what the person at the terminal sees.

Both count as the broker acks (a bar on a terminal, a status line every few seconds
when piped) and end with a summary on stdout. Exit status (see ``newswire.cli.exits``):
0 everything requested was replayed; 1 a seed file (or a record of one) could not be
replayed, or nothing was produced - the summary and the ``skipped`` lines say which;
3 Kafka did not answer.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from newswire.cli.exits import EXIT_INCOMPLETE, EXIT_OK, run_with_kafka
from newswire.common.errors import SeedFileError
from newswire.common.progress import progress_on
from newswire.common.settings import Settings
from newswire.replay.dlq import LetterFilter, describe, redrive
from newswire.replay.service import ReplayReport, replay


def say_skipped(error: SeedFileError) -> None:
    """One plain line per seed that cannot be replayed, as it is found."""
    print(f"skipped {error}", file=sys.stderr, flush=True)


def replay_command(
    settings: Settings,
    paths: Sequence[Path],
    *,
    rate: float | None,
    loop: int,
    kafka_timeout_s: float,
) -> int:
    """Replay PATHS, print the summary; returns the exit status."""
    with progress_on(sys.stderr, "replay") as progress:
        report = run_with_kafka(
            "replay",
            settings.kafka,
            kafka_timeout_s,
            lambda: replay(
                settings, paths, rate=rate, loop=loop, progress=progress, on_file_error=say_skipped
            ),
        )
    print(summary_line(report))
    code, verdict = outcome(report)
    if verdict:
        print(f"newswire replay: {verdict}", file=sys.stderr)
    return code


def summary_line(report: ReplayReport) -> str:
    return (
        f"produced={report.produced} articles={len(report.article_ids)} files={report.files} "
        f"dead_letters={report.dead_letters} unreadable={len(report.file_errors)}"
    )


def outcome(report: ReplayReport) -> tuple[int, str | None]:
    """(exit status, why it is not 0): 1 when any requested seed could not be replayed
    or when nothing reached the raw topic."""
    unreadable = len(report.file_errors)
    seeds = f"{unreadable} seed{'s' if unreadable != 1 else ''}"
    if unreadable and not report.produced:
        return EXIT_INCOMPLETE, f"nothing replayed: {seeds} could not be replayed (see 'skipped')"
    if unreadable:
        return EXIT_INCOMPLETE, f"incomplete: {seeds} could not be replayed (see 'skipped')"
    if not report.produced:
        if report.dead_letters:
            return EXIT_INCOMPLETE, (
                f"nothing produced: all {report.dead_letters} records were invalid "
                "and went to the dead-letter topic"
            )
        return EXIT_INCOMPLETE, "nothing produced: the seeds hold no records"
    return EXIT_OK, None


def dlq_replay_command(
    settings: Settings, *, only: LetterFilter, dry_run: bool, kafka_timeout_s: float
) -> int:
    """Re-drive (or count, with DRY_RUN) the dead letters; returns the exit status."""
    with progress_on(sys.stderr, "dlq replay") as progress:
        report = run_with_kafka(
            "dlq replay",
            settings.kafka,
            kafka_timeout_s,
            lambda: redrive(settings, only=only, dry_run=dry_run, progress=progress),
        )
    for line in describe(report, dry_run=dry_run):
        print(line)
    return EXIT_OK
