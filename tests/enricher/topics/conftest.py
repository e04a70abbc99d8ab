"""The shipped classifier, built once per test module (loading compiles every phrase)."""

from __future__ import annotations

import pytest

from newswire.enricher.topics import TopicClassifier


@pytest.fixture(scope="module")
def classifier() -> TopicClassifier:
    return TopicClassifier.from_file()
