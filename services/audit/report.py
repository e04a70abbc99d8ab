"""Rendering an audit: progress while reading, then a text report or JSON.

Kept apart from the ledger because two audiences read the result: operators read
text (counts first, the worst problems listed, a one-line summary last, so ``tail
-1`` of a log answers "was anything lost?"), the chaos harness parses ``--json``
(full lists, stable keys). Progress goes to stderr so stdout stays clean for both.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from newswire.audit.model import AuditReport, OutputMode, OutputReport, Unaccounted
from newswire.audit.readers import TopicScan

#: Lost ids (and other lists) shown in the text report; ``--json`` has them all.
SHOWN = 50


@dataclass
class Sources:
    """What was audited, for the report's header and the JSON's context."""

    kafka: str
    topics: dict[str, TopicScan] = field(default_factory=dict)  # role (raw, enriched, dlq) -> scan
    outputs: dict[str, str] = field(default_factory=dict)  # writer -> location


# -- JSON ------------------------------------------------------------------------------


def _unaccounted(items: list[Unaccounted]) -> list[dict[str, Any]]:
    return [
        {"id": u.article_id, "partition": u.partition, "offset": u.offset, "reason": u.reason}
        for u in items
    ]


def _output_json(output: OutputReport, location: str) -> dict[str, Any]:
    return {
        "location": location,
        "mode": output.mode.value,
        "ok": output.ok,
        "records": output.records,
        "distinct_ids": output.distinct_ids,
        "missing": [{"id": i, "content_hash": h} for i, h in output.missing],
        "missing_count": len(output.missing),
        "differs": [{"id": i, "content_hash": h, "where": w} for i, h, w in output.differs],
        "differs_count": len(output.differs),
        "torn": [{"where": w, "reason": r} for w, r in output.torn],
        "torn_count": len(output.torn),
        "not_on_topic": [
            {"id": i, "content_hash": h, "where": w} for i, h, w in output.not_on_topic
        ],
        "not_on_topic_count": len(output.not_on_topic),
        "repeated": output.repeated,
        "excused": output.excused,
    }


def as_json(report: AuditReport, sources: Sources) -> dict[str, Any]:
    """The machine-readable report; every list is complete."""
    topics = {
        role: {
            "name": scan.topic,
            "exists": scan.exists,
            "partitions": scan.partitions,
            "records": scan.records,
            "offsets": {str(p): [scan.first[p], scan.end[p]] for p in sorted(scan.end)},
        }
        for role, scan in sources.topics.items()
    }
    document: dict[str, Any] = {
        "ok": report.ok,
        "summary": summary_line(report),
        "kafka": sources.kafka,
        "topics": topics,
        "raw_records": report.raw_records,
        "raw_ids": report.raw_ids,
        "enriched": report.enriched,
        "redelivered": report.redelivered,
        "dead_lettered": report.dead_lettered,
        "lost": _unaccounted(report.lost),
        "lost_count": len(report.lost),
        "drop_duplicates": report.drop_duplicates,
        "allow_dropped": report.allow_dropped,
        "unaccounted_drop_duplicates": _unaccounted(report.unaccounted_dropped),
        "enriched_records": report.enriched_records,
        "enriched_versions": report.enriched_versions,
        "enriched_invalid": report.enriched_invalid,
        "enriched_without_raw": report.enriched_without_raw,
        "duplicate_emissions": report.duplicate_emissions,
        "duplicate_ids": report.duplicate_ids,
        "duplicates_by_partition": {str(p): n for p, n in report.duplicates_by_partition.items()},
        "dead_letters": {
            "total": sum(report.letters.values()),
            "by_kind": dict(sorted(report.letters.items())),
            "elsewhere": report.letters_elsewhere,
        },
        "output": {
            o.writer: _output_json(o, sources.outputs.get(o.writer, "")) for o in report.outputs
        },
    }
    if report.trails:
        document["trails"] = report.trails
    return document


# -- text ------------------------------------------------------------------------------


def summary_line(report: AuditReport) -> str:
    """``audit: raw=.. enriched=.. ... lost=..``: the last line of every text report."""
    parts = [
        f"raw={report.raw_records}",
        f"enriched={report.enriched}",
        f"redelivered={report.redelivered}",
        f"dead_lettered={report.dead_lettered}",
        f"lost={len(report.lost)}",
    ]
    if report.drop_duplicates:
        parts.append(f"unaccounted_drop_duplicates={len(report.unaccounted_dropped)}")
    parts.append(f"duplicate_emissions={report.duplicate_emissions}")
    if report.outputs:
        parts += [
            f"output_missing={sum(len(o.missing) for o in report.outputs)}",
            f"output_differs={sum(len(o.differs) for o in report.outputs)}",
            f"output_torn={sum(len(o.torn) for o in report.outputs)}",
        ]
    return "audit: " + " ".join(parts)


def _shown(items: list[Any], what: str) -> list[str]:
    more = f" (first {SHOWN} of {len(items)}; --json lists all)" if len(items) > SHOWN else ""
    return [f"{what}{more}:"] if items else []


def _unaccounted_lines(items: list[Unaccounted], topic: str, what: str) -> list[str]:
    lines = _shown(items, what)
    lines += [
        f"  {u.article_id}  {topic}[{u.partition}]@{u.offset}  {u.reason}" for u in items[:SHOWN]
    ]
    return lines


def _output_lines(output: OutputReport, location: str) -> list[str]:
    kind = "every version" if output.mode is OutputMode.VERSIONS else "latest version per id"
    lines = [
        f"output {output.writer} at {location} ({kind}): {output.records} records, "
        f"{output.distinct_ids} ids; missing {len(output.missing)}, differs {len(output.differs)}, "
        f"torn {len(output.torn)}, not on topic {len(output.not_on_topic)}, "
        f"repeated {output.repeated}, dead-lettered by the sink {output.excused}"
    ]
    lines += [f"  missing: {i} {h}" for i, h in output.missing[:SHOWN]]
    lines += [f"  differs from the topic: {i} {h} at {w}" for i, h, w in output.differs[:SHOWN]]
    lines += [f"  torn: {w}: {r}" for w, r in output.torn[:SHOWN]]
    lines += [f"  not on the topic: {i} {h} at {w}" for i, h, w in output.not_on_topic[:SHOWN]]
    return lines


def render_text(report: AuditReport, sources: Sources) -> list[str]:
    """The operator's report; lists are cut at SHOWN entries."""
    raw = sources.topics.get("raw")
    raw_name = raw.topic if raw else "raw"
    lines = [f"newswire audit of Kafka at {sources.kafka}"]
    for scan in sources.topics.values():
        plural = "" if scan.partitions == 1 else "s"
        state = f"{scan.records} records, {scan.partitions} partition{plural}"
        state = state if scan.exists else "DOES NOT EXIST"
        lines.append(f"  {scan.topic}: {state}")
    lines += [
        f"raw records by outcome ({report.raw_records} records, {report.raw_ids} ids):",
        f"  enriched        {report.enriched:>9}",
        f"  redelivered     {report.redelivered:>9}",
        f"  dead-lettered   {report.dead_lettered:>9}",
        f"  lost            {len(report.lost):>9}",
    ]
    if report.drop_duplicates:
        lines.append(
            f"  unaccounted     {len(report.unaccounted_dropped):>9}  (drop-duplicates on)"
        )
    letters = ", ".join(f"{kind} {n}" for kind, n in sorted(report.letters.items())) or "none"
    lines.append(f"dead letters: {letters}; {report.letters_elsewhere} about other topics or files")
    by_partition = ", ".join(f"{p}: {n}" for p, n in report.duplicates_by_partition.items())
    lines.append(
        f"enriched: {report.enriched_records} records, {report.enriched_versions} versions, "
        f"{report.duplicate_emissions} duplicate emissions in {len(report.duplicate_ids)} ids"
        + (f" (by partition {by_partition})" if by_partition else "")
        + f"; {report.enriched_without_raw} versions without a raw record, "
        f"{report.enriched_invalid} undecodable"
    )
    if report.duplicate_ids:
        lines.append("  duplicate ids: " + " ".join(report.duplicate_ids[:SHOWN]))
    for output in report.outputs:
        lines += _output_lines(output, sources.outputs.get(output.writer, ""))
    lines += _unaccounted_lines(report.lost, raw_name, "lost raw records")
    if report.drop_duplicates and report.unaccounted_dropped:
        verdict = (
            "accepted (--allow-dropped)"
            if report.allow_dropped
            else "failing the audit (see --allow-dropped)"
        )
        lines.append(
            f"ENRICHER_DROP_DUPLICATES is on: {len(report.unaccounted_dropped)} raw records have "
            f"no enriched record and may have been dropped as duplicates, or lost; {verdict}"
        )
        lines += _unaccounted_lines(report.unaccounted_dropped, raw_name, "unaccounted raw records")
    for ident, trail in report.trails.items():
        lines.append(f"trail of {ident}:")
        lines += [f"  {step}" for step in trail] or ["  (not seen anywhere)"]
    lines.append(summary_line(report))
    return lines
