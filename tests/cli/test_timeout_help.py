"""--timeout (audit, run, bench) and --kafka-timeout (the others) keep their names, which
users rely on; each one's help says which wait it bounds (tester report s8, finding 5)."""

from __future__ import annotations

import pytest

from tests.cli.test_first_hour import flat, newswire


@pytest.mark.parametrize(
    ("command", "said"),
    [
        (
            ["replay"],
            "--kafka-timeout FLOAT Seconds to wait for Kafka to answer before giving "
            "up (exit status 3); it bounds that wait only",
        ),
        (["audit"], "what --kafka-timeout is to the other commands; not a limit on the audit"),
        (
            ["run"],
            "Seconds the whole run may take, from starting the services to the last "
            "article written",
        ),
        (["bench", "enrich"], "Seconds a whole measurement may take"),
    ],
)
def test_each_timeout_flag_says_what_it_bounds(command: list[str], said: str) -> None:
    result = newswire(*command, "--help")
    assert result.returncode == 0, result.stderr
    assert said in flat(result.stdout), flat(result.stdout)
