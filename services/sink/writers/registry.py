"""Every writer the sink can run, by the name ``SINK_WRITERS`` uses.

An entry names the module that holds the writer and the options it cannot run
without; the module is imported only when the writer is used (so asyncpg loads
only for a sink that writes to PostgreSQL). A writer module provides:

* ``async def open_writer(options: WriterOptions) -> Writer`` - open it, ready to
  take records (a remote destination that is down is not an error here: the first
  flush retries until it is up);
* ``def location(options: WriterOptions) -> str`` - where it writes, for the sink's
  start line (no credentials).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, cast

from newswire.common.errors import NewswireError
from newswire.sink.writers.base import Writer

if TYPE_CHECKING:
    from newswire.sink.writers.factory import WriterOptions


class SinkConfigError(NewswireError):
    """The sink's writer configuration is inconsistent; the message names the variable."""


@dataclass(frozen=True)
class WriterSpec:
    """One writer: its name, its module and the options it needs."""

    name: str
    module: str
    #: (WriterOptions field, environment variable) pairs that must be set.
    needs: tuple[tuple[str, str], ...] = ()


class WriterModule(Protocol):
    """What a writer module defines (see the module docstring)."""

    async def open_writer(self, options: WriterOptions) -> Writer: ...

    def location(self, options: WriterOptions) -> str: ...


WRITERS: dict[str, WriterSpec] = {
    spec.name: spec
    for spec in (
        WriterSpec("jsonl", "newswire.sink.writers.jsonl"),
        WriterSpec(
            "postgres",
            "newswire.sink.writers.postgres",
            needs=(("postgres_dsn", "SINK_POSTGRES_DSN"),),
        ),
    )
}


def known() -> tuple[str, ...]:
    """The names of every writer, in registry order."""
    return tuple(WRITERS)


def spec(name: str) -> WriterSpec:
    try:
        return WRITERS[name]
    except KeyError:
        raise SinkConfigError(f"unknown writer {name!r}; use {', '.join(WRITERS)}") from None


def check(name: str, options: WriterOptions) -> None:
    """SinkConfigError when ``options`` lack what writer ``name`` needs."""
    for field, variable in spec(name).needs:
        if not getattr(options, field):
            raise SinkConfigError(f"SINK_WRITERS includes {name} but {variable} is not set")


def writer_module(name: str) -> WriterModule:
    """The module of writer ``name``, imported now."""
    return cast(WriterModule, importlib.import_module(spec(name).module))


async def open_writer(name: str, options: WriterOptions) -> Writer:
    return await writer_module(name).open_writer(options)


def describe(name: str, options: WriterOptions) -> str:
    """Where writer NAME writes, for the start line."""
    return writer_module(name).location(options)
