"""What arrives on news.raw during a soak run, and when: pure and seeded.

A :class:`TrafficPlan` is two lists made from a seed: the *phases* (when records
arrive: bursts of hundreds at once, trickles at a steady rate, pauses longer than
the enricher's batch window) and the *record specs* (what each record is: a good
article of some size and script, or a poison record of some kind). Records are
built from their spec only when sent (:meth:`TrafficPlan.record`), each from its
own ``Random(f"{seed}/{index}")``, so a plan of thousands of articles, some of them
megabytes, costs nothing to hold and the same seed always gives the same bytes.

Poison records are the ones the enricher must dead-letter, each for its own reason:
not UTF-8, not JSON, JSON that breaks the raw schema, a key that is not the record's
id, no key. Size classes put records at and around the two limits that apply to a
raw record: the schema's ``text.maxLength`` (characters) and the cluster's message
size (``KAFKA_MAX_MESSAGE_BYTES``); Arabic text takes two bytes a letter in UTF-8,
so the byte limit is reached with half as many characters.

Nothing here talks to Kafka or reads the clock (``fetched_at`` is given by the
caller), so every property of a plan is unit-tested (tests/soak/test_traffic.py).
"""

from __future__ import annotations

import functools
import math
import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import orjson

from newswire.common.records import encode, raw_article
from newswire.common.schemas import SchemaName, schema_document
from newswire.common.settings import Settings

#: Headroom left under the message limit by the largest *valid* record: the enriched
#: record adds language, topics and dedupe fields (a few hundred bytes) and must fit too.
NEAR_LIMIT_HEADROOM = 16 * 1024
#: Upper bound of what a raw record adds around its text (fields, quotes, headers).
RECORD_OVERHEAD = 4 * 1024
#: ``fetched_at`` of records built without a clock (tests); a run passes the time.
FIXED_FETCHED_AT = "2025-01-31T10:15:00.000Z"
#: Where the good articles' URLs (and so their ids) live.
URL_BASE = "https://soak.newswire.test"


class Kind(StrEnum):
    """What a record is, and so what the pipeline must do with it."""

    GOOD = "good"  # valid, keyed by its id: must reach news.enriched and every output
    NOT_UTF8 = "not_utf8"  # dead letter, kind decode
    NOT_JSON = "not_json"  # dead letter, kind decode
    SCHEMA = "schema"  # JSON that breaks the raw schema: dead letter, kind schema
    KEY_MISMATCH = "key_mismatch"  # valid record, wrong key: dead letter, kind schema
    NO_KEY = "no_key"  # valid record, no key: dead letter, kind schema
    OVERSIZE = "oversize"  # over the message limit: the producer must refuse to send it

    @property
    def poison(self) -> bool:
        return self not in (Kind.GOOD, Kind.OVERSIZE)

    @property
    def dead_letter_kind(self) -> str | None:
        """The ``kind`` its dead letter should carry (None: it must not be dead-lettered)."""
        if self in (Kind.NOT_UTF8, Kind.NOT_JSON):
            return "decode"
        return "schema" if self.poison else None


POISON_KINDS: tuple[Kind, ...] = (
    Kind.NOT_UTF8,
    Kind.NOT_JSON,
    Kind.SCHEMA,
    Kind.KEY_MISMATCH,
    Kind.NO_KEY,
)


class Size(StrEnum):
    """Size classes. The first three are the ordinary mix; the rest are specials, added
    one record each, whose kind follows from the limit they sit on (see ``SPECIAL_KINDS``)."""

    SMALL = "small"  # 200 - 3,000 characters
    MEDIUM = "medium"  # 3,000 - 60,000
    LARGE = "large"  # 200,000 - 1,000,000 (capped by the limits)
    NEAR_LIMIT = "near_limit"  # Arabic, valid, as close to the byte limit as the schema allows
    AT_TEXT_LIMIT = "at_text_limit"  # Latin, exactly text.maxLength characters: valid
    UNDER_TEXT_LIMIT = "under_text_limit"  # Latin, maxLength - 1: valid
    OVER_TEXT_LIMIT = "over_text_limit"  # Latin, maxLength + 1: schema poison
    OVER_TEXT_LIMIT_ARABIC = "over_text_limit_arabic"  # Arabic past maxLength, under the byte limit
    OVER_BYTES = "over_bytes"  # past the message limit: refused by the producer


SPECIAL_KINDS: dict[Size, Kind] = {
    Size.NEAR_LIMIT: Kind.GOOD,
    Size.AT_TEXT_LIMIT: Kind.GOOD,
    Size.UNDER_TEXT_LIMIT: Kind.GOOD,
    Size.OVER_TEXT_LIMIT: Kind.SCHEMA,
    Size.OVER_TEXT_LIMIT_ARABIC: Kind.SCHEMA,
    Size.OVER_BYTES: Kind.OVERSIZE,
}

#: The sizes of the ``sizes`` scenario: every record at and around the limits.
LIMIT_SIZES: tuple[Size, ...] = tuple(SPECIAL_KINDS)

DEFAULT_MIX: tuple[tuple[Size, float], ...] = (
    (Size.SMALL, 0.87),
    (Size.MEDIUM, 0.12),
    (Size.LARGE, 0.01),
)


@dataclass(frozen=True, slots=True)
class Limits:
    """The two limits a raw record meets: message bytes and the schema's text length."""

    max_message_bytes: int
    text_max_chars: int

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        text = schema_document(SchemaName.RAW)["properties"]["text"]
        return cls(settings.kafka.max_message_bytes, int(text["maxLength"]))

    @property
    def valid_bytes(self) -> int:
        """Largest encoded size a valid raw record may have here (see NEAR_LIMIT_HEADROOM)."""
        return self.max_message_bytes - NEAR_LIMIT_HEADROOM

    def feasible(self, size: Size) -> bool:
        """Whether a record of this class can be built under these limits (a small
        message limit leaves no room for a text at maxLength, for instance)."""
        if size in (Size.AT_TEXT_LIMIT, Size.UNDER_TEXT_LIMIT):
            return self.text_max_chars + RECORD_OVERHEAD <= self.valid_bytes
        if size is Size.OVER_TEXT_LIMIT:
            return self.text_max_chars + 1 + RECORD_OVERHEAD <= self.max_message_bytes
        if size is Size.OVER_TEXT_LIMIT_ARABIC:  # at most 2 bytes a character
            return 2 * (self.text_max_chars + 1) + RECORD_OVERHEAD <= self.max_message_bytes
        return True


# -- arrivals ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Burst:
    """COUNT records sent at once (every send in flight together)."""

    count: int


@dataclass(frozen=True, slots=True)
class Trickle:
    """COUNT records, one every 1/RATE seconds."""

    count: int
    rate: float

    @property
    def seconds(self) -> float:
        return self.count / self.rate


@dataclass(frozen=True, slots=True)
class Pause:
    """Nothing for SECONDS: longer than the enricher's batch window on purpose."""

    seconds: float


Phase = Burst | Trickle | Pause


@dataclass(frozen=True, slots=True)
class ArrivalSpec:
    """Which arrival patterns a plan uses and their ranges (inclusive)."""

    bursts: bool = True
    burst_size: tuple[int, int] = (100, 400)
    trickle_rate: tuple[float, float] = (1.0, 50.0)
    trickle_length: tuple[int, int] = (10, 200)
    pauses: bool = True
    pause_s: tuple[float, float] = (1.0, 5.0)
    #: Keep adding phases (and good records) until the plan lasts at least this long.
    min_duration_s: float = 0.0
    #: Scale the trickles' rates (within ``trickle_rate``) so that the whole plan,
    #: bursts and pauses included, averages about this many records a second.
    mean_rate: float | None = None

    def __post_init__(self) -> None:
        for name in ("burst_size", "trickle_rate", "trickle_length", "pause_s"):
            low, high = getattr(self, name)
            if not 0 < low <= high:
                raise ValueError(f"{name} must be 0 < low <= high, got {(low, high)}")
        if self.mean_rate is not None and self.mean_rate <= 0:
            raise ValueError("mean_rate must be positive")


def phase_count(phase: Phase) -> int:
    return 0 if isinstance(phase, Pause) else phase.count


def planned_seconds(phases: list[Phase] | tuple[Phase, ...]) -> float:
    """How long the phases take if every send is instant (bursts count as no time)."""
    return sum(p.seconds for p in phases if isinstance(p, Trickle | Pause))


def plan_arrivals(total: int, spec: ArrivalSpec, rng: random.Random) -> list[Phase]:
    """Phases that send at least TOTAL records and last at least ``spec.min_duration_s``.

    Sending phases alternate at random between bursts and trickles; after each, a
    pause follows with probability one half (never two pauses in a row, never one at
    either end). When a pattern is enabled and there is room, it appears at least once.
    With ``spec.mean_rate``, the duration becomes a record count (rate x duration) and
    the trickles are paced to that mean at the end (:func:`pace`).
    """
    phases: list[Phase] = []
    sent = 0
    if spec.mean_rate is not None:
        total = max(total, math.ceil(spec.mean_rate * spec.min_duration_s))
    patterns = ["trickle", "burst"] if spec.bursts else ["trickle"]

    def more() -> bool:
        if sent < total:
            return True
        trailing = phases[-1].seconds if phases and isinstance(phases[-1], Pause) else 0.0
        return spec.mean_rate is None and planned_seconds(phases) - trailing < spec.min_duration_s

    while more():
        if spec.pauses and phases and not isinstance(phases[-1], Pause) and rng.random() < 0.5:
            phases.append(Pause(round(rng.uniform(*spec.pause_s), 3)))
            continue
        pattern = rng.choice(patterns)
        if pattern == "burst":
            count = rng.randint(*spec.burst_size)
        else:
            count = rng.randint(*spec.trickle_length)
        if sent < total:
            count = min(count, total - sent)
        if pattern == "burst":
            phases.append(Burst(count))
        else:
            phases.append(Trickle(count, round(rng.uniform(*spec.trickle_rate), 3)))
        sent += count
    while phases and isinstance(phases[-1], Pause):
        phases.pop()
    phases = _ensure_patterns(phases, spec, rng)
    return pace(phases, spec) if spec.mean_rate is not None else phases


def pace(phases: list[Phase], spec: ArrivalSpec) -> list[Phase]:
    """Scale every trickle's rate by one factor so the plan averages ``spec.mean_rate``;
    rates stay inside ``spec.trickle_rate`` (then the mean is only approached)."""
    assert spec.mean_rate is not None
    total = sum(phase_count(p) for p in phases)
    paused = sum(p.seconds for p in phases if isinstance(p, Pause))
    trickling = sum(p.seconds for p in phases if isinstance(p, Trickle))
    wanted = total / spec.mean_rate - paused
    if trickling <= 0 or wanted <= 0:
        return phases
    factor = trickling / wanted
    low, high = spec.trickle_rate
    return [
        Trickle(p.count, round(min(high, max(low, p.rate * factor)), 3))
        if isinstance(p, Trickle)
        else p
        for p in phases
    ]


def _ensure_patterns(phases: list[Phase], spec: ArrivalSpec, rng: random.Random) -> list[Phase]:
    """Make every enabled pattern appear once when the record count allows it."""
    if spec.bursts and not any(isinstance(p, Burst) for p in phases):
        biggest = max(range(len(phases)), key=lambda i: phase_count(phases[i]))
        trickle = phases[biggest]
        if isinstance(trickle, Trickle) and trickle.count >= 2:
            burst = min(trickle.count // 2, spec.burst_size[1])
            phases[biggest : biggest + 1] = [
                Burst(burst),
                Trickle(trickle.count - burst, trickle.rate),
            ]
        elif isinstance(trickle, Trickle) and len(phases) >= 2:
            phases[biggest] = Burst(trickle.count)  # one-record trickles only: one becomes a burst
    if spec.pauses and not any(isinstance(p, Pause) for p in phases):
        pause = Pause(round(rng.uniform(*spec.pause_s), 3))
        if len(phases) >= 2:
            phases.insert(1, pause)
        elif phases and phase_count(phases[0]) >= 2:
            first, second = _split(phases[0], phase_count(phases[0]) // 2)
            phases[:] = [first, pause, second]
    return phases


def _split(phase: Phase, first: int) -> tuple[Phase, Phase]:
    if isinstance(phase, Burst):
        return Burst(first), Burst(phase.count - first)
    assert isinstance(phase, Trickle)
    return Trickle(first, phase.rate), Trickle(phase.count - first, phase.rate)


# -- record specs -----------------------------------------------------------------------


class Script(StrEnum):
    LATIN = "latin"
    ARABIC = "arabic"


@dataclass(frozen=True, slots=True)
class RecordSpec:
    """One record of the plan; cheap to hold, built into bytes by :meth:`TrafficPlan.record`."""

    index: int
    kind: Kind
    size: Size
    script: Script
    variant: int = 0  # which way a poison record is broken

    def __post_init__(self) -> None:
        expected = SPECIAL_KINDS.get(self.size)
        if expected is not None and self.kind is not expected:
            raise ValueError(f"size {self.size} makes a {expected} record, not {self.kind}")


@dataclass(frozen=True, slots=True)
class TrafficSpec:
    """How many records of each sort, how big, and how they arrive."""

    good: int
    poison: int = 0
    specials: tuple[Size, ...] = ()
    size_mix: tuple[tuple[Size, float], ...] = DEFAULT_MIX
    arabic_share: float = 0.4
    arrivals: ArrivalSpec = field(default_factory=ArrivalSpec)

    def __post_init__(self) -> None:
        if self.good < 0 or self.poison < 0:
            raise ValueError("record counts must not be negative")
        if not all(size in (Size.SMALL, Size.MEDIUM, Size.LARGE) for size, _ in self.size_mix):
            raise ValueError("size_mix takes small, medium and large; limit sizes go in specials")
        if any(size not in SPECIAL_KINDS for size in self.specials):
            raise ValueError("specials take the limit sizes only")


def plan_records(
    total: int, spec: TrafficSpec, limits: Limits, rng: random.Random
) -> list[RecordSpec]:
    """TOTAL record specs: the specials (those feasible under LIMITS), ``spec.poison``
    poison records of every kind in turn, and good records for the rest; spread at
    random positions (poison interleaved with good, never in one block)."""
    specials = [size for size in spec.specials if limits.feasible(size)]
    fixed = len(specials) + spec.poison
    if total < fixed:
        raise ValueError(f"{total} records cannot hold {fixed} specials and poison")
    poison_kinds = [POISON_KINDS[i % len(POISON_KINDS)] for i in range(spec.poison)]
    rng.shuffle(poison_kinds)
    positions = rng.sample(range(total), fixed)
    placed: dict[int, tuple[Kind, Size]] = {}
    for position, size in zip(positions, specials, strict=False):
        placed[position] = (SPECIAL_KINDS[size], size)
    for position, kind in zip(positions[len(specials) :], poison_kinds, strict=True):
        placed[position] = (kind, Size.SMALL)
    sizes, weights = zip(*spec.size_mix, strict=True)
    specs: list[RecordSpec] = []
    variants: Counter[Kind] = Counter()
    for index in range(total):
        kind, size = placed.get(index) or (Kind.GOOD, rng.choices(sizes, weights)[0])
        script = _script_for(size, spec.arabic_share, rng)
        specs.append(RecordSpec(index, kind, size, script, variants[kind]))
        variants[kind] += 1
    return specs


def _script_for(size: Size, arabic_share: float, rng: random.Random) -> Script:
    if size in (Size.NEAR_LIMIT, Size.OVER_TEXT_LIMIT_ARABIC):
        return Script.ARABIC
    if size in (Size.AT_TEXT_LIMIT, Size.UNDER_TEXT_LIMIT, Size.OVER_TEXT_LIMIT, Size.OVER_BYTES):
        return Script.LATIN
    return Script.ARABIC if rng.random() < arabic_share else Script.LATIN


# -- the plan ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TrafficRecord:
    """One record ready to send, and what the pipeline must make of it."""

    index: int
    kind: Kind
    size: Size
    key: bytes | None
    value: bytes
    article_id: str | None  # the id inside the value, when it has one
    note: str  # what is special about it, for reports

    @property
    def expected_dead_letter(self) -> str | None:
        return self.kind.dead_letter_kind


@dataclass(frozen=True)
class TrafficPlan:
    seed: int
    limits: Limits
    phases: tuple[Phase, ...]
    specs: tuple[RecordSpec, ...]

    @property
    def total(self) -> int:
        return len(self.specs)

    @property
    def seconds(self) -> float:
        return planned_seconds(self.phases)

    def count(self, *kinds: Kind) -> int:
        return sum(1 for spec in self.specs if spec.kind in kinds)

    @property
    def good(self) -> int:
        return self.count(Kind.GOOD)

    @property
    def poison(self) -> int:
        return self.count(*POISON_KINDS)

    def schedule(self) -> Iterator[tuple[Phase, range]]:
        """Each phase with the indices of the records it sends (empty for a pause)."""
        start = 0
        for phase in self.phases:
            count = phase_count(phase)
            yield phase, range(start, start + count)
            start += count

    def record(self, index: int, *, fetched_at: str = FIXED_FETCHED_AT) -> TrafficRecord:
        return build_record(
            self.specs[index], seed=self.seed, limits=self.limits, fetched_at=fetched_at
        )

    def describe(self) -> str:
        bursts = [p.count for p in self.phases if isinstance(p, Burst)]
        trickles = [p for p in self.phases if isinstance(p, Trickle)]
        pauses = [p.seconds for p in self.phases if isinstance(p, Pause)]
        sizes = Counter(spec.size.value for spec in self.specs)
        parts = [
            f"{self.total} records ({self.good} good, {self.poison} poison"
            + (f", {self.count(Kind.OVERSIZE)} oversize" if self.count(Kind.OVERSIZE) else "")
            + f") over ~{self.seconds:.0f}s",
            f"bursts={len(bursts)} ({min(bursts)}-{max(bursts)} records)"
            if bursts
            else "no bursts",
            (
                f"trickles={len(trickles)} at {min(t.rate for t in trickles):.1f}-"
                f"{max(t.rate for t in trickles):.1f}/s"
            )
            if trickles
            else "no trickles",
            f"pauses={len(pauses)} ({min(pauses):.1f}-{max(pauses):.1f}s)"
            if pauses
            else "no pauses",
            "sizes " + ",".join(f"{k}={v}" for k, v in sorted(sizes.items())),
        ]
        return "; ".join(parts)


def plan_traffic(spec: TrafficSpec, *, seed: int, limits: Limits) -> TrafficPlan:
    """The whole plan from SEED: the same seed and limits always give the same plan."""
    rng = random.Random(f"soak-traffic/{seed}")
    fixed = spec.good + spec.poison + sum(1 for size in spec.specials if limits.feasible(size))
    phases = plan_arrivals(fixed, spec.arrivals, rng)
    total = sum(phase_count(p) for p in phases)
    specs = plan_records(total, spec, limits, rng)
    return TrafficPlan(seed, limits, tuple(phases), tuple(specs))


# -- building records -------------------------------------------------------------------

_ALPHABETS = {
    Script.LATIN: "abcdefghijklmnopqrstuvwxyz",
    Script.ARABIC: "ابتثجحخدذرزسشصضطظعغفقكلمنهوي",
}


@functools.cache
def vocabulary(script: Script) -> tuple[str, ...]:
    """4,000 pseudo-words of 3-9 letters: random texts from it share no 4-word runs,
    so good articles are neither duplicates nor near-duplicates of one another."""
    rng = random.Random(f"soak-vocabulary/{script.value}")
    letters = _ALPHABETS[script]
    return tuple("".join(rng.choices(letters, k=rng.randint(3, 9))) for _ in range(4000))


def text_of(rng: random.Random, script: Script, chars: int) -> str:
    """Sentences of pseudo-words, exactly CHARS characters, not ending in a space."""
    words = vocabulary(script)
    sentences: list[str] = []
    length = 0
    while length - 1 < chars:  # the join below has one space fewer than counted
        sentence = " ".join(rng.choices(words, k=rng.randint(6, 18))) + "."
        sentences.append(sentence)
        length += len(sentence) + 1
    text = " ".join(sentences)[:chars]
    return text[:-1] + "." if text.endswith(" ") else text


def _chars_for(spec: RecordSpec, limits: Limits, rng: random.Random) -> int:
    cap = limits.text_max_chars
    match spec.size:
        case Size.SMALL:
            return rng.randint(200, 3000)
        case Size.MEDIUM:
            return rng.randint(3000, 60_000)
        case Size.LARGE:
            per_char = 2 if spec.script is Script.ARABIC else 1
            room = (limits.valid_bytes - RECORD_OVERHEAD) // per_char
            return max(1, min(rng.randint(200_000, 1_000_000), cap, room))
        case Size.NEAR_LIMIT:  # Arabic takes 1.8-2 bytes a character; _fit trims the rest
            return min(cap, (limits.valid_bytes - RECORD_OVERHEAD) * 10 // 18)
        case Size.AT_TEXT_LIMIT:
            return cap
        case Size.UNDER_TEXT_LIMIT:
            return cap - 1
        case Size.OVER_TEXT_LIMIT:
            return cap + 1
        case Size.OVER_TEXT_LIMIT_ARABIC:
            # As many characters as fit under the byte limit (at least maxLength + 1):
            # schema poison that is also nearly as large as a message may be.
            return max(cap + 1, (limits.max_message_bytes - RECORD_OVERHEAD) * 10 // 19)
        case Size.OVER_BYTES:
            return limits.max_message_bytes + 1
    raise AssertionError(spec.size)


def build_record(spec: RecordSpec, *, seed: int, limits: Limits, fetched_at: str) -> TrafficRecord:
    """The bytes of one record, from its spec and the seed alone."""
    rng = random.Random(f"soak-record/{seed}/{spec.index}")
    if spec.kind is Kind.GOOD or spec.kind is Kind.OVERSIZE:
        article = _article(spec, seed, limits, rng, fetched_at)
        value = encode(article)
        if spec.size is Size.NEAR_LIMIT:
            article, value = _fit(article, limits.valid_bytes)
        note = f"{spec.script} text of {len(article['text'])} chars, {len(value)} bytes"
        return TrafficRecord(
            spec.index, spec.kind, spec.size, article["id"].encode(), value, article["id"], note
        )
    return _poison(spec, seed, limits, rng, fetched_at)


def _article(
    spec: RecordSpec,
    seed: int,
    limits: Limits,
    rng: random.Random,
    fetched_at: str,
    *,
    path: str = "",
) -> dict[str, Any]:
    """A raw article as a plain dict: the soak bends it (poison, sizes) on purpose."""
    chars = _chars_for(spec, limits, rng)
    text = text_of(rng, spec.script, chars)
    title = f"soak {seed}/{spec.index}: " + " ".join(rng.choices(vocabulary(spec.script), k=6))
    return dict(
        raw_article(
            source={"kind": "feed", "id": "soak", "name": "newswire soak"},
            text=text,
            url=f"{URL_BASE}/{seed}/{path}{spec.index}",
            title=title,
            fetched_at=fetched_at,
            language_hint=None,
        )
    )


def _fit(article: dict[str, Any], max_bytes: int) -> tuple[dict[str, Any], bytes]:
    """Trim the text until the encoded record is at most MAX_BYTES (ids come from the
    URL, so the id does not change)."""
    value = encode(article)
    while len(value) > max_bytes:
        excess = len(value) - max_bytes
        text = article["text"][: len(article["text"]) - math.ceil(excess / 2) - 1].rstrip()
        article = article | {"text": text}
        value = encode(article)
    return article, value


# -- poison -----------------------------------------------------------------------------


def _poison(
    spec: RecordSpec, seed: int, limits: Limits, rng: random.Random, fetched_at: str
) -> TrafficRecord:
    """A record the enricher must dead-letter; ``variant`` picks how it is broken."""
    article = _article(spec, seed, limits, rng, fetched_at, path="poison/")
    article_id: str = article["id"]
    key: bytes | None = article_id.encode()
    value = encode(article)
    found_id: str | None = article_id
    match spec.kind:
        case Kind.NOT_UTF8:
            value, note = _not_utf8(article, spec.variant)
        case Kind.NOT_JSON:
            value, note = _not_json(value, spec.variant)
            found_id = None
        case Kind.SCHEMA if spec.size in (Size.OVER_TEXT_LIMIT, Size.OVER_TEXT_LIMIT_ARABIC):
            note = f"text of {len(article['text'])} chars is over maxLength {limits.text_max_chars}"
        case Kind.SCHEMA:
            broken, note = _schema_breaker(article, spec.variant)
            value = orjson.dumps(broken)
            found_id = broken.get("id") if isinstance(broken, dict) else None
            key = (
                found_id.encode() if isinstance(found_id, str) else rng.randbytes(16).hex().encode()
            )
            if not isinstance(found_id, str):
                found_id = None
        case Kind.KEY_MISMATCH:
            choices = [
                (rng.randbytes(16).hex().encode(), "keyed by another article's id"),
                (article_id.upper().encode(), "keyed by its id in upper case"),
                (b"", "empty key"),
                (f"article-{spec.index}".encode(), "keyed by a name, not the id"),
            ]
            key, note = choices[spec.variant % len(choices)]
        case Kind.NO_KEY:
            key, note = None, "no key (null)"
        case _:
            raise AssertionError(spec.kind)
    return TrafficRecord(spec.index, spec.kind, spec.size, key, value, found_id, note)


def _not_utf8(article: dict[str, Any], variant: int) -> tuple[bytes, str]:
    text = article["text"][:200]
    match variant % 3:
        case 0:
            body = encode(article | {"text": "@@BAD@@" + text})
            return body.replace(b"@@BAD@@", b"\xff\xfe", 1), "JSON with 0xFF 0xFE bytes in the text"
        case 1:
            json_text = orjson.dumps(article | {"text": "caf\u00e9 " + text}).decode()
            return json_text.encode("latin-1", "replace"), "JSON encoded as Latin-1"
        case _:
            return b"\xc3\x28\xa0\xa1" + encode(article)[4:], "invalid UTF-8 sequences at the start"


def _not_json(value: bytes, variant: int) -> tuple[bytes, str]:
    match variant % 4:
        case 0:
            return b"<rss version='2.0'><channel><item><title>x</title></item>", "an RSS fragment"
        case 1:
            return value[: len(value) // 2], "a JSON record cut in half"
        case 2:
            return b"plain text where a JSON record should be", "plain text"
        case _:
            return b"", "empty bytes"


def _schema_breaker(article: dict[str, Any], variant: int) -> tuple[Any, str]:
    options: list[tuple[Any, str]] = [
        (article | {"fetched_at": "soon"}, "fetched_at is not a date-time"),
        ({k: v for k, v in article.items() if k != "text"}, "no text"),
        (article | {"text": ""}, "empty text"),
        (article | {"id": "not-a-hex-id"}, "id is not 32 hex characters"),
        (article | {"source": {"kind": "carrier-pigeon", "id": "x"}}, "unknown source kind"),
        ([article], "a JSON array, not an object"),
        (article | {"schema_version": "2.0"}, "schema_version of another major version"),
        (article | {"url": "not a url"}, "url is not a URI"),
    ]
    return options[variant % len(options)]
