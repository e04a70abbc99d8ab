"""Every topic newswire owns, declared once with its layout and retention, and what the
broker actually holds (``newswire topics list``)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from newswire.common.settings import Settings


@dataclass(frozen=True, slots=True)
class TopicSpec:
    name: str
    partitions: int
    replication_factor: int
    config: dict[str, str] = field(default_factory=dict)
    purpose: str = ""


def declared_topics(settings: Settings) -> list[TopicSpec]:
    """The external topics. Faust creates its own internal ones (table changelogs).

    ``news.raw`` and ``news.enriched`` share a partition count and are keyed by
    article id, so the enricher's tables stay co-partitioned with its input.
    """
    topics = settings.topics
    rf = topics.replication_factor
    max_bytes = str(settings.kafka.max_message_bytes)
    return [
        TopicSpec(
            topics.raw,
            topics.partitions,
            rf,
            {
                "cleanup.policy": "delete",
                "retention.ms": str(topics.raw_retention_ms),
                "max.message.bytes": max_bytes,
            },
            "raw articles from the fetcher and replay; key = article id",
        ),
        TopicSpec(
            topics.enriched,
            topics.partitions,
            rf,
            {
                "cleanup.policy": "delete",
                "retention.ms": str(topics.enriched_retention_ms),
                "max.message.bytes": max_bytes,
            },
            "enriched articles; key = article id",
        ),
        fetcher_sources_topic(settings),
        fetcher_state_topic(settings),
        TopicSpec(
            topics.dlq,
            1,
            rf,
            {
                "cleanup.policy": "delete",
                "retention.ms": str(topics.dlq_retention_ms),
                "max.message.bytes": max_bytes,
            },
            "dead letters from every service, with reason and original bytes",
        ),
    ]


def fetcher_sources_topic(settings: Settings) -> TopicSpec:
    """The sources the fetcher fleet polls: compacted, keyed by source id, partitioned by
    the source URL's host (``common.kafka.host_partition``), so one replica - the
    partition's owner in the fetcher group - holds every source of a host and its
    politeness limits. ``newswire sources apply FILE`` writes it."""
    return TopicSpec(
        settings.fetcher.sources_topic,
        settings.fetcher.partitions,
        settings.topics.replication_factor,
        {"cleanup.policy": "compact", "min.cleanable.dirty.ratio": "0.1"},
        "the sources the fetchers poll; key = source id, partition = hash of the URL's host",
    )


def fetcher_state_topic(settings: Settings, name: str | None = None) -> TopicSpec:
    """Per-source polling state: compacted, keyed by source id, so a restarted or
    rescheduled fetcher resumes where the last acknowledged poll left off.

    Co-partitioned with the sources topic (same count, same host partitioner): the
    replica assigned partition P of the sources reads only partition P of the state."""
    return TopicSpec(
        name or settings.fetcher.state_topic,
        settings.fetcher.partitions,
        settings.topics.replication_factor,
        {
            "cleanup.policy": "compact",
            "min.cleanable.dirty.ratio": "0.1",
            "segment.ms": str(6 * 3600 * 1000),
        },
        "fetcher polling state per source (validators, seen item ids, schedule); key = source id, "
        "partition = its source's",
    )


#: Band probes and replies are only needed while a batch waits for them (the enricher's
#: EXCHANGE_RETENTION; a test checks the two agree).
ENRICHER_EXCHANGE_RETENTION_MS = 6 * 3600 * 1000


def enricher_internal_topics(settings: Settings) -> list[TopicSpec]:
    """The topics Faust creates for the enricher, named after its app id (see
    ``newswire.enricher.app.build_app``): the band exchange, the tables' changelogs and
    the assignor's leader topic. Co-partitioned with news.raw."""
    app_id = settings.enricher.app_id
    partitions = settings.topics.partitions
    rf = settings.topics.replication_factor
    exchange = {"retention.ms": str(ENRICHER_EXCHANGE_RETENTION_MS)}
    compacted = {"cleanup.policy": "compact"}
    return [
        TopicSpec(f"{app_id}-band-probes", partitions, rf, exchange, "near-duplicate band probes"),
        TopicSpec(f"{app_id}-band-replies", partitions, rf, exchange, "answers to band probes"),
        TopicSpec(
            f"{app_id}-articles-seen-changelog", partitions, rf, compacted, "table: articles seen"
        ),
        TopicSpec(
            f"{app_id}-band-deltas-changelog",
            partitions,
            rf,
            compacted,
            "table: what each probe message added to the LSH band buckets",
        ),
        TopicSpec(f"{app_id}-__assignor-__leader", 1, rf, {}, "Faust's leader election"),
    ]


# -- declared vs actual ----------------------------------------------------------------


@dataclass
class TopicState:
    """One declared topic as the broker has it (``exists=False``: not there at all)."""

    spec: TopicSpec
    internal: bool
    exists: bool = False
    partitions: int | None = None
    replication_factor: int | None = None
    config: dict[str, str] = field(default_factory=dict)  # what the broker reported
    end_offsets: int | None = None  # summed over partitions
    lag: dict[str, int] = field(default_factory=dict)  # consumer group -> lag

    def differences(self) -> list[str]:
        """How the broker's topic differs from its declaration, in words."""
        if not self.exists:
            return [] if self.internal else ["missing on the broker: 'newswire topics create'"]
        found: list[str] = []
        if self.partitions != self.spec.partitions:
            found.append(
                f"partitions {self.spec.partitions} declared, {self.partitions} on the broker"
            )
        if (
            self.replication_factor is not None
            and self.replication_factor != self.spec.replication_factor
        ):
            found.append(
                f"replication factor {self.spec.replication_factor} declared, "
                f"{self.replication_factor} on the broker"
            )
        for name, declared in self.spec.config.items():
            actual = self.config.get(name)
            if actual is not None and actual != declared:
                found.append(
                    f"{name} {config_text(name, declared)} declared, "
                    f"{config_text(name, actual)} on the broker"
                )
        return found


def config_text(name: str, value: str | None) -> str:
    """A config value as people say it: ``retention.ms=604800000`` is ``7d``."""
    if value is None:
        return "default"
    if name.endswith(".ms") and value.lstrip("-").isdigit():
        return duration_text(int(value))
    return value


def duration_text(ms: int) -> str:
    if ms < 0:
        return "forever"
    for unit, size in (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000)):
        if ms >= size and ms % size == 0:
            return f"{ms // size}{unit}"
    return f"{ms}ms"


async def inspect_topics(settings: Settings) -> list[TopicState]:
    """The declared topics and the enricher's internal ones, as the broker has them:
    partitions, configs (describe_configs), end offsets, and every consumer group's lag
    on them (groups that committed at least once on the topic; their partitions without
    a commit count from the earliest offset kept, as newswire's consumers start there).

    Only whole-cluster metadata is asked for: asking for a topic by name creates it
    on brokers that auto-create topics.
    """
    from newswire.common.kafka import new_admin

    states = [TopicState(spec, internal=False) for spec in declared_topics(settings)]
    states += [TopicState(spec, internal=True) for spec in enricher_internal_topics(settings)]
    admin = new_admin(settings.kafka)
    await admin.start()
    try:
        metadata = {topic["topic"]: topic for topic in await admin.describe_topics(None)}
        present = [state for state in states if state.spec.name in metadata]
        for state in present:
            partitions = metadata[state.spec.name]["partitions"]
            state.exists = True
            state.partitions = len(partitions)
            replicas = [len(p.get("replicas") or ()) for p in partitions]
            state.replication_factor = min(replicas, default=0) or None  # 0 replicas: unknown
        if not present:
            return states
        configs = await _topic_configs(admin, [state.spec.name for state in present])
        for state in present:
            state.config = configs.get(state.spec.name, {})
        tps = _partitions_of(present)
        ends, starts = await _log_offsets(settings, tps)
        for state in present:
            state.end_offsets = sum(ends.get(tp, 0) for tp in tps if tp.topic == state.spec.name)
        for group, committed in (await _group_offsets(admin, tps)).items():
            for state in present:
                mine = [tp for tp in tps if tp.topic == state.spec.name]
                if not any(tp in committed for tp in mine):
                    continue
                state.lag[group] = sum(
                    max(0, ends.get(tp, 0) - committed.get(tp, starts.get(tp, 0))) for tp in mine
                )
    finally:
        await admin.close()
    return states


def _partitions_of(states: Iterable[TopicState]) -> list[Any]:
    from aiokafka import TopicPartition

    return [
        TopicPartition(state.spec.name, p) for state in states for p in range(state.partitions or 0)
    ]


async def _topic_configs(admin: Any, names: list[str]) -> dict[str, dict[str, str]]:
    from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

    resources = [ConfigResource(ConfigResourceType.TOPIC, name) for name in names]
    configs: dict[str, dict[str, str]] = {}
    for response in await admin.describe_configs(resources):
        for error_code, _message, _type, name, entries, *_ in response.resources:
            if not error_code:
                configs[name] = {entry[0]: entry[1] for entry in entries if entry[1] is not None}
    return configs


async def _log_offsets(settings: Settings, tps: list[Any]) -> tuple[dict[Any, int], dict[Any, int]]:
    """(end offsets, earliest offsets kept) of TPS."""
    from newswire.common.kafka import new_consumer

    consumer = new_consumer(settings.kafka, group_id=None)
    await consumer.start()
    try:
        return dict(await consumer.end_offsets(tps)), dict(await consumer.beginning_offsets(tps))
    finally:
        await consumer.stop()


async def _group_offsets(admin: Any, tps: list[Any]) -> dict[str, dict[Any, int]]:
    """Every consumer group's committed offsets on TPS (only partitions it committed)."""
    found: dict[str, dict[Any, int]] = {}
    for group, *_ in sorted(await admin.list_consumer_groups()):
        offsets = await admin.list_consumer_group_offsets(group, partitions=tps)
        committed = {tp: meta.offset for tp, meta in offsets.items() if meta.offset >= 0}
        if committed:
            found[group] = committed
    return found


TOPICS_HEADER = (
    "TOPIC",
    "EXISTS",
    "PARTITIONS",
    "RETENTION",
    "CLEANUP",
    "END OFFSETS",
    "GROUPS (LAG)",
)


def topic_state_lines(states: list[TopicState]) -> list[str]:
    """A table, one row per topic, each difference on a ``!`` line under its row."""
    rows: list[tuple[tuple[str, ...], list[str]]] = []
    for state in states:
        spec = state.spec
        name = spec.name + (" (internal)" if state.internal else "")
        if not state.exists:
            notes = [f"! {note}" for note in state.differences()]
            cells = (name, "no", "-", "-", "-", "-", "-")
            rows.append((cells, notes or ["(the enricher creates it when it starts)"]))
            continue
        groups = ", ".join(f"{group} {lag:,}" for group, lag in sorted(state.lag.items())) or "-"
        cells = (
            name,
            "yes",
            str(state.partitions),
            config_text("retention.ms", state.config.get("retention.ms")),
            state.config.get("cleanup.policy", "default"),
            f"{state.end_offsets or 0:,}",
            groups,
        )
        rows.append((cells, [f"! {note}" for note in state.differences()]))
    table = [TOPICS_HEADER] + [cells for cells, _ in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(TOPICS_HEADER))]
    right = {2, 5}  # numbers

    def line(cells: tuple[str, ...]) -> str:
        padded = [
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(padded).rstrip()

    lines = [line(TOPICS_HEADER)]
    for row_cells, notes in rows:
        lines.append(line(row_cells))
        lines += [f"    {note}" for note in notes]
    return lines
