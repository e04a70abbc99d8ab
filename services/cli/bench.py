"""``newswire bench enrich``: enrichment throughput against its two limits, in one run.

Three rates over the same N seed-sized articles on the same broker:

(a) the real Faust enricher with every stage on, timed from its /readyz (start-up and
    group join are not counted) to the broker timestamp of its last output record;
(b) a bare aiokafka consume -> produce loop over the same payloads: the transport limit;
(c) the enrichment stages alone in a plain loop, no Kafka: the compute limit.

If streaming cost nothing beyond the work, a would reach 1 / (1/b + 1/c); the ratio is
the efficiency E. C = c / b says how lean the stages are next to the transport.

Rates on a shared machine swing with everyone else's load, and (a), (b) and (c) run one
after the other, so E moves with it. CPU time does not: the worker's CPU seconds (all
its threads, from /readyz to its last output) per article against the stages' own CPU
per article in (c) is the overhead streaming adds per article, printed beside E.

W, the records written per article, comes from the end offsets of every topic the
worker writes (the enriched and dead-letter topics, the tables' changelogs, the
near-duplicate exchange, Faust's own), before it starts and after it stopped: the
bare loop writes 1; each record more is a request on the embedded broker and bytes,
disk and replication on a cluster.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from newswire.cli.run import Child, child_environment, spawn_service
from newswire.common.broker import EmbeddedBroker, free_port
from newswire.common.kafka import (
    create_missing_topics,
    end_offsets,
    new_consumer,
    new_producer,
    wait_for_broker,
)
from newswire.common.records import encode, raw_article
from newswire.common.settings import BrokerProfile, Settings, TopicSettings
from newswire.common.topics import declared_topics, enricher_internal_topics
from newswire.enricher.app import build_pipeline
from newswire.enricher.dedupe import SeenEntry
from newswire.enricher.pipeline import Emit, Redelivered, final_record
from newswire.fetcher.fleetbench import cpu_seconds

SEED_WORDS_FALLBACK = "العراق إيران القوات الأمريكية ضربة بغداد أربيل الحكومة رئيس الوزراء".split()


@dataclass(frozen=True, slots=True)
class BenchResult:
    articles: int
    payload_bytes: int
    faust: float
    transport: float
    compute: float
    #: Records the worker wrote to each topic during (a).
    writes: dict[str, int]
    #: Scale-out: articles/s with 1..N workers in one group (empty unless asked for).
    scale: dict[int, float] = field(default_factory=dict)
    #: CPU milliseconds per article: the worker in (a), all threads (None: unreadable),
    #: and the stages alone in (c).
    faust_cpu_ms: float | None = None
    compute_cpu_ms: float | None = None

    @property
    def writes_per_article(self) -> float:
        return sum(self.writes.values()) / self.articles

    @property
    def efficiency(self) -> float:
        return self.faust * (1 / self.transport + 1 / self.compute)

    @property
    def compute_vs_transport(self) -> float:
        return self.compute / self.transport


def synthetic_articles(
    n: int, words: list[str], *, size_chars: int, seed: int = 7
) -> list[tuple[bytes, bytes]]:
    """N distinct articles of the seed's size, drawn from its vocabulary (seeded, repeatable)."""
    rng = random.Random(seed)
    out: list[tuple[bytes, bytes]] = []
    for i in range(n):
        body: list[str] = []
        length = 0
        while length < size_chars:
            sentence = " ".join(rng.choices(words, k=rng.randint(8, 20))) + "."
            body.append(sentence)
            length += len(sentence) + 1
        record = raw_article(
            source={"kind": "replay", "ref": f"bench-{i:06d}.txt"}, text="\n".join(body)
        )
        out.append((record["id"].encode(), encode(record)))
    return out


def measure_compute(settings: Settings, payloads: list[tuple[bytes, bytes]]) -> tuple[float, float]:
    """(c): every stage, in-process, with a dict standing in for the dedupe table; the
    rate and the CPU milliseconds per article."""
    pipeline = build_pipeline(settings)
    seen: dict[str, SeenEntry] = {}
    cpu = time.process_time()
    start = time.perf_counter()
    for key, value in payloads:
        outcome = pipeline.process(value, key, seen.get)
        if isinstance(outcome, Emit):
            final_record(outcome, None)  # placed as sent (process validated it)
        if isinstance(outcome, Emit | Redelivered):
            seen[outcome.article_id] = outcome.entry
    rate = len(payloads) / (time.perf_counter() - start)
    return rate, 1000 * (time.process_time() - cpu) / len(payloads)


async def produce_all(settings: Settings, topic: str, payloads: list[tuple[bytes, bytes]]) -> None:
    producer = new_producer(settings.kafka)
    await producer.start()
    try:
        futures = [await producer.send(topic, value, key=key) for key, value in payloads]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def _output_rate(
    settings: Settings, topic: str, expected: int, timeout_s: float, *, started_at: float
) -> float:
    """EXPECTED records over the time from STARTED_AT (epoch seconds: the moment the
    consumer side was ready) to the broker timestamp of the last output record.

    Timing from the first *output* instead would leave out the first batch's work,
    which flatters a batching consumer more the fewer records there are."""
    consumer = new_consumer(settings.kafka, topic, group_id=None, auto_offset_reset="earliest")
    await consumer.start()
    try:
        stamps: list[int] = []
        deadline = time.monotonic() + timeout_s
        while len(stamps) < expected:
            if time.monotonic() > deadline:
                raise TimeoutError(f"only {len(stamps)} of {expected} records reached {topic}")
            for records in (await consumer.getmany(timeout_ms=1000, max_records=5000)).values():
                stamps.extend(r.timestamp for r in records)
        span_s = max(stamps) / 1000.0 - started_at
        return expected / span_s if span_s > 0 else float("inf")
    finally:
        await consumer.stop()


async def measure_transport(
    settings: Settings, payloads: list[tuple[bytes, bytes]], timeout_s: float
) -> float:
    """(b): consume each record and produce it again, nothing else, same client settings."""
    source, sink = f"bench-in-{uuid.uuid4().hex[:6]}", f"bench-out-{uuid.uuid4().hex[:6]}"
    await create_topics(settings, source, sink)
    await produce_all(settings, source, payloads)
    consumer = new_consumer(
        settings.kafka,
        source,
        group_id=f"bench-{uuid.uuid4().hex[:6]}",
        auto_offset_reset="earliest",
    )
    producer = new_producer(settings.kafka)
    await consumer.start()
    await producer.start()
    try:
        copied = 0
        started_at: float | None = None
        while copied < len(payloads):
            batch = await consumer.getmany(timeout_ms=1000, max_records=500)
            if batch and started_at is None:
                started_at = time.time()  # the group has joined: consumption starts now
            futures = [
                await producer.send(sink, r.value, key=r.key)
                for records in batch.values()
                for r in records
            ]
            await asyncio.gather(*futures)
            copied += len(futures)
            await consumer.commit()
    finally:
        await consumer.stop()
        await producer.stop()
    return await _output_rate(
        settings, sink, len(payloads), timeout_s, started_at=started_at or time.time()
    )


async def create_topics(settings: Settings, *topics: str) -> None:
    from newswire.common.topics import TopicSpec

    specs = [TopicSpec(t, settings.topics.partitions, 1) for t in topics]
    await create_missing_topics(settings.kafka, specs)


def measure_faust(
    settings: Settings, payloads: list[tuple[bytes, bytes]], timeout_s: float, log_dir: Path
) -> tuple[float, dict[str, int], float | None]:
    """(a): the real worker, as deployed (``newswire enrich`` in its own process); the
    records it wrote to each topic, counted once it has stopped (its last changelog
    writes are flushed on the way down); and its CPU milliseconds per article from
    /readyz to the last output (start-up excluded, as from the rate)."""
    asyncio.run(create_missing_topics(settings.kafka, declared_topics(settings)))
    asyncio.run(produce_all(settings, settings.topics.raw, payloads))
    written = written_topics(settings)
    before = asyncio.run(records_on(settings, written))
    env = child_environment(settings, out=log_dir / "out", state_dir=settings.enricher.data_dir)
    worker = spawn_service("enrich", env, log_dir)
    try:
        started_at = wait_until_ready(int(env["ENRICHER_WEB_PORT"]), worker, timeout_s)
        cpu_before = cpu_seconds([worker.process.pid])
        rate = asyncio.run(
            _output_rate(
                settings, settings.topics.enriched, len(payloads), timeout_s, started_at=started_at
            )
        )
        cpu_after = cpu_seconds([worker.process.pid])
    finally:
        worker.stop()
    after = asyncio.run(records_on(settings, written))
    cpu_ms = (
        None
        if cpu_before is None or cpu_after is None
        else 1000 * (cpu_after - cpu_before) / len(payloads)
    )
    return rate, {topic: after[topic] - before[topic] for topic in written}, cpu_ms


def measure_workers(
    settings: Settings,
    payloads: list[tuple[bytes, bytes]],
    count: int,
    timeout_s: float,
    log_dir: Path,
) -> float:
    """Scale-out: COUNT ``newswire enrich`` processes in one group on fresh topics.

    As in (a), the records are on the raw topic before the workers start, and the rate
    is timed from the moment the first worker is ready to the broker timestamp of the
    last output. The group's settling when the others join (a rebalance) is part of
    what COUNT workers cost; every count is measured the same way, so the rates compare.
    """
    asyncio.run(create_missing_topics(settings.kafka, declared_topics(settings)))
    asyncio.run(produce_all(settings, settings.topics.raw, payloads))
    env = child_environment(settings, out=log_dir / "out", state_dir=settings.enricher.data_dir)
    workers: list[tuple[int, Child]] = []
    try:
        for number in range(count):
            port = free_port()
            env_n = env | {
                "ENRICHER_WEB_PORT": str(port),
                "ENRICHER_DATA_DIR": str(settings.enricher.data_dir / f"worker-{number}"),
            }
            workers.append((port, spawn_service("enrich", env_n, log_dir, name=f"enrich-{number}")))
        started_at = _wait_until_one_ready(workers, timeout_s)
        return asyncio.run(
            _output_rate(
                settings, settings.topics.enriched, len(payloads), timeout_s, started_at=started_at
            )
        )
    finally:
        for _, worker in workers:
            worker.stop()


def _wait_until_one_ready(workers: list[tuple[int, Child]], timeout_s: float) -> float:
    """When the first of WORKERS was ready (the others keep starting and joining)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if any(_ready(port, worker) for port, worker in workers):
            return time.time()
        time.sleep(0.05)
    raise TimeoutError(f"none of {len(workers)} enricher workers was ready within {timeout_s}s")


def _ready(port: int, worker: Child) -> bool:
    worker.check_alive()
    with contextlib.suppress(httpx.HTTPError):
        return httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1.0).status_code == 200
    return False


def written_topics(settings: Settings) -> list[str]:
    """Every topic the enricher writes: its outputs and the topics Faust keeps for it."""
    internal = [spec.name for spec in enricher_internal_topics(settings)]
    return [settings.topics.enriched, settings.topics.dlq, *internal]


async def records_on(settings: Settings, topics: list[str]) -> dict[str, int]:
    """Records on each of TOPICS (the sum of its end offsets; 0 if it does not exist)."""
    counts: dict[str, int] = {}
    for topic in topics:
        counts[topic] = sum((await end_offsets(settings.kafka, topic)).values())
    return counts


def wait_until_ready(port: int, worker: Child, timeout_s: float) -> float:
    """Poll the worker's /readyz (partitions assigned, not rebalancing); return when it was."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if _ready(port, worker):
            return time.time()
        time.sleep(0.05)
    raise TimeoutError(f"the enricher was not ready within {timeout_s}s")


def bench_settings(settings: Settings, bootstrap: str | None, state_dir: Path) -> Settings:
    tag = uuid.uuid4().hex[:6]
    kafka = settings.kafka
    if bootstrap is not None:
        kafka = kafka.model_copy(
            update={"bootstrap_servers": bootstrap, "profile": BrokerProfile.EMBEDDED}
        )
    topics = TopicSettings(
        raw=f"bench-raw-{tag}",
        enriched=f"bench-enriched-{tag}",
        dlq=f"bench-dlq-{tag}",
        partitions=settings.topics.partitions,
    )
    enricher = settings.enricher.model_copy(
        update={"app_id": f"bench-enricher-{tag}", "data_dir": state_dir}
    )
    return settings.model_copy(update={"kafka": kafka, "topics": topics, "enricher": enricher})


@contextlib.contextmanager
def broker_for_bench(settings: Settings) -> Iterator[str | None]:
    """A fresh embedded broker unless a cluster is configured (then None: use it)."""
    if not settings.kafka.uses_embedded_broker:
        yield None
        return
    with EmbeddedBroker(port=free_port()) as broker:
        yield broker.bootstrap


def seed_words(seeds: Path) -> tuple[list[str], int]:
    """Vocabulary and size of the first seed article, so payloads look like real ones."""
    for path in sorted(seeds.glob("*.txt")) if seeds.is_dir() else [seeds]:
        text = path.read_text(encoding="utf-8")
        return text.split(), len(text)
    return SEED_WORDS_FALLBACK, 2600


def _step(what: str) -> None:
    """A bench runs for minutes: say on stderr which measurement is under way (stdout
    keeps only the figures)."""
    print(f"bench enrich: {what} ...", file=sys.stderr, flush=True)


def run_bench_enrich(
    settings: Settings, *, articles: int, seeds: Path, timeout_s: float, workers: int = 1
) -> BenchResult:
    words, size = seed_words(seeds)
    payloads = synthetic_articles(articles, words, size_chars=size)
    with broker_for_bench(settings) as bootstrap, tempfile.TemporaryDirectory() as state:
        bench = bench_settings(settings, bootstrap, Path(state))
        asyncio.run(wait_for_broker(bench.kafka))
        _step(f"(c) {articles} articles through the stages alone, no Kafka")
        compute, compute_cpu_ms = measure_compute(bench, payloads)
        _step("(b) the same through a bare aiokafka consume->produce loop")
        transport = asyncio.run(measure_transport(bench, payloads, timeout_s))
        _step("(a) the same through the real Faust worker (start-up excluded)")
        faust, writes, faust_cpu_ms = measure_faust(bench, payloads, timeout_s, Path(state))
        writes = {_short(topic, bench): n for topic, n in writes.items()}
        scale: dict[int, float] = {}
        for count in range(1, workers + 1) if workers > 1 else ():
            _step(f"scale-out: the same through {count} worker process(es) in one group")
            group = bench_settings(settings, bootstrap, Path(state) / f"scale-{count}")
            scale[count] = measure_workers(group, payloads, count, timeout_s, Path(state))
    return BenchResult(
        articles,
        sum(len(v) for _, v in payloads) // len(payloads),
        faust,
        transport,
        compute,
        writes,
        scale,
        faust_cpu_ms,
        compute_cpu_ms,
    )


def _short(topic: str, settings: Settings) -> str:
    """The topic's role, not its per-run name: enriched, dlq, or the internal suffix."""
    names = {settings.topics.enriched: "enriched", settings.topics.dlq: "dlq"}
    return names.get(topic, topic.removeprefix(f"{settings.enricher.app_id}-"))


def print_bench(result: BenchResult, settings: Settings) -> None:
    print(
        f"articles={result.articles} payload_bytes~{result.payload_bytes} "
        f"partitions={settings.topics.partitions} "
        f"profile={settings.kafka.effective_profile.value}"
    )
    print(f"(a) faust enricher, all stages : {result.faust:10.1f} articles/s")
    print(f"(b) bare aiokafka consume->produce: {result.transport:10.1f} records/s")
    print(f"(c) stages alone, no Kafka     : {result.compute:10.1f} articles/s")
    print(
        "ideal a = 1/(1/b + 1/c)        : "
        f"{1 / (1 / result.transport + 1 / result.compute):10.1f} articles/s"
    )
    if result.faust_cpu_ms is not None and result.compute_cpu_ms is not None:
        print(
            f"cpu per article: worker {result.faust_cpu_ms:.2f} ms, stages alone "
            f"{result.compute_cpu_ms:.2f} ms, overhead "
            f"{result.faust_cpu_ms - result.compute_cpu_ms:.2f} ms"
        )
    for topic, n in result.writes.items():
        print(f"writes to {topic:<28}: {n / result.articles:10.2f} per article ({n} records)")
    if result.scale:
        one = result.scale[1]
        print(
            "scale-out, from the first worker ready: "
            + "  ".join(
                f"{count} worker{'s' if count > 1 else ''} {rate:.1f}/s (x{rate / one:.2f})"
                for count, rate in result.scale.items()
            )
        )
    print(
        f"efficiency={result.efficiency:.2f} "
        f"compute_vs_transport={result.compute_vs_transport:.2f} "
        f"writes_per_article={result.writes_per_article:.2f}"
    )
