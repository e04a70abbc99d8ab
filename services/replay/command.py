"""``newswire replay`` and ``newswire dlq replay``: what the person at the terminal sees.

Both count as the broker acks (a bar on a terminal, a status line every few seconds
when piped) and end with a summary on stdout. Exit status (see ``newswire.cli.exits``):
0 everything requested was replayed; 1 a seed file could not be read, a record of one
was dead-lettered (refused by the schema or over the message limit), or nothing was
produced - the summary and
the ``skipped`` lines say which; 3 Kafka did not answer. Files of a seed folder that are
not seeds are named on ``ignored`` lines and do not change the status.
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
from newswire.replay.files import SeedPaths
from newswire.replay.service import ReplayReport, replay

#: Files not seeds that are named one by one; more are counted in one line.
IGNORED_NAMED = 10


def say_skipped(error: SeedFileError) -> None:
    """One plain line per seed that cannot be replayed, as it is found."""
    print(f"skipped {error}", file=sys.stderr, flush=True)


def say_ignored(paths: Sequence[Path]) -> None:
    """A line per file of a seed folder that is not a seed (the first few, then a count):
    a README next to the seeds is no error, but the user should know it was passed over."""
    for path in paths[:IGNORED_NAMED]:
        print(f"ignored {path}: not a seed file (.txt or .jsonl)", file=sys.stderr)
    if len(paths) > IGNORED_NAMED:
        more = len(paths) - IGNORED_NAMED
        print(f"ignored {more} more files that are not .txt or .jsonl", file=sys.stderr)
    sys.stderr.flush()


def replay_command(
    settings: Settings,
    paths: Sequence[Path] | SeedPaths,
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
                settings,
                paths,
                rate=rate,
                loop=loop,
                progress=progress,
                on_file_error=say_skipped,
                on_ignored=say_ignored,
            ),
        )
    print(summary_line(report))
    code, verdict = outcome(report)
    if verdict:
        print(f"newswire replay: {verdict}", file=sys.stderr)
    return code


def summary_line(report: ReplayReport) -> str:
    line = (
        f"produced={report.produced} articles={len(report.article_ids)} files={report.files} "
        f"dead_letters={report.dead_letters} unreadable={len(report.file_errors)}"
    )
    return line + (f" ignored={len(report.ignored)}" if report.ignored else "")


def outcome(report: ReplayReport) -> tuple[int, str | None]:
    """(exit status, why it is not 0): 1 when not all of the seeds reached the raw topic
    (a seed unreadable, a record dead-lettered) or when nothing did."""
    missing = shortfall(report)
    if not report.produced:
        return EXIT_INCOMPLETE, f"nothing replayed: {missing or 'the seeds hold no records'}"
    if missing:
        return EXIT_INCOMPLETE, f"incomplete: {missing}"
    return EXIT_OK, None


#: Where ``replay``'s dead letters are read: the broker it produced to is still there.
DLQ_LIST_HINT = "'newswire dlq list --service replay'"


def shortfall(report: ReplayReport, *, dead_letters_at: str = DLQ_LIST_HINT) -> str | None:
    """What of the seeds did not become records on the raw topic (None: nothing):
    ``replay`` and ``run`` both exit 1 on it, and say it in these words.
    ``dead_letters_at`` is where the dead letters can be read: ``run`` on the embedded
    broker it started points at its own summary, since that broker is gone by then."""
    parts = []
    if unreadable := len(report.file_errors):
        seeds = f"{unreadable} seed{'s' if unreadable != 1 else ''}"
        parts.append(f"{seeds} could not be replayed (see 'skipped')")
    if dead := report.dead_letters:
        records = f"{dead} record{'s' if dead != 1 else ''}"
        parts.append(f"{records} went to the dead-letter topic (see {dead_letters_at})")
    return "; ".join(parts) or None


def dlq_replay_command(
    settings: Settings,
    *,
    only: LetterFilter,
    dry_run: bool,
    kafka_timeout_s: float,
    by_offset: bool = False,
) -> int:
    """Re-drive (or count, with DRY_RUN) the dead letters; returns the exit status."""
    with progress_on(sys.stderr, "dlq replay") as progress:
        report = run_with_kafka(
            "dlq replay",
            settings.kafka,
            kafka_timeout_s,
            lambda: redrive(
                settings, only=only, dry_run=dry_run, by_offset=by_offset, progress=progress
            ),
        )
    for line in describe(report, dry_run=dry_run):
        print(line)
    return EXIT_OK
