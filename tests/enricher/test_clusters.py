"""Story clusters: the head is the earliest article and the groups a consumer derives
do not depend on the order in which the partitions were processed."""

from __future__ import annotations

import base64
import functools
import random
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from newswire.common.contract import EnrichedArticle
from newswire.common.records import raw_article
from newswire.common.settings import Settings
from newswire.common.times import parse_rfc3339
from newswire.enricher.app import build_pipeline
from newswire.enricher.bands import Member, Probe, answer_probe, resolved
from newswire.enricher.buckets import BucketIndex, Delta, delta_key
from newswire.enricher.clusters import ClusterBook, Head, Placement, place
from newswire.enricher.neardup import probes_by_partition
from newswire.enricher.pipeline import Emit, EnrichmentPipeline, probe_for, settled_record
from newswire.evaluation.near_duplicates import stream_candidate

WEEK = 7 * 24 * 3600.0
SKETCH = base64.b64encode(b"\x01\x02").decode()


# -- placing a newcomer ------------------------------------------------------------------


def test_a_newcomer_without_matches_starts_its_own_cluster() -> None:
    assert place("n", 5.0, []) == Placement("n", Head(5.0, "n"))


def test_a_newcomer_earlier_than_the_head_becomes_the_head_of_the_same_cluster() -> None:
    placed = place("orig", 1.0, [("copy", Head(9.0, "copy"))])
    assert placed == Placement("copy", Head(1.0, "orig"))
    assert placed.role("orig") == "head"


def test_a_later_newcomer_is_a_member_of_the_cluster_with_the_earliest_head() -> None:
    placed = place(
        "late",
        9.0,
        [
            ("b", Head(4.0, "b")),
            ("a", Head(2.0, "a")),
            ("a", Head(3.0, "x")),
            ("c", Head(2.0, "c")),
        ],
    )
    assert placed == Placement("a", Head(2.0, "a"), ("b", "c"))
    assert placed.role("late") == "member"


def test_ties_in_time_are_broken_by_id() -> None:
    assert place("a", 1.0, [("b", Head(1.0, "b"))]).head == Head(1.0, "a")
    assert place("c", 1.0, [("b", Head(1.0, "b"))]).head == Head(1.0, "b")


def test_the_book_resolves_absorbed_clusters_to_the_one_with_the_earliest_head() -> None:
    book = ClusterBook()
    book.learn("a", Head(5.0, "a"))
    book.learn("b", Head(7.0, "b"))
    book.learn("c", Head(6.0, "c"))
    book.learn("b", Head(1.0, "orig"), merged=["a"])  # orig joined a and b, named b
    assert book.resolve("a", Head(5.0, "a")) == ("b", Head(1.0, "orig"))
    book.learn("c", Head(6.0, "c"), merged=["b"])  # c is later: b survives the union
    assert book.resolve("c", Head(6.0, "c")) == ("b", Head(1.0, "orig"))
    assert book.resolve("unknown", Head(3.0, "u")) == ("unknown", Head(3.0, "u"))
    assert len(book) == 1  # a, b and c are one cluster now


def test_the_book_takes_a_long_chain_of_merges() -> None:
    book = ClusterBook()
    for n in range(5000):  # no recursion: a chain this long must not overflow
        book.learn(f"c{n + 1}", Head(float(-n), f"h{n}"), merged=[f"c{n}"])
    assert book.resolve("c0", Head(99.0, "x"))[1] == Head(-4999.0, "h4999")


# -- the wire formats: what older workers wrote still loads ------------------------------


def test_members_written_before_story_keys_still_load() -> None:
    old = Member.from_json(["m", "t", SKETCH, 12.0, "root"])
    assert old.story_at is None and old.merged == ()
    assert old.key == Head(12.0, "m") and old.head == Head(12.0, "root")
    root = Member.from_json(["root", "t", SKETCH, 10.0, "root"])
    assert root.head == root.key == Head(10.0, "root")


def test_members_and_probes_round_trip_with_their_cluster_fields() -> None:
    member = Member("m", "t", b"\x01\x02", 12.0, "c", 3.0, "h", 1.0, ("x", "y"))
    assert Member.from_json(orjson.loads(orjson.dumps(member.to_json()))) == member
    probe = Probe("p", ("1:ab",), "t", b"\x01", 12.0, 2, 4.5)
    assert Probe.from_json(orjson.loads(orjson.dumps(probe.to_json()))) == probe
    assert Probe.from_json(["p", "1:ab", "t", SKETCH, 12.0, 2]).key == Head(12.0, "p")


def test_an_old_member_resolved_by_the_book_keeps_what_it_learnt_on_the_wire() -> None:
    old = Member.from_json(["m", "t", SKETCH, 12.0, "root"])
    book = ClusterBook()
    book.learn("root", Head(2.0, "orig"))
    told = Member.from_json(orjson.loads(orjson.dumps(resolved(old, book).to_json())))
    assert told.cluster_id == "root" and told.head == Head(2.0, "orig")
    assert told.key == Head(12.0, "m")


def test_a_head_does_not_name_itself_on_the_wire() -> None:
    late_original = Member("o", "t", b"\x01\x02", 12.0, "copy", 3.0, "o", 3.0)
    assert [x for x in late_original.to_json() if isinstance(x, dict)] == [{"k": 3.0}]
    assert Member.from_json(late_original.to_json()) == late_original
    assert Member.from_json(late_original.to_json()).head == Head(3.0, "o")


def test_cluster_fields_are_found_beside_other_appended_fields() -> None:
    """Another change appends its own fields to the same lists: found by type."""
    member = Member("m", "t", b"\x01\x02", 12.0, "c", 3.0, "h", 1.0, ("x",), shingles=17)
    data = member.to_json()
    (ext,) = [x for x in data if isinstance(x, dict)]
    assert data[:6] == [*data[:5], 17]  # the shingle count first, then the cluster object
    assert Member.from_json([*data[:5], ext, 17]) == member
    assert Member.from_json([*data, 23]) == member


def test_a_delta_from_an_older_worker_loads_and_answers() -> None:
    stored = {"p": 0, "at": 10.0, "m": [["1:ab", ["a", "t", SKETCH, 10.0, "a"]]]}
    index = BucketIndex(window_s=WEEK, capacity=4, threshold=0.5)
    index.load(0, [Delta.from_json(stored)])
    probe = Probe("b", ("1:ab",), "t", b"\x01\x02", 11.0, 0, 11.0)
    newcomer, heard = index.answer(0, probe)
    assert [m.article_id for m in heard] == ["a"]
    assert newcomer.cluster_id == "a" and newcomer.head == Head(10.0, "a")


def test_the_bucket_tells_later_arrivals_the_head_it_learnt() -> None:
    """A copy, then its original (earlier story key), then a later copy: the last one
    hears the original as head through the copy, whose bucket learnt it."""
    book = ClusterBook()
    bucket, _ = answer_probe(
        [], Probe("copy", ("1:ab",), "t", b"\x01", 1.0, 0, 50.0), **_opts(), book=book
    )
    bucket, _ = answer_probe(
        bucket, Probe("orig", ("1:ab",), "t", b"\x01", 2.0, 0, 10.0), **_opts(), book=book
    )
    assert bucket[-1].cluster_id == "copy" and bucket[-1].head == Head(10.0, "orig")
    _, heard = answer_probe(
        bucket[:1], Probe("late", ("1:ab",), "t", b"\x01", 3.0, 0, 60.0), **_opts(), book=book
    )
    assert [(m.article_id, m.cluster_id, m.head) for m in heard] == [
        ("copy", "copy", Head(10.0, "orig"))
    ]


def _opts() -> dict[str, Any]:
    return {"window_s": WEEK, "capacity": 8, "threshold": 0.5}


# -- permuted arrivals through the real buckets and the real pipeline --------------------

BAND_PARTITIONS = 4
CAPACITY = 64


def _paragraphs(seed: int, n: int) -> list[str]:
    rng = random.Random(seed)
    word = lambda: "".join(rng.choice("abcdefghijklmnoprstuvz") for _ in range(rng.randint(3, 9)))  # noqa: E731
    return [" ".join(word() for _ in range(40)) + "." for _ in range(n)]


def _story(salt: int = 0) -> list[dict[str, Any]]:
    """An original, copies cut from either end (which do not match each other), an
    exact copy with the original's own time, a reworded copy, and an unrelated report.
    SALT changes every id (the URLs), hence how ids break ties."""
    body = _paragraphs(1, 20)
    reworded = [p.replace(" ", " said ", 1) for p in body]
    at = "2026-03-01T08:{:02d}:00Z".format
    items = {
        "original": ("\n\n".join(body), at(0)),
        "exact": ("\n\n".join(body), at(0)),
        "lead": ("\n\n".join(body[:13]), at(5)),  # the last 35 % dropped
        "tail": ("\n\n".join(body[7:]), at(7)),  # the first 35 % dropped
        "reworded": ("CITY (Wire) -\n\n" + "\n\n".join(reworded[1:]), at(9)),
        "late_lead": ("\n\n".join(body[:12]), at(11)),
        "other": ("\n\n".join(_paragraphs(2, 18)), at(3)),
    }
    return [
        raw_article(
            source={"kind": "feed", "id": name},
            url=f"https://{name}.example/s{salt or ''}",
            title=name,
            text=text,
            published_at=published,
        )
        for name, (text, published) in items.items()
    ]


@functools.cache
def _pipeline() -> EnrichmentPipeline:
    return build_pipeline(Settings())


@functools.cache
def _emits(salt: int = 0) -> tuple[Emit, ...]:
    out = []
    for raw in _story(salt):
        outcome = _pipeline().process(orjson.dumps(raw), raw["id"].encode(), lambda _id: None)
        assert isinstance(outcome, Emit)
        out.append(outcome)
    return tuple(out)


def _threshold() -> float:
    return _pipeline().near_duplicates.threshold


def _run(
    order: Sequence[int],
    rounds: Sequence[int],
    interleave: random.Random,
    restart: int | None,
    salt: int = 0,
) -> tuple[list[EnrichedArticle], BucketIndex]:
    """Process the articles in ORDER as the stream does: batches of one article, ROUNDS
    of them in flight together, each band partition answering the round's probe
    messages in its own order (INTERLEAVE), the buckets rebuilt from their deltas alone
    after round RESTART (a worker taking over). Returns the records emitted and the
    buckets as they are at the end."""
    emits = _emits(salt)
    index = BucketIndex(window_s=WEEK, capacity=CAPACITY, threshold=_threshold())
    deltas: list[Delta] = []
    records: list[EnrichedArticle] = []
    clock = 1000.0
    position = 0
    for number, size in enumerate(rounds):
        batch = [emits[i] for i in order[position : position + size]]
        position += size
        messages: dict[int, list[list[Probe]]] = defaultdict(list)
        for emit in batch:  # one probe message per band partition per batch
            own = [probe_for(emit, seen_at=clock, reply_partition=0)]
            for partition, probes in probes_by_partition(own, BAND_PARTITIONS).items():
                messages[partition].append(probes)
        heard: dict[str, list[Member]] = defaultdict(list)
        for partition, queue in messages.items():
            interleave.shuffle(queue)
            for message in queue:
                joined = []
                for probe in message:
                    newcomer, members = index.answer(partition, probe)
                    joined.append((probe.band_keys, newcomer))
                    heard[probe.article_id].extend(members)
                deltas.append(Delta(partition, clock, tuple(joined)))
        records.extend(
            settled_record(e, heard[e.article_id], threshold=_threshold()) for e in batch
        )
        clock += 1.0
        if number == restart:
            index = BucketIndex(window_s=WEEK, capacity=CAPACITY, threshold=_threshold())
            index.load_all(
                [
                    (delta_key(f"batch-{n}", d.partition), d.to_bytes())
                    for n, d in enumerate(deltas)
                ],
                including=0,
            )
    assert position == len(order)
    return records, index


def _run_rounds(
    order: Sequence[int],
    rounds: Sequence[int],
    interleave: random.Random,
    restart: int | None,
    salt: int = 0,
) -> tuple[list[list[EnrichedArticle]], BucketIndex]:
    """:func:`_run`, its records cut into the rounds that sent them."""
    records, index = _run(order, rounds, interleave, restart, salt)
    cut, start = [], 0
    for size in rounds:
        cut.append(records[start : start + size])
        start += size
    return cut, index


def assert_cluster_ids_are_stable(rounds: Sequence[Sequence[EnrichedArticle]]) -> None:
    """What a consumer grouping by ``cluster_id`` relies on, round by round (the records
    of one round were in flight together): a record names a cluster id some record has
    published (this round or before), or its own id when it starts a cluster; never an
    id no record carries, and never itself among the clusters it absorbed."""
    published: set[str] = set()
    for batch in rounds:
        published |= {r["dedupe"]["cluster_id"] for r in batch}
        for record in batch:
            dedupe = record["dedupe"]
            cluster = dedupe["cluster_id"]
            assert cluster in published, f"{record['id']}: unpublished cluster id {cluster}"
            assert cluster not in dedupe["merged_clusters"]


def _late_copy(salt: int = 0) -> Emit:
    """A copy of the original published after all the others."""
    original = _story(salt)[0]
    raw = raw_article(
        source={"kind": "feed", "id": "late"},
        url="https://late.example/s",
        title="late",
        text=original["text"],
        published_at="2026-03-02T08:00:00Z",
    )
    outcome = _pipeline().process(orjson.dumps(raw), raw["id"].encode(), lambda _id: None)
    assert isinstance(outcome, Emit)
    return outcome


def consumer_groups(records: Iterable[EnrichedArticle]) -> set[frozenset[str]]:
    """The documented consumer rule, written from the contract alone: an article belongs
    to its record's cluster_id, and every id in merged_clusters is the same group."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            x = parent[x]
        return x

    def union(a: str, b: str) -> None:
        parent[find(a)] = find(b)

    records = list(records)
    for record in records:
        dedupe = record["dedupe"]
        union(record["id"], dedupe["cluster_id"] or record["id"])
        for absorbed in dedupe.get("merged_clusters", []):
            union(absorbed, dedupe["cluster_id"] or record["id"])
    groups: dict[str, set[str]] = defaultdict(set)
    for record in records:
        groups[find(record["id"])].add(record["id"])
    return {frozenset(g) for g in groups.values()}


def documented_groups(records: Iterable[EnrichedArticle]) -> set[frozenset[str]]:
    """The README's rule to the letter: an article is in its record's ``cluster_id``
    group, and every id in ``merged_clusters`` names the same group (no use of the
    record's own id, which :func:`consumer_groups` adds)."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            x = parent[x]
        return x

    records = list(records)
    for record in records:
        dedupe = record["dedupe"]
        for absorbed in dedupe["merged_clusters"]:
            parent[find(absorbed)] = find(dedupe["cluster_id"])
    groups: dict[str, set[str]] = defaultdict(set)
    for record in records:
        groups[find(record["dedupe"]["cluster_id"])].add(record["id"])
    return {frozenset(g) for g in groups.values()}


def _matched(a: Emit, b: Emit) -> bool:
    """The detector's own judgement of a pair, as the stream makes it (a shared probe
    band, then the exact text or containment with the Jaccard floor), either way round."""
    return any(
        stream_candidate(x.fingerprint, y.fingerprint, threshold=_threshold())[0] is not None
        for x, y in ((a, b), (b, a))
    )


@functools.cache
def _expected_groups(salt: int = 0) -> set[frozenset[str]]:
    """Connected components of the match graph: what any order must yield."""
    emits = _emits(salt)
    edges = [(a, b) for a in emits for b in emits if a is not b and _matched(a, b)]
    pseudo = [
        {"id": e.article_id, "dedupe": {"cluster_id": e.article_id, "merged_clusters": []}}
        for e in emits
    ] + [{"id": a.article_id, "dedupe": {"cluster_id": b.article_id}} for a, b in edges]
    return consumer_groups(pseudo)  # type: ignore[arg-type]


def _key(record: EnrichedArticle) -> Head:
    return Head(
        parse_rfc3339(record["published_at"] or record["fetched_at"]).timestamp(), record["id"]
    )


def test_the_story_exercises_heads_and_merges() -> None:
    """The fixture is what the property needs: one story group holding every copy, two
    copies that do not match each other, and the unrelated report alone."""
    emits = {e.record["source"]["id"]: e for e in _emits()}
    story = frozenset(e.article_id for name, e in emits.items() if name != "other")
    assert _expected_groups() == {story, frozenset({emits["other"].article_id})}
    assert not _matched(emits["lead"], emits["tail"])
    assert _matched(emits["lead"], emits["original"]) and _matched(emits["tail"], emits["original"])


def test_copies_cut_from_both_ends_before_their_original_are_merged_by_it() -> None:
    names = [e.record["source"]["id"] for e in _emits()]
    arrival = ("tail", "lead", "original", "other", "exact", "reworded", "late_lead")
    records, _ = _run([names.index(n) for n in arrival], [1] * 7, random.Random(0), None)
    by_name = {r["source"]["id"]: r for r in records}
    ids = {name: r["id"] for name, r in by_name.items()}
    dedupe = {name: r["dedupe"] for name, r in by_name.items()}
    # each cut copy came first to its own cluster; neither matches the other
    assert dedupe["tail"]["role"] == dedupe["lead"]["role"] == "head"
    assert dedupe["lead"]["cluster_id"] == ids["lead"]
    original = dedupe["original"]
    assert original["status"] == "new" and original["duplicate_of"] is None
    assert original["role"] == "head" and original["head_id"] == ids["original"]
    # the survivor is the cluster with the earlier head: lead (08:05) before tail (08:07)
    assert original["cluster_id"] == ids["lead"]
    assert original["merged_clusters"] == [ids["tail"]]
    # the exact copy has the original's time: the smaller id is the earlier
    first = min(ids["original"], ids["exact"])
    late = dedupe["late_lead"]
    assert late["status"] == "near_duplicate" and late["role"] == "member"
    assert late["cluster_id"] == ids["lead"] and late["duplicate_of"] == late["head_id"] == first
    assert dedupe["other"]["cluster_id"] == ids["other"]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.permutations(range(7)),
    st.lists(st.integers(1, 3), min_size=7, max_size=7),
    st.randoms(use_true_random=False),
    st.none() | st.integers(0, 6),
    st.integers(0, 3),
)
def test_any_arrival_order_gives_the_same_groups_and_the_earliest_head(
    order: list[int], sizes: list[int], interleave: random.Random, restart: int | None, salt: int
) -> None:
    rounds: list[int] = []
    left = len(order)
    for size in sizes:
        if left:
            rounds.append(min(size, left))
            left -= rounds[-1]
    cut, index = _run_rounds(order, rounds, interleave, restart, salt)
    assert_cluster_ids_are_stable(cut)
    records = [r for batch in cut for r in batch]
    groups = consumer_groups(records)
    assert groups == _expected_groups(salt)

    by_id = {r["id"]: r for r in records}
    for group in groups:
        earliest = min(group, key=lambda i: _key(by_id[i]))
        head = by_id[earliest]["dedupe"]
        assert head["role"] == "head" and head["status"] == "new" and head["head_id"] == earliest
        claimed = [i for i in group if by_id[i]["dedupe"]["role"] == "head"]
        assert min(claimed, key=lambda i: _key(by_id[i])) == earliest
    for record in records:
        dedupe = record["dedupe"]
        named = by_id[dedupe["head_id"]]
        assert _key(named) <= _key(record), "a head named later than the article"
        if dedupe["status"] in ("duplicate", "near_duplicate"):
            assert dedupe["role"] == "member"
            assert _key(by_id[dedupe["duplicate_of"]]) < _key(record), "a copy of a later article"
        else:
            assert dedupe["duplicate_of"] is None

    # the buckets' final state names the earliest article head: a later copy hears it
    late = _late_copy(salt)
    heard: list[Member] = []
    own = [probe_for(late, seen_at=5000.0, reply_partition=0)]
    for partition, probes in probes_by_partition(own, BAND_PARTITIONS).items():
        for probe in probes:
            heard.extend(index.answer(partition, probe)[1])
    dedupe = settled_record(late, heard, threshold=_threshold())["dedupe"]
    story = next(g for g in groups if by_id[dedupe["duplicate_of"]]["id"] in g)
    assert dedupe["head_id"] == min(story, key=lambda i: _key(by_id[i]))
    assert dedupe["status"] == "duplicate"
    assert dedupe["cluster_id"] in {by_id[i]["dedupe"]["cluster_id"] for i in story}


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.permutations(range(7)),
    st.randoms(use_true_random=False),
    st.none() | st.integers(0, 6),
    st.integers(0, 3),
)
def test_one_at_a_time_the_readme_rule_as_written_gives_the_story(
    order: list[int], interleave: random.Random, restart: int | None, salt: int
) -> None:
    """Articles processed one after another (no batches in flight together): the README's
    rule to the letter (:func:`documented_groups`) already gives the match graph's
    components, and every cluster id is stable. With batches in flight together it can
    split a story, in main as well: :func:`consumer_groups` also unions a record's own id
    (NOTES-clus.md)."""
    cut, _ = _run_rounds(order, [1] * 7, interleave, restart, salt)
    assert_cluster_ids_are_stable(cut)
    assert documented_groups([r for batch in cut for r in batch]) == _expected_groups(salt)
