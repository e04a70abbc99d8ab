"""``newswire bench memory``: the services' resident memory over a long replay.

Memory must be bounded by the dedupe window, not by history: a worker that has run
for a month must not hold a month of articles. This bench replays N synthetic
seed-sized articles through the real enricher and sink processes (as deployed:
``newswire enrich`` and ``newswire sink``, JSON Lines output) on a fresh embedded
broker, samples each process's RSS every half second, and prints it at 10 %, 50 % and
100 % of the articles, the peak, and the slope from 50 % to 100 % in KiB per 1,000
articles: flat after warm-up is the aim.

What is remembered is remembered for the window: every id in the enricher's seen
table and the sink's JSON Lines index, every article in the band buckets (each
bucket capped at ``ENRICHER_BAND_CAPACITY``). A replay that fits inside the default
window of 7 days keeps all of it, so the slope it shows is the cost of one article
remembered, and it stays until the window passes. ``--window-s`` shortens both
windows (and the sweep interval with them) so the same replay shows the plateau that
a long-running deployment reaches once articles start to expire.

The articles are produced in chunks kept a little ahead of the enricher, so the
broker and this process hold a bounded backlog, as a fetcher's trickle would.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psutil
from aiokafka import AIOKafkaConsumer

from newswire.cli.bench import (
    bench_settings,
    broker_for_bench,
    seed_words,
    synthetic_articles,
    wait_until_ready,
)
from newswire.cli.run import Child, child_environment, spawn_service
from newswire.common.kafka import (
    create_missing_topics,
    new_consumer,
    new_producer,
    topic_partitions,
    wait_for_broker,
)
from newswire.common.settings import Settings
from newswire.common.topics import declared_topics

#: Progress points (percent of the articles) at which RSS is reported.
MILESTONES = (10, 50, 100)
#: How often each process's RSS is read.
SAMPLE_EVERY_S = 0.5
#: Chunks produced ahead of the enricher's output (the backlog a fetcher would build).
CHUNKS_AHEAD = 4
SERVICES = ("enrich", "sink")


@dataclass
class ServiceMemory:
    """RSS (bytes) of one process at each milestone it reached, and the peak seen."""

    at: dict[int, int] = field(default_factory=dict)
    peak: int = 0

    def record(self, rss: int, percent_done: float) -> None:
        self.peak = max(self.peak, rss)
        for milestone in MILESTONES:
            if percent_done >= milestone and milestone not in self.at:
                self.at[milestone] = rss

    def slope_kib_per_1000(self, articles: int) -> float:
        """RSS growth from 50 % to 100 % of the articles, in KiB per 1,000 articles."""
        grown = self.at[100] - self.at[50]
        return grown / 1024 / (articles / 2 / 1000)


@dataclass(frozen=True, slots=True)
class MemoryBenchResult:
    articles: int
    payload_bytes: int
    window_s: float
    seconds: float
    memory: dict[str, ServiceMemory]


@dataclass
class Progress:
    """Articles out of each service so far: enriched records written, sink offsets
    committed (the sink commits only what its writers flushed)."""

    enriched: int = 0
    sunk: int = 0


def run_bench_memory(
    settings: Settings,
    *,
    articles: int,
    seeds: Path,
    window_s: float | None,
    timeout_s: float,
) -> MemoryBenchResult:
    words, size = seed_words(seeds)
    with broker_for_bench(settings) as bootstrap, tempfile.TemporaryDirectory() as state:
        bench = bench_settings(settings, bootstrap, Path(state))
        bench = _with_window(bench, window_s)
        sink = bench.sink.model_copy(update={"group_id": f"{bench.enricher.app_id}-sink"})
        bench = bench.model_copy(update={"sink": sink})
        asyncio.run(wait_for_broker(bench.kafka))
        asyncio.run(create_missing_topics(bench.kafka, declared_topics(bench)))
        with _services(bench, Path(state)) as children:
            _step(f"replaying {articles} articles through the enricher and the sink")
            started = time.monotonic()
            memory = asyncio.run(
                _replay_and_sample(bench, children, articles, words, size, timeout_s)
            )
            seconds = time.monotonic() - started
    return MemoryBenchResult(
        articles=articles,
        payload_bytes=size,
        window_s=bench.enricher.dedupe_window_s,
        seconds=seconds,
        memory=memory,
    )


def _with_window(settings: Settings, window_s: float | None) -> Settings:
    """Both windows set to WINDOW_S, swept four times per window (None: as configured)."""
    if window_s is None:
        return settings
    enricher = settings.enricher.model_copy(
        update={
            "dedupe_window_s": window_s,
            "expiry_sweep_s": min(settings.enricher.expiry_sweep_s, window_s / 4),
        }
    )
    sink = settings.sink.model_copy(update={"index_window_s": window_s})
    return settings.model_copy(update={"enricher": enricher, "sink": sink})


@contextlib.contextmanager
def _services(settings: Settings, state: Path) -> Iterator[dict[str, Child]]:
    env = child_environment(settings, out=state / "out", state_dir=state / "enricher")
    env["SINK_WRITERS"] = "jsonl"
    children = {name: spawn_service(name, env, state) for name in SERVICES}
    try:
        wait_until_ready(int(env["ENRICHER_WEB_PORT"]), children["enrich"], 120.0)
        yield children
    finally:
        for child in children.values():
            child.stop()


async def _replay_and_sample(
    settings: Settings,
    children: dict[str, Child],
    articles: int,
    words: list[str],
    size: int,
    timeout_s: float,
) -> dict[str, ServiceMemory]:
    memory = {name: ServiceMemory() for name in SERVICES}
    progress = Progress()
    deadline = time.monotonic() + timeout_s
    processes = {name: psutil.Process(child.process.pid) for name, child in children.items()}
    async with _progress_readers(settings) as read_progress:
        producing = asyncio.create_task(_produce_paced(settings, articles, words, size, progress))
        try:
            while progress.sunk < articles or progress.enriched < articles:
                if time.monotonic() > deadline:
                    raise TimeoutError(
                        f"after {timeout_s:.0f}s only {progress.enriched} of {articles} "
                        f"articles were enriched and {progress.sunk} written by the sink"
                    )
                for child in children.values():
                    child.check_alive()
                await read_progress(progress)
                done = {"enrich": progress.enriched, "sink": progress.sunk}
                for name, process in processes.items():
                    memory[name].record(process.memory_info().rss, 100 * done[name] / articles)
                await asyncio.sleep(SAMPLE_EVERY_S)
            await producing
        finally:
            producing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await producing
    return memory


async def _produce_paced(
    settings: Settings, articles: int, words: list[str], size: int, progress: Progress
) -> None:
    """Produce the articles in chunks, at most CHUNKS_AHEAD chunks ahead of the
    enricher's output."""
    chunk = max(100, articles // 100)
    producer = new_producer(settings.kafka)
    await producer.start()
    try:
        sent = 0
        for number, start in enumerate(range(0, articles, chunk)):
            while sent - progress.enriched > CHUNKS_AHEAD * chunk:  # noqa: ASYNC110
                await asyncio.sleep(0.1)  # progress is polled from the broker, not signalled
            count = min(chunk, articles - start)
            payloads = synthetic_articles(count, words, size_chars=size, seed=1000 + number)
            futures = [
                await producer.send(settings.topics.raw, value, key=key) for key, value in payloads
            ]
            await asyncio.gather(*futures)
            sent += count
    finally:
        await producer.stop()


@contextlib.asynccontextmanager
async def _progress_readers(
    settings: Settings,
) -> AsyncIterator[Callable[[Progress], Awaitable[None]]]:
    """A reader of both services' progress, on two long-lived clients (a new client
    per sample would cost the broker more than the services it measures)."""
    ends = new_consumer(settings.kafka)
    commits: AIOKafkaConsumer = new_consumer(settings.kafka, group_id=settings.sink.group_id)
    await ends.start()
    await commits.start()
    try:
        tps = await topic_partitions(ends, settings.topics.enriched)

        async def read(progress: Progress) -> None:
            progress.enriched = sum((await ends.end_offsets(tps)).values())
            committed = [await commits.committed(tp) for tp in tps]
            progress.sunk = sum(offset or 0 for offset in committed)

        yield read
    finally:
        await ends.stop()
        await commits.stop()


def _step(what: str) -> None:
    print(f"bench memory: {what} ...", file=sys.stderr, flush=True)


def print_bench_memory(result: MemoryBenchResult) -> None:
    window = f"{result.window_s:.0f}s"
    print(
        f"articles={result.articles} payload_bytes~{result.payload_bytes} "
        f"window={window} seconds={result.seconds:.0f}"
    )
    header = " ".join(f"{f'rss@{m}%':>10}" for m in MILESTONES)
    print(f"{'service':<8} {header} {'peak':>10} {'slope 50->100%':>20}")
    for name, memory in result.memory.items():
        cells = " ".join(f"{memory.at[m] / 2**20:>8.1f}Mi" for m in MILESTONES)
        slope = memory.slope_kib_per_1000(result.articles)
        print(f"{name:<8} {cells} {memory.peak / 2**20:>8.1f}Mi {slope:>9.1f} KiB/1k articles")
    print(
        " ".join(
            f"{name}_slope_kib_per_1k={memory.slope_kib_per_1000(result.articles):.1f}"
            for name, memory in result.memory.items()
        )
    )
