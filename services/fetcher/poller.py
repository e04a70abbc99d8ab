"""One poll of one source: request, parse, identify, complete, build records, next state.

The poller does no delivery and no storage: it returns the records and the state to
save *once those records are acknowledged*. Every failure becomes a classified
outcome of this source (``FetchError``); nothing a source sends can raise out of here.

What differs between source kinds (which URL to ask, how a response becomes entries,
whether items need their article page) is the kind's own module in ``kinds/``; the
conditional GET, "unchanged" detection, identity, article pages, records and the next
state are done here, once, the same way for every kind.
"""

from __future__ import annotations

import hashlib
import logging
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from newswire.common.errors import InvalidRecord
from newswire.common.schemas import SchemaName, validate
from newswire.common.settings import FetcherSettings
from newswire.common.times import parse_rfc3339
from newswire.fetcher.clock import Clock
from newswire.fetcher.errors import FetchError, FetchErrorKind
from newswire.fetcher.fetch.client import FetchResponse, HttpClient
from newswire.fetcher.fetch.robots import RobotsFetch, RobotsRules
from newswire.fetcher.identity import Identified, identify
from newswire.fetcher.kinds import Kind, Reading, kind_of
from newswire.fetcher.kinds.base import decode
from newswire.fetcher.parse import Document, Entry
from newswire.fetcher.parse.dates import credible, from_epoch
from newswire.fetcher.parse.html import extract_article
from newswire.fetcher.records import RawRecord, build_record
from newswire.fetcher.schedule import Bounds, failure_delay, http_cache_hint, next_interval
from newswire.fetcher.sources.model import Source, normal_decoding_settings
from newswire.fetcher.state import SourceState

log = logging.getLogger(__name__)

#: Article-page failures that are worth another try next poll rather than a thin record.
TRANSIENT_KINDS = frozenset(
    {
        FetchErrorKind.NETWORK,
        FetchErrorKind.TIMEOUT,
        FetchErrorKind.HTTP_5XX,
        FetchErrorKind.RATE_LIMITED,
    }
)


@dataclass
class PollResult:
    """What one poll did; ``state`` is to be saved after ``records`` are acknowledged."""

    source: Source
    #: items | incomplete (a document cut short: its complete items are kept, the rest
    #: is fetched again next poll) | not_modified | error
    outcome: str
    state: SourceState
    records: list[RawRecord] = field(default_factory=list)
    error: FetchError | None = None
    listed: int = 0  # entries in the document(s)
    deferred: int = 0  # new entries left for the next poll (article fetch limit, transient errors)
    dropped: int = 0  # new entries without text or title, or invalid records
    #: Entries of the document not passed on, by reason (no text, cut off by truncation).
    skipped: dict[str, int] = field(default_factory=dict)
    status: int | None = None
    bytes: int = 0
    elapsed_s: float = 0.0
    requests: int = 0
    document_format: str | None = None
    #: What was wrong with the document though items were read from it (a truncated
    #: feed, ill-formed XML): an operator should look at the source.
    defects: tuple[str, ...] = ()
    #: (status, seconds, bytes) of every response received, for metrics.
    responses: list[tuple[int, float, int]] = field(default_factory=list)
    #: robots.txt fetches this poll made (at most one per host and TTL), for metrics.
    robots_fetches: list[RobotsFetch] = field(default_factory=list)
    #: The source's ``ignore_robots: true``: robots.txt was not consulted (reported).
    robots_ignored: bool = False
    #: RSS/RDF/Atom: (parser, why the fast path refused it or ""), for metrics.
    parsed_by: tuple[str, str] | None = None
    #: The encoding detection chose for a body nothing labelled (None: it was labelled,
    #: UTF-8, or overridden), reported so an operator can confirm or override it.
    guessed_encoding: str | None = None
    #: (encoding, what was wrong, kind) when the body decoded despite a defect
    #: (stray invalid UTF-8, an implausible declared charset).
    encoding_defect: tuple[str, str, str] | None = None
    #: Of ``records``, those the sink dead-lettered instead of delivering (too large
    #: for the cluster), by ErrorKind value; set once delivered (``FetcherService``).
    dead_lettered: dict[str, int] = field(default_factory=dict)
    #: Of ``records``, those written to a stream (``--output -``) that Kafka mode would
    #: dead-letter, by ErrorKind value (``too_large``); set once delivered.
    would_dead_letter: dict[str, int] = field(default_factory=dict)

    @property
    def emitted(self) -> int:
        """Records delivered (to the raw topic or the stream), dead letters not counted:
        the ``items=`` of the status line, the closing line's items, the metric's."""
        return len(self.records) - sum(self.dead_lettered.values())

    def summary(self) -> str:
        """One line for an operator (``--once`` writes it to stderr)."""
        head = f"source={self.source.id} kind={self.source.kind} outcome={self.outcome}"
        if self.robots_ignored:
            head += " robots=ignored"
        if self.error is not None:
            status = f" status={self.error.status}" if self.error.status is not None else ""
            return f"{head} error={self.error.kind}{status} detail={self.error.detail!r}"
        parts = [head, f"items={self.emitted}", f"listed={self.listed}"]
        if dead := sum(self.dead_lettered.values()):
            reasons = "; ".join(f"{why}: {n}" for why, n in sorted(self.dead_lettered.items()))
            parts.append(f"dead_lettered={dead} ({reasons})")
        if would := sum(self.would_dead_letter.values()):
            parts.append(
                f"would_dead_letter={would} (too large for Kafka, over KAFKA_MAX_MESSAGE_BYTES;"
                " written here all the same)"
            )
        if self.deferred:
            parts.append(f"deferred={self.deferred}")
        if self.dropped:
            parts.append(f"dropped={self.dropped}")
        if self.skipped:
            reasons = "; ".join(f"{why}: {n}" for why, n in sorted(self.skipped.items()))
            parts.append(f"skipped={sum(self.skipped.values())} ({reasons})")
        if self.document_format:
            parts.append(f"format={self.document_format}")
        if self.guessed_encoding:
            parts.append(f"encoding={self.guessed_encoding} (guessed)")
        elif self.encoding_defect:
            parts.append(f"encoding={self.encoding_defect[0]} ({self.encoding_defect[1]})")
        parts += [f"status={self.status}", f"bytes={self.bytes}", f"ms={self.elapsed_s * 1000:.0f}"]
        if self.defects:
            parts.append(f"malformed={'; '.join(self.defects)!r}")
        return " ".join(parts)


@dataclass
class _Poll:
    """Mutable bookkeeping of one poll in progress."""

    source: Source
    state: SourceState
    now: float
    responses: list[FetchResponse] = field(default_factory=list)
    article_budget: int = 0
    robots_fetches: list[RobotsFetch] = field(default_factory=list)

    @property
    def kind(self) -> Kind:
        """The registered reader of this source's kind."""
        return kind_of(self.source.kind)

    def note(self, response: FetchResponse) -> FetchResponse:
        """Count a response with this poll's (requests, bytes, time, metrics)."""
        self.responses.append(response)
        return response


class Poller:
    """Polls sources with one shared HTTP client; holds no per-source state itself."""

    def __init__(
        self, http: HttpClient, settings: FetcherSettings, *, clock: Clock, rng: random.Random
    ) -> None:
        self._http = http
        self._settings = settings
        self._clock = clock
        self._rng = rng
        self._robots = RobotsRules(http, settings, clock)

    def bounds(self, source: Source) -> Bounds:
        low = source.min_interval_s or self._settings.min_interval_s
        high = max(source.max_interval_s or self._settings.max_interval_s, low)
        return Bounds(low, high)

    async def poll(self, source: Source, state: SourceState) -> PollResult:
        now = self._clock.time()
        decoding = source.decoding_settings
        if state.decoded_under is not None and (
            normal_decoding_settings(state.decoded_under) == decoding
        ):
            state = replace(state, decoded_under=decoding)  # spelled otherwise before
        if state.decoded_under not in (None, decoding):
            log.info(
                "source=%s decoding settings changed (%s -> %s): fetching and emitting again",
                source.id,
                state.decoded_under,
                decoding,
            )
        run = _Poll(
            source,
            state.under_decoding(decoding).attempted(now),
            now,
            article_budget=self._settings.max_article_fetches,
        )
        if source.ignore_robots:
            log.info("source=%s ignore_robots=true: robots.txt not consulted", source.id)
        try:
            result = await self._poll_kind(run)
        except FetchError as error:
            return self._failed(run, error)
        except Exception as exc:
            log.exception("unexpected error polling %s", source.id)
            return self._failed(
                run,
                FetchError(
                    FetchErrorKind.MALFORMED, f"internal error: {type(exc).__name__}: {exc}"
                ),
            )
        return _account(result, run)

    async def _poll_kind(self, run: _Poll) -> PollResult:
        """Conditional GET of the kind's first URL; unless unchanged, the kind reads the
        response (asking for further pages through this poll) and the items are emitted."""
        response = await self._conditional_get(run, run.kind.first_url(run.source))
        unchanged = self._unchanged(run, response)
        if unchanged is not None:
            return unchanged
        document = await run.kind.read(response, self._reading(run))
        return await self._emit(run, document, response)

    def _reading(self, run: _Poll) -> Reading:
        """What a kind may use during this poll: further GETs counted with the poll's."""

        async def get(url: str) -> FetchResponse:
            return run.note(await self._get(run, url))

        return Reading(
            source=run.source,
            max_pages=run.source.max_pages or self._settings.max_pages,
            get=get,
            all_new=lambda entries: self._all_new(run, entries),
            any_new=lambda entries: self._any_new(run, entries),
        )

    # --- steps -----------------------------------------------------------------------

    async def _get(
        self, run: _Poll, url: str, headers: Mapping[str, str] | None = None
    ) -> FetchResponse:
        async def robots_allow(target: str) -> None:
            """Every request of the poll, redirect hops included, asks robots.txt first."""
            verdict = await self._robots.check(target)
            if verdict.fetch is not None:
                run.robots_fetches.append(verdict.fetch)
            if not verdict.allowed:
                raise FetchError(verdict.kind, verdict.detail, url=target)

        return await self._http.get(
            url,
            headers={**run.source.headers, **(headers or {})},
            before_request=None if run.source.ignore_robots else robots_allow,
        )

    async def _conditional_get(self, run: _Poll, url: str) -> FetchResponse:
        return run.note(await self._get(run, url, run.state.conditional_headers()))

    def _unchanged(self, run: _Poll, response: FetchResponse) -> PollResult | None:
        """A not-modified result for a 304, or for a 200 whose body hash did not change."""
        if not response.not_modified and _body_hash(response.body) != run.state.body_hash:
            return None
        interval = self._interval(run, [], response.headers, None)
        state = run.state.not_modified(
            now=run.now, next_due_at=run.now + interval, interval_s=interval
        )
        state = replace(
            state,
            etag=response.headers.get("etag") or state.etag,
            last_modified=response.headers.get("last-modified") or state.last_modified,
        )
        return PollResult(run.source, "not_modified", state, status=response.status)

    @staticmethod
    def _all_new(run: _Poll, entries: Sequence[Entry]) -> bool:
        """Every entry of the last page read is unseen: the next page may hold more."""
        seen = run.state.seen_ids()
        identified = identify(entries, run.source.identity)
        return bool(identified) and all(i.item_id not in seen for i in identified)

    @staticmethod
    def _any_new(run: _Poll, entries: Sequence[Entry]) -> bool:
        """Some entry is unseen: a listing page that is not only known items."""
        seen = run.state.seen_ids()
        return any(i.item_id not in seen for i in identify(entries, run.source.identity))

    async def _emit(self, run: _Poll, document: Document, response: FetchResponse) -> PollResult:
        identified = identify(document.entries, run.source.identity)
        seen = run.state.seen_ids()
        fresh = [i for i in identified if i.item_id not in seen]
        completed, deferred = await self._complete(run, fresh)
        fetched_at = from_epoch(run.now)
        records: list[RawRecord] = []
        dropped: list[str] = []
        for item in sorted(completed, key=_chronological):
            record = _valid(
                build_record(
                    run.source, item, fetched_at=fetched_at, document_language=document.language
                )
            )
            if record is None:
                dropped.append(item.item_id)
            else:
                records.append(record)
        arrivals = [_arrival(r.value, run.now) for r in records]
        interval = self._interval(run, arrivals, response.headers, document.poll_hint_s)
        state = run.state.succeeded(
            now=run.now,
            next_due_at=run.now + interval,
            interval_s=interval,
            etag=response.headers.get("etag"),
            last_modified=response.headers.get("last-modified"),
            # A defective document (cut short) is read again even if the same bytes come
            # back: its cut item must not hide behind "unchanged".
            body_hash=None if deferred or document.defects else _body_hash(response.body),
            new_item_ids=[r.item_id for r in records] + dropped,
            still_listed=[i.item_id for i in identified if i.item_id in seen],
            arrivals=arrivals,
            seen_max=self._settings.seen_ids_max,
        )
        if deferred or document.truncated:
            # What is left (deferred pages, or the part cut off) must come back: a 304 to
            # the validators would hide it until the feed changes.
            state = replace(state, etag=None, last_modified=None)
        if deferred:  # come back soon for what is left
            state = replace(state, next_due_at=run.now + self.bounds(run.source).min_s)
        return PollResult(
            run.source,
            "incomplete" if document.truncated else "items",
            state,
            records=records,
            listed=len(identified),
            deferred=len(deferred),
            dropped=len(dropped),
            skipped=dict(document.skipped),
            status=response.status,
            document_format=document.format.value,
            defects=document.defects,
            parsed_by=document.parsed_by,
            guessed_encoding=document.encoding if document.encoding_guessed else None,
            encoding_defect=_encoding_defect(document),
        )

    async def _complete(
        self, run: _Poll, fresh: list[Identified]
    ) -> tuple[list[Identified], list[Identified]]:
        """Fetch the article page of each new entry that needs one, within the budget."""
        done: list[Identified] = []
        deferred: list[Identified] = []
        for item in fresh:
            if not run.kind.needs_page(run.source, item.entry) or item.url is None:
                done.append(item)
            elif run.article_budget <= 0:
                deferred.append(item)
            else:
                run.article_budget -= 1
                completed = await self._with_article(run, item)
                (done if completed is not None else deferred).append(completed or item)
        return done, deferred

    async def _with_article(self, run: _Poll, item: Identified) -> Identified | None:
        """The entry completed from its page; the entry as it is when the page is refused
        for good; None when the failure is transient (try again next poll)."""
        assert item.url is not None
        try:
            response = run.note(await self._get(run, item.url))
            decoded = decode(run.source, response)
            article = extract_article(
                decoded.text, url=response.url, selectors=run.source.selectors
            )
        except FetchError as error:
            if error.kind in TRANSIENT_KINDS:
                return None
            log.info(
                "article page of %s refused (%s); keeping what the listing says",
                run.source.id,
                error,
            )
            return item
        entry = item.entry
        page_title_first = run.kind.page_title_first
        merged = replace(
            entry,
            title=(article.title or entry.title)
            if page_title_first
            else (entry.title or article.title),
            text=article.text or entry.text,
            published_at=entry.published_at or article.published_at,
            language=entry.language or article.language,
            summary_only=not article.text and entry.summary_only,
        )
        return replace(item, entry=merged)

    def _interval(
        self, run: _Poll, arrivals: list[float], headers: Mapping[str, str], poll_hint: float | None
    ) -> float:
        return next_interval(
            arrivals=[*run.state.arrivals, *arrivals],
            now=run.now,
            bounds=self.bounds(run.source),
            hints=[poll_hint, http_cache_hint(headers, run.now)],
            hint_cap_s=self._settings.hint_cap_s,
            jitter_ratio=self._settings.jitter_ratio,
            rng=self._rng,
        )

    def _failed(self, run: _Poll, error: FetchError) -> PollResult:
        failures = run.state.failures + 1
        delay = failure_delay(
            failures=failures,
            bounds=self.bounds(run.source),
            base_s=self._settings.backoff_base_s,
            cap_s=self._settings.backoff_cap_s,
            retry_after_s=error.retry_after_s,
            jitter_ratio=self._settings.jitter_ratio,
            rng=self._rng,
        )
        state = run.state.failed(kind=error.kind, detail=str(error), next_due_at=run.now + delay)
        return _account(
            PollResult(run.source, "error", state, error=error, status=error.status), run
        )


def _account(result: PollResult, run: _Poll) -> PollResult:
    result.responses = [(r.status, r.elapsed_s, len(r.body)) for r in run.responses]
    result.requests = len(run.responses)
    result.bytes = sum(len(r.body) for r in run.responses)
    result.elapsed_s = sum(r.elapsed_s for r in run.responses)
    result.robots_fetches = run.robots_fetches
    result.robots_ignored = run.source.ignore_robots
    return result


def _body_hash(body: bytes) -> str:
    return hashlib.blake2b(body, digest_size=16).hexdigest()


def _chronological(item: Identified) -> float:
    """Oldest first, undated last: downstream sees a source's items in publication order."""
    published = item.entry.published_at
    return published.timestamp() if published else float("inf")


def _arrival(record: Mapping[str, object], now: float) -> float:
    """When an item arrived, for the adaptive interval: its date if credible, else now."""
    if record.get("published_at_inferred"):
        return now
    published = credible(parse_rfc3339(str(record["published_at"])), from_epoch(now))
    return min(published.timestamp(), now) if published else now


def _valid(record: RawRecord | None) -> RawRecord | None:
    """Records are checked against the raw schema here, once, before anything is produced
    (the sinks rely on it and do not check again)."""
    if record is None:
        return None
    try:
        validate(SchemaName.RAW, record.value)
    except InvalidRecord as error:
        log.warning("dropping an invalid record of %s: %s", record.value["source"].get("id"), error)
        return None
    return record


def _encoding_defect(document: Document) -> tuple[str, str, str] | None:
    """(encoding, note, kind) of a body that decoded despite an encoding defect."""
    if document.encoding and document.encoding_note and document.encoding_defect:
        return document.encoding, document.encoding_note, document.encoding_defect
    return None
