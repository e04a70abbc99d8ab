"""A batch between its stages and its completion, and what two batches in flight share.

While batch N completes, batch N+1 is staged against N's *pending* table entries
(staggered.py), and those are not final: N takes an entry back when the article's
record is dead-lettered (refused by the schema, too large for the cluster), and
writes none when it fails whole. N+1 notes each entry of N it read
(:attr:`Staged.borrowed`); once N has recorded, :func:`decisions_to_redo` names the
ids whose entry N did not write, and the batch handler decides their records again
against the table (:func:`redone` puts the new decisions in place). Kept apart from
batch.py, which sends and records, so each stays small.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import faust

from newswire.enricher.bands import Probe
from newswire.enricher.dedupe import SeenEntry
from newswire.enricher.pipeline import Emit

#: Bytes a Kafka record batch adds around one record (batch header, record framing,
#: header names); a record must fit the limit with this to spare.
RECORD_OVERHEAD_BYTES = 1024


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One record to produce, and the outcome it stands for once the broker has it."""

    topic: faust.TopicT
    key: bytes | None
    value: bytes
    headers: list[tuple[str, bytes]]
    event: faust.EventT
    outcome: str
    #: The article an enriched record stands for (None for a dead letter).
    article_id: str | None = None
    #: The probe that put the article in the band buckets: withdrawn if the record is
    #: refused for good (neardup.py). None for a dead letter.
    probe: Probe | None = None

    @property
    def size(self) -> int:
        headers = sum(len(name) + len(value) for name, value in self.headers)
        return len(self.key or b"") + len(self.value) + headers + RECORD_OVERHEAD_BYTES


@dataclass(frozen=True, slots=True)
class Pending:
    """A table entry to store for an article once its batch is delivered."""

    entry: SeenEntry
    event: faust.EventT
    #: What was pending for the same id before this event (None: nothing in this
    #: batch), restored if this event's record is dead-lettered (:func:`take_back`).
    previous: Pending | None = None


@dataclass(slots=True)
class Staged:
    """One batch after its stages, before its band lookup, delivery and settling."""

    events: Sequence[faust.EventT]
    #: perf_counter when the batch was taken (for the batch-time histogram).
    started: float
    #: Table entries to store once delivered, by article id.
    pending: dict[str, Pending] = field(default_factory=dict)
    emits: list[tuple[Emit, faust.EventT]] = field(default_factory=list)
    #: Dead letters the stages decided.
    outgoing: list[Outgoing] = field(default_factory=list)
    #: Redeliveries (final unless decided again, see ``borrowed``), by article id.
    redelivered: list[tuple[str, faust.EventT]] = field(default_factory=list)
    #: A stage bug: the whole batch is dead-lettered when it completes.
    failure: Exception | None = None
    #: Its table entries are written (or never will be): later batches read the table.
    #: Its ``pending`` then holds exactly what was written.
    recorded: bool = False
    #: The batch completing while this one was staged, until this one's completion
    #: has checked what it recorded (see :meth:`BatchHandler.stage`).
    earlier: Staged | None = None
    #: EARLIER's pending entries this batch's decisions read, by id (None: it read
    #: two different ones, as EARLIER took one back meanwhile).
    borrowed: dict[str, Pending | None] = field(default_factory=dict)


def take_back(pending: dict[str, Pending], article_id: str, event: faust.EventT) -> None:
    """Undo EVENT's table entry: what was pending for the id before it stands again.

    Only when EVENT is still the latest for the id; a later record of the same id in
    the batch was already decided against EVENT's entry, and keeps its own.
    """
    item = pending.get(article_id)
    if item is None or item.event is not event:
        return
    if item.previous is None:
        del pending[article_id]
    else:
        pending[article_id] = item.previous


def decisions_to_redo(staged: Staged) -> list[faust.EventT]:
    """The records of STAGED to decide again, in batch order: those decided against an
    entry of the batch before that it did not write. Call once that batch has
    recorded; it forgets the batch before (nothing holds a chain of batches)."""
    earlier, staged.earlier = staged.earlier, None
    borrowed, staged.borrowed = staged.borrowed, {}
    if earlier is None or not borrowed:
        return []
    if not earlier.recorded:
        raise RuntimeError("a batch completes only after the batch staged before it")
    stale = {
        article_id
        for article_id, item in borrowed.items()
        if item is None or earlier.pending.get(article_id) is not item
    }
    again = {id(event) for emit, event in staged.emits if emit.article_id in stale}
    again |= {id(event) for article_id, event in staged.redelivered if article_id in stale}
    return [event for event in staged.events if id(event) in again]


def redone(staged: Staged, fresh: Staged) -> None:
    """Put FRESH's decisions (the records :func:`decisions_to_redo` named, staged again
    against the table) in place of STAGED's for those ids.

    Runs on the loop with no await, and replaces each pending entry in one step: the
    batch staged meanwhile reads STAGED's entries from its thread, and must see either
    the old entry (which it then finds not written, and decides again) or the new.
    """
    again = {id(event) for event in fresh.events}
    stale = {e.article_id for e, event in staged.emits if id(event) in again}
    stale |= {a for a, event in staged.redelivered if id(event) in again}
    for article_id in stale:
        item = fresh.pending.get(article_id)
        if item is None:
            staged.pending.pop(article_id, None)
        else:
            staged.pending[article_id] = item
    order = {id(event): n for n, event in enumerate(staged.events)}
    kept = [(e, event) for e, event in staged.emits if id(event) not in again]
    staged.emits = sorted(kept + fresh.emits, key=lambda pair: order[id(pair[1])])
    staged.redelivered = [
        (a, event) for a, event in staged.redelivered if id(event) not in again
    ] + fresh.redelivered
    staged.outgoing.extend(fresh.outgoing)


def offset_ranges(events: Iterable[faust.EventT]) -> str:
    """Where EVENTS came from, as ``topic[partition]@first-last`` per partition."""
    spans: dict[tuple[str, int], tuple[int, int]] = {}
    for event in events:
        message = event.message
        where = (message.topic, message.partition)
        low, high = spans.get(where, (message.offset, message.offset))
        spans[where] = (min(low, message.offset), max(high, message.offset))
    return ", ".join(
        f"{topic}[{partition}]@{low}-{high}"
        for (topic, partition), (low, high) in sorted(spans.items())
    )
