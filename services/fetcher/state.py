"""Per-source polling state: a record with methods, stored as JSON in a compacted topic.

A state value says everything needed to poll a source next time, on any replica:
validators (ETag, Last-Modified) and the body hash for conditional polling; outcome
times and the failure count/kind for backoff and reporting; the next due time; the
ids of recently emitted items, so a restarted fetcher neither re-emits old items nor
skips new ones.

Delivery is write-ahead (see ``poller``/``service``): before records are produced,
the state is saved with ``pending`` - the article ids about to be produced, the item
ids they stand for, and the raw topic's end offsets at that moment. Once the broker
has acked the records, the state moves on with the items in ``seen`` and nothing
pending. A fetcher killed in between finds ``pending`` on restart and looks in the raw
topic from those offsets for which records actually arrived: those items count as
emitted, the rest are polled again. Each item therefore reaches ``news.raw`` once.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum
from typing import Any

import orjson

from newswire.fetcher.errors import REFUSAL_KINDS, FetchErrorKind

STATE_VERSION = 1
#: Arrival times kept for the adaptive interval (a week of a busy source, roughly).
MAX_ARRIVALS = 200


class SourceStatus(StrEnum):
    """What a source is doing, for metrics and reports."""

    NEW = "new"
    OK = "ok"
    FAILING = "failing"
    RATE_LIMITED = "rate_limited"
    FORBIDDEN = "forbidden"
    BOT_CHALLENGE = "bot_challenge"
    ROBOTS_DISALLOWED = "robots_disallowed"


@dataclass(frozen=True, slots=True)
class Pending:
    """Records produced (or about to be) but not yet confirmed by a state save."""

    article_ids: tuple[str, ...]
    item_ids: tuple[str, ...]
    raw_offsets: dict[int, int]  # raw topic partition -> end offset before producing


@dataclass(frozen=True, slots=True)
class SourceState:
    source_id: str
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    last_attempt_at: float | None = None
    last_success_at: float | None = None
    last_new_item_at: float | None = None
    first_success_at: float | None = None
    failures: int = 0
    failure_kind: str | None = None
    failure_detail: str | None = None
    next_due_at: float = 0.0
    interval_s: float | None = None
    seen: tuple[str, ...] = ()
    arrivals: tuple[float, ...] = ()
    pending: Pending | None = None
    items_emitted: int = 0
    #: The source's decoding settings the validators and ``seen`` were obtained under
    #: (:attr:`Source.decoding_settings`); None in states saved before it was kept.
    decoded_under: str | None = None
    version: int = field(default=STATE_VERSION)

    # --- reading -------------------------------------------------------------------

    @property
    def status(self) -> SourceStatus:
        if self.failure_kind is None:
            return SourceStatus.OK if self.last_success_at is not None else SourceStatus.NEW
        kind = FetchErrorKind(self.failure_kind)
        return SourceStatus(kind.value) if kind in REFUSAL_KINDS else SourceStatus.FAILING

    def conditional_headers(self) -> dict[str, str]:
        """Validators for a conditional GET. Both are sent; servers give ETag precedence."""
        headers: dict[str, str] = {}
        if self.etag:
            headers["If-None-Match"] = self.etag
        if self.last_modified:
            headers["If-Modified-Since"] = self.last_modified
        return headers

    def seen_ids(self) -> set[str]:
        return set(self.seen)

    def is_silent(self, now: float, after_s: float) -> bool:
        """No new item for ``after_s`` although polls succeed (or since the first success)."""
        reference = self.last_new_item_at or self.first_success_at
        return reference is not None and now - reference > after_s

    # --- moving on (each returns a new state) ---------------------------------------

    def under_decoding(self, settings: str) -> SourceState:
        """This state for a source decoded under ``settings``.

        When an operator sets a source's ``encoding`` or ``language`` after its text came
        out garbled, a conditional GET would get 304 and the garbled items would stay. So
        a change drops the validators and body hash (the body is fetched and decoded
        again) and ``seen`` (its items are emitted again under the same ids, which the
        enricher takes as updates). A state saved before the settings were kept drops
        only the validators: one full GET, no items emitted twice.
        """
        if self.decoded_under == settings:
            return self
        cleared = replace(
            self, decoded_under=settings, etag=None, last_modified=None, body_hash=None
        )
        return cleared if self.decoded_under is None else replace(cleared, seen=())

    def attempted(self, now: float) -> SourceState:
        return replace(self, last_attempt_at=now)

    def succeeded(
        self,
        *,
        now: float,
        next_due_at: float,
        interval_s: float,
        etag: str | None,
        last_modified: str | None,
        body_hash: str | None,
        new_item_ids: list[str],
        still_listed: list[str],
        arrivals: list[float],
        seen_max: int,
    ) -> SourceState:
        """After a poll whose records (if any) are acknowledged. Items still listed by
        the document move to the recent end of ``seen``, so only items that left the
        document age out of it."""
        return replace(
            self,
            etag=etag,
            last_modified=last_modified,
            body_hash=body_hash,
            last_success_at=now,
            first_success_at=self.first_success_at or now,
            last_new_item_at=now if new_item_ids else self.last_new_item_at,
            failures=0,
            failure_kind=None,
            failure_detail=None,
            next_due_at=next_due_at,
            interval_s=interval_s,
            seen=_bounded(self.seen, [*still_listed, *new_item_ids], seen_max),
            arrivals=tuple(sorted(self.arrivals + tuple(arrivals)))[-MAX_ARRIVALS:],
            pending=None,
            items_emitted=self.items_emitted + len(new_item_ids),
        )

    def not_modified(self, *, now: float, next_due_at: float, interval_s: float) -> SourceState:
        return replace(
            self,
            last_success_at=now,
            first_success_at=self.first_success_at or now,
            failures=0,
            failure_kind=None,
            failure_detail=None,
            next_due_at=next_due_at,
            interval_s=interval_s,
        )

    def failed(self, *, kind: FetchErrorKind, detail: str, next_due_at: float) -> SourceState:
        """After a failure: counted and backed off, never dropped. Validators are kept."""
        return replace(
            self,
            failures=self.failures + 1,
            failure_kind=kind.value,
            failure_detail=detail[:500],
            next_due_at=next_due_at,
        )

    def with_pending(self, pending: Pending) -> SourceState:
        return replace(self, pending=pending)

    def resolve_pending(
        self, delivered_article_ids: set[str], *, now: float, seen_max: int
    ) -> SourceState:
        """On restart: items whose records reached the raw topic count as emitted."""
        if self.pending is None:
            return self
        delivered = [
            item
            for article, item in zip(self.pending.article_ids, self.pending.item_ids, strict=True)
            if article in delivered_article_ids
        ]
        return replace(
            self,
            pending=None,
            seen=_bounded(self.seen, delivered, seen_max),
            items_emitted=self.items_emitted + len(delivered),
            last_new_item_at=now if delivered else self.last_new_item_at,
        )

    # --- storage -----------------------------------------------------------------

    def to_json(self) -> bytes:
        return orjson.dumps(asdict(self), option=orjson.OPT_NON_STR_KEYS)

    @classmethod
    def from_json(cls, payload: bytes) -> SourceState:
        data: dict[str, Any] = orjson.loads(payload)
        pending = data.pop("pending", None)
        data["seen"] = tuple(data.get("seen", ()))
        data["arrivals"] = tuple(data.get("arrivals", ()))
        known = {name for name in cls.__dataclass_fields__}
        state = cls(**{k: v for k, v in data.items() if k in known})
        if pending:
            state = replace(
                state,
                pending=Pending(
                    tuple(pending["article_ids"]),
                    tuple(pending["item_ids"]),
                    {int(k): int(v) for k, v in pending["raw_offsets"].items()},
                ),
            )
        return state


def _bounded(seen: tuple[str, ...], new: list[str], limit: int) -> tuple[str, ...]:
    """The most recent ``limit`` ids, oldest first, each once."""
    merged = dict.fromkeys(seen)
    for item in new:
        merged.pop(item, None)
        merged[item] = None
    return tuple(merged)[-limit:]
