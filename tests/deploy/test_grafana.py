"""deploy/grafana/newswire.json: parses, and queries only metrics the code defines.

The metric names come from the source, not from a list kept by hand: every
``Counter``/``Gauge``/``Histogram``/``Summary`` built from ``prometheus_client`` in
services/ is found with ``ast``, and expanded to the series prometheus_client
exposes (a Counter ``x`` or ``x_total`` -> ``x_total``, ``x_created``; a Histogram
``x`` -> ``x_bucket``, ``x_sum``, ``x_count``, ``x_created``).
"""

from __future__ import annotations

import ast
import functools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.support import ROOT

DASHBOARD = ROOT / "deploy" / "grafana" / "newswire.json"
SERVICES = ROOT / "services"

#: Queried but not exported by newswire: name -> where it comes from.
EXTERNAL_METRICS = {
    "kafka_consumergroup_lag": "Kafka Exporter (Strimzi kafkaExporter): lag by group, partition",
}
EXTERNAL_LABELS = {"kafka_consumergroup_lag": {"consumergroup", "topic", "partition", "namespace"}}
#: Labels Prometheus adds when it scrapes (kubernetes pod discovery).
TARGET_LABELS = {"namespace", "pod", "instance", "job", "container"}

PROMETHEUS_TYPES = {"Counter", "Gauge", "Histogram", "Summary"}


@dataclass(frozen=True)
class Metric:
    name: str  # as passed to the constructor
    type: str
    labels: tuple[str, ...]
    source: str

    def series(self) -> dict[str, set[str]]:
        """Exposed series name -> its labels."""
        labels = set(self.labels)
        if self.type == "Counter":
            base = self.name.removesuffix("_total")
            return {f"{base}_total": labels, f"{base}_created": labels}
        if self.type == "Histogram":
            return {
                f"{self.name}_bucket": labels | {"le"},
                f"{self.name}_sum": labels,
                f"{self.name}_count": labels,
                f"{self.name}_created": labels,
            }
        if self.type == "Summary":
            return {
                self.name: labels | {"quantile"},
                f"{self.name}_sum": labels,
                f"{self.name}_count": labels,
                f"{self.name}_created": labels,
            }
        return {self.name: labels}


def _prometheus_names(tree: ast.Module) -> dict[str, str]:
    """Local name -> prometheus_client type, from `from prometheus_client import ...`."""
    names: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "prometheus_client":
            for alias in node.names:
                if alias.name in PROMETHEUS_TYPES:
                    names[alias.asname or alias.name] = alias.name
    return names


def _string_list(node: ast.expr | None) -> tuple[str, ...]:
    if isinstance(node, ast.List | ast.Tuple):
        return tuple(
            item.value
            for item in node.elts
            if isinstance(item, ast.Constant) and isinstance(item.value, str)
        )
    return ()


@functools.cache
def defined_metrics() -> tuple[Metric, ...]:
    found: list[Metric] = []
    for path in sorted(SERVICES.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        types = _prometheus_names(tree)
        if not types:
            continue  # collections.Counter and friends are not metrics
        for node in ast.walk(tree):
            if not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in types
            ):
                continue
            first = node.args[0] if node.args else None
            assert isinstance(first, ast.Constant) and isinstance(first.value, str), (
                f"{path}:{node.lineno}: a metric whose name is not a literal"
            )
            keywords = {kw.arg: kw.value for kw in node.keywords}
            assert not {"namespace", "subsystem", "unit"} & set(keywords), f"{path}:{node.lineno}"
            labels = _string_list(
                node.args[2] if len(node.args) > 2 else keywords.get("labelnames")
            )
            found.append(
                Metric(first.value, types[node.func.id], labels, str(path.relative_to(ROOT)))
            )
    return tuple(found)


@functools.cache
def defined_series() -> dict[str, set[str]]:
    series: dict[str, set[str]] = {}
    for metric in defined_metrics():
        for name, labels in metric.series().items():
            assert name not in series, f"{name} defined twice"
            series[name] = labels
    return series


# --- PromQL, enough of it --------------------------------------------------------------

_KEYWORDS = {
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "bool",
    "and",
    "or",
    "unless",
    "offset",
    "inf",
    "nan",
}
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'')
_SELECTOR = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)?\s*\{([^}]*)\}")
_GROUPING = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)")
_IDENT = re.compile(r"(?<![\w$.])([a-zA-Z_:][a-zA-Z0-9_:]*)(?!\w)(\s*\()?")


def metric_names(expr: str) -> set[str]:
    """The metric names an expression selects (functions, keywords, labels dropped)."""
    text = _STRING.sub('""', expr)
    text = re.sub(r"\{[^}]*\}", "", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", "", text)  # ranges, subqueries
    text = _GROUPING.sub(" ", text)  # grouping labels
    names = set()
    for match in _IDENT.finditer(text):
        name, call = match.group(1), match.group(2)
        if call or name.lower() in _KEYWORDS:
            continue
        names.add(name)
    return names


def label_uses(expr: str) -> Iterator[tuple[str, str]]:
    """(metric, label) for every label in a selector's matchers or a by/without clause.

    A grouping applies to the metrics inside the aggregation: the metrics of the
    whole expression stand in for them (every expression here aggregates one metric)."""
    text = _STRING.sub('""', expr)
    metrics = metric_names(expr)
    for match in _SELECTOR.finditer(text):
        for matcher in match.group(2).split(","):
            label = re.split(r"=~|!~|!=|=", matcher)[0].strip()
            if label and match.group(1):
                yield match.group(1), label
    for match in _GROUPING.finditer(text):
        for label in (part.strip() for part in match.group(2).split(",")):
            if label:
                for metric in metrics:
                    yield metric, label


def test_the_promql_reader() -> None:
    expr = (
        "histogram_quantile(0.95, sum by (le, writer) (rate(newswire_sink_flush_seconds_bucket"
        '{namespace=~"$namespace", outcome="ok"}[$__rate_interval]))) '
        "+ on(instance) group_left() (sum(x_total offset 5m) or vector(0)) / ignoring (a) y:rate5m"
    )
    assert metric_names(expr) == {"newswire_sink_flush_seconds_bucket", "x_total", "y:rate5m"}
    uses = set(label_uses(expr))
    assert ("newswire_sink_flush_seconds_bucket", "outcome") in uses
    assert ("newswire_sink_flush_seconds_bucket", "le") in uses
    assert metric_names('sum(rate(a_total{kind=~"by|rate"}[5m])) by (kind)') == {"a_total"}


def test_metrics_are_found_in_the_code() -> None:
    by_source = {m.source for m in defined_metrics()}
    assert {
        "services/fetcher/metrics.py",
        "services/enricher/batch.py",
        "services/sink/metrics.py",
    } <= by_source, by_source
    series = defined_series()
    for name in (
        "fetcher_polls_total",
        "fetcher_sources",
        "fetcher_fetch_seconds_bucket",
        "newswire_enricher_records_total",
        "newswire_enricher_batch_seconds_bucket",
        "newswire_sink_flush_seconds_bucket",
        "newswire_sink_consumer_lag",
    ):
        assert name in series, name
    assert series["fetcher_polls_total"] == {"outcome", "error_kind"}


def test_the_names_match_what_prometheus_client_exposes() -> None:
    """The expansion above is prometheus_client's: checked on the real collectors."""
    from newswire.enricher.batch import EnricherMetrics
    from newswire.fetcher.metrics import FetcherMetrics
    from newswire.sink.metrics import SinkMetrics

    for metrics in (FetcherMetrics(), EnricherMetrics(), SinkMetrics()):
        for family in metrics.registry.collect():
            expected = Metric(family.name, family.type.capitalize(), (), "").series()
            assert set(expected) <= set(defined_series()), family.name
            for sample in family.samples:
                assert sample.name in defined_series(), sample.name


# --- the dashboard ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    return json.loads(DASHBOARD.read_text(encoding="utf-8"))


def panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in dashboard["panels"]:
        yield panel
        yield from panel.get("panels", [])


def expressions(dashboard: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(where, PromQL) for every panel target and query variable."""
    for panel in panels(dashboard):
        for target in panel.get("targets", []):
            yield f"panel {panel['title']!r} {target['refId']}", target["expr"]
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            query = variable["query"]
            query = query["query"] if isinstance(query, dict) else query
            inner = re.fullmatch(r"label_values\((.+),\s*(\w+)\)", query)
            assert inner, f"variable {variable['name']}: {query}"
            yield f"variable {variable['name']}", inner.group(1)


def test_the_dashboard_is_a_grafana_dashboard(dashboard: dict[str, Any]) -> None:
    assert dashboard["uid"] and dashboard["title"] and dashboard["schemaVersion"] >= 36
    ids = [panel["id"] for panel in panels(dashboard)]
    assert len(ids) == len(set(ids)), "panel ids repeat"
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    for panel in panels(dashboard):
        grid = panel["gridPos"]
        assert 0 <= grid["x"] and grid["x"] + grid["w"] <= 24, panel["title"]
        if panel["type"] == "row":
            continue
        assert panel["targets"], panel["title"]
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
        for target in panel["targets"]:
            assert target["expr"].strip(), panel["title"]
            for name in re.findall(r"\$\{?(\w+)", target["expr"]):
                assert name.startswith("__") or name in variables, (
                    f"{panel['title']}: ${name} undefined"
                )


def test_the_dashboard_shows_the_flow(dashboard: dict[str, Any]) -> None:
    queried = {name for _where, expr in expressions(dashboard) for name in metric_names(expr)}
    for needed in (
        "fetcher_polls_total",  # fetch outcomes
        "fetcher_sources",  # ... by source state
        "fetcher_items_emitted_total",  # items into news.raw
        "newswire_enricher_records_total",  # enrichment rate, news.enriched, dead letters
        "kafka_consumergroup_lag",  # enricher lag
        "newswire_sink_dead_letters_total",  # dead letters
        "newswire_sink_flush_seconds_bucket",  # sink batch latency
        "newswire_sink_consumer_lag",
    ):
        assert needed in queried, needed


def test_the_enricher_row_shows_its_failure_counters(dashboard: dict[str, Any]) -> None:
    """Failures an operator must see without reading /metrics: a batch that raised, work
    abandoned after a failed completion (read again after the restart), sweeps that
    raised. Shown in the enricher's row, next to its send retries."""
    rows = sorted(
        (p["gridPos"]["y"], p["title"]) for p in dashboard["panels"] if p["type"] == "row"
    )
    start = next(y for y, title in rows if title == "Enricher")
    end = min((y for y, _ in rows if y > start), default=float("inf"))
    shown = {
        name
        for panel in panels(dashboard)
        if panel["type"] != "row" and start < panel["gridPos"]["y"] < end
        for target in panel["targets"]
        for name in metric_names(target["expr"])
    }
    for counter in (
        "newswire_enricher_send_retries_total",
        "newswire_enricher_batch_failures_total",
        "newswire_enricher_batches_abandoned_total",
        "newswire_enricher_records_abandoned_total",
        "newswire_enricher_sweep_failures_total",
    ):
        assert counter in shown, counter


def metric_problems(dashboard: dict[str, Any]) -> list[str]:
    """Metrics the code does not define, and labels those metrics do not have."""
    series = defined_series()
    problems = []
    for where, expr in expressions(dashboard):
        names = metric_names(expr)
        if not names:
            problems.append(f"{where}: no metric in {expr!r}")
        for name in sorted(names - set(series) - set(EXTERNAL_METRICS)):
            problems.append(f"{where}: {name} is not defined in services/")
        for metric, label in label_uses(expr):
            known = series.get(metric, EXTERNAL_LABELS.get(metric, set()))
            if metric in series or metric in EXTERNAL_LABELS:
                if label not in known | TARGET_LABELS:
                    problems.append(f"{where}: {metric} has no label {label!r}")
    return problems


def test_every_queried_metric_is_defined_in_the_code(dashboard: dict[str, Any]) -> None:
    problems = metric_problems(dashboard)
    assert not problems, "\n".join(problems)


def test_the_check_catches_unknown_metrics_and_labels(dashboard: dict[str, Any]) -> None:
    broken = json.loads(json.dumps(dashboard))
    first, second = [t for p in panels(broken) for t in p.get("targets", [])][:2]
    first["expr"] = "sum(rate(newswire_sink_records_writen_total[5m]))"
    second["expr"] = "sum by (writr) (rate(newswire_sink_records_written_total[5m]))"
    problems = metric_problems(broken)
    assert len(problems) == 2, problems
    assert "newswire_sink_records_writen_total is not defined" in problems[0]
    assert "newswire_sink_records_written_total has no label 'writr'" in problems[1]


def test_external_metrics_are_said_to_be_external(dashboard: dict[str, Any]) -> None:
    for panel in panels(dashboard):
        for target in panel.get("targets", []):
            if metric_names(target["expr"]) & set(EXTERNAL_METRICS):
                assert "Kafka Exporter" in panel.get("description", ""), panel["title"]


def test_outcome_values_in_matchers_are_emitted(dashboard: dict[str, Any]) -> None:
    """Label values matched literally (outcome="ok") are ones the code emits."""
    source = "\n".join(path.read_text(encoding="utf-8") for path in SERVICES.rglob("*.py"))
    for where, expr in expressions(dashboard):
        for label, value in re.findall(r'(\w+)="([^"$]+)"', expr):
            if label in {"consumergroup", "topic"}:
                continue
            assert f'"{value}"' in source or f"'{value}'" in source, f"{where}: {label}={value!r}"
        for value in re.findall(r'outcome=~"([a-z_]+)', expr):
            assert value in source, f"{where}: outcome prefix {value!r}"


def test_the_dashboard_file_is_tidy() -> None:
    text = DASHBOARD.read_text(encoding="utf-8")
    assert text.endswith("\n")
    assert Path(DASHBOARD).suffix == ".json"
    assert json.loads(text)  # one JSON document
