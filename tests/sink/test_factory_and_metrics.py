"""Writers from configuration; readiness rules; the HTTP server on a real socket."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest
from aiokafka import TopicPartition
from pydantic import SecretStr

from newswire.common.dsn import InvalidDsn
from newswire.common.settings import Settings, SinkSettings
from newswire.sink.metrics import HttpOptions, Readiness, SinkMetrics, health_server
from newswire.sink.writers import JsonLinesWriter
from newswire.sink.writers.factory import (
    SinkConfigError,
    WriterOptions,
    build_writers,
    parse_writer_names,
)
from newswire.sink.writers.postgres import PostgresWriter

CLOSED_PORT_DSN = "postgresql://nobody@127.0.0.1:9/none"


def settings_for(out: Path) -> Settings:
    return Settings(sink=SinkSettings(out_dir=out))


@pytest.mark.parametrize(
    ("value", "postgres", "expected"),
    [
        (None, False, ("jsonl",)),
        (None, True, ("jsonl", "postgres")),
        ("postgres", True, ("postgres",)),
        (" JSONL , postgres,jsonl", True, ("jsonl", "postgres")),
    ],
)
def test_writer_names(value: str | None, postgres: bool, expected: tuple[str, ...]) -> None:
    assert parse_writer_names(value, postgres_configured=postgres) == expected


def test_unknown_writer_is_a_config_error() -> None:
    with pytest.raises(SinkConfigError, match="s3"):
        parse_writer_names("jsonl,s3", postgres_configured=False)


def test_options_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SINK_POSTGRES_DSN", CLOSED_PORT_DSN)
    monkeypatch.setenv("SINK_POSTGRES_CONNECT_TIMEOUT_S", "2.5")
    options = WriterOptions.from_settings(Settings(sink=SinkSettings(out_dir=tmp_path)))
    assert options.writers == ("jsonl", "postgres")
    assert options.out_dir == tmp_path
    assert options.postgres_dsn == CLOSED_PORT_DSN
    assert options.postgres_connect_timeout_s == 2.5


def test_a_dsn_that_is_not_postgresql_is_refused_where_it_enters(tmp_path: Path) -> None:
    """Checked once, where the configuration becomes the writers' options; the
    message names the setting and never repeats the DSN (it holds a password)."""
    dsn = SecretStr("mysql://user:secret@db/news")
    with pytest.raises(InvalidDsn, match=r"SINK_POSTGRES_DSN \(--postgres\) must be") as raised:
        WriterOptions.from_settings(Settings(sink=SinkSettings(out_dir=tmp_path, postgres_dsn=dsn)))
    assert "secret" not in str(raised.value)


def test_postgres_without_dsn_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(SinkConfigError, match="SINK_POSTGRES_DSN"):
        WriterOptions.from_settings(
            Settings(sink=SinkSettings(out_dir=tmp_path, writers="postgres"))
        )


async def test_build_writers_opens_each_even_with_the_database_down(tmp_path: Path) -> None:
    options = WriterOptions(
        writers=("jsonl", "postgres"),
        out_dir=tmp_path,
        postgres_dsn=CLOSED_PORT_DSN,
        postgres_connect_timeout_s=1.0,
    )
    writers = await build_writers(options)
    try:
        assert [type(w) for w in writers] == [JsonLinesWriter, PostgresWriter]
    finally:
        for writer in writers:
            await writer.close()


def test_http_options_default_and_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert HttpOptions.from_settings(settings_for(tmp_path)) == HttpOptions("0.0.0.0", 6068)
    monkeypatch.setenv("SINK_HTTP_PORT", "7001")
    monkeypatch.setenv("SINK_HTTP_HOST", "127.0.0.1")
    assert HttpOptions.from_settings(Settings(sink=SinkSettings(out_dir=tmp_path))) == HttpOptions(
        "127.0.0.1", 7001
    )


def test_readiness_needs_assignment_and_every_writer() -> None:
    readiness = Readiness()
    readiness.track("jsonl", known_ok=True)
    readiness.track("postgres", known_ok=False)
    assert not readiness.status().ready  # nothing assigned, database not checked
    readiness.watch_assignment(lambda: True)
    assert readiness.status().writers["postgres"] == {"ok": False, "reason": "not checked yet"}
    readiness.probe_succeeded("postgres")
    assert readiness.status().ready


def test_a_failing_flush_is_cleared_only_by_a_flush() -> None:
    readiness = Readiness()
    readiness.watch_assignment(lambda: True)
    readiness.track("postgres", known_ok=True)
    readiness.flush_failed("postgres", "connection refused")
    readiness.probe_succeeded("postgres")  # reachable, but the batch still fails
    assert not readiness.status().ready
    readiness.flush_succeeded("postgres")
    assert readiness.status().ready
    readiness.probe_failed("postgres", "timeout")
    assert readiness.status().writers["postgres"] == {"ok": False, "reason": "timeout"}
    readiness.probe_succeeded("postgres")
    assert readiness.status().ready


def test_lag_series_follow_the_assignment() -> None:
    metrics = SinkMetrics()
    metrics.set_lag({TopicPartition("t", 0): 5, TopicPartition("t", 1): 0})
    assert (
        metrics.registry.get_sample_value(
            "newswire_sink_consumer_lag", {"topic": "t", "partition": "0"}
        )
        == 5
    )
    metrics.set_lag({TopicPartition("t", 1): 2})
    assert (
        metrics.registry.get_sample_value(
            "newswire_sink_consumer_lag", {"topic": "t", "partition": "0"}
        )
        is None
    )


async def test_http_endpoints() -> None:
    metrics = SinkMetrics()
    readiness = Readiness(metrics)
    readiness.track("postgres", known_ok=False)
    metrics.records_written.labels("postgres").inc(3)
    server = health_server(metrics, readiness, HttpOptions("127.0.0.1", 0))
    port = await server.start()
    try:
        async with aiohttp.ClientSession(base_url=f"http://127.0.0.1:{port}") as session:
            async with session.get("/healthz") as response:
                assert response.status == 200
            async with session.get("/readyz") as response:
                assert response.status == 503
                body = await response.json()
                assert body["assigned"] is False and body["writers"]["postgres"]["ok"] is False
            readiness.watch_assignment(lambda: True)
            readiness.probe_succeeded("postgres")
            async with session.get("/readyz") as response:
                assert response.status == 200
            async with session.get("/metrics") as response:
                assert response.status == 200
                assert response.content_type == "text/plain"
                page = await response.text()
    finally:
        await server.stop()
    assert 'newswire_sink_records_written_total{writer="postgres"} 3.0' in page
    assert "newswire_sink_ready 1.0" in page
