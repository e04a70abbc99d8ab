"""Versioned SQL migrations of the sink's PostgreSQL schema.

Files are named ``NNNN_description.sql`` and applied in version order, each once;
the ``schema_migrations`` table records which ones a database has, with a checksum
of the file, so an edited migration that was already applied is noticed instead of
silently diverging. Migrations are append-only: fix a mistake with a new file.

This module only finds and reads them; applying is the writer's job
(:func:`newswire.sink.writers.postgres.migrate`), which needs a connection.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import re
from dataclasses import dataclass

from newswire.common.errors import NewswireError

FILE_NAME = re.compile(r"^(?P<version>\d{4})_(?P<name>[a-z0-9_]+)\.sql$")


class MigrationFileError(NewswireError):
    """The shipped migration files are inconsistent (a packaging or editing mistake)."""


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        """SHA-256 of the SQL text: what ``schema_migrations`` remembers."""
        return hashlib.sha256(self.sql.encode()).hexdigest()


def load_migrations(package: str = __name__) -> list[Migration]:
    """Every ``NNNN_*.sql`` file of ``package``, in version order.

    Raises :class:`MigrationFileError` for two files with one version or a gap in
    the sequence: either means a migration was lost or mis-numbered, and applying
    the rest would build a schema nobody tested.
    """
    migrations: list[Migration] = []
    for resource in importlib.resources.files(package).iterdir():
        match = FILE_NAME.match(resource.name)
        if match is None:
            continue
        migrations.append(
            Migration(int(match["version"]), match["name"], resource.read_text(encoding="utf-8"))
        )
    migrations.sort(key=lambda m: m.version)
    versions = [m.version for m in migrations]
    if versions != list(range(1, len(versions) + 1)):
        raise MigrationFileError(
            f"migrations in {package} must be numbered 1, 2, 3 ... without gaps or repeats; "
            f"found {versions}"
        )
    return migrations
