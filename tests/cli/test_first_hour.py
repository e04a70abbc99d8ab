"""The first hour with newswire (issue 14): the real command, run as a person runs it.

Each case starts ``python -m newswire ...`` as a child process with stderr piped, and
checks what a person would read there and the exit status. None needs a broker: a
Kafka that does not answer is the point of several (``127.0.0.1:1`` refuses at once).
The cases that need a broker are in tests/integration/test_cli_errors.py.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from newswire.cli.exits import EXIT_UNREACHABLE
from tests.conftest import SEEDS

NO_KAFKA = "127.0.0.1:1"
_OWN_PREFIXES = ("KAFKA_", "TOPIC_", "SINK_", "ENRICHER_", "FETCHER_", "REPLAY_", "NEWSWIRE_")


def newswire(
    *args: str,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 60,
    run_as: Sequence[str] = (),
) -> subprocess.CompletedProcess[str]:
    """``python -m newswire ARGS`` with the caller's newswire variables replaced by ENV;
    RUN_AS is a command that runs it (e.g. as another user)."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(_OWN_PREFIXES)}
    return subprocess.run(
        [*run_as, sys.executable, "-m", "newswire", *args],
        env=base | {"COLUMNS": "200"} | (env or {}),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def flat(text: str) -> str:
    """The words of stderr on one line (box-drawing characters, if any, removed)."""
    return " ".join(re.sub("[\u2500-\u257f]", " ", text).split())


def assert_one_clean_line(result: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in result.stderr, result.stderr
    assert "Unclosed" not in result.stderr, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.fixture
def sources_file(tmp_path: Path) -> Path:
    path = tmp_path / "sources.yaml"
    path.write_text(
        "sources:\n  - id: example\n    name: Example\n    kind: feed\n"
        "    url: https://example.com/feed.xml\n"
    )
    return path


# --- 1. no broker: one line, a hint, exit 3 --------------------------------------------


@pytest.mark.parametrize(
    ("command", "args"),
    [
        ("replay", ["replay", str(SEEDS)]),
        ("topics create", ["topics", "create"]),
        ("dlq replay", ["dlq", "replay", "--dry-run"]),
        ("sink", ["sink", "--http-port", "0"]),
        ("fetch", ["fetch", "--sources", "{sources}"]),
        ("fetch", ["fetch", "--sources", "{sources}", "--once"]),
    ],
)
def test_no_broker_is_one_line_with_a_hint(
    command: str, args: list[str], sources_file: Path, tmp_path: Path
) -> None:
    args = [arg.format(sources=sources_file) for arg in args]
    result = newswire(
        *args,
        "--kafka-timeout",
        "1",
        env={"KAFKA_BOOTSTRAP_SERVERS": NO_KAFKA, "SINK_OUT_DIR": str(tmp_path / "out")},
    )
    line = assert_one_clean_line(result)
    assert line == (
        f"newswire {command}: Kafka at {NO_KAFKA} did not answer within 1s "
        "(check KAFKA_BOOTSTRAP_SERVERS, or unset it and start one with 'newswire broker')"
    )
    assert result.returncode == EXIT_UNREACHABLE == 3
    assert result.stdout == ""


def test_run_without_a_broker_is_one_line_too(tmp_path: Path) -> None:
    result = newswire(
        "run", "--seeds", str(SEEDS), "--timeout", "2",
        env={"KAFKA_BOOTSTRAP_SERVERS": NO_KAFKA},
        cwd=tmp_path,
    )  # fmt: skip
    line = assert_one_clean_line(result)
    assert line.startswith(f"newswire run: Kafka at {NO_KAFKA} did not answer within 2s (")
    assert result.returncode == 3


def _port_open(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.2)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def test_no_embedded_broker_says_how_to_start_one() -> None:
    if _port_open(19092):
        pytest.skip("something listens on the embedded broker's default port")
    result = newswire("topics", "create", "--kafka-timeout", "1")
    assert assert_one_clean_line(result) == (
        "newswire topics create: Kafka at 127.0.0.1:19092 did not answer within 1s "
        "(start one with 'newswire broker', or set KAFKA_BOOTSTRAP_SERVERS)"
    )
    assert result.returncode == 3


def test_enrich_with_its_web_port_taken_is_one_line_and_exit_2() -> None:
    """Checked before Kafka and before Faust starts (which would log JSON and exit 1)."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = newswire(
            "enrich",
            "--kafka-timeout",
            "1",
            env={
                "KAFKA_BOOTSTRAP_SERVERS": NO_KAFKA,
                "ENRICHER_WEB_HOST": "127.0.0.1",
                "ENRICHER_WEB_PORT": str(port),
            },
        )
    assert assert_one_clean_line(result) == (
        f"newswire enrich: enricher HTTP cannot listen on 127.0.0.1:{port}: Address already in use"
    )
    assert result.returncode == 2 and result.stdout == ""


@pytest.mark.parametrize(
    ("command", "variable", "service"),
    [
        (["sink", "--out", "out"], "SINK_HTTP_PORT", "sink"),
        (["fetch"], "FETCHER_WEB_PORT", "fetcher"),
    ],
)
def test_a_taken_http_port_is_said_before_kafka_is_waited_for(
    tmp_path: Path, command: list[str], variable: str, service: str
) -> None:
    """The port is the user's to fix (exit 2); waiting for Kafka first would end in exit
    3 and name the wrong thing."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        host = "SINK_HTTP_HOST" if service == "sink" else "FETCHER_WEB_HOST"
        result = newswire(
            *command,
            "--kafka-timeout",
            "5",
            env={"KAFKA_BOOTSTRAP_SERVERS": NO_KAFKA, host: "127.0.0.1", variable: str(port)},
            cwd=tmp_path,
        )
    assert assert_one_clean_line(result) == (
        f"newswire {command[0]}: {service} HTTP cannot listen on 127.0.0.1:{port}: "
        "Address already in use"
    )
    assert result.returncode == 2


@pytest.mark.parametrize(
    ("where", "dsn", "expected"),
    [
        ("flag", "notadsn", "SINK_POSTGRES_DSN (--postgres) must be a postgresql:// DSN"),
        ("env", "notadsn", "SINK_POSTGRES_DSN (--postgres) must be a postgresql:// DSN"),
        ("flag", "postgresql://u:p@[bad/db", "is not a valid postgresql:// DSN"),
    ],
)
def test_a_malformed_postgres_dsn_is_one_line_before_kafka(
    tmp_path: Path, where: str, dsn: str, expected: str
) -> None:
    env = {"KAFKA_BOOTSTRAP_SERVERS": NO_KAFKA}
    args = ["sink", "--out", "out", "--http-port", "0", "--kafka-timeout", "5"]
    if where == "flag":
        args += ["--postgres", dsn]
    else:
        env["SINK_POSTGRES_DSN"] = dsn
    result = newswire(*args, env=env, cwd=tmp_path)
    line = assert_one_clean_line(result)
    assert line.startswith("newswire sink: ") and expected in line
    assert "u:p" not in line, "the DSN's password is never repeated"
    assert result.returncode == 2


def test_broker_on_a_taken_port_is_one_line_and_exit_2() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = newswire("broker", "--port", str(port))
    assert assert_one_clean_line(result) == (
        f"newswire broker: port {port} is already in use; pick another with --port"
    )
    assert result.returncode == 2


def test_broker_port_out_of_range_is_a_usage_error() -> None:
    result = newswire("broker", "--port", "70000")
    assert "--port" in assert_one_clean_line(result)
    assert result.returncode == 2


def test_kafka_timeout_must_be_positive() -> None:
    result = newswire("topics", "create", "--kafka-timeout", "0")
    assert result.returncode == 2
    assert "Invalid value for '--kafka-timeout': must be a positive number" in flat(result.stderr)


# --- 2. bad options and settings: usage errors that name what is wrong ------------------


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("bench", "memory", "--articles", "5"), "newswire bench memory: Invalid value for "),
        (("bench", "enrich", "--workers", "0"), "newswire bench enrich: Invalid value for "),
        (("eval", "/nonexistent/items.jsonl"), "newswire eval: Invalid value for 'file'"),
        (("fetch", "--no-such-flag"), "newswire fetch: No such option: --no-such-flag"),
        (("no-such-command",), "newswire: No such command 'no-such-command'"),
    ],
)
def test_a_usage_error_is_one_line_naming_the_command_and_its_help(
    args: tuple[str, ...], says: str
) -> None:
    result = newswire(*args)
    assert result.returncode == 2
    line = assert_one_clean_line(result)
    assert line.startswith(says) and line.endswith("--help)"), line


@pytest.mark.parametrize("rate", ["0", "-5", "nan"])
def test_replay_rate_must_be_positive(rate: str) -> None:
    result = newswire(
        "replay", str(SEEDS), "--rate", rate, env={"KAFKA_BOOTSTRAP_SERVERS": NO_KAFKA}
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert (
        f"Invalid value for '--rate': must be a positive number of records per second, got {rate}"
        in flat(result.stderr)
    )


@pytest.mark.parametrize("where", ["missing", "empty folder"])
def test_replay_names_a_path_it_cannot_use_before_waiting_for_kafka(
    tmp_path: Path, where: str
) -> None:
    """No broker: the path is the user's mistake to fix, so it is named (exit 2), not
    Kafka (exit 3) after the wait; a good path beside it does not change that."""
    bad = tmp_path / "nope.txt"
    if where == "empty folder":
        bad = tmp_path / "empty"
        bad.mkdir()
    result = newswire(
        "replay", str(SEEDS), str(bad), "--kafka-timeout", "30",
        env={"KAFKA_BOOTSTRAP_SERVERS": NO_KAFKA},
    )  # fmt: skip
    line = assert_one_clean_line(result)
    assert result.returncode == 2, line
    assert line.startswith(f"newswire replay: Invalid value for 'PATH...': {bad}: "), line
    assert "Kafka" not in line and result.stdout == ""


def test_replay_loop_zero_is_still_a_usage_error() -> None:
    result = newswire("replay", str(SEEDS), "--loop", "0")
    assert result.returncode == 2 and "'--loop'" in flat(result.stderr)


def test_fetch_allow_network_names_the_option_and_the_value(sources_file: Path) -> None:
    result = newswire("fetch", "--sources", str(sources_file), "--allow-network", "banana")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "Invalid value for '--allow-network': 'banana' is not an IPv4 or IPv6 network" in flat(
        result.stderr
    )


def test_settings_with_an_invalid_variable_says_invalid_configuration() -> None:
    result = newswire("settings", env={"FETCHER_CONNECT_TIMEOUT_S": "abc"})
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "invalid configuration: FETCHER_CONNECT_TIMEOUT_S: Input should be a valid number, "
        "unable to parse string as a number (got 'abc')",
    ]


def test_every_bad_variable_of_every_group_is_said_at_once() -> None:
    """Not one group at a time (fix one, run again, see the next): one line, exit 2."""
    result = newswire(
        "settings",
        env={
            "NEWSWIRE_LOG_LEVEL": "LOUD",
            "KAFKA_MAX_MESSAGE_BYTES": "x",
            "SINK_HTTP_PORT": "abc",
            "FETCHER_CONNECT_TIMEOUT_S": "abc",
        },
    )
    assert result.returncode == 2
    assert result.stdout == ""
    line = assert_one_clean_line(result)
    assert line.startswith("invalid configuration: "), line
    said = [part.split(":")[0] for part in line.removeprefix("invalid configuration: ").split("; ")]
    assert said == [
        "NEWSWIRE_LOG_LEVEL",
        "KAFKA_MAX_MESSAGE_BYTES",
        "SINK_HTTP_PORT",
        "FETCHER_CONNECT_TIMEOUT_S",
    ], line


def test_settings_prints_the_table_when_the_environment_is_valid() -> None:
    result = newswire("settings")
    assert result.returncode == 0
    assert result.stdout.startswith("| variable | default | meaning |")


def test_a_bad_list_item_names_the_variable_and_the_item() -> None:
    result = newswire("topics", "list", env={"FETCHER_ALLOW_NETWORKS": "banana,10.0.0.0/8,apple"})
    assert result.returncode == 2
    not_a_network = "Input is not a valid IPv4 or IPv6 network"
    assert result.stderr.splitlines() == [
        f"invalid configuration: FETCHER_ALLOW_NETWORKS: item 1: {not_a_network} (got 'banana'); "
        f"FETCHER_ALLOW_NETWORKS: item 3: {not_a_network} (got 'apple')",
    ]


def test_a_huge_bad_value_is_quoted_as_an_excerpt() -> None:
    result = newswire("settings", env={"FETCHER_CONNECT_TIMEOUT_S": "a" * 100_000})
    assert result.returncode == 2
    assert len(result.stderr) < 400 and "… (100,000 characters)" in result.stderr


# --- 3. run: usage errors before anything starts ------------------------------------------


def test_run_with_missing_seeds_is_a_usage_error(tmp_path: Path) -> None:
    result = newswire("run", "--seeds", str(tmp_path / "nope"), cwd=tmp_path)
    assert result.returncode == 2
    assert f"Invalid value for '--seeds': {tmp_path / 'nope'}: no such file or directory" in flat(
        result.stderr
    )
    assert "enriched" not in result.stdout


def test_run_with_an_out_that_cannot_be_a_folder_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "seed.txt").write_text("Baghdad. A seed that must not be replayed.\n")
    (tmp_path / "file").write_text("a file, not a folder")
    bad_out = tmp_path / "file" / "out"
    result = newswire(
        "run", "--seeds", str(tmp_path / "seed.txt"), "--out", str(bad_out), cwd=tmp_path
    )
    assert result.returncode == 2
    assert f"Invalid value for '--out': {bad_out}: cannot be made a folder" in flat(result.stderr)
    assert "replay" not in result.stdout and "Traceback" not in result.stderr


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux /proc")
def test_run_with_an_out_where_no_folder_can_be_made_is_a_usage_error(tmp_path: Path) -> None:
    """/proc passes a permission check (for root) but holds no new folders: found by
    trying, before any seed is replayed."""
    (tmp_path / "seed.txt").write_text("Baghdad. A seed that must not be replayed.\n")
    result = newswire(
        "run", "--seeds", str(tmp_path / "seed.txt"), "--out", "/proc/newswire-out", cwd=tmp_path
    )
    assert result.returncode == 2, result.stderr
    assert (
        "Invalid value for '--out': /proc/newswire-out: cannot be made a folder in /proc: "
        in flat(result.stderr)
    )
    assert "replay" not in result.stdout and "Traceback" not in result.stderr


#: Root may write in any folder: the read-only case runs as nobody (util-linux setpriv).
UNPRIVILEGED = (
    ("setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups")
    if os.geteuid() == 0
    else ()
)


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A folder any user may enter (pytest's tmp_path is root's own when run as root)."""
    with tempfile.TemporaryDirectory(prefix="newswire-ro-") as name:
        os.chmod(name, 0o755)
        yield Path(name)


@pytest.mark.parametrize("where", ["out itself", "below it"])
def test_run_with_an_out_in_a_read_only_folder_is_a_usage_error(
    shared_dir: Path, where: str
) -> None:
    seed = shared_dir / "seed.txt"
    seed.write_text("Baghdad. A seed that must not be replayed.\n")
    seed.chmod(0o644)
    read_only = shared_dir / "ro"
    read_only.mkdir(mode=0o555)
    read_only.chmod(0o555)
    out = read_only if where == "out itself" else read_only / "out"
    result = newswire(
        "run", "--seeds", str(seed), "--out", str(out),
        env={"KAFKA_BOOTSTRAP_SERVERS": NO_KAFKA}, cwd=shared_dir, run_as=UNPRIVILEGED,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert f"Invalid value for '--out': {out}: cannot be made a folder" in flat(result.stderr)
    assert "Permission denied" in flat(result.stderr)
    assert "replay" not in result.stdout and "Traceback" not in result.stderr


def test_run_checks_out_without_making_it(tmp_path: Path) -> None:
    """The JSON Lines writer makes --out when it starts; a run that stops before (here:
    no Kafka) leaves no folder behind, nor does a run with the writer off."""
    out = tmp_path / "new" / "out"
    result = newswire(
        "run", "--seeds", str(SEEDS), "--out", str(out), "--timeout", "2",
        env={"KAFKA_BOOTSTRAP_SERVERS": NO_KAFKA},
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 3, result.stderr
    assert not (tmp_path / "new").exists()


@pytest.mark.parametrize(
    ("variable", "value"),
    [("SINK_HTTP_PORT", "99999"), ("FETCHER_WEB_PORT", "-1"), ("NEWSWIRE_LOG_LEVEL", "LOUD")],
)
def test_a_port_out_of_range_or_an_unknown_log_level_is_a_configuration_error(
    variable: str, value: str
) -> None:
    result = newswire("settings", env={variable: value})
    assert result.returncode == 2, result.stderr
    assert variable in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--writers", "bogus"], "unknown writer(s) ['bogus']"),
        # the flag the user typed, not the variable it sets
        (["--writers", "jsonl,s3"], "--writers='jsonl,s3': unknown writer(s) ['s3']"),
        (["--http-port", "-1"], "Invalid value for '--http-port'"),
    ],
)
def test_sink_refuses_bad_options_before_it_waits_for_kafka(
    tmp_path: Path, args: list[str], expected: str
) -> None:
    env = {"KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1", "KAFKA_PROFILE": "kafka"}
    result = newswire("sink", "--out", str(tmp_path / "out"), *args, env=env, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert expected in flat(result.stderr) and "did not answer" not in result.stderr


def test_a_log_level_in_lower_case_is_accepted() -> None:
    assert newswire("settings", env={"NEWSWIRE_LOG_LEVEL": "debug"}).returncode == 0


def test_run_with_a_folder_of_no_seeds_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "notes.md").write_text("not a seed")
    result = newswire("run", "--seeds", str(tmp_path), cwd=tmp_path)
    assert result.returncode == 2
    assert "directory holds no .txt or .jsonl seed files" in flat(result.stderr)


def test_sink_writers_from_the_environment_name_the_variable(tmp_path: Path) -> None:
    env = {"KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1", "SINK_WRITERS": "jsonl,s3"}
    result = newswire("sink", "--out", str(tmp_path / "out"), env=env, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    line = assert_one_clean_line(result)
    assert "SINK_WRITERS: unknown writer(s) ['s3']; use jsonl, postgres" in line


@pytest.mark.parametrize("value", ["nothex", "F427E776C52B59F12ABF51D7AB70FC6", "0" * 33])
def test_audit_refuses_an_id_that_is_not_an_article_id(value: str) -> None:
    """Not an audit that reports it '(not seen anywhere)' and exits 0."""
    env = {"KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1", "KAFKA_PROFILE": "kafka"}
    result = newswire("audit", "--id", value, env=env)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.splitlines() == [
        f"newswire audit: Invalid value for '--id': {value!r} is not an article id "
        "(32 hex digits) (see newswire audit --help)"
    ]


def test_a_misspelt_variable_is_named_with_the_setting_it_resembles() -> None:
    """Ignored, it silently left the default in force; now it is one more bad setting."""
    result = newswire(
        "settings",
        env={"SINK_OUTDIR": "/x", "SINK_FLUSH_RECORDS": "5", "SINK_HTTP_PORT": "abc"},
    )
    assert result.returncode == 2 and result.stdout == ""
    line = assert_one_clean_line(result)
    assert line.startswith("invalid configuration: SINK_HTTP_PORT: "), line
    assert "; SINK_OUTDIR is not a setting (did you mean SINK_OUT_DIR?)" in line
    assert "; SINK_FLUSH_RECORDS is not a setting" in line


def test_variables_of_kafka_images_and_of_the_tests_are_not_refused() -> None:
    """KAFKA_ is Kafka's own images' prefix too (docker-compose.yml sets KAFKA_NODE_ID)."""
    result = newswire(
        "settings", env={"KAFKA_NODE_ID": "1", "NEWSWIRE_TEST_POSTGRES_DSN": "postgresql://x/y"}
    )
    assert result.returncode == 0, result.stderr


def test_an_unknown_writer_is_said_by_every_command_with_the_other_bad_values() -> None:
    result = newswire("topics", "list", env={"SINK_WRITERS": "jsnl", "SINK_HTTP_PORT": "abc"})
    assert result.returncode == 2
    line = assert_one_clean_line(result)
    assert "SINK_WRITERS: unknown writer(s) ['jsnl']; use jsonl, postgres (got 'jsnl')" in line
    assert "SINK_HTTP_PORT: " in line


_NO_KAFKA_ENV = {"KAFKA_BOOTSTRAP_SERVERS": NO_KAFKA, "KAFKA_PROFILE": "kafka"}


def test_sink_refuses_a_dsn_flag_its_writers_flag_leaves_out(tmp_path: Path) -> None:
    """It was silently unused: the articles the user meant for PostgreSQL went nowhere."""
    args = ["--writers", "jsonl", "--postgres", "postgresql://u@localhost/db"]
    result = newswire("sink", "--out", str(tmp_path / "out"), *args, env=_NO_KAFKA_ENV)
    assert result.returncode == 2
    assert assert_one_clean_line(result) == (
        "newswire sink: --postgres is given but --writers does not include postgres"
    )


def test_sink_warns_of_a_dsn_the_environment_leaves_unused(tmp_path: Path) -> None:
    env = _NO_KAFKA_ENV | {"SINK_WRITERS": "jsonl", "SINK_POSTGRES_DSN": "postgresql://u@h/db"}
    result = newswire("sink", "--out", str(tmp_path / "out"), "--kafka-timeout", "0.5", env=env)
    assert result.returncode == EXIT_UNREACHABLE  # it went on: a warning, not a refusal
    assert result.stderr.splitlines()[0] == (
        "newswire sink: warning: SINK_POSTGRES_DSN is given but SINK_WRITERS does not include "
        "postgres; nothing is written to it"
    )


def test_sink_postgres_writer_without_a_dsn_names_the_flag_typed(tmp_path: Path) -> None:
    result = newswire(
        "sink", "--out", str(tmp_path / "out"), "--writers", "postgres", env=_NO_KAFKA_ENV
    )
    assert result.returncode == 2
    assert assert_one_clean_line(result) == (
        "newswire sink: --writers includes postgres but neither --postgres nor "
        "SINK_POSTGRES_DSN is set"
    )


def test_fetch_output_to_a_file_is_refused_like_its_other_usage_errors(
    sources_file: Path,
) -> None:
    result = newswire("fetch", "--sources", str(sources_file), "--output", "/tmp/x.jsonl")
    assert result.returncode == 2
    assert assert_one_clean_line(result) == (
        "newswire fetch: --output takes only '-', standard output (see newswire fetch --help)"
    )


def test_fetch_of_a_missing_sources_file_names_the_command(tmp_path: Path) -> None:
    missing = tmp_path / "nonexistent.yaml"
    result = newswire("fetch", "--sources", str(missing), "--once")
    assert result.returncode == 2
    assert assert_one_clean_line(result) == (
        f"newswire fetch: {missing}: cannot read: No such file or directory"
    )


@pytest.mark.parametrize(
    "text",
    [
        "sources:\n  - id: a\x00\n",  # a control character: PyYAML's reader refuses it
        'sources:\n  - id: a\n    name: "\\ud800"\n',  # an escape naming no character
    ],
)
def test_sources_check_and_fetch_refuse_a_file_of_no_text_alike(tmp_path: Path, text: str) -> None:
    """Both used to end in a traceback."""
    path = tmp_path / "sources.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    for args in (["sources", "check", str(path)], ["fetch", "--sources", str(path), "--once"]):
        result = newswire(*args)
        assert result.returncode == 2, result.stderr
        assert "invalid YAML" in assert_one_clean_line(result)


def test_sources_check_exits_2_on_a_file_fetch_refuses(tmp_path: Path) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text(
        "sources:\n  - {id: a, name: A, kind: feed, url: 'https://a.example/', "
        "charset: klingon-8}\n"
    )
    assert newswire("sources", "check", str(path)).returncode == 2
    assert newswire("fetch", "--sources", str(path), "--once").returncode == 2


@pytest.mark.parametrize("name", ["notes.md", "README"])
def test_replay_of_a_named_file_that_can_never_be_a_seed_is_a_usage_error(
    tmp_path: Path, name: str
) -> None:
    """Said before Kafka is waited for (it was exit 1, after connecting)."""
    path = tmp_path / name
    path.write_text("# not a seed\n")
    result = newswire("replay", str(path), env={"KAFKA_BOOTSTRAP_SERVERS": NO_KAFKA})
    assert result.returncode == 2
    line = assert_one_clean_line(result)
    assert f"{path}: unknown extension " in line and "did not answer" not in line
    assert line.endswith("(see newswire replay --help)")
