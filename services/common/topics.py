"""Every topic newswire owns, declared once with its layout and retention."""

from __future__ import annotations

from dataclasses import dataclass, field

from newswire.common.settings import TopicSettings


@dataclass(frozen=True, slots=True)
class TopicSpec:
    name: str
    partitions: int
    replication_factor: int
    config: dict[str, str] = field(default_factory=dict)
    purpose: str = ""


def declared_topics(topics: TopicSettings) -> list[TopicSpec]:
    """The external topics. Faust creates its own internal ones (table changelogs).

    ``news.raw`` and ``news.enriched`` share a partition count and are keyed by
    article id, so the enricher's tables stay co-partitioned with its input.
    """
    rf = topics.replication_factor
    return [
        TopicSpec(
            topics.raw,
            topics.partitions,
            rf,
            {"cleanup.policy": "delete", "retention.ms": str(topics.raw_retention_ms)},
            "raw articles from the fetcher and replay; key = article id",
        ),
        TopicSpec(
            topics.enriched,
            topics.partitions,
            rf,
            {"cleanup.policy": "delete", "retention.ms": str(topics.enriched_retention_ms)},
            "enriched articles; key = article id",
        ),
        TopicSpec(
            topics.dlq,
            1,
            rf,
            {"cleanup.policy": "delete", "retention.ms": str(topics.dlq_retention_ms)},
            "dead letters from every service, with reason and original bytes",
        ),
    ]
