"""Judging a finished soak run: its figures, and the checks that decide its verdict.

:func:`judge` takes what the runner recorded (the ledger, the chaos records, the
timings and stalls) and what was read back (:class:`~newswire.soak.readback.Count`,
and ``newswire audit --json``'s report when it ran) and adds a :class:`Check` per
property to a :class:`Findings`: the traffic went out, nothing was lost, poison was
dead-lettered and good records were not, each output holds every good id once, and
every duplicate emission on news.enriched is put down to the last enricher event
before it. Kept apart from the runner, which only gathers the data, so that the
rules of the verdict are in one place and work on plain data.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from newswire.common.settings import Settings
from newswire.soak.chaos import Action, ChaosRunner, EventRecord, Role
from newswire.soak.ledger import Check, Ledger, Sent, Stall
from newswire.soak.readback import Count, Tally
from newswire.soak.traffic import Kind, TrafficPlan


@dataclass
class Findings:
    """The checks of a run in the order they were made, and notes for the report."""

    checks: list[Check] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def check(self, name: str, ok: bool, detail: str) -> None:
        self.checks.append(Check(name, ok, detail))


def judge(
    findings: Findings,
    *,
    scenario: str,
    settings: Settings,
    plan: TrafficPlan,
    ledger: Ledger,
    chaos: ChaosRunner,
    timings: Mapping[str, float],
    stalls: Mapping[str, Stall],
    count: Count | None,
    audit: dict[str, Any] | None,
) -> dict[str, Any]:
    """The figures of the run of SCENARIO (a name); every check goes to FINDINGS.
    COUNT is None when the run broke down before reading back: only the traffic is
    checked then."""
    figures: dict[str, Any] = {
        "scenario": scenario,
        "seed": plan.seed,
        "planned": plan.total,
        "produced": len(ledger.sent),
        "good": len(ledger.good),
        "poison": len(ledger.poison),
        "refused": len(ledger.refused),
        "kills": sum(1 for r in chaos.kills if r.pid is not None),
        "rebalances": chaos.rebalances,
        "traffic_s": round((ledger.finished_s or 0) - (ledger.started_s or 0), 1),
        **{k: round(v, 1) for k, v in timings.items()},
    }
    for name, stall in stalls.items():
        figures[f"{name}_longest_stall_s"] = round(stall.longest_s, 1)
        figures[f"{name}_longest_stall_from_s"] = (
            None if stall.longest_from_s is None else round(stall.longest_from_s, 1)
        )
    check_traffic(findings, plan, ledger)
    if count is None:
        return figures
    mine = count.tally(ledger)
    figures |= {
        "lost": len(mine.lost),
        "dead_lettered": mine.dead_lettered,
        "duplicate_emissions": mine.duplicate_emissions,
        "enriched_records": len(count.enriched),
        "audit": "newswire audit" if audit is not None else "soak count by id",
    }
    if audit is not None:
        judge_with_audit(findings, audit, mine, figures)
    else:
        findings.check("no loss", not mine.lost, _lost_detail(mine.lost))
    check_dead_letters(findings, ledger, mine)
    check_outputs(findings, ledger, count, audit)
    figures["per_event"] = check_duplicates(findings, chaos.records, count, settings)
    return figures


def check_traffic(findings: Findings, plan: TrafficPlan, ledger: Ledger) -> None:
    oversize = plan.count(Kind.OVERSIZE)
    failed = [f"#{record.index} {record.kind}: {why}" for record, why in ledger.failed]
    every = len(ledger.sent) + len(ledger.refused) == plan.total
    ok = every and not failed and len(ledger.refused) == oversize
    detail = (
        f"{len(ledger.sent)} of {plan.total} records acknowledged"
        + (
            f", {len(ledger.refused)} oversize refused by the producer as they must be"
            if oversize
            else ""
        )
        + (f"; FAILED to send: {failed[:5]}" if failed else "")
    )
    findings.check("traffic sent", ok, detail)


def judge_with_audit(
    findings: Findings, audit: dict[str, Any], mine: Tally, figures: dict[str, Any]
) -> None:
    lost = audit.get("lost") or []
    figures["lost"] = len(lost) if isinstance(lost, list) else int(lost)
    for name in ("dead_lettered", "duplicate_emissions"):
        value = audit.get(name)
        if value is not None:
            figures[name] = len(value) if isinstance(value, list) else value
    figures["audit_ok"] = audit.get("ok")
    # The audit sees only what reached news.raw: a record the broker acknowledged and
    # then lost is invisible to it, so the harness's own count by id must agree too,
    # and the audit must have seen every record the producer had acknowledged.
    our_lost_sent = list(mine.lost)
    seen = audit.get("raw_records")
    findings.check(
        "no loss",
        figures["lost"] == 0 and not our_lost_sent,
        "newswire audit: "
        + _lost_detail(lost if isinstance(lost, list) else [])
        + ("; harness: " + _lost_detail(our_lost_sent) if our_lost_sent else ""),
    )
    findings.check(
        "audit saw every produced record",
        seen is None or seen >= figures["produced"],
        f"news.raw held {seen} records for {figures['produced']} acknowledged by the broker",
    )
    findings.check(
        "audit ok",
        audit.get("_exit_code") == 0 and bool(audit.get("ok")),
        f"newswire audit exit {audit.get('_exit_code')}, ok={audit.get('ok')}",
    )
    their_lost = (
        {entry.get("id") for entry in lost if isinstance(entry, dict)}
        if isinstance(lost, list)
        else set()
    )
    our_lost = {s.article_id for s in mine.lost}
    if their_lost != our_lost or audit.get("duplicate_emissions") not in (
        None,
        mine.duplicate_emissions,
    ):
        findings.notes.append(
            "note: the audit and the harness's own count differ: lost "
            f"{len(their_lost)} vs {len(our_lost)}, duplicate emissions "
            f"{audit.get('duplicate_emissions')} vs {mine.duplicate_emissions}"
        )


def check_dead_letters(findings: Findings, ledger: Ledger, mine: Tally) -> None:
    poison = ledger.poison
    missing = [s for s in poison if s.index not in mine.letter_of]
    no_reason = [
        s for s in poison if s.index in mine.letter_of and not mine.letter_of[s.index][1].strip()
    ]
    kinds = Counter(mine.letter_of[s.index][0] for s in poison if s.index in mine.letter_of)
    wrong_kind = [
        f"#{s.index} {s.kind} got {mine.letter_of[s.index][0]}"
        for s in poison
        if s.index in mine.letter_of and mine.letter_of[s.index][0] != s.kind.dead_letter_kind
    ]
    found = len(poison) - len(missing)
    detail = f"{found} of {len(poison)} poison records dead-lettered ({dict(kinds)})"
    if missing:
        detail += "; missing: " + ", ".join(
            f"#{s.index} {s.kind} p{s.partition}@{s.offset} ({s.note})" for s in missing[:10]
        )
    if no_reason:
        detail += f"; {len(no_reason)} letters without a reason"
    if wrong_kind:
        findings.notes.append(
            "note: dead letters of an unexpected kind: " + "; ".join(wrong_kind[:10])
        )
    findings.check("poison dead-lettered", not missing and not no_reason, detail)
    good_letters = [s for s in ledger.good if s.index in mine.letter_of]
    findings.check(
        "good records not dead-lettered",
        not good_letters,
        f"{len(good_letters)} good records dead-lettered"
        + "".join(
            f"; #{s.index} {s.size} ({mine.letter_of[s.index][1][:200]})" for s in good_letters[:5]
        ),
    )
    if mine.poison_emitted:
        findings.check(
            "poison not emitted",
            False,
            f"{len(mine.poison_emitted)} poison records reached news.enriched",
        )


def check_outputs(
    findings: Findings, ledger: Ledger, count: Count, audit: dict[str, Any] | None
) -> None:
    expected = {s.article_id for s in ledger.good}
    outputs = {"jsonl": count.jsonl} | (
        {"postgres": count.postgres} if count.postgres is not None else {}
    )
    audited = (audit or {}).get("output") or {}
    for name, output in outputs.items():
        assert output is not None
        missing, unexpected = expected - output.ids.keys(), output.ids.keys() - expected
        repeated = sum(n - 1 for n in output.ids.values())
        ok = not missing and not unexpected and not output.torn and not repeated
        detail = (
            f"{sum(output.ids.values())} {output.unit}, {len(output.ids)} distinct ids for "
            f"{len(expected)} good records: missing={len(missing)} "
            f"unexpected={len(unexpected)} repeated={repeated} torn={output.torn}"
        )
        if name in audited:
            theirs = audited[name]
            bad = {
                k: theirs.get(k) for k in ("missing", "differs", "torn") if _amount(theirs.get(k))
            }
            ok = ok and not bad
            detail += f"; newswire audit: distinct_ids={theirs.get('distinct_ids')}" + (
                f" {bad}" if bad else " clean"
            )
        findings.check(f"{name} output", ok, detail)


def check_duplicates(
    findings: Findings, records: list[EventRecord], count: Count, settings: Settings
) -> list[dict[str, Any]]:
    """Put every duplicate emission down to the last enricher event before it."""
    enricher_events = [
        r for r in records if r.event.role is not Role.SINK and "enriched_end" in r.details
    ]
    position = {id(record): number for number, record in enumerate(enricher_events)}
    blamed: Counter[int] = Counter()  # index in enricher_events, -1: before any event
    seen: set[str] = set()
    for partition, offset, article_id, _hash in sorted(count.enriched):
        if article_id is None:
            continue
        if article_id not in seen:
            seen.add(article_id)
            continue
        culprit = -1
        for number, record in enumerate(enricher_events):
            if record.details["enriched_end"].get(partition, 0) <= offset:
                culprit = number
        blamed[culprit] += 1
    batch = settings.enricher.batch_size
    rows: list[dict[str, Any]] = []
    for record in records:
        row: dict[str, Any] = {
            "event": record.label,
            "at_s": round(record.at_s, 1),
            "raw_in_flight": record.details.get("raw_in_flight"),
        }
        if "sink_uncommitted" in record.details:
            row["sink_uncommitted"] = record.details["sink_uncommitted"]
        if id(record) in position:
            row["duplicates"] = blamed[position[id(record)]]
        if record.event.action is Action.KILL and record.event.role is not Role.SINK:
            # The enricher commits after every batch, and a batch holds at most
            # ENRICHER_BATCH_SIZE records whatever partitions they came from: that is
            # what the consumer contract promises, stricter than "a batch per partition".
            row |= {"owned": record.owned, "bound": batch}
        if record.stop_s is not None:
            row |= {"stopped_in_s": round(record.stop_s, 1), "exit_code": record.exit_code}
        if record.restarted_at_s is not None:
            row["restarted_after_s"] = round(record.restarted_at_s - record.at_s, 1)
        if record.ready_again_at_s is not None:
            row["ready_after_s"] = round(record.ready_again_at_s - record.at_s, 1)
        rows.append(row)
    # A kill the chaos did not finish playing (its service never became ready again)
    # has no snapshot to charge duplicates to: it is reported without a figure.
    over = [r for r in rows if "bound" in r and r.get("duplicates", 0) > r["bound"]]
    kills = [r for r in rows if "bound" in r]
    findings.check(
        "duplicates per kill within one batch",
        not over,
        (
            "; ".join(
                f"{r['event']}: {r.get('duplicates', '?')} (bound {r['bound']})" for r in kills
            )
            or "no enricher kills"
        ),
    )
    findings.check(
        "no duplicate emission without a kill or rebalance",
        blamed[-1] == 0,
        f"{blamed[-1]} ids emitted again before any enricher event",
    )
    return rows


def _amount(value: Any) -> int:
    if isinstance(value, list | dict | set | tuple):
        return len(value)
    return int(value or 0)


def _lost_detail(lost: list[Any]) -> str:
    if not lost:
        return "0 lost"
    shown = []
    for entry in lost[:10]:
        if isinstance(entry, Sent):
            where = f"p{entry.partition}@{entry.offset}"
            shown.append(f"{entry.article_id} {where} ({entry.kind}, sent t={entry.at_s:.1f}s)")
        elif isinstance(entry, dict):
            shown.append(f"{entry.get('id')} p{entry.get('partition')}@{entry.get('offset')}")
    more = f" and {len(lost) - 10} more" if len(lost) > 10 else ""
    return f"{len(lost)} lost: " + "; ".join(shown) + more
