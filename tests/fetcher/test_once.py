"""``fetch --once --output -``: records on stdout as JSON Lines, one report line per source."""

from __future__ import annotations

import io
from pathlib import Path

import orjson

from newswire.common.schemas import SchemaName, validate
from newswire.common.settings import FetcherSettings
from newswire.fetcher.commands import fetch_once_to_stream
from newswire.fetcher.sources import load_sources
from tests.fetcher.conftest import fetch_once_cli
from tests.fetcher.server import FixtureServer, fixture, static


def sources_file(tmp_path: Path, server: FixtureServer) -> Path:
    server.route("/rss", fixture("rss2.xml"))
    server.route("/ar", fixture("arabic-1256-undeclared.xml", "application/xml"))
    server.route("/limited", static(b"", status=429, headers={"Retry-After": "60"}))
    server.route("/bomb", fixture("billion-laughs.xml"))
    path = tmp_path / "sources.yaml"
    path.write_text(
        f"""
sources:
  - {{id: wire, name: Wire, kind: feed, url: "{server.url("/rss")}"}}
  - {{id: arabic, name: Arabic, kind: feed, url: "{server.url("/ar")}", language: ar}}
  - {{id: limited, name: Limited, kind: feed, url: "{server.url("/limited")}"}}
  - {{id: laughs, name: Laughs, kind: feed, url: "{server.url("/bomb")}"}}
  - {{id: disabled, name: Disabled, kind: feed, url: "https://off.example/", enabled: false}}
""",
        encoding="utf-8",
    )
    return path


async def test_once_to_a_stream(
    tmp_path: Path, server: FixtureServer, fetcher_settings: FetcherSettings
) -> None:
    out, err = io.BytesIO(), io.StringIO()
    # Every source in flight at once: the 429 pauses the whole host, and a source still
    # queued behind it (after the robots.txt request) would wait out Retry-After.
    settings = fetcher_settings.model_copy(update={"per_host_concurrency": 8})
    report = await fetch_once_to_stream(
        load_sources(sources_file(tmp_path, server)), settings, out, err
    )
    records = [orjson.loads(line) for line in out.getvalue().splitlines()]
    for record in records:
        validate(SchemaName.RAW, record)
    assert len(records) == 4 + 3 and report.errors == 2
    lines = {line.split()[0]: line for line in err.getvalue().splitlines()}
    assert set(lines) == {"source=wire", "source=arabic", "source=limited", "source=laughs"}
    assert "outcome=items items=4" in lines["source=wire"]
    assert "error=rate_limited status=429" in lines["source=limited"]
    assert "error=unsafe_xml" in lines["source=laughs"]


async def test_the_cli_end_to_end(tmp_path: Path, server: FixtureServer) -> None:
    path = sources_file(tmp_path, server)
    # As above, every source in flight at once (and not spaced): one queued behind the
    # 429 would be told the host is paused, not read.
    env = {"FETCHER_PER_HOST_CONCURRENCY": "8", "FETCHER_PER_HOST_SPACING_S": "0"}
    code, stdout, stderr = await fetch_once_cli(path, env=env)
    assert code == 1, stderr.decode()  # two sources failed, and said so
    titles = {orjson.loads(line)["title"] for line in stdout.splitlines()}
    assert "رئيس الوزراء يلتقي وفدا من إقليم كردستان في بغداد" in titles
    lines = stderr.decode().splitlines()
    report = [line for line in lines if line.startswith("source=")]
    assert len(report) == 4
    assert lines[-1] == "newswire fetch: incomplete: 2 sources failed; 4 sources polled, 7 items"


async def test_without_the_allow_list_loopback_is_refused(
    tmp_path: Path, server: FixtureServer
) -> None:
    out, err = io.BytesIO(), io.StringIO()
    report = await fetch_once_to_stream(
        load_sources(sources_file(tmp_path, server)),
        FetcherSettings(web_port=0, per_host_spacing_s=0),
        out,
        err,
    )
    assert report.errors == 4 and out.getvalue() == b""
    assert all("error=blocked_address" in line for line in err.getvalue().splitlines())
    assert sum(server.hits.values()) == 0


async def test_a_feed_read_only_in_part_is_incomplete_and_its_counts_agree(
    tmp_path: Path, server: FixtureServer
) -> None:
    """A truncated feed keeps its complete items but the poll says it was read only in
    part (exit 1, a closing line); the status line counts what the log line counts."""
    cut = server.route("/cut", fixture("rss-truncated-mid-item.xml"))
    unclosed = server.route("/unclosed", fixture("rss-truncated-unclosed-title.xml"))
    path = tmp_path / "sources.yaml"
    path.write_text(
        f"""
sources:
  - {{id: cut, name: Cut, kind: feed, url: "{cut}"}}
  - {{id: unclosed, name: Unclosed, kind: feed, url: "{unclosed}"}}
""",
        encoding="utf-8",
    )
    code, stdout, stderr = await fetch_once_cli(path, env={"FETCHER_PER_HOST_SPACING_S": "0"})
    assert code == 1, stderr.decode()
    assert len(stdout.splitlines()) == 2  # the complete items of the cut feed are kept
    lines = stderr.decode().splitlines()
    status = {line.split()[0]: line for line in lines if line.startswith("source=")}
    assert (
        "outcome=incomplete items=2 listed=2 skipped=1 (cut off by the truncation: 1)"
        in (status["source=cut"])
    )
    assert (
        "outcome=incomplete items=0 listed=0 skipped=1 (no title, summary or content: 1)"
        in status["source=unclosed"]
    )
    assert any("0 entries kept, skipped 1 (no title, summary or content)" in x for x in lines)
    assert lines[-1] == (
        "newswire fetch: incomplete: 2 sources read only in part (outcome=incomplete); "
        "2 sources polled, 2 items"
    )


async def test_a_run_that_read_everything_ends_with_ok(
    tmp_path: Path, server: FixtureServer
) -> None:
    path = tmp_path / "sources.yaml"
    url = server.route("/rss", fixture("rss2.xml"))
    path.write_text(f'sources:\n  - {{id: wire, name: Wire, kind: feed, url: "{url}"}}\n')
    code, _, stderr = await fetch_once_cli(path)
    assert code == 0, stderr.decode()
    assert stderr.decode().splitlines()[-1] == "newswire fetch: ok: 1 source polled, 4 items"
