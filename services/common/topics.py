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
        TopicSpec(
            topics.dlq,
            1,
            rf,
            {"cleanup.policy": "delete", "retention.ms": str(topics.dlq_retention_ms), "max.message.bytes": max_bytes},
            "dead letters from every service, with reason and original bytes",
        ),
    ]
