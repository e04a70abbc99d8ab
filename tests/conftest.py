"""Shared fixtures: a real embedded Kafka-protocol broker and settings pointing at it.

Each test gets its own topic names (and consumer groups), so tests sharing the one
session broker never see each other's records.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings as hypothesis_settings

from newswire.common.broker import EmbeddedBroker
from newswire.common.kafka import create_missing_topics
from newswire.common.settings import (
    BrokerProfile,
    EnricherSettings,
    KafkaSettings,
    Settings,
    SinkSettings,
    TopicSettings,
)
from newswire.common.topics import declared_topics

# CI explores the same examples every run (a red build must be reproducible, not a
# coin toss); a developer's run keeps hypothesis's random search and its database.
hypothesis_settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")

FIXTURES = Path(__file__).parent / "fixtures"
SEEDS = Path(__file__).parent.parent / "seeds"


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedBroker]:
    log_path = tmp_path_factory.mktemp("broker") / "broker.log"
    with EmbeddedBroker(log_path=log_path) as running:
        yield running


SettingsFactory = Callable[..., Settings]


@pytest.fixture
def make_settings(broker: EmbeddedBroker, tmp_path: Path) -> SettingsFactory:
    """Settings for one test: unique topics and groups on the session broker."""

    def build(**overrides: Any) -> Settings:
        tag = uuid.uuid4().hex[:8]
        values: dict[str, Any] = {
            "kafka": KafkaSettings(
                bootstrap_servers=broker.bootstrap, profile=BrokerProfile.EMBEDDED
            ),
            "topics": TopicSettings(
                raw=f"raw-{tag}", enriched=f"enriched-{tag}", dlq=f"dlq-{tag}", partitions=3
            ),
            "enricher": EnricherSettings(
                app_id=f"enricher-{tag}", data_dir=tmp_path / f"enricher-{tag}"
            ),
            "sink": SinkSettings(
                group_id=f"sink-{tag}", out_dir=tmp_path / f"out-{tag}", batch_max_age_s=0.5
            ),
        }
        values.update(overrides)
        return Settings(**values)

    return build


@pytest.fixture
async def settings(make_settings: SettingsFactory) -> Settings:
    """Settings whose declared topics already exist on the broker."""
    built = make_settings()
    await create_missing_topics(built.kafka, declared_topics(built))
    return built


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "integration" in item.path.parts:
            item.add_marker(pytest.mark.integration)
