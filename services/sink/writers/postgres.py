"""PostgreSQL: one row per article id, the latest content, upserted idempotently.

Why asyncpg (and not psycopg 3): the sink is plain asyncio, and asyncpg is an asyncio
driver from the ground up with no libpq to install, a binary COPY
(``copy_records_to_table``) that encodes ``jsonb``, ``text[]`` and ``timestamptz``
straight from Python values, and a typed exception per SQLSTATE, which is what
telling "the database is down" (retry) from "the database refuses this content"
(reject) needs. psycopg 3 would do, but needs libpq (or its binary wheel) and buys
us nothing here.

Every flush is one transaction: the batch is COPYed into a session-local staging
table and moved into ``articles`` by one ``INSERT ... ON CONFLICT (id) DO UPDATE ...
WHERE articles.content_hash IS DISTINCT FROM excluded.content_hash``. So

* a new id inserts a row, an ``update`` (new content hash) replaces it;
* the same (id, content_hash) again changes nothing, not even ``updated_at``: Kafka
  redelivery after a crash between flush and commit is harmless;
* a duplicate or near-duplicate has its own id, hence its own row, with its dedupe
  fields pointing at the original.

Content PostgreSQL cannot store is found in :meth:`PostgresWriter.prepare` (on
``add``; the rules are in :mod:`newswire.sink.writers.postgres_rows`), before any
I/O, and refused with :class:`RecordRejected` (the sink
dead-letters it): a NUL character anywhere (``text`` and ``jsonb`` cannot hold
U+0000, and stripping it would make the row differ from the record every other
writer stores), an unparseable timestamp, an over-long value in a b-tree indexed
column. What only the database can judge (a constraint, a b-tree entry over its
byte limit) fails the flush's transaction with an error of SQLSTATE class 22, 23
or 54: that is :class:`BatchRejected`, and the batching base splits the batch to
find and reject the record (:mod:`newswire.sink.writers.batching`). Anything else
that goes wrong in a flush is a :class:`WriterError`, retried by the sink with the
batch kept: an unreachable database is not a bad record.

The schema is created or migrated on the first connection (see
:func:`migrate`), so a sink can start before its database is up.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import asyncpg

from newswire.sink.migrations import Migration, load_migrations
from newswire.sink.writers.base import BatchRejected, FlushResult, WriterError
from newswire.sink.writers.batching import BatchingWriter, BatchItem
from newswire.sink.writers.postgres_rows import COLUMNS, article_row, send_jsonb_as_bytes

if TYPE_CHECKING:
    from newswire.sink.writers.factory import WriterOptions

log = logging.getLogger(__name__)

TABLE = "articles"
STAGING_TABLE = "newswire_incoming_articles"
#: pg_advisory_xact_lock key serialising concurrent migrators ("nwsink" in ASCII).
MIGRATION_LOCK_KEY = 0x6E77_7369_6E6B
#: Errors that mean "the database (or the way to it) is not working right now".
CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncpg.InterfaceError,
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
)
DATABASE_ERRORS: tuple[type[BaseException], ...] = (*CONNECTION_ERRORS, asyncpg.PostgresError)
#: Errors that mean "the database refuses this content, now and always": invalid data
#: (SQLSTATE class 22), a constraint (23), a size limit such as a b-tree entry (54).
REFUSED_CONTENT: tuple[type[BaseException], ...] = (
    asyncpg.DataError,
    asyncpg.IntegrityConstraintViolationError,
    asyncpg.ProgramLimitExceededError,
)

_COLUMN_TYPES = {
    "published_at": "timestamptz",
    "fetched_at": "timestamptz",
    "enriched_at": "timestamptz",
    "topics": "text[]",
    "record": "jsonb",
}

CREATE_MIGRATIONS_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version     integer     PRIMARY KEY,
    name        text        NOT NULL,
    checksum    text        NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now()
)"""

# ON COMMIT DELETE ROWS: the staging table is empty at the start of every flush,
# also after a rolled-back one.
CREATE_STAGING_TABLE = (
    f"CREATE TEMP TABLE IF NOT EXISTS {STAGING_TABLE} ("
    + ", ".join(f"{column} {_COLUMN_TYPES.get(column, 'text')}" for column in COLUMNS)
    + ") ON COMMIT DELETE ROWS"
)

_UPDATED = ", ".join(f"{column} = excluded.{column}" for column in COLUMNS if column != "id")
# Returns how many rows were inserted or replaced; unchanged redeliveries are not.
UPSERT = f"""
WITH changed AS (
    INSERT INTO {TABLE} AS a ({", ".join(COLUMNS)}, updated_at)
    SELECT {", ".join(COLUMNS)}, now() FROM {STAGING_TABLE}
    ON CONFLICT (id) DO UPDATE SET {_UPDATED}, updated_at = excluded.updated_at
    WHERE a.content_hash IS DISTINCT FROM excluded.content_hash
    RETURNING 1
)
SELECT count(*) FROM changed"""


class MigrationError(WriterError):
    """The database's schema history does not match the shipped migrations.

    Raised when an applied migration's checksum differs from its file: someone
    edited a migration after it ran. Retrying will not fix it; it keeps the writer
    (and ``/readyz``) failing until an operator looks.
    """


# -- schema ----------------------------------------------------------------------------


def _check_history(applied: dict[int, str], migrations: list[Migration]) -> None:
    """Refuse an edited migration; tolerate versions newer than ours (a newer sink
    migrated this database during a rolling upgrade; migrations are additive)."""
    known = {m.version: m for m in migrations}
    for version, checksum in sorted(applied.items()):
        migration = known.get(version)
        if migration is None:
            log.warning("database has migration %04d that this sink does not know", version)
        elif migration.checksum != checksum:
            raise MigrationError(
                f"migration {version:04d}_{migration.name} was changed after it was applied "
                f"(database checksum {checksum[:12]}, file {migration.checksum[:12]}); "
                "add a new migration instead of editing an applied one"
            )


async def migrate(
    connection: asyncpg.Connection, migrations: list[Migration] | None = None
) -> list[int]:
    """Apply the migrations this database lacks; returns their versions.

    One transaction holding a transaction-level advisory lock: concurrent starters
    queue on the lock and then find the work done; a crash (or a failing migration)
    rolls everything back, so a database is never left half-migrated; the lock goes
    with the transaction, so there is no unlock to forget.
    """
    migrations = load_migrations() if migrations is None else migrations
    async with connection.transaction():
        await connection.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK_KEY)
        await connection.execute(CREATE_MIGRATIONS_TABLE)
        rows = await connection.fetch("SELECT version, checksum FROM schema_migrations")
        applied = {row["version"]: row["checksum"] for row in rows}
        _check_history(applied, migrations)
        pending = [m for m in migrations if m.version not in applied]
        for migration in pending:
            await connection.execute(migration.sql)
            await connection.execute(
                "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                migration.version,
                migration.name,
                migration.checksum,
            )
    if pending:
        log.info("applied migrations %s", [f"{m.version:04d}_{m.name}" for m in pending])
    return [m.version for m in pending]


def redacted(dsn: str) -> str:
    """host:port/database of a DSN, without credentials, for logs and errors."""
    try:
        parts = urlsplit(dsn)
        host = parts.hostname or "localhost"
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "(unparseable DSN)"
    return f"{host}{port}{parts.path or '/'}"


def describe(exc: BaseException) -> str:
    """An error with its SQLSTATE where it has one."""
    sqlstate = getattr(exc, "sqlstate", None)
    return f"{type(exc).__name__}{f' [{sqlstate}]' if sqlstate else ''}: {exc}"


# -- the writer ------------------------------------------------------------------------


class PostgresWriter(BatchingWriter[tuple[Any, ...]]):
    """Idempotent upserts of enriched articles into ``articles``.

    Holds one connection, opened (and the schema migrated) on first use and dropped
    whenever it breaks, so the flush the sink retries reconnects by itself.
    """

    def __init__(
        self,
        *,
        dsn: str,
        name: str = "postgres",
        connect_timeout_s: float = 10.0,
        command_timeout_s: float = 60.0,
        application_name: str = "newswire-sink",
    ) -> None:
        super().__init__()
        self.name = name
        self._dsn = dsn
        self._where = redacted(dsn)
        self._connect_timeout_s = connect_timeout_s
        self._command_timeout_s = command_timeout_s
        self._application_name = application_name
        self._connection: asyncpg.Connection | None = None
        self._migrated = False
        self._lock = asyncio.Lock()  # one operation at a time on the one connection

    @property
    def where(self) -> str:
        return self._where

    @property
    def buffered(self) -> int:
        """Articles added but not flushed yet (two versions of one are one article)."""
        return len({item.value[0] for item in self.pending()})

    async def start(self) -> None:
        """Connect and migrate now rather than at the first flush (raises WriterError)."""
        async with self._lock:
            await self._ping_locked()

    async def ping(self) -> None:
        """Reachable and migrated? Skipped while a flush is running (it will tell)."""
        if self._lock.locked():
            return
        async with self._lock:
            await self._ping_locked()

    def prepare(self, record: Mapping[str, Any], raw: bytes) -> tuple[Any, ...]:
        """The row, or RecordRejected before any I/O (see :func:`article_row`); the
        bytes as read are the row's document (no bytes: the record encoded)."""
        return article_row(record, raw or None)

    async def write(self, items: Sequence[BatchItem[tuple[Any, ...]]]) -> FlushResult:
        """Upsert the batch in one transaction. Of two versions of one article the
        later wins: Kafka keeps one article's versions in order on one partition."""
        latest = {item.value[0]: item.value for item in items}
        if not latest:
            return self._result(0, 0)
        # In id order, so two sinks upserting overlapping batches during a
        # rebalance take their row locks in one order and cannot deadlock.
        rows = sorted(latest.values(), key=lambda row: str(row[0]))
        async with self._lock:
            changed = await self._upsert(rows)
        return self._result(changed, len(items) - changed)

    async def release(self) -> None:
        """Close the connection."""
        connection, self._connection = self._connection, None
        if connection is not None and not connection.is_closed():
            try:
                await connection.close(timeout=5)
            except asyncio.CancelledError:
                connection.terminate()
                raise
            except DATABASE_ERRORS:
                connection.terminate()

    # -- internals ----------------------------------------------------------------------

    async def _ping_locked(self) -> None:
        self._check_open()
        connection = await self._connect()
        try:
            await connection.fetchval("SELECT 1")
        except DATABASE_ERRORS as exc:
            self._drop_connection()
            raise WriterError(
                f"PostgreSQL at {self._where} did not answer: {describe(exc)}"
            ) from exc

    def _result(self, written: int, unchanged: int) -> FlushResult:
        return FlushResult(written, unchanged, (f"{self._where}#{TABLE}",))

    async def _upsert(self, rows: list[tuple[Any, ...]]) -> int:
        """COPY into staging and upsert, one transaction; how many rows changed.
        Content the database refuses for good is :class:`BatchRejected` (the base
        finds the record); anything else it raises is a :class:`WriterError`."""
        connection = await self._connect()
        try:
            async with connection.transaction():
                await connection.copy_records_to_table(STAGING_TABLE, records=rows, columns=COLUMNS)
                return int(await connection.fetchval(UPSERT))
        except asyncio.CancelledError:
            self._drop_connection()  # mid-protocol: the connection cannot be trusted
            raise
        except REFUSED_CONTENT as exc:
            raise BatchRejected(self.name, f"PostgreSQL refused the row: {describe(exc)}") from exc
        except DATABASE_ERRORS as exc:
            if isinstance(exc, CONNECTION_ERRORS) or connection.is_closed():
                self._drop_connection()
            raise WriterError(
                f"upserting {len(rows)} articles into {self._where} failed: {describe(exc)}"
            ) from exc

    async def _connect(self) -> asyncpg.Connection:
        """The open connection, or a new one (migrated once per writer, staging table
        created per connection since temporary tables live in a session)."""
        if self._connection is not None and not self._connection.is_closed():
            return self._connection
        self._connection = None
        try:
            connection = await asyncpg.connect(
                self._dsn,
                timeout=self._connect_timeout_s,
                command_timeout=self._command_timeout_s,
                server_settings={"application_name": self._application_name},
            )
        except DATABASE_ERRORS as exc:
            raise WriterError(
                f"cannot connect to PostgreSQL at {self._where}: {describe(exc)}"
            ) from exc
        try:
            await send_jsonb_as_bytes(connection)
            if not self._migrated:
                await migrate(connection)
                self._migrated = True
            await connection.execute(CREATE_STAGING_TABLE)
        except DATABASE_ERRORS as exc:
            connection.terminate()
            raise WriterError(
                f"preparing the schema at {self._where} failed: {describe(exc)}"
            ) from exc
        except BaseException:
            connection.terminate()
            raise
        self._connection = connection
        return connection

    def _drop_connection(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None and not connection.is_closed():
            connection.terminate()


# -- registry hooks (newswire.sink.writers.registry) -----------------------------------


async def open_writer(options: WriterOptions) -> PostgresWriter:
    """Connect and migrate now; if the database is not reachable yet the sink still
    starts: the first flush retries until it is, and ``/readyz`` says not ready
    meanwhile."""
    assert options.postgres_dsn is not None  # registry.check saw to it
    writer = PostgresWriter(
        dsn=options.postgres_dsn,
        connect_timeout_s=options.postgres_connect_timeout_s,
        command_timeout_s=options.postgres_command_timeout_s,
    )
    try:
        await writer.start()
    except WriterError as exc:
        log.warning("PostgreSQL not ready at start, the first flush will retry: %s", exc)
    return writer


def location(options: WriterOptions) -> str:
    """``postgres at host:port/database``; just ``postgres`` when no DSN is configured
    (a writer handed to the sink directly, as tests do)."""
    return f"postgres at {redacted(options.postgres_dsn)}" if options.postgres_dsn else "postgres"
