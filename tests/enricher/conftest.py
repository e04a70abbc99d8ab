"""Fixtures shared by the enricher's tests."""

from __future__ import annotations

import pytest

from newswire.common.settings import Settings
from newswire.enricher.app import build_pipeline
from newswire.enricher.pipeline import EnrichmentPipeline


@pytest.fixture(scope="module")
def pipeline() -> EnrichmentPipeline:
    """The shipped pipeline on default settings, built once per test module (loading
    the taxonomy and language model is the slow part)."""
    return build_pipeline(Settings())
