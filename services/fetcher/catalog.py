"""The sources topic (``news.sources``): one record per source, keyed by source id.

The sources file stays the way sources are authored; ``newswire sources apply FILE``
checks it (every problem, as ``sources check`` prints them), compares it with what the
topic holds and publishes the difference: a record for each added or changed source
and a tombstone for each removed one. Each source sits on the partition of its URL's
host (:func:`newswire.common.kafka.host_partition`), so the fetcher replica that owns
the partition owns every source of that host. A source whose URL moves to another
host moves partition: its old record is tombstoned where it was.

A record's value is ``{"schema_version": "1.0", "source": <the file's entry>}``,
checked against ``schemas/source-record.v1.json`` (which refers to the sources file
schema) when it is published and again when a replica reads it: a record that fails
is dead-lettered by the replica and skipped (see ``fleet.py``).
"""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import orjson

from newswire.common.errors import ErrorKind, InvalidRecord
from newswire.common.kafka import create_missing_topics, host_partition, new_producer
from newswire.common.publish import Publisher
from newswire.common.schemas import SchemaName, decode_json_object, schema_info
from newswire.common.settings import Settings
from newswire.common.topics import fetcher_sources_topic
from newswire.fetcher.sources import Source, SourcesFileUnreadable, sources_file_problems
from newswire.fetcher.sources.model import build_source
from newswire.fetcher.state import SourceState
from newswire.fetcher.statestore import read_to_end


def source_record(entry: dict[str, Any]) -> dict[str, Any]:
    """The value published for one sources file entry."""
    return {"schema_version": schema_info(SchemaName.SOURCE).version, "source": entry}


def decode_source(key: bytes | None, value: bytes | None) -> Source:
    """A record of the sources topic as a :class:`Source`, or :class:`InvalidRecord`
    (not JSON, fails the schema, or its key is not its source's id)."""
    record = decode_json_object(value, SchemaName.SOURCE)
    entry = record["source"]
    if key is None or key.decode("utf-8", "replace") != entry["id"]:
        shown = key.decode("utf-8", "replace") if key is not None else "none"
        raise InvalidRecord(
            ErrorKind.SCHEMA,
            f"key {shown!r} is not the source's id {entry['id']!r}",
            schema=SchemaName.SOURCE.value,
        )
    try:
        return build_source(entry)
    except (ValueError, TypeError) as exc:  # a schema-valid entry the model refuses
        raise InvalidRecord(ErrorKind.SCHEMA, str(exc), schema=SchemaName.SOURCE.value) from exc


@dataclass(frozen=True, slots=True)
class Published:
    """What the topic holds for one source id: where, and its entry (None: invalid)."""

    partition: int
    entry: dict[str, Any] | None
    problem: str | None = None


async def read_catalog(settings: Settings) -> dict[str, Published]:
    """The latest record of every source id on the sources topic (tombstones applied)."""
    found: dict[str, Published] = {}
    topic = settings.fetcher.sources_topic
    async for partition, key, value in read_to_end(settings, topic):
        if key is None:
            continue
        source_id = key.decode("utf-8", "replace")
        if value is None:
            found.pop(source_id, None)
            continue
        try:
            decode_source(key, value)
        except InvalidRecord as error:
            found[source_id] = Published(partition, None, str(error))
            continue
        found[source_id] = Published(partition, orjson.loads(value)["source"])
    return found


@dataclass
class Plan:
    """What applying a file changes on the topic."""

    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.added or self.changed or self.removed)


def plan(wanted: dict[str, dict[str, Any]], published: dict[str, Published]) -> Plan:
    """The difference between the file's entries and the topic's records, by id."""
    result = Plan()
    for source_id, entry in wanted.items():
        there = published.get(source_id)
        if there is None:
            result.added.append(source_id)
        elif there.entry is None or _canonical(there.entry) != _canonical(entry):
            result.changed.append(source_id)
    result.removed = [sid for sid in published if sid not in wanted]
    for ids in (result.added, result.changed, result.removed):
        ids.sort()
    return result


def _canonical(entry: dict[str, Any]) -> bytes:
    return orjson.dumps(entry, option=orjson.OPT_SORT_KEYS)


async def publish_plan(
    settings: Settings,
    change: Plan,
    wanted: dict[str, dict[str, Any]],
    published: dict[str, Published],
) -> None:
    """Records for added and changed sources, tombstones for removed ones (and for the
    old place of a source whose host moved it to another partition); all acked."""
    topic = settings.fetcher.sources_topic
    partitions = settings.fetcher.partitions
    producer = new_producer(settings.kafka)
    await producer.start()
    try:
        publisher = Publisher(settings=settings, producer=producer, service="fetcher")
        deliveries = []
        for source_id in change.removed:
            where = published[source_id].partition
            deliveries.append(await publisher.tombstone(topic, source_id, partition=where))
        for source_id in change.added + change.changed:
            entry = wanted[source_id]
            partition = host_partition(entry["url"], partitions)
            before = published.get(source_id)
            if before is not None and before.partition != partition:
                deliveries.append(
                    await publisher.tombstone(topic, source_id, partition=before.partition)
                )
            deliveries.append(
                await publisher.publish(
                    topic, source_id, source_record(entry), SchemaName.SOURCE, partition=partition
                )
            )
        outcomes = await Publisher.deliveries(deliveries)
        failure = next((o for o in outcomes if isinstance(o, BaseException)), None)
        if failure is not None:
            raise failure
    finally:
        await producer.stop()


def plan_lines(change: Plan, published: dict[str, Published]) -> list[str]:
    """``+ id`` added, ``~ id`` changed, ``- id`` removed, one per line."""
    lines = [f"+ {sid}" for sid in change.added]
    for sid in change.changed:
        problem = published[sid].problem
        lines.append(
            f"~ {sid}" + (f" (the topic's record is invalid: {problem})" if problem else "")
        )
    lines += [f"- {sid}" for sid in change.removed]
    return lines


async def apply_file(
    settings: Settings,
    path: Path,
    *,
    dry_run: bool,
    remove_all: bool = False,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """``newswire sources apply FILE [--dry-run] [--remove-all]``: 0 applied (or nothing
    to do, or the dry run's diff printed); 2 the file is unusable (every problem
    printed), or it lists no source and would remove every published one without
    REMOVE_ALL (an emptied file or a wrong path is more likely than a wish to stop the
    whole fleet)."""
    out, err = out or sys.stdout, err or sys.stderr
    try:
        problems, document = sources_file_problems(path)
    except SourcesFileUnreadable as error:
        print(error.render(), file=err)
        return 2
    if problems:
        for problem in problems:
            print(problem.render(str(path)), file=err)
        print(f"{path}: not applied: fix the problems above first", file=err)
        return 2
    wanted = {entry["id"]: entry for entry in document["sources"]}
    topic = settings.fetcher.sources_topic
    await create_missing_topics(settings.kafka, [fetcher_sources_topic(settings)])
    published = await read_catalog(settings)
    change = plan(wanted, published)
    for line in plan_lines(change, published):
        print(line, file=out)
    counts = (
        f"{len(change.added)} added, {len(change.changed)} changed, "
        f"{len(change.removed)} removed, {len(wanted) - len(change.added) - len(change.changed)}"
        " unchanged"
    )
    if not wanted and change.removed and not remove_all and not dry_run:
        print(
            f"{path}: not applied: it lists no source and would remove all "
            f"{len(change.removed)} on {topic}; pass --remove-all if that is meant",
            file=err,
        )
        return 2
    if dry_run or change.empty:
        verb = "would change" if dry_run and not change.empty else "nothing to change on"
        print(f"{path}: {verb} {topic}: {counts}", file=out)
        return 0
    await _carry_states_of_moved_hosts(settings, change, wanted, published)
    await publish_plan(settings, change, wanted, published)
    print(f"{path}: applied to {topic}: {counts}", file=out)
    return 0


async def _carry_states_of_moved_hosts(
    settings: Settings,
    change: Plan,
    wanted: dict[str, dict[str, Any]],
    published: dict[str, Published],
) -> None:
    """A source whose URL moved to another host moves to that host's partition: its
    polling state goes there first, before the record that hands it to the new
    owner, which would otherwise start it afresh (no validators, no seen ids: every
    item in the feed emitted again)."""
    partitions = settings.fetcher.partitions
    targets: dict[str, int] = {}
    for source_id in change.changed:
        target = host_partition(wanted[source_id]["url"], partitions)
        if target != published[source_id].partition:
            targets[source_id] = target
    if targets:
        _, moves = await _state_moves(settings, targets)
        await _send_states(settings, moves)


async def list_sources(settings: Settings, out: TextIO | None = None) -> int:
    """``newswire sources list``: every source on the topic, with its partition; an
    invalid record is listed with its problem (exit 1 if there is one)."""
    out = out or sys.stdout
    published = await read_catalog(settings)
    invalid = 0
    for source_id in sorted(published):
        there = published[source_id]
        if there.entry is None:
            invalid += 1
            print(f"! {source_id}  partition={there.partition}  invalid: {there.problem}", file=out)
            continue
        entry = there.entry
        state = "" if entry.get("enabled", True) else "  (disabled)"
        print(
            f"{source_id}  {entry['kind']}  partition={there.partition}  {entry['url']}{state}",
            file=out,
        )
    topic = settings.fetcher.sources_topic
    tail = f", {invalid} invalid" if invalid else ""
    print(f"{_count(len(published), 'source')} on {topic}{tail}", file=out)
    return 1 if invalid else 0


async def move_states(settings: Settings, out: TextIO | None = None) -> int:
    """``newswire sources move-state``: copy every source's latest polling state onto
    its host's partition of the state topic (an upgrade step: earlier versions placed
    state by source id, and a fleet replica reads only its host partitions).

    Run it with the fetchers stopped: a copy written after a replica's newer save on
    the same partition would be read as the latest. Old copies stay where they are
    (a tombstone there could remove the state for a reader of the whole topic); the
    whole-topic reader keeps the later poll. Returns 0.
    """
    out = out or sys.stdout
    published = await read_catalog(settings)
    targets = {
        source_id: host_partition(there.entry["url"], settings.fetcher.partitions)
        for source_id, there in published.items()
        if there.entry is not None
    }
    read, moves = await _state_moves(settings, targets)
    await _send_states(settings, moves)
    topic = settings.fetcher.state_topic
    print(
        f"{topic}: {_count(len(moves), 'state')} moved to their host's partition "
        f"({read} read, {_count(len(published), 'source')} on "
        f"{settings.fetcher.sources_topic})",
        file=out,
    )
    return 0


async def _state_moves(
    settings: Settings, targets: dict[str, int]
) -> tuple[int, list[tuple[str, int, bytes]]]:
    """(sources with a state, [(source id, target partition, its latest state)]) for
    each source of TARGETS whose latest state is not on its target partition."""
    copies: dict[str, dict[int, tuple[bytes, SourceState]]] = {}  # per partition, latest
    async for partition, key, value in read_to_end(settings, settings.fetcher.state_topic):
        if key is None:
            continue
        source_id = key.decode("utf-8", "replace")
        if value is None:
            copies.get(source_id, {}).pop(partition, None)
            continue
        try:
            copies.setdefault(source_id, {})[partition] = (value, SourceState.from_json(value))
        except (orjson.JSONDecodeError, TypeError, KeyError, ValueError):
            continue
    moves = []
    for source_id, placed in sorted(copies.items()):
        target = targets.get(source_id)
        if target is None or not placed:
            continue
        # the later poll; of equally late copies, the one already in place
        best = max(placed, key=lambda p: (placed[p][1].last_attempt_at or 0.0, p == target))
        if best != target:
            moves.append((source_id, target, placed[best][0]))
    return len(copies), moves


async def _send_states(settings: Settings, moves: list[tuple[str, int, bytes]]) -> None:
    producer = new_producer(settings.kafka)
    await producer.start()
    try:
        sends = [
            await producer.send(
                settings.fetcher.state_topic, value, key=sid.encode(), partition=target
            )
            for sid, target, value in moves
        ]
        await asyncio.gather(*sends)
    finally:
        await producer.stop()


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
