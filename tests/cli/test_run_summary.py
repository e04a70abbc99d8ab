"""run's summary and last line, from a finished run's numbers (no processes)."""

from __future__ import annotations

from pathlib import Path

import pytest

from newswire.cli.run_report import SHOWN_DEAD_LETTERS, Outcome, Summary, print_summary
from newswire.replay.service import ReplayReport


def _outcome(*, letters: int, fresh_cluster: bool) -> Outcome:
    report = ReplayReport(produced=3, files=2, article_ids={"a", "b", "c"}, dead_letters=letters)
    summary = Summary(enriched=3)
    summary.dead_letters["replay/decode"] = letters
    summary.reasons = [f"replay/decode r.jsonl:{n}: not JSON" for n in range(1, letters + 1)]
    return Outcome(report, summary, fresh_cluster=fresh_cluster)


@pytest.mark.parametrize(
    ("fresh_cluster", "hint"),
    [
        (True, "(see the dead letters listed above)"),  # run's own broker is gone
        (False, "(see 'newswire dlq list --service replay')"),  # the cluster stays
    ],
)
def test_the_last_line_points_at_dead_letters_that_still_exist(
    fresh_cluster: bool, hint: str
) -> None:
    code, why = _outcome(letters=1, fresh_cluster=fresh_cluster).verdict()
    assert code == 1
    assert why == f"incomplete: 1 record went to the dead-letter topic {hint}"


def test_the_summary_counts_the_dead_letters_it_does_not_list(
    capsys: pytest.CaptureFixture[str],
) -> None:
    print_summary(_outcome(letters=SHOWN_DEAD_LETTERS + 2, fresh_cluster=True), Path("out"))
    lines = capsys.readouterr().out.splitlines()
    listed = [line for line in lines if line.startswith("  - replay/decode")]
    assert len(listed) == SHOWN_DEAD_LETTERS
    assert lines[-1] == "  - … and 2 more"
