"""``newswire enrich`` with one stage bug planted, for tests on the real broker.

Run as ``python -m tests.integration.refusing_enricher`` (from the repository root,
configured through the environment like the real command). An article whose title
holds :data:`MARK` gets an enriched record the schema refuses (``language`` null), as
a stage bug would make: nothing the shipped stages produce is refused, so the path
that dead-letters such a record is driven this way, in the real worker process.
"""

from __future__ import annotations

from typing import Any

from newswire.cli import main
from newswire.enricher import pipeline

MARK = "REFUSED-BY-SCHEMA"


def _plant() -> None:
    real = pipeline.EnrichmentPipeline.enrich

    def enrich(self: pipeline.EnrichmentPipeline, raw: Any, decision: Any) -> Any:
        record = real(self, raw, decision)
        return record | {"language": None} if MARK in (raw["title"] or "") else record

    pipeline.EnrichmentPipeline.enrich = enrich  # type: ignore[method-assign]


if __name__ == "__main__":
    _plant()
    main()  # the command named after the module (``enrich``)
