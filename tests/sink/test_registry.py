"""The writer registry: every writer by name, its module loaded only when used."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

from newswire.sink.writers import JsonLinesWriter, registry
from newswire.sink.writers.factory import WriterOptions, build_writers, parse_writer_names
from newswire.sink.writers.registry import SinkConfigError, WriterSpec
from tests.sink.memory import MemoryWriter

DSN = "postgresql://sink:s3cret@db.internal:5433/news"


def test_the_shipped_writers_are_registered() -> None:
    assert registry.known() == ("jsonl", "postgres")


@pytest.mark.parametrize("name", registry.known())
def test_every_writer_module_provides_the_hooks(name: str) -> None:
    module = importlib.import_module(registry.spec(name).module)
    assert callable(module.open_writer) and callable(module.location)


def test_where_a_writer_writes_says_no_password(tmp_path: Path) -> None:
    options = WriterOptions(writers=("jsonl", "postgres"), out_dir=tmp_path, postgres_dsn=DSN)
    assert registry.describe("jsonl", options) == f"jsonl to {tmp_path}"
    assert registry.describe("postgres", options) == "postgres at db.internal:5433/news"


def test_a_writer_without_what_it_needs_is_a_config_error() -> None:
    with pytest.raises(SinkConfigError, match="includes postgres but SINK_POSTGRES_DSN"):
        WriterOptions(writers=("postgres",))
    with pytest.raises(SinkConfigError, match="unknown writer 's3'"):
        registry.spec("s3")


def test_asyncpg_loads_only_for_a_sink_that_writes_to_postgresql(tmp_path: Path) -> None:
    """In a fresh interpreter: the sink, configured for JSON Lines, never imports it."""
    script = (
        "import asyncio, sys\n"
        "from newswire.sink import service\n"
        "from newswire.sink.writers import registry\n"
        "from newswire.sink.writers.factory import WriterOptions, build_writers\n"
        f"options = WriterOptions(out_dir={str(tmp_path)!r})\n"
        "writers = asyncio.run(build_writers(options))\n"
        "registry.describe('jsonl', options)\n"
        "assert 'asyncpg' not in sys.modules, 'asyncpg was imported'\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


# -- a writer added by one module and its registry entry -------------------------------


async def open_writer(options: WriterOptions) -> MemoryWriter:
    """The hooks of a writer this test module registers (see the test below)."""
    return MemoryWriter("memory", [])


def location(options: WriterOptions) -> str:
    return "memory"


async def test_a_registered_writer_is_built_by_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(registry.WRITERS, "memory", WriterSpec("memory", __name__))
    names = parse_writer_names("jsonl, memory", postgres_configured=False)
    writers = await build_writers(WriterOptions(writers=names, out_dir=tmp_path))
    try:
        assert [type(w) for w in writers] == [JsonLinesWriter, MemoryWriter]
        assert registry.describe("memory", WriterOptions()) == "memory"
    finally:
        for writer in writers:
            await writer.close()
