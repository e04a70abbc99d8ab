"""``newswire audit``: read everything once, account for every raw record, say what is lost.

The glue between the CLI, the readers and the ledger. Sources are read upstream
first (news.raw, news.enriched, news.dlq, then the outputs), each up to the end it
had when its read began, so on a pipeline that is still draining the audit errs
towards "enriched" rather than false alarms; run it on a quiet pipeline for an
exact answer: records still in flight show as lost.

Outputs: JSON Lines (``--out``) must hold every version (id, content hash) on
news.enriched, PostgreSQL (``--postgres``) the latest version of each id; versions
the sink dead-lettered for that writer are excused. Output records that are not on
the topic are listed but do not fail the audit (retention may have removed them).
Memory grows with the number of records (ids, hashes, positions, 16-byte digests;
roughly 300 bytes a record), never with their size.

Exit status: 0 nothing lost and every output complete and equal to the topic;
1 something lost, missing, differing or torn (with ENRICHER_DROP_DUPLICATES on,
raw records without an enriched record may have been dropped rather than lost:
they fail the audit too unless ``--allow-dropped``); 2 usage error or a source
that cannot be read; 3 Kafka did not answer (one line on stderr, no traceback; with
``--json`` also ``{"ok": false, "error": ...}`` on stdout).
"""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated

import typer

from newswire.common.settings import Settings

if TYPE_CHECKING:  # imported when used: ``newswire --help`` stays fast
    from newswire.audit.ledger import Ledger
    from newswire.audit.report import Sources
    from newswire.common.progress import Progress


@dataclass(frozen=True)
class AuditOptions:
    out: Path | None = None
    postgres: str | None = None
    as_json: bool = False
    allow_dropped: bool = False
    drop_duplicates: bool | None = None  # None: ENRICHER_DROP_DUPLICATES
    ids: tuple[str, ...] = ()
    timeout_s: float = 10.0


def _article_ids(values: list[str] | None) -> list[str] | None:
    """``--id``: article ids (case ignored); anything else is a usage error naming it,
    not an audit that finds it 'not seen anywhere'."""
    from newswire.common.ids import is_article_id

    ids = [value.strip().lower() for value in values or ()]
    bad = [value for value, id_ in zip(values or (), ids, strict=True) if not is_article_id(id_)]
    if bad:
        raise typer.BadParameter(f"{bad[0]!r} is not an article id (32 hex digits)")
    return ids or None


def audit(
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", exists=True, file_okay=False, help="The sink's JSON Lines directory to check."
        ),
    ] = None,
    postgres: Annotated[
        str | None,
        typer.Option("--postgres", help="DSN of the sink's PostgreSQL database to check."),
    ] = None,
    as_json: Annotated[
        bool,
        typer.Option("--json", help="Print a machine-readable report (complete lists) instead."),
    ] = False,
    allow_dropped: Annotated[
        bool,
        typer.Option(
            "--allow-dropped",
            help="With drop-duplicates on, do not fail for raw records that may have been dropped.",
        ),
    ] = False,
    drop_duplicates: Annotated[
        bool | None,
        typer.Option(
            "--drop-duplicates/--no-drop-duplicates",
            help="How the enricher ran; default: ENRICHER_DROP_DUPLICATES.",
            show_default=False,
        ),
    ] = None,
    ids: Annotated[
        list[str] | None,
        typer.Option(
            "--id",
            callback=_article_ids,
            help="Also show every trace of this article id (32 hex digits; repeatable).",
        ),
    ] = None,
    timeout: Annotated[
        float,
        typer.Option(
            min=0.1,
            help="Seconds to wait for Kafka, and for PostgreSQL, to answer before giving up "
            "(exit 3): what --kafka-timeout is to the other commands; not a limit on the audit.",
        ),
    ] = 10.0,
) -> None:
    """Account for every raw record by article id: enriched, redelivered, dead-lettered or lost;
    duplicate emissions; and whether the sink's outputs hold exactly what the topic holds.
    Exit 0 all accounted, 1 something lost or differing, 2 usage error or an unreadable
    input, 3 Kafka did not answer."""
    from newswire.cli.settings import cli_settings

    settings = cli_settings("audit")
    options = AuditOptions(
        out, postgres, as_json, allow_dropped, drop_duplicates, tuple(ids or ()), timeout
    )
    try:
        code = asyncio.run(run_audit(settings, options))
    except KeyboardInterrupt:
        _fail(sys.stderr, "interrupted")
        code = 130  # as a shell reports SIGINT
    raise typer.Exit(code)


def _fail(stderr: IO[str], message: str, code: int = 2, *, json_out: IO[str] | None = None) -> int:
    """One line on stderr; with ``--json`` also a JSON answer on stdout, so a script that
    parses stdout reads why rather than an empty string."""
    print(f"newswire audit: {message}", file=stderr, flush=True)
    if json_out is not None:
        import orjson

        json_out.write(orjson.dumps({"ok": False, "error": message, "exit": code}).decode() + "\n")
        json_out.flush()
    return code


async def run_audit(
    settings: Settings,
    options: AuditOptions,
    *,
    stdout: IO[str] | None = None,
    stderr: IO[str] | None = None,
) -> int:
    """The whole audit; returns the exit status (see the module docstring)."""
    import orjson
    from aiokafka.errors import KafkaError

    from newswire.audit.ledger import Ledger
    from newswire.audit.readers import AuditInputError, check_postgres
    from newswire.audit.report import Sources, as_json, render_text, summary_line
    from newswire.cli.exits import EXIT_UNREACHABLE, EXIT_USAGE, unreachable_line
    from newswire.common.dsn import InvalidDsn, check_postgres_dsn
    from newswire.common.kafka import KafkaUnreachable, require_broker
    from newswire.common.progress import progress_on

    stdout, stderr = stdout or sys.stdout, stderr or sys.stderr

    def fail(message: str, code: int = EXIT_USAGE) -> int:
        return _fail(stderr, message, code, json_out=stdout if options.as_json else None)

    if options.postgres:
        try:
            check_postgres_dsn(options.postgres, source="--postgres")
        except InvalidDsn as exc:
            return fail(str(exc))
    kafka = settings.kafka
    try:
        await require_broker(kafka, timeout_s=options.timeout_s)
    except KafkaUnreachable:
        return fail(unreachable_line(kafka, options.timeout_s), EXIT_UNREACHABLE)
    drop = (
        settings.enricher.drop_duplicates
        if options.drop_duplicates is None
        else options.drop_duplicates
    )
    ledger = Ledger(
        raw_topic=settings.topics.raw,
        enriched_topic=settings.topics.enriched,
        drop_duplicates=drop,
        allow_dropped=options.allow_dropped,
        watch=frozenset(options.ids),
    )
    sources = Sources(kafka=kafka.bootstrap)
    try:
        if options.postgres:
            await check_postgres(options.postgres, timeout_s=options.timeout_s)
        with progress_on(stderr, "audit") as progress:
            await _read_sources(settings, options, ledger, sources, progress)
    except AuditInputError as exc:
        return fail(str(exc))
    except KafkaError as exc:
        message = f"reading from Kafka at {kafka.bootstrap} failed: {type(exc).__name__}: {exc}"
        return fail(message, EXIT_UNREACHABLE)
    except OSError as exc:
        return fail(f"cannot read {exc.filename or options.out}: {exc.strerror or exc}")
    report = ledger.report()
    if options.as_json:
        stdout.write(
            orjson.dumps(as_json(report, sources), option=orjson.OPT_INDENT_2).decode() + "\n"
        )
        print(summary_line(report), file=stderr)
    else:
        stdout.write("\n".join(render_text(report, sources)) + "\n")
    stdout.flush()
    return 0 if report.ok else 1


async def _read_sources(
    settings: Settings, options: AuditOptions, ledger: Ledger, sources: Sources, progress: Progress
) -> None:
    """Feed every source to the ledger, upstream first (see the module docstring)."""
    from newswire.audit.ledger import OutputMode
    from newswire.audit.readers import (
        JSONL_WRITER,
        POSTGRES_WRITER,
        AuditInputError,
        enriched_observation,
        letter_observation,
        raw_observation,
        scan_jsonl,
        scan_postgres,
        scan_topic,
    )

    kafka, topics = settings.kafka, settings.topics
    sources.topics["raw"] = await scan_topic(
        kafka, topics.raw, lambda p, o, k, v: ledger.add(raw_observation(p, o, k, v)), progress
    )
    if not sources.topics["raw"].exists:
        raise AuditInputError(
            f"topic {topics.raw} does not exist at {kafka.bootstrap} (TOPIC_RAW?)"
        )
    sources.topics["enriched"] = await scan_topic(
        kafka,
        topics.enriched,
        lambda p, o, k, v: ledger.add(enriched_observation(p, o, v)),
        progress,
    )
    sources.topics["dlq"] = await scan_topic(
        kafka, topics.dlq, lambda p, o, k, v: ledger.add(letter_observation(v)), progress
    )
    if options.out is not None:
        ledger.expect_output(JSONL_WRITER, OutputMode.VERSIONS)
        sources.outputs[JSONL_WRITER] = str(options.out)
        scan_jsonl(options.out, ledger.add, progress)  # nothing else runs meanwhile: no thread
    if options.postgres:
        from newswire.sink.writers.postgres import redacted

        ledger.expect_output(POSTGRES_WRITER, OutputMode.LATEST)
        sources.outputs[POSTGRES_WRITER] = redacted(options.postgres)
        await scan_postgres(options.postgres, ledger.add, progress, timeout_s=options.timeout_s)
