"""What every service's ``/metrics`` answers, said once.

``prometheus_client.CONTENT_TYPE_LATEST`` says ``version=1.0.0`` from 0.25 on (without
the ``escaping`` parameter it goes with), which prometheus_client's own exporters only
send to a scraper whose Accept header asks for it; everyone else gets the 0.0.4 text
format, which is what ``generate_latest`` writes and what every Prometheus reads.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest

PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8"


def exposition(registry: CollectorRegistry) -> tuple[bytes, dict[str, str]]:
    """The body and headers of a ``/metrics`` answer for REGISTRY."""
    return generate_latest(registry), {"Content-Type": PROMETHEUS_TEXT}
