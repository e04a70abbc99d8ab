"""The near-duplicate exchange between enricher workers, through two internal topics.

``<app>-probes`` is partitioned by LSH band key: its owner keeps band buckets in
memory, rebuilt from a changelogged table of deltas, and answers each probe.
``<app>-replies`` has the partition count of ``news.raw`` and is co-partitioned
with it, so an answer sent to the partition an article came from reaches the very
worker whose batch is waiting.

A batch sends one probe message per band partition (not one per band), and each
bucket owner one reply message per destination partition, so the exchange costs
a handful of messages per batch, whatever its size.

Exchange v2 (``"v": 2``): within a probe message an article is one probe naming all
its band keys on that partition (``"articles"``), answered once with the members it
heard, each once; v1 listed one probe per band (``"probes"``), each answered. The
worker counts one answer per probe sent either way. A v2 responder still answers v1
probes (a worker not yet upgraded); a v2 message carries an empty ``"probes"`` so a
v1 responder answers nothing rather than failing, and the batch goes on without
those answers after ENRICHER_NEAR_DUPLICATE_TIMEOUT_S, counted as incomplete.

Withdrawals (``"withdrawn"``): an article joins the buckets when it probes, before
its record is sent; if the cluster then refuses the record for good (too large), the
worker sends each band partition it probed a message naming it (id, band keys, the
time it joined), before its batch settles. The owner takes it out of those buckets and
stores the withdrawal as a delta of its own, so a rebuild leaves it out too
(buckets.py). Only refusals cost a message: the normal path writes nothing more. An
older responder ignores the field (its ``"articles"`` are empty): it answers nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import faust
import orjson
from faust.types import TableT

from newswire.common.kafka import default_partition, resend_delay
from newswire.enricher.bands import Member, Probe
from newswire.enricher.buckets import BucketIndex, Delta, delta_key

log = logging.getLogger(__name__)

#: How often a waiting batch checks whether a rebalance or shutdown has begun.
INTERRUPT_POLL_S = 0.1
#: The probe message layout this worker sends (see the module doc).
EXCHANGE_VERSION = 2


@dataclass(frozen=True, slots=True)
class Answers:
    """What the band buckets said about a batch's articles, and whether all of them spoke."""

    members: dict[str, list[Member]]
    complete: bool


def band_partition(band_key: str, partitions: int) -> int:
    """Kafka's default partitioner on the band key: stable across workers and restarts."""
    return default_partition(band_key.encode(), partitions)


def probes_by_partition(probes: Iterable[Probe], partitions: int) -> dict[int, list[Probe]]:
    """Each probe cut into one per band partition, naming the band keys that partition
    owns: what each partition's probe message carries."""
    by_partition: dict[int, list[Probe]] = defaultdict(list)
    for probe in probes:
        keys: dict[int, list[str]] = defaultdict(list)
        for band in probe.band_keys:
            keys[band_partition(band, partitions)].append(band)
        for p, own in keys.items():
            by_partition[p].append(replace(probe, band_keys=tuple(own)))
    return by_partition


def withdrawal_items(message: dict[str, Any]) -> list[tuple[str, tuple[str, ...], float]]:
    """The (article id, band keys, seen_at) a message withdraws; none in a probe message."""
    return [(str(a), tuple(bands), float(at)) for a, bands, at in message.get("withdrawn", ())]


def _withdrawal_fields(own: list[Probe]) -> dict[str, Any]:
    """A withdrawal message's own field: (id, band keys, seen_at) of each article."""
    return {"withdrawn": [[p.article_id, list(p.band_keys), p.seen_at] for p in own]}


def probe_items(message: dict[str, Any]) -> list[Probe]:
    """The probes of a probe message, each answered once: v2 names an article's band
    keys on the partition (``"articles"``), v1 one band key a probe (``"probes"``)."""
    items = message["articles"] if "articles" in message else message["probes"]
    return [Probe.from_json(item) for item in items]


@dataclass
class _Waiter:
    expected: int
    heard: dict[str, list[Member]] = field(default_factory=lambda: defaultdict(list))
    answered: int = 0
    done: asyncio.Event = field(default_factory=asyncio.Event)

    def add(self, answers: Iterable[tuple[str, list[Member]]]) -> None:
        for article_id, members in answers:
            self.heard[article_id].extend(members)
            self.answered += 1
        if self.answered >= self.expected:
            self.done.set()


class NearDuplicateExchange:
    """Worker-side state of the exchange: batches waiting for their band answers.

    Lives on the app instance (never module level); its only state is in-flight
    batches, which a crash loses harmlessly: the batch was not acked, so it is
    processed again and probes again.
    """

    def __init__(
        self,
        *,
        probes: faust.TopicT,
        partitions: int,
        timeout_s: float,
        interrupted: Callable[[], bool] = lambda: False,
    ) -> None:
        self._probes = probes
        self._partitions = partitions
        self._timeout_s = timeout_s
        self._interrupted = interrupted
        self._waiting: dict[str, _Waiter] = {}

    async def ask(self, probes: Sequence[Probe]) -> Answers:
        """Send the probes, wait for every answer; returns the members each article heard of.

        The wait ends early when INTERRUPTED says so (a rebalance or a shutdown has
        begun): Faust pauses every partition, the replies topic included, and then
        waits for the batch in flight, so waiting on would stall the whole group
        until the timeout. The batch then goes on with what it heard, as after a
        timeout, and says so (``complete=False``).
        """
        by_partition = probes_by_partition(probes, self._partitions)
        expected = sum(len(own) for own in by_partition.values())
        if not expected:
            return Answers({}, complete=True)
        batch_id = uuid.uuid4().hex
        waiter = self._waiting[batch_id] = _Waiter(expected=expected)
        try:
            await self._send_probes(batch_id, by_partition)
            await self._wait(waiter)
        finally:
            del self._waiting[batch_id]
        complete = waiter.answered >= waiter.expected
        return Answers(dict(waiter.heard), complete=complete)

    async def _wait(self, waiter: _Waiter) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._timeout_s
        while not waiter.done.is_set():
            remaining = deadline - loop.time()
            why = None
            if self._interrupted():
                why = "rebalance or shutdown"
            elif remaining <= 0:
                why = "timeout"
            if why is not None:
                log.warning(
                    "near-duplicate answers incomplete (%s): %d of %d; the batch goes on",
                    why,
                    waiter.answered,
                    waiter.expected,
                )
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(waiter.done.wait(), timeout=min(INTERRUPT_POLL_S, remaining))

    async def _send_probes(self, batch_id: str, by_partition: dict[int, list[Probe]]) -> None:
        await self._send(
            batch_id, by_partition, lambda own: {"articles": [probe.to_json() for probe in own]}
        )

    async def withdraw(self, probes: Sequence[Probe]) -> None:
        """Take the articles of PROBES (already answered) back out of the band buckets:
        their records were refused for good, so no later copy may be placed after them.

        Returns once the broker has every withdrawal: the caller settles the batch only
        then, so a crash before re-processes the batch, which probes and withdraws
        again. On each partition a withdrawal comes after the probe it undoes and before
        this worker's next batch probes. A send that fails is sent again, with backoff,
        until the broker has it (as the batch's records are): failing here would
        dead-letter a batch already delivered. Sent again whole, under the same id, a
        withdrawal rewrites its own deltas."""
        batch_id = uuid.uuid4().hex  # its own: the probes' deltas keep their keys
        by_partition = probes_by_partition(probes, self._partitions)
        attempt = 0
        while True:
            try:
                await self._send(batch_id, by_partition, _withdrawal_fields)
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                delay = resend_delay(attempt)
                log.error("withdrawal failed (%r); sending it again in %.1fs", exc, delay)
                attempt += 1
                await asyncio.sleep(delay)

    async def _send(
        self,
        batch_id: str,
        by_partition: dict[int, list[Probe]],
        fields: Callable[[list[Probe]], dict[str, Any]],
    ) -> None:
        """One message per band partition, with FIELDS of its probes, and wait until the
        broker has them all. ``"probes"`` is what a v1 responder reads: it answers
        nothing; ``"articles"`` what a v2 one answers (empty in a withdrawal)."""
        futures = [
            await self._probes.send(
                key=batch_id.encode(),
                value=orjson.dumps(
                    {"batch": batch_id, "v": EXCHANGE_VERSION, "probes": [], "articles": []}
                    | fields(own)
                ),
                partition=p,
            )
            for p, own in by_partition.items()
        ]
        await asyncio.gather(*futures)

    def receive_replies(self, payload: bytes) -> None:
        """Called by the replies agent; answers for batches no longer waiting are stale."""
        message = orjson.loads(payload)
        waiter = self._waiting.get(message["batch"])
        if waiter is None:
            return
        waiter.add(
            (article_id, [Member.from_json(m) for m in members])
            for article_id, members in message["answers"]
        )


class BandResponder:
    """Owner side: answers probes from the band buckets and records the newcomers.

    The buckets are a :class:`BucketIndex` in memory; the changelogged table holds one
    :class:`Delta` per probe message (what it added), keyed by the message, so a
    redelivered message rewrites its own delta. A partition's buckets are rebuilt from
    its deltas the first time a probe for it arrives after a rebalance (:meth:`forget`
    is called once the table is recovered). That is one changelog record per probe
    message instead of one per band per article.
    """

    def __init__(
        self,
        *,
        table: TableT,
        replies: faust.TopicT,
        index: BucketIndex,
        prune_every_s: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._table = table
        self._replies = replies
        self._index = index
        self._prune_every_s = prune_every_s
        self._clock = clock
        self._next_prune = clock() + prune_every_s

    def forget(self) -> None:
        """The assignment changed: rebuild each partition's buckets when next probed."""
        self._index.forget()

    async def answer(self, event: faust.EventT) -> None:
        """Answer one probe message (its own event is current: the delta lands on this
        partition's changelog) and wait until the replies are delivered, so the message
        is acked only once its answers are out."""
        partition = event.message.partition
        if not self._index.loaded(partition):
            self._index.load_all(list(self._table.items()), including=partition)
        message = orjson.loads(event.value)
        self._withdraw(partition, message)
        answers: dict[int, list[list[Any]]] = defaultdict(list)
        joined: list[tuple[tuple[str, ...], Member]] = []
        for probe in probe_items(message):
            newcomer, heard = self._index.answer(partition, probe)
            joined.append((probe.band_keys, newcomer))
            answers[probe.reply_partition].append([probe.article_id, [m.to_json() for m in heard]])
        if joined:
            newest = max(member.seen_at for _, member in joined)
            delta = Delta(partition, newest, tuple(joined))
            self._table[delta_key(message["batch"], partition)] = delta.to_bytes()
        futures = [
            await self._replies.send(
                key=message["batch"].encode(),
                value=orjson.dumps({"batch": message["batch"], "answers": items}),
                partition=reply_partition,
            )
            for reply_partition, items in answers.items()
        ]
        await asyncio.gather(*futures)
        self._maybe_prune()

    def _withdraw(self, partition: int, message: dict[str, Any]) -> None:
        """Apply the message's withdrawals, and store them as the message's delta (a
        redelivered message rewrites it; a rebuild then leaves the members out)."""
        withdrawn = withdrawal_items(message)
        if not withdrawn:
            return
        for article_id, band_keys, seen_at in withdrawn:
            self._index.withdraw(partition, article_id, band_keys, seen_at)
        named = tuple((article_id, seen_at) for article_id, _, seen_at in withdrawn)
        delta = Delta(partition, max(at for _, at in named), (), named)
        self._table[delta_key(message["batch"], partition)] = delta.to_bytes()

    def _maybe_prune(self) -> None:
        now = self._clock()
        if now >= self._next_prune:
            self._index.prune(now)
            self._next_prune = now + self._prune_every_s
