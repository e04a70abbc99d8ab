"""Which writers a sink runs, from configuration.

``SINK_WRITERS`` names them (any of :mod:`newswire.sink.writers.registry`,
comma-separated). Unset, the sink writes JSON Lines (as it always has) and also
PostgreSQL when ``SINK_POSTGRES_DSN`` is set, so adding a DSN is all a deployment
needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from newswire.common.dsn import check_postgres_dsn
from newswire.common.settings import Settings
from newswire.sink.writers import registry
from newswire.sink.writers.base import Writer
from newswire.sink.writers.registry import SinkConfigError

JSONL = "jsonl"
POSTGRES = "postgres"

__all__ = ["JSONL", "POSTGRES", "SinkConfigError", "WriterOptions"]


def parse_writer_names(
    value: Any, *, postgres_configured: bool, source: str = "SINK_WRITERS"
) -> tuple[str, ...]:
    """``"jsonl,postgres"`` (or a list) -> names; unset -> the default described above.
    ``source`` is what the user set (the variable, or ``--writers``), for the error."""
    if value is None or value == "" or value == []:
        return (JSONL, POSTGRES) if postgres_configured else (JSONL,)
    items = value.split(",") if isinstance(value, str) else list(value)
    names = tuple(dict.fromkeys(str(item).strip().lower() for item in items if str(item).strip()))
    known = registry.known()
    unknown = [name for name in names if name not in known]
    if unknown or not names:
        raise SinkConfigError(
            f"{source}={value!r}: unknown writer(s) {unknown}; use {', '.join(known)}"
        )
    return names


@dataclass(frozen=True)
class WriterOptions:
    """Everything the writers need, taken from ``SinkSettings``."""

    writers: tuple[str, ...] = (JSONL,)
    out_dir: Path = Path("out")
    jsonl_index_window_s: float = 7 * 24 * 3600.0
    postgres_dsn: str | None = None
    postgres_connect_timeout_s: float = 10.0
    postgres_command_timeout_s: float = 60.0

    def __post_init__(self) -> None:
        for name in self.writers:
            registry.check(name, self)

    @classmethod
    def from_settings(
        cls, settings: Settings, *, writers_source: str = "SINK_WRITERS"
    ) -> WriterOptions:
        """The options the configuration asks for. This is where the user's DSN
        (``SINK_POSTGRES_DSN`` or ``--postgres``) enters the sink, so it is checked
        here, once: :class:`~newswire.common.dsn.InvalidDsn`, one line, before
        anything connects; so are the writer names (``writers_source``: what the user
        set them with, for the error). Options built in code (a benchmark, a test) come with a
        DSN their caller checked, and the writer takes it as given."""
        sink = settings.sink
        dsn = sink.postgres_dsn.get_secret_value() if sink.postgres_dsn is not None else None
        if dsn is not None:
            check_postgres_dsn(dsn, source="SINK_POSTGRES_DSN (--postgres)")
        return cls(
            writers=parse_writer_names(
                sink.writers, postgres_configured=bool(dsn), source=writers_source
            ),
            out_dir=sink.out_dir,
            jsonl_index_window_s=sink.index_window_s,
            postgres_dsn=dsn,
            postgres_connect_timeout_s=sink.postgres_connect_timeout_s,
            postgres_command_timeout_s=sink.postgres_command_timeout_s,
        )


async def build_writers(options: WriterOptions) -> list[Writer]:
    """Open the configured writers, in the order given (which is the flush order).

    If opening one writer fails, those already opened are closed again.
    """
    writers: list[Writer] = []
    try:
        for name in options.writers:
            writers.append(await registry.open_writer(name, options))
    except BaseException:
        for writer in writers:
            await writer.close()
        raise
    return writers
