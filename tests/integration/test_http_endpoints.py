"""Every HTTP endpoint of every service, asked by a real HTTP client of the running service.

The enricher, the sink and the fetcher run as child processes (``python -m newswire``)
on the session broker, one of each for the whole module, started together. The paths
asked are the ones the deployments ask: the probes and the Prometheus scrape
annotation in deploy/k8s/base, and the healthchecks in docker-compose.yml. Requests
carry the headers a kubelet and a Prometheus server send.
"""

from __future__ import annotations

import importlib
import ipaddress
import json
import re
import signal
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
import yaml
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from newswire.common.broker import EmbeddedBroker
from newswire.common.kafka import create_missing_topics, new_producer
from newswire.common.records import encode, raw_article
from newswire.common.settings import (
    BrokerProfile,
    EnricherSettings,
    FetcherSettings,
    KafkaSettings,
    Settings,
    SinkSettings,
    TopicSettings,
)
from newswire.common.topics import declared_topics
from tests.deploy.test_grafana import DASHBOARD, EXTERNAL_METRICS, expressions, metric_names
from tests.fetcher.server import FixtureServer, fixture_bytes, static
from tests.integration.conftest import ServiceProcess, eventually

#: The async tests share the module-scoped fixtures, so they share the module's loop.
in_module_loop = pytest.mark.asyncio(loop_scope="module")

ROOT = Path(__file__).parents[2]
#: The Prometheus text format, as prometheus_client's own exporters label it.
PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8"
#: What a Prometheus 2.x/3.x server sends when it scrapes (OpenMetrics preferred).
PROMETHEUS_SCRAPE_HEADERS = {
    "Accept": "application/openmetrics-text;version=1.0.0,application/openmetrics-text;"
    "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
    "User-Agent": "Prometheus/3.1.0",
    "X-Prometheus-Scrape-Timeout-Seconds": "10",
}
KUBELET_HEADERS = {"Accept": "*/*", "User-Agent": "kube-probe/1.31"}
#: Records of the rss2.xml fixture the fetcher polls.
FEED_ITEMS = 4
RAW_RECORDS = 2


@dataclass(frozen=True)
class Service:
    command: str
    port_variable: str
    metric_prefix: str
    metrics_class: str  # module:class holding the service's own registry

    def registry(self) -> CollectorRegistry:
        """A fresh registry of the service's own metrics (the families /metrics must show)."""
        module, name = self.metrics_class.split(":")
        return getattr(importlib.import_module(module), name)().registry


#: By k8s component / compose service name.
SERVICES = {
    "enricher": Service(
        "enrich",
        "ENRICHER_WEB_PORT",
        "newswire_enricher_",
        "newswire.enricher.batch:EnricherMetrics",
    ),
    "sink": Service(
        "sink", "SINK_HTTP_PORT", "newswire_sink_", "newswire.sink.metrics:SinkMetrics"
    ),
    "fetcher": Service(
        "fetch", "FETCHER_WEB_PORT", "fetcher_", "newswire.fetcher.metrics:FetcherMetrics"
    ),
}


@dataclass(frozen=True)
class Deployed:
    """What the deployments ask of one service: probe -> path, and the scrape path."""

    alive: dict[str, str]  # startupProbe, livenessProbe, compose healthcheck
    ready: str
    scrape: str


@cache
def deployed(name: str) -> Deployed:
    docs = yaml.safe_load_all((ROOT / "deploy" / "k8s" / "base" / f"{name}.yaml").read_text())
    workload = next(d for d in docs if d and d["kind"] in {"Deployment", "StatefulSet"})
    template = workload["spec"]["template"]
    (container,) = template["spec"]["containers"]
    env = {e["name"]: e.get("value") for e in container.get("env", [])}
    annotations = template["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    # The scraped port is the one the variable the tests set configures.
    assert annotations["prometheus.io/port"] == env[SERVICES[name].port_variable], name

    alive = {p: container[p]["httpGet"]["path"] for p in ("startupProbe", "livenessProbe")}
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"][name]
    check = compose.get("healthcheck", {})
    if not check.get("disable"):
        code = " ".join(check["test"])
        assert SERVICES[name].port_variable in code, name
        (alive["compose healthcheck"],) = re.findall(r"http://127\.0\.0\.1:%s(/[\w/-]*)", code)
    return Deployed(
        alive=alive,
        ready=container["readinessProbe"]["httpGet"]["path"],
        scrape=annotations["prometheus.io/path"],
    )


def dashboard_series() -> set[str]:
    """Every series deploy/grafana/newswire.json reads from the services' /metrics."""
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    names: set[str] = set()
    for _where, expr in expressions(dashboard):
        names |= metric_names(expr)
    return names - set(EXTERNAL_METRICS)


# --- the running services -----------------------------------------------------------


@pytest.fixture(scope="module")
def module_tmp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("http-endpoints")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def base_settings(broker: EmbeddedBroker, module_tmp: Path) -> Settings:
    tag = uuid.uuid4().hex[:8]
    settings = Settings(
        kafka=KafkaSettings(bootstrap_servers=broker.bootstrap, profile=BrokerProfile.EMBEDDED),
        topics=TopicSettings(
            raw=f"raw-{tag}", enriched=f"enriched-{tag}", dlq=f"dlq-{tag}", partitions=3
        ),
        enricher=EnricherSettings(app_id=f"enricher-{tag}", data_dir=module_tmp / "enricher"),
        sink=SinkSettings(group_id=f"sink-{tag}", out_dir=module_tmp / "out", batch_max_age_s=0.5),
        fetcher=FetcherSettings(
            state_topic=f"fetcher-state-{tag}",
            allow_networks=[ipaddress.ip_network("127.0.0.1/32")],
            per_host_spacing_s=0.0,
            total_timeout_s=5.0,
        ),
    )
    await create_missing_topics(settings.kafka, declared_topics(settings))
    return settings


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def fetcher_settings(base_settings: Settings) -> Settings:
    """The fetcher writes to a topic of its own, so the enricher counts only our records."""
    topics = base_settings.topics.model_copy(update={"raw": f"fetched-{uuid.uuid4().hex[:8]}"})
    settings = base_settings.model_copy(update={"topics": topics})
    await create_missing_topics(settings.kafka, declared_topics(settings))
    return settings


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def feed_server() -> AsyncIterator[FixtureServer]:
    server = await FixtureServer().start()
    server.route("/rss", static(fixture_bytes("rss2.xml"), headers={"ETag": '"e1"'}))
    yield server
    await server.stop()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def running(
    base_settings: Settings,
    fetcher_settings: Settings,
    feed_server: FixtureServer,
    module_tmp: Path,
) -> AsyncIterator[dict[str, ServiceProcess]]:
    """One process per service for the whole module, started at once to overlap start-up."""
    sources = module_tmp / "sources.yaml"
    sources.write_text(
        "version: 1\nsources:\n"
        f"  - {{id: wire, name: Wire, kind: feed, url: '{feed_server.url('/rss')}'}}\n"
    )
    settings = {"enricher": base_settings, "sink": base_settings, "fetcher": fetcher_settings}
    args = {"fetcher": ["--sources", str(sources)]}
    processes = {
        name: ServiceProcess(
            service.command, settings[name], module_tmp / f"{name}.log", args=args.get(name, ())
        )
        for name, service in SERVICES.items()
    }
    yield processes
    for process in processes.values():  # SIGTERM to all first: they shut down in parallel
        if process.process.poll() is None:
            process.process.send_signal(signal.SIGTERM)
    for process in processes.values():
        try:
            process.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.process.kill()
            process.process.wait()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def client() -> AsyncIterator[httpx.AsyncClient]:
    # trust_env=False: a proxy from the environment must not answer for loopback.
    async with httpx.AsyncClient(trust_env=False, timeout=5.0) as http:
        yield http


class Probe:
    """One running service seen over HTTP."""

    def __init__(self, name: str, process: ServiceProcess, client: httpx.AsyncClient) -> None:
        self.name = name
        self.service = SERVICES[name]
        self.process = process
        self.client = client

    def url(self, path: str) -> str:
        return self.process.url(self.service.port_variable, path)

    async def get(self, path: str, **kwargs: Any) -> httpx.Response:
        self.process.assert_running()
        return await self.client.get(self.url(path), **kwargs)

    async def answer(self, path: str, **kwargs: Any) -> httpx.Response | None:
        """The response, or None while nothing listens yet."""
        try:
            return await self.get(path, **kwargs)
        except httpx.TransportError:
            return None

    async def scrape(self) -> list[Any]:
        response = await self.get(deployed(self.name).scrape, headers=PROMETHEUS_SCRAPE_HEADERS)
        assert response.status_code == 200, response.text
        return list(text_string_to_metric_families(response.text))

    async def sample_sum(self, name: str) -> float:
        """Sum of every sample called NAME (all label sets) on the scrape."""
        return sum(s.value for f in await self.scrape() for s in f.samples if s.name == name)


@pytest.fixture(params=list(SERVICES))
def probe(
    request: pytest.FixtureRequest, running: dict[str, ServiceProcess], client: httpx.AsyncClient
) -> Iterator[Probe]:
    probe = Probe(request.param, running[request.param], client)
    yield probe
    probe.process.assert_running()  # no endpoint may take the process down


async def wait_ready(probe: Probe) -> list[int]:
    """Poll the readiness path until it is 200; the statuses seen on the way."""
    seen: list[int] = []

    async def ready() -> bool:
        response = await probe.answer(deployed(probe.name).ready, headers=KUBELET_HEADERS)
        if response is not None:
            seen.append(response.status_code)
            body = response.json()
            assert body["ready"] is (response.status_code == 200), body
        return response is not None and response.status_code == 200

    await eventually(ready, timeout_s=60)
    return seen


def media_type(response: httpx.Response) -> str:
    return response.headers["content-type"].split(";")[0].strip()


# --- the tests ----------------------------------------------------------------------


def test_the_deployments_ask_for_healthz_readyz_and_metrics() -> None:
    """Pins what the tests below request (read from the manifests) to the documented paths."""
    for name in SERVICES:
        paths = deployed(name)
        assert set(paths.alive.values()) == {"/healthz"}, name
        assert (paths.ready, paths.scrape) == ("/readyz", "/metrics"), name
    assert "compose healthcheck" in deployed("enricher").alive
    assert "compose healthcheck" in deployed("fetcher").alive


@in_module_loop
async def test_startup_and_liveness_probes_answer_200(probe: Probe) -> None:
    """startupProbe semantics: poll until 200; then liveness and compose's check are 200."""
    paths = deployed(probe.name).alive

    async def started() -> bool:
        response = await probe.answer(paths["startupProbe"], headers=KUBELET_HEADERS)
        return response is not None and response.status_code == 200

    await eventually(started, timeout_s=60)
    for check, path in paths.items():
        response = await probe.get(path, headers=KUBELET_HEADERS)
        assert response.status_code == 200, (check, response.text)
        assert media_type(response) == "application/json", check
        assert response.json()["status"] in {"ok", "alive"}, check


@in_module_loop
async def test_readiness_turns_200_once_the_service_has_its_work(probe: Probe) -> None:
    seen = await wait_ready(probe)
    assert set(seen) <= {503, 200}, seen  # not ready is 503, never an error
    response = await probe.get(deployed(probe.name).ready, headers=KUBELET_HEADERS)
    assert response.status_code == 200
    assert media_type(response) == "application/json"
    body = response.json()
    assert body["ready"] is True
    if probe.name == "sink":
        assert body["assigned"] is True
        assert body["writers"] == {"jsonl": {"ok": True}}


@in_module_loop
async def test_metrics_parse_and_show_the_services_own_families(probe: Probe) -> None:
    await wait_ready(probe)
    response = await probe.get(deployed(probe.name).scrape, headers=PROMETHEUS_SCRAPE_HEADERS)
    assert response.status_code == 200, response.text
    assert media_type(response) == "text/plain"
    families = {f.name: f for f in text_string_to_metric_families(response.text)}
    own = {f.name: f.type for f in probe.service.registry().collect()}
    assert own and set(own) <= set(families), set(own) - set(families)
    assert {name: families[name].type for name in own} == own
    prefix = probe.service.metric_prefix
    assert all(name.startswith(prefix) for name in families), sorted(families)

    # Every series the Grafana dashboard reads from this service is exposed.
    exposed = set()
    for family in families.values():
        exposed |= {s.name for s in family.samples}
        if family.type == "counter":
            exposed.add(f"{family.name}_total")
        elif family.type == "histogram":
            exposed |= {f"{family.name}_{suffix}" for suffix in ("bucket", "count", "sum")}
        else:
            exposed.add(family.name)
    wanted = {name for name in dashboard_series() if name.startswith(prefix)}
    assert wanted, f"the dashboard reads nothing from the {probe.name}"
    assert wanted <= exposed, sorted(wanted - exposed)


@in_module_loop
@pytest.mark.parametrize(
    "name",
    ["enricher", "sink", "fetcher"],
)
async def test_metrics_are_labelled_as_the_prometheus_text_format(
    name: str, running: dict[str, ServiceProcess], client: httpx.AsyncClient
) -> None:
    probe = Probe(name, running[name], client)
    await wait_ready(probe)
    for headers in (PROMETHEUS_SCRAPE_HEADERS, {}):
        response = await probe.get(deployed(name).scrape, headers=headers)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == PROMETHEUS_TEXT


@in_module_loop
async def test_unknown_paths_are_404_and_other_methods_405(probe: Probe) -> None:
    await wait_ready(probe)
    for path in ("/no-such-page", "/metrics/x", "/healthz/"):
        response = await probe.get(path)
        assert response.status_code == 404, (path, response.status_code, response.text)
    for path in ("/healthz", "/readyz", "/metrics"):
        response = await probe.client.post(probe.url(path), content=b"{}")
        assert response.status_code == 405, (path, response.status_code, response.text)


@in_module_loop
async def test_counters_move_with_the_records(
    running: dict[str, ServiceProcess], client: httpx.AsyncClient, base_settings: Settings
) -> None:
    """Raw records in: the enricher's records counter and then the sink's move; the
    fetcher's polls and emitted items move with what it polled."""
    enricher, sink, fetcher = (Probe(name, running[name], client) for name in SERVICES)
    for probe in (enricher, sink, fetcher):
        await wait_ready(probe)
    records = "newswire_enricher_records_total"
    before = await enricher.sample_sum(records)

    producer = new_producer(base_settings.kafka)
    await producer.start()
    try:
        for i in range(RAW_RECORDS):
            text = f"Record {i} of the HTTP endpoints test ({uuid.uuid4().hex}): prices in Basra."
            source = {"kind": "replay", "ref": f"http-{i}.txt"}
            value = encode(raw_article(source=source, text=text))
            key = json.loads(value)["id"].encode()
            await (await producer.send(base_settings.topics.raw, value, key=key))
    finally:
        await producer.stop()

    async def enriched() -> bool:
        return await enricher.sample_sum(records) >= before + RAW_RECORDS

    await eventually(enriched, timeout_s=30)
    assert await enricher.sample_sum(records) == before + RAW_RECORDS
    assert await enricher.sample_sum("newswire_enricher_batch_seconds_count") >= 1

    async def written() -> bool:
        return await sink.sample_sum("newswire_sink_records_written_total") >= RAW_RECORDS

    await eventually(written, timeout_s=30)
    assert await sink.sample_sum("newswire_sink_consumed_total") == RAW_RECORDS

    async def polled() -> bool:
        return await fetcher.sample_sum("fetcher_items_emitted_total") >= FEED_ITEMS

    await eventually(polled, timeout_s=30)
    assert await fetcher.sample_sum("fetcher_polls_total") >= 1
    assert await fetcher.sample_sum("fetcher_items_emitted_total") == FEED_ITEMS
