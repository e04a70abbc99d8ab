"""The final report of a soak run, as lines for the terminal.

Formatting only: :func:`report_lines` turns a :class:`SoakResult` (figures, checks,
notes) into what ``newswire soak`` and the chaos tests print, so the wording can
change without touching how the run is made or judged.
"""

from __future__ import annotations

from newswire.soak.ledger import SoakResult

#: Stalls shorter than this are ordinary (Faust commits every few seconds): not reported.
STALL_SHOWN_S = 5.0


def report_lines(result: SoakResult) -> list[str]:
    """The final report: figures, each chaos event, each check; the summary line last."""
    f = result.figures
    lines = [f"report: soak {result.scenario} (seed {result.seed})"]
    traffic_s = f.get("traffic_s") or 0
    rate = f"{f['produced'] / traffic_s:.1f}/s" if traffic_s else "-"
    lines.append(
        f"  traffic: {f['produced']} records acknowledged in {traffic_s}s ({rate} on average): "
        f"{f['good']} good, {f['poison']} poison, {f['refused']} refused by the producer"
    )
    timings = [
        f"{name}={f[name]}s"
        for name in ("services_ready_s", "enricher_caught_up_s", "sink_caught_up_s")
        if name in f
    ]
    if timings:
        lines.append("  timings: " + " ".join(timings))
    for group in ("enricher", "sink"):
        if (f.get(f"{group}_longest_stall_s") or 0) >= STALL_SHOWN_S:
            lines.append(
                f"  longest stall of the {group} group: nothing committed for "
                f"{f[f'{group}_longest_stall_s']}s from t={f[f'{group}_longest_stall_from_s']}s "
                "while records waited (sampled every second)"
            )
    if "enriched_records" in f:
        lines.append(
            f"  news.enriched: {f['enriched_records']} records, "
            f"{f['duplicate_emissions']} duplicate emissions; dead letters for our records: "
            f"{f['dead_lettered']}; lost: {f['lost']} (counted by {f['audit']})"
        )
    for row in f.get("per_event", []):
        parts = [f"  {row['event']} at t={row['at_s']}s"]
        if "duplicates" in row:
            parts.append(f"duplicate emissions after it: {row['duplicates']}")
        if "bound" in row:
            owned = row["owned"] if row["owned"] is not None else "all (assignment unknown)"
            parts.append(f"bound {row['bound']} (one batch; partitions held: {owned})")
        if row.get("raw_in_flight") is not None:
            parts.append(
                f"raw records the enricher group had not committed: {row['raw_in_flight']}"
            )
        if "sink_uncommitted" in row:
            parts.append(f"enriched records the sink had not committed: {row['sink_uncommitted']}")
        if "stopped_in_s" in row:
            parts.append(f"stopped in {row['stopped_in_s']}s with exit code {row['exit_code']}")
        if "restarted_after_s" in row:
            parts.append(f"restarted after {row['restarted_after_s']}s")
        if "ready_after_s" in row:
            parts.append(f"ready again after {row['ready_after_s']}s")
        lines.append("; ".join(parts))
    lines.append("  checks:")
    lines.extend(f"    {'ok  ' if c.ok else 'FAIL'} {c.name}: {c.detail}" for c in result.checks)
    lines.extend(f"  {note}" for note in result.report)
    lines.append(f"  run directory: {result.run_dir} (report.json, logs/, out/)")
    lines.append(result.summary_line())
    return lines
