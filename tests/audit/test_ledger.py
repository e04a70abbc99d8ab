"""The audit's accounting rules, without Kafka; and the bytes -> observation step.

The property tests simulate the pipeline (an enricher that emits when an id's
content hash changes, dead-letters poison, sometimes emits twice after a "crash";
a JSON Lines writer keeping the first copy of each version; a PostgreSQL upsert
keeping the latest version per id), feed what it produced in any order, and check
that a complete world audits clean and that removing one thing is found exactly.
"""

from __future__ import annotations

import hashlib
import itertools
import random
from collections import Counter
from dataclasses import dataclass, field

import orjson
from hypothesis import given
from hypothesis import strategies as st

from newswire.audit.ledger import Ledger
from newswire.audit.model import (
    DeadLetter,
    EnrichedRecord,
    Observation,
    OutputMode,
    OutputRecord,
    RawRecord,
    TornLine,
)
from newswire.audit.readers import (
    enriched_observation,
    letter_observation,
    output_observation,
    raw_observation,
    record_digest,
)
from newswire.audit.report import Sources, as_json, render_text, summary_line
from newswire.common.ids import content_hash
from newswire.common.records import raw_article

RAW, ENRICHED = "news.raw", "news.enriched"
PARTITIONS = 3


def ident(n: int) -> str:
    return f"{n:032x}"


def version(n: int) -> str:
    return f"c{n:031x}"


_serial = itertools.count()


def fresh_digest() -> bytes:
    """A digest no other record has (each emission differs, e.g. in enriched_at)."""
    return hashlib.blake2b(str(next(_serial)).encode(), digest_size=16).digest()


def ledger(**options: object) -> Ledger:
    built = Ledger(raw_topic=RAW, enriched_topic=ENRICHED, **options)  # type: ignore[arg-type]
    return built


MODES = {"jsonl": OutputMode.VERSIONS, "postgres": OutputMode.LATEST}


def fed(
    observations: list[Observation], *, writers: tuple[str, ...] | None = None, **options: object
) -> Ledger:
    """A ledger fed OBSERVATIONS, auditing WRITERS (default: those with an observation)."""
    book = ledger(**options)
    if writers is None:
        writers = tuple(
            w for w in MODES if any(getattr(o, "writer", None) == w for o in observations)
        )
    for writer in writers:
        book.expect_output(writer, MODES[writer])
    for observation in observations:
        book.add(observation)
    return book


# -- unit tests ------------------------------------------------------------------------


def test_every_raw_record_gets_one_outcome() -> None:
    a, b = version(1), version(2)
    observations: list[Observation] = [
        RawRecord(0, 0, ident(1), a),  # enriched
        RawRecord(0, 1, ident(1), a),  # redelivery
        RawRecord(0, 2, ident(1), b),  # update: enriched
        RawRecord(1, 0, None, None, "decode: not JSON"),  # dead-lettered
        RawRecord(1, 1, ident(9), None, "schema: no text"),  # invalid, no letter: lost
        RawRecord(1, 2, ident(2), a),  # valid, never enriched: lost
        EnrichedRecord(0, 0, ident(1), a, fresh_digest()),
        EnrichedRecord(0, 1, ident(1), b, fresh_digest()),
        DeadLetter(RAW, 1, 0, "enricher", "decode", "decode: not JSON"),
    ]
    report = fed(observations).report()
    assert (report.raw_records, report.enriched, report.redelivered, report.dead_lettered) == (
        6,
        2,
        1,
        1,
    )
    assert [(u.article_id, u.partition, u.offset) for u in report.lost] == [
        (ident(9), 1, 1),
        (ident(2), 1, 2),
    ]
    assert "invalid" in report.lost[0].reason and "no enriched record" in report.lost[1].reason
    assert report.duplicate_emissions == 0 and not report.ok
    assert report.letters == Counter({"enricher/decode": 1})


def test_a_second_emission_of_a_version_is_a_duplicate_not_a_loss() -> None:
    a = version(1)
    report = fed(
        [
            RawRecord(2, 0, ident(1), a),
            EnrichedRecord(2, 0, ident(1), a, fresh_digest()),
            EnrichedRecord(2, 5, ident(1), a, fresh_digest()),
        ]
    ).report()
    assert report.ok and report.enriched == 1
    assert report.duplicate_emissions == 1 and report.duplicate_ids == [ident(1)]
    assert report.duplicates_by_partition == {2: 1}


def test_content_changing_back_is_an_update_not_a_duplicate() -> None:
    """A, B, A: the enricher compares with the previous hash only, so it emits three times,
    and each emission accounts for one raw record."""
    a, b = version(1), version(2)
    raws = [RawRecord(0, n, ident(1), h) for n, h in enumerate((a, b, a))]
    emitted = [EnrichedRecord(0, n, ident(1), h, fresh_digest()) for n, h in enumerate((a, b, a))]
    report = fed([*raws, *emitted]).report()
    assert report.ok and report.duplicate_emissions == 0
    assert (report.enriched, report.redelivered) == (3, 0)


def test_a_version_emitted_once_for_two_changes_back_to_it_loses_the_second() -> None:
    """A, B, A with the third emission missing: the first A's emission does not explain
    the third record (it was once counted as a redelivery)."""
    a, b = version(1), version(2)
    raws = [RawRecord(0, n, ident(1), h) for n, h in enumerate((a, b, a))]
    emitted = [EnrichedRecord(0, n, ident(1), h, fresh_digest()) for n, h in enumerate((a, b))]
    report = fed([*raws, *emitted]).report()
    assert not report.ok
    assert [(u.partition, u.offset) for u in report.lost] == [(0, 2)]
    assert (report.enriched, report.redelivered) == (2, 0)


def test_only_a_letter_about_the_raw_topic_accounts_for_a_raw_record() -> None:
    report = fed(
        [
            RawRecord(0, 3, None, None, "decode"),
            DeadLetter(ENRICHED, 0, 3, "sink", "decode"),
            DeadLetter(None, None, None, "replay", "schema"),
        ]
    ).report()
    assert [(u.partition, u.offset) for u in report.lost] == [(0, 3)]
    assert report.letters_elsewhere == 1


def test_drop_duplicates_makes_missing_records_unaccounted_not_lost() -> None:
    observations: list[Observation] = [
        RawRecord(0, 0, ident(1), version(1)),
        RawRecord(0, 1, None, None, "decode"),
    ]
    report = fed(observations, drop_duplicates=True).report()
    assert [u.offset for u in report.unaccounted_dropped] == [0]
    assert [u.offset for u in report.lost] == [1], "an invalid record cannot be a dropped duplicate"
    only_dropped = fed(observations[:1], drop_duplicates=True).report()
    assert not only_dropped.ok and not only_dropped.lost
    assert fed(observations[:1], drop_duplicates=True, allow_dropped=True).report().ok
    assert "unaccounted_drop_duplicates=1" in summary_line(only_dropped)


def test_jsonl_output_must_hold_every_version_exactly_as_on_the_topic() -> None:
    a, b = version(1), version(2)
    da, db = fresh_digest(), fresh_digest()
    topic: list[Observation] = [
        RawRecord(0, 0, ident(1), a),
        RawRecord(0, 1, ident(1), b),
        RawRecord(0, 2, ident(2), a),
        EnrichedRecord(0, 0, ident(1), a, da),
        EnrichedRecord(0, 1, ident(1), b, db),
        EnrichedRecord(0, 2, ident(2), a, fresh_digest()),
    ]
    outputs: list[Observation] = [
        OutputRecord("jsonl", ident(1), a, da, "f:1"),
        OutputRecord("jsonl", ident(1), b, fresh_digest(), "f:2"),  # differs
        OutputRecord("jsonl", ident(1), a, da, "f:3"),  # repeated
        OutputRecord("jsonl", ident(7), a, fresh_digest(), "f:4"),  # not on the topic
        TornLine("jsonl", "f:5", "last line has no newline (cut off)"),
    ]
    (jsonl,) = fed(topic + outputs).report().outputs
    assert jsonl.missing == [(ident(2), a)]
    assert jsonl.differs == [(ident(1), b, "f:2")]
    assert jsonl.not_on_topic == [(ident(7), a, "f:4")]
    assert jsonl.torn == [("f:5", "last line has no newline (cut off)")]
    assert (jsonl.records, jsonl.repeated, jsonl.distinct_ids) == (4, 1, 2)
    assert not jsonl.ok


def test_postgres_must_hold_the_latest_version_unless_the_sink_dead_lettered_it() -> None:
    a, b = version(1), version(2)
    da = fresh_digest()
    topic: list[Observation] = [
        RawRecord(0, 0, ident(1), a),
        RawRecord(0, 1, ident(1), b),
        EnrichedRecord(0, 0, ident(1), a, da),
        EnrichedRecord(0, 1, ident(1), b, fresh_digest()),
    ]
    stale = [OutputRecord("postgres", ident(1), a, da, "articles")]
    (postgres,) = fed(topic + stale).report().outputs
    assert postgres.missing == [(ident(1), b)] and not postgres.differs

    refused = DeadLetter(ENRICHED, 0, 1, "sink", "rejected", "postgres: NUL in text")
    (postgres,) = fed([*topic, *stale, refused]).report().outputs
    assert postgres.ok and postgres.excused == 1

    other_writer = DeadLetter(ENRICHED, 0, 1, "sink", "rejected", "jsonl: cannot encode")
    (postgres,) = fed([*topic, *stale, other_writer]).report().outputs
    assert postgres.missing == [(ident(1), b)]


def test_watched_ids_get_a_trail() -> None:
    a = version(1)
    report = fed(
        [RawRecord(0, 0, ident(1), a), RawRecord(0, 1, ident(1), a)], watch=frozenset({ident(1)})
    ).report()
    assert [step.rsplit(": ", 1)[1] for step in report.trails[ident(1)]] == [
        "LOST (no enriched record)"
    ] * 2


def test_text_report_ends_with_the_summary_and_json_has_the_harness_keys() -> None:
    report = fed(
        [RawRecord(0, n, ident(n), version(1)) for n in range(60)]
        + [OutputRecord("jsonl", ident(1), version(1), fresh_digest(), "f:1")]
    ).report()
    sources = Sources(kafka="127.0.0.1:19092", outputs={"jsonl": "out"})
    lines = render_text(report, sources)
    assert lines[-1] == summary_line(report)
    assert lines[-1].startswith("audit: raw=60 enriched=0 redelivered=0 dead_lettered=0 lost=60 ")
    assert "output_missing=0 output_differs=0" in lines[-1]
    assert sum(1 for line in lines if "[0]@" in line) == 50, "lists are cut at 50 lines"
    assert "first 50 of 60" in "\n".join(lines)
    document = orjson.loads(orjson.dumps(as_json(report, sources)))
    for key in (
        "raw_records", "enriched", "redelivered", "dead_lettered", "lost", "duplicate_emissions",
        "duplicate_ids", "duplicates_by_partition", "output", "ok",
    ):  # fmt: skip
        assert key in document
    assert len(document["lost"]) == 60 and document["ok"] is False
    assert set(document["lost"][0]) >= {"id", "partition", "offset"}
    assert {"missing", "differs", "torn", "distinct_ids"} <= set(document["output"]["jsonl"])


# -- bytes -> observations -------------------------------------------------------------


def test_raw_observation_follows_the_enricher() -> None:
    record = raw_article(source={"kind": "replay", "ref": "a.txt"}, text="Body.", title="T")
    value, key = orjson.dumps(record), record["id"].encode()
    assert raw_observation(0, 1, key, value) == RawRecord(
        0, 1, record["id"], content_hash("T", "Body.")
    )
    poison = {
        "not UTF-8": (key, b"\xff\xfe{"),
        "not JSON": (key, b"<rss>"),
        "schema": (key, orjson.dumps(record | {"fetched_at": "soon"})),
        "wrong key": (b"other", value),
        "no key": (None, value),
        "no value": (key, None),
    }
    for name, (k, v) in poison.items():
        seen = raw_observation(0, 2, k, v)
        assert seen.content_hash is None and seen.problem, name


def test_digests_ignore_key_order_and_spelling_but_not_values() -> None:
    record = {"id": ident(1), "dedupe": {"content_hash": version(1), "similarity": 0.5}, "n": 1.0}
    reordered = b'{"n": 1.0, "dedupe": {"similarity": 5e-1, "content_hash": "%s"}, "id": "%s"}' % (
        version(1).encode(),
        ident(1).encode(),
    )
    seen = output_observation("jsonl", reordered, "f:1")
    assert isinstance(seen, OutputRecord) and seen.digest == record_digest(record)
    assert enriched_observation(0, 0, orjson.dumps(record)).digest == record_digest(record)
    assert record_digest(record | {"n": 2.0}) != record_digest(record)
    assert isinstance(output_observation("jsonl", b'{"id": 1}', "f:2"), TornLine)
    assert enriched_observation(0, 0, b"{").problem


def test_letter_observation_reads_the_origin() -> None:
    letter = {
        "service": "sink",
        "kind": "rejected",
        "reason": "postgres: NUL",
        "origin": {"topic": ENRICHED, "partition": 2, "offset": 9},
    }
    seen = letter_observation(orjson.dumps(letter))
    assert seen == DeadLetter(ENRICHED, 2, 9, "sink", "rejected", "postgres: NUL")
    assert seen.excused_writer() == "postgres"
    assert letter_observation(b"junk").kind == "unreadable"


# -- property tests --------------------------------------------------------------------

FATES = ("ok", "ok", "ok", "poison", "keyed-poison", "fail", "crash-dup")
events = st.lists(
    st.tuples(st.integers(0, 5), st.integers(0, 2), st.sampled_from(FATES)), max_size=40
)


@dataclass
class World:
    """What a correct pipeline leaves behind for a sequence of raw records."""

    topic: list[Observation] = field(default_factory=list)  # raw, enriched, letters
    jsonl: list[OutputRecord] = field(default_factory=list)
    postgres: list[OutputRecord] = field(default_factory=list)
    crash_duplicates: int = 0
    #: The raw record (partition, offset) each emission stands for (a crash emits twice).
    source: dict[int, tuple[int, int]] = field(default_factory=dict)

    @property
    def everything(self) -> list[Observation]:
        return [*self.topic, *self.jsonl, *self.postgres]


def simulate(history: list[tuple[int, int, str]]) -> World:
    world = World()
    raw_next, enriched_next = Counter[int](), Counter[int]()
    previous: dict[str, str] = {}
    first_copy: dict[tuple[str, str], bytes] = {}
    rows: dict[str, tuple[str, bytes]] = {}
    for n, c, fate in history:
        article, content, partition = ident(n), version(c), n % PARTITIONS
        offset = raw_next[partition]
        raw_next[partition] += 1
        if fate in ("poison", "keyed-poison"):
            world.topic.append(
                RawRecord(partition, offset, article if fate == "keyed-poison" else None, None, "x")
            )
            world.topic.append(DeadLetter(RAW, partition, offset, "enricher", "decode"))
            continue
        world.topic.append(RawRecord(partition, offset, article, content))
        if fate == "fail":
            world.topic.append(DeadLetter(RAW, partition, offset, "enricher", "processing"))
            continue
        if previous.get(article) == content:
            continue  # redelivery: nothing emitted
        previous[article] = content
        for _copy in range(2 if fate == "crash-dup" else 1):
            digest = fresh_digest()
            emission = EnrichedRecord(partition, enriched_next[partition], article, content, digest)
            world.topic.append(emission)
            world.source[id(emission)] = (partition, offset)
            enriched_next[partition] += 1
            first_copy.setdefault((article, content), digest)
            if rows.get(article, ("", b""))[0] != content:
                rows[article] = (content, digest)
        world.crash_duplicates += fate == "crash-dup"
    world.jsonl = [OutputRecord("jsonl", a, c, d, f"f:{a}{c}") for (a, c), d in first_copy.items()]
    world.postgres = [OutputRecord("postgres", a, c, d, "articles") for a, (c, d) in rows.items()]
    return world


def shuffled(observations: list[Observation], rnd: random.Random) -> list[Observation]:
    copy = list(observations)
    rnd.shuffle(copy)
    return copy


@given(events, st.randoms(use_true_random=False))
def test_a_complete_world_audits_clean_in_any_order(
    history: list[tuple[int, int, str]], rnd: random.Random
) -> None:
    world = simulate(history)
    report = fed(shuffled(world.everything, rnd)).report()
    assert report.ok and not report.lost
    assert report.raw_records == len(history)
    assert report.enriched + report.redelivered + report.dead_lettered == report.raw_records
    assert report.duplicate_emissions == world.crash_duplicates
    assert all(not (o.missing or o.differs or o.not_on_topic or o.torn) for o in report.outputs)


@given(events, st.randoms(use_true_random=False), st.data())
def test_removing_one_enriched_record_loses_exactly_its_id(
    history: list[tuple[int, int, str]], rnd: random.Random, data: st.DataObject
) -> None:
    world = simulate(history)
    emitted = [o for o in world.topic if isinstance(o, EnrichedRecord)]
    if not emitted:
        return
    gone = data.draw(st.sampled_from(emitted))
    copies = sum(1 for o in emitted if world.source[id(o)] == world.source[id(gone)])
    rest = [o for o in world.topic if o is not gone]
    report = fed(shuffled(rest, rnd)).report()
    explained = copies > 1  # the crash's second copy of the same record stands in
    assert {u.article_id for u in report.lost} == (set() if explained else {gone.article_id})
    assert all(u.reason == "no enriched record" for u in report.lost)


@given(events, st.randoms(use_true_random=False), st.data())
def test_removing_one_dead_letter_loses_at_most_its_record(
    history: list[tuple[int, int, str]], rnd: random.Random, data: st.DataObject
) -> None:
    world = simulate(history)
    letters = [o for o in world.topic if isinstance(o, DeadLetter)]
    if not letters:
        return
    gone = data.draw(st.sampled_from(letters))
    report = fed(shuffled([o for o in world.topic if o is not gone], rnd)).report()
    lost = {(u.partition, u.offset) for u in report.lost}
    assert len(lost) <= 1, "one missing letter costs at most one record"
    if gone.kind == "decode":
        assert lost == {(gone.partition, gone.offset)}
    else:
        # Which of one id's records lacks its emission can be ambiguous when its content
        # changes back (A, B, A, B with B's letter gone explains as well with the second
        # A lost): the count and the id are certain, the offset is the likeliest one.
        raw_ids = {
            (o.partition, o.offset): o.article_id for o in world.topic if isinstance(o, RawRecord)
        }
        assert {raw_ids[where] for where in lost} <= {raw_ids[(gone.partition, gone.offset)]}


@given(events, st.randoms(use_true_random=False), st.data())
def test_removing_one_output_record_is_reported_missing(
    history: list[tuple[int, int, str]], rnd: random.Random, data: st.DataObject
) -> None:
    world = simulate(history)
    outputs = world.jsonl + world.postgres
    if not outputs:
        return
    gone = data.draw(st.sampled_from(outputs))
    rest = shuffled([o for o in world.everything if o is not gone], rnd)
    report = fed(rest, writers=("jsonl", "postgres")).report()
    missing = {o.writer: o.missing for o in report.outputs}
    assert missing.get(gone.writer, []) == [(gone.article_id, gone.content_hash)]
    assert not report.ok and not report.lost
