"""``fetch --once --output -`` (the way to try a source) tells the truth about Kafka
mode: an item Kafka would dead-letter as too large is printed all the same, but said on
its status line and on the closing line, and the run exits 1 as Kafka mode would; the
``items=`` of the status lines add up to the closing line's items."""

from __future__ import annotations

import asyncio
import io
import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest
from aiokafka.errors import MessageSizeTooLargeError

from newswire.common.kafka import new_producer
from newswire.common.publish import too_large_for_kafka
from newswire.common.records import encode, raw_article
from newswire.common.schemas import SchemaName, record_headers
from newswire.common.settings import FetcherSettings, KafkaSettings
from newswire.fetcher.commands import fetch_once_to_stream
from newswire.fetcher.sources import Source, SourceKind
from tests.fetcher.conftest import fetch_once_cli
from tests.fetcher.server import FixtureServer, fixture, fixture_bytes, static

#: The smallest KAFKA_MAX_MESSAGE_BYTES: the fixture's long item (81,000 bytes of
#: Arabic text) is over it, its three short items far below.
LIMIT = 64 * 1024


def wire(server: FixtureServer) -> list[Source]:
    server.route("/big", static(fixture_bytes("rss2-one-item-too-large.xml")))
    server.route("/rss", fixture("rss2.xml"))
    return [
        Source(id="big", name="Big", kind=SourceKind.FEED, url=server.url("/big")),
        Source(id="wire", name="Wire", kind=SourceKind.FEED, url=server.url("/rss")),
    ]


async def test_an_item_kafka_would_dead_letter_is_printed_and_said(
    server: FixtureServer, fetcher_settings: FetcherSettings
) -> None:
    out, err = io.BytesIO(), io.StringIO()
    report = await fetch_once_to_stream(
        wire(server), fetcher_settings, out, err, max_message_bytes=LIMIT
    )
    guids = [orjson.loads(line)["guid"] for line in out.getvalue().splitlines()]
    assert "big" in guids and len(guids) == 4 + 4, "the user asked for the output: all of it"
    lines = {line.split()[0]: line for line in err.getvalue().splitlines()}
    assert "items=4 listed=4 would_dead_letter=1 (too large for Kafka, over " in lines["source=big"]
    assert "KAFKA_MAX_MESSAGE_BYTES" in lines["source=big"]
    assert "would_dead_letter" not in lines["source=wire"]
    code, closing = report.closing()
    assert code == 1
    assert closing == (
        "newswire fetch: incomplete: 1 item would go to the dead-letter topic in Kafka mode, "
        "too large for Kafka (over KAFKA_MAX_MESSAGE_BYTES; written here all the same); "
        "2 sources polled, 8 items"
    )


async def test_the_status_lines_add_up_to_the_closing_line(
    server: FixtureServer, fetcher_settings: FetcherSettings
) -> None:
    out, err = io.BytesIO(), io.StringIO()
    report = await fetch_once_to_stream(
        wire(server), fetcher_settings, out, err, max_message_bytes=LIMIT
    )
    shown = [
        int(part.removeprefix("items="))
        for line in err.getvalue().splitlines()
        for part in line.split()
        if part.startswith("items=")
    ]
    assert sum(shown) == report.records == len(out.getvalue().splitlines())


async def test_under_the_default_limit_nothing_is_said(
    server: FixtureServer, fetcher_settings: FetcherSettings
) -> None:
    out, err = io.BytesIO(), io.StringIO()
    report = await fetch_once_to_stream(
        wire(server), fetcher_settings, out, err, max_message_bytes=4 * 1024 * 1024
    )
    assert report.closing() == (0, "newswire fetch: ok: 2 sources polled, 8 items")
    assert "would_dead_letter" not in err.getvalue()


async def test_the_command_exits_1_and_names_the_setting(
    tmp_path: Path, server: FixtureServer
) -> None:
    url = server.route("/big", static(fixture_bytes("rss2-one-item-too-large.xml")))
    path = tmp_path / "sources.yaml"
    path.write_text(f'sources:\n  - {{id: big, name: Big, kind: feed, url: "{url}"}}\n')
    code, stdout, stderr = await fetch_once_cli(path, env={"KAFKA_MAX_MESSAGE_BYTES": str(LIMIT)})
    assert code == 1, stderr.decode()
    assert len(stdout.splitlines()) == 4
    last = stderr.decode().splitlines()[-1]
    assert "1 item would go to the dead-letter topic in Kafka mode" in last
    assert "KAFKA_MAX_MESSAGE_BYTES" in last and last.endswith("1 source polled, 4 items")


@pytest.mark.parametrize("extra", [-200, -80, -1, 0, 1, 80, 200])
async def test_the_dry_run_refuses_exactly_what_the_producer_refuses(extra: int) -> None:
    """One definition of too large: a real producer made as the services make it
    (max_request_size = KAFKA_MAX_MESSAGE_BYTES) refuses a record iff the dry run says
    Kafka mode would dead-letter it, also within the batch overhead of the limit."""
    producer = new_producer(KafkaSettings(bootstrap_servers="127.0.0.1:9", max_message_bytes=LIMIT))
    record = raw_article(source={"kind": "feed", "id": "wire"}, text="")
    key, headers = record["id"], record_headers(SchemaName.RAW)
    room = LIMIT - (len(encode(record)) + len(key) + sum(len(k) + len(v) for k, v in headers))
    record["text"] = "x" * (room + extra)
    try:
        producer._serialize(key.encode(), encode(record), headers)  # what send() checks
        producer_refuses = False
    except MessageSizeTooLargeError:
        producer_refuses = True
    refused = too_large_for_kafka(key, record, SchemaName.RAW, LIMIT)
    assert (refused is not None) == producer_refuses
    assert refused is None or "KAFKA_MAX_MESSAGE_BYTES" in str(refused)


def test_fetch_help_lists_the_too_large_dead_letter_as_an_exit_1_cause() -> None:
    env = dict(os.environ) | {"COLUMNS": "300", "TERMINAL_WIDTH": "300"}
    done = subprocess.run(
        [sys.executable, "-m", "newswire", "fetch", "--help"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    text = " ".join(done.stdout.replace("│", " ").split())
    assert done.returncode == 0, done.stderr
    assert "or an item was dead-lettered as too large for Kafka" in text
    assert "KAFKA_MAX_MESSAGE_BYTES" in text


async def test_a_doubtful_declared_charset_is_named_on_the_closing_line_exit_0(
    tmp_path: Path, server: FixtureServer
) -> None:
    """The declaration wins (as in browsers), so the run is ok, but the closing line
    says mojibake may go downstream: an operator does not read every status line."""
    mislabel = server.route("/mislabel", fixture("latin1-declared-1256.xml", "text/xml"))
    rss = server.route("/rss", fixture("rss2.xml"))
    path = tmp_path / "sources.yaml"
    path.write_text(
        "sources:\n"
        f'  - {{id: mislabel, name: M, kind: feed, url: "{mislabel}"}}\n'
        f'  - {{id: wire, name: Wire, kind: feed, url: "{rss}"}}\n'
    )
    code, _, stderr = await fetch_once_cli(path)
    assert code == 0, stderr.decode()
    last = stderr.decode().splitlines()[-1]
    assert last.startswith("newswire fetch: ok: 2 sources polled, ")
    assert last.endswith(
        "; 1 source decoded with a doubtful declared charset (source=mislabel "
        "encoding=iso-8859-1 (declared, looks like windows-1256); see its status line, "
        "set the source's encoding)"
    )


async def test_a_run_without_doubt_says_nothing_of_charsets(
    server: FixtureServer, fetcher_settings: FetcherSettings
) -> None:
    out, err = io.BytesIO(), io.StringIO()
    report = await fetch_once_to_stream(wire(server), fetcher_settings, out, err)
    assert "charset" not in report.closing()[1]


async def test_a_blocked_loopback_source_says_it_in_one_line(
    tmp_path: Path, server: FixtureServer
) -> None:
    """One cause, one line: the status line. The robots.txt request, refused by the
    same network guard, used to add a JSON warning before it."""
    url = server.route("/rss", fixture("rss2.xml"))
    path = tmp_path / "sources.yaml"
    path.write_text(f'sources:\n  - {{id: local, name: L, kind: feed, url: "{url}"}}\n')
    command = [sys.executable, "-m", "newswire", "fetch", "--sources", str(path), "--once"]
    done = await asyncio.to_thread(
        subprocess.run,
        [*command, "--output", "-"],  # no --allow-network: loopback is refused
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert done.stdout == "" and sum(server.hits.values()) == 0
    status, closing = done.stderr.splitlines()
    assert status.startswith("source=local kind=feed outcome=error error=blocked_address ")
    assert closing == "newswire fetch: incomplete: 1 source failed; 1 source polled, 0 items"
