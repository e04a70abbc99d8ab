"""Every topic newswire owns, declared once with its layout and retention."""

from __future__ import annotations

from dataclasses import dataclass, field

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
            {"cleanup.policy": "delete", "retention.ms": str(topics.raw_retention_ms), "max.message.bytes": max_bytes},
            "raw articles from the fetcher and replay; key = article id",
        ),
        TopicSpec(
            topics.enriched,
            topics.partitions,
            rf,
            {"cleanup.policy": "delete", "retention.ms": str(topics.enriched_retention_ms), "max.message.bytes": max_bytes},
            "enriched articles; key = article id",
        ),
        fetcher_state_topic(settings),
        TopicSpec(
            topics.dlq,
            1,
            rf,
            {"cleanup.policy": "delete", "retention.ms": str(topics.dlq_retention_ms), "max.message.bytes": max_bytes},
            "dead letters from every service, with reason and original bytes",
        ),
    ]


#: Every fetcher replica reads the whole state topic at start (a record per source),
#: so partitions only spread broker load; order matters per source id, the key.
FETCHER_STATE_PARTITIONS = 6


def fetcher_state_topic(settings: Settings, name: str | None = None) -> TopicSpec:
    """Per-source polling state: compacted, keyed by source id, so a restarted or
    rescheduled fetcher resumes where the last acknowledged poll left off."""
    return TopicSpec(
        name or settings.fetcher.state_topic,
        FETCHER_STATE_PARTITIONS,
        settings.topics.replication_factor,
        {"cleanup.policy": "compact", "min.cleanable.dirty.ratio": "0.1", "segment.ms": str(6 * 3600 * 1000)},
        "fetcher polling state per source (validators, seen item ids, schedule); key = source id",
    )
