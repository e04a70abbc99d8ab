"""deploy/k8s (kustomize), checked offline: no cluster, only `kubectl kustomize`.

Every overlay is rendered alone and with each optional component (and with both).
The rendered objects are validated against the Kubernetes OpenAPI schemas that
kubernetes-validate bundles (pinned Kubernetes version, strict: unknown fields fail),
the CRDs (Strimzi KafkaTopic, KEDA ScaledObject and TriggerAuthentication) by hand,
and then against the code: settings names, CLI commands, ports, topics.
"""

from __future__ import annotations

import functools
import ipaddress
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from newswire.common.settings import Settings
from newswire.common.settings_env import settings_reference
from newswire.common.topics import declared_topics
from tests.deploy.support import DOCKERFILE, ROOT, SETTING_PREFIXES, parse_cli

K8S_DIR = ROOT / "deploy" / "k8s"
README = ROOT / "deploy" / "README.md"
OVERLAYS = ("dev", "prod")
COMPONENTS = ("strimzi-topics", "keda")
#: Each overlay alone, with each component, and with all of them.
VARIANTS: list[tuple[str, tuple[str, ...]]] = [
    *((overlay, ()) for overlay in OVERLAYS),
    *((overlay, (component,)) for overlay in OVERLAYS for component in COMPONENTS),
    *((overlay, COMPONENTS) for overlay in OVERLAYS),
]
VARIANT_IDS = ["+".join((overlay, *components)) for overlay, components in VARIANTS]

#: The Kubernetes version the schemas are taken from (kubernetes-validate bundles them).
K8S_VERSION = "1.31.0"

#: The image's user (deploy/Dockerfile `USER 10001:10001`).
UID = 10001

#: Kinds without a bundled schema: checked by hand below.
CRD_KINDS = {
    ("kafka.strimzi.io/v1beta2", "KafkaTopic"),
    ("keda.sh/v1alpha1", "ScaledObject"),
    ("keda.sh/v1alpha1", "TriggerAuthentication"),
}

#: Where each service serves /healthz, /readyz and /metrics.
PORT_SETTINGS = {
    "fetcher": "FETCHER_WEB_PORT",
    "enricher": "ENRICHER_WEB_PORT",
    "sink": "SINK_HTTP_PORT",
}
EXPECTED_PORTS = {"fetcher": 6067, "enricher": 6066, "sink": 6068}

#: Secrets the manifests reference and deploy/README.md says how to create: name -> keys.
SECRETS = {
    "newswire-kafka-sasl": {"username", "password"},
    "newswire-kafka-ca": {"ca.crt"},
    "newswire-postgres": {"dsn"},
    "newswire-keda-kafka": {"sasl", "tls", "username", "password", "ca"},
}

#: Workload component label -> the `newswire` command it runs.
COMMANDS = {
    "topics": ["topics", "create"],
    "fetcher": ["fetch"],
    "enricher": ["enrich"],
    "sink": ["sink"],
}
KAFKA_CLIENTS = {"topics", "fetcher", "enricher", "sink"}
LONG_RUNNING = {"fetcher", "enricher", "sink"}
WORKLOAD_KINDS = {"Deployment", "StatefulSet", "Job", "DaemonSet", "CronJob"}


# --- rendering -----------------------------------------------------------------------


def kubectl() -> str:
    path = shutil.which("kubectl")
    if path is None:
        pytest.skip(
            "kubectl is not on PATH: the kustomize checks need `kubectl kustomize` (no cluster)"
        )
    return path


@functools.cache
def _render(overlay: str, components: tuple[str, ...]) -> tuple[dict[str, Any], ...]:
    target = K8S_DIR / "overlays" / overlay
    with tempfile.TemporaryDirectory(prefix="newswire-kustomize-") as tmp:
        if components:
            # What an operator's own overlay would be: ours plus the components. The
            # namespace is repeated so the components' objects land in it too.
            namespace = yaml.safe_load((target / "kustomization.yaml").read_text())["namespace"]
            wrapper = Path(tmp)
            relative = os.path.relpath(K8S_DIR, wrapper)
            (wrapper / "kustomization.yaml").write_text(
                yaml.safe_dump(
                    {
                        "apiVersion": "kustomize.config.k8s.io/v1beta1",
                        "kind": "Kustomization",
                        "namespace": namespace,
                        "resources": [f"{relative}/overlays/{overlay}"],
                        "components": [f"{relative}/components/{name}" for name in components],
                    }
                )
            )
            target = wrapper
        done = subprocess.run(
            [kubectl(), "kustomize", str(target)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert done.returncode == 0, f"kubectl kustomize {overlay} {components}:\n{done.stderr}"
    return tuple(doc for doc in yaml.safe_load_all(done.stdout) if doc)


@dataclass(frozen=True)
class Rendered:
    overlay: str
    components: tuple[str, ...]
    objects: tuple[dict[str, Any], ...]

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [obj for obj in self.objects if obj["kind"] == kind]

    def one(self, kind: str, name: str) -> dict[str, Any]:
        found = [obj for obj in self.of_kind(kind) if obj["metadata"]["name"] == name]
        assert len(found) == 1, f"{kind}/{name}: {len(found)} rendered"
        return found[0]

    @property
    def config(self) -> dict[str, str]:
        """The shared environment: the generated ConfigMap newswire-config-<hash>."""
        found = [
            cm
            for cm in self.of_kind("ConfigMap")
            if cm["metadata"]["name"].startswith("newswire-config-")
        ]
        assert len(found) == 1, [cm["metadata"]["name"] for cm in self.of_kind("ConfigMap")]
        return dict(found[0]["data"])

    @property
    def partitions(self) -> int:
        return int(self.config["TOPIC_PARTITIONS"])

    def workloads(self) -> dict[str, dict[str, Any]]:
        """Workloads by their component label."""
        out: dict[str, dict[str, Any]] = {}
        for obj in self.objects:
            if obj["kind"] in WORKLOAD_KINDS:
                component = obj["metadata"]["labels"]["app.kubernetes.io/component"]
                assert component not in out, f"two workloads for {component}"
                out[component] = obj
        return out


def render(overlay: str, components: tuple[str, ...] = ()) -> Rendered:
    return Rendered(overlay, components, _render(overlay, components))


def pod_spec(workload: Mapping[str, Any]) -> dict[str, Any]:
    spec = workload["spec"]
    if workload["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    return spec["template"]["spec"]


def pod_template(workload: Mapping[str, Any]) -> dict[str, Any]:
    spec = workload["spec"]
    if workload["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    return spec["template"]


def all_containers(spec: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [*spec.get("initContainers", []), *spec["containers"]]


@dataclass(frozen=True)
class SecretValue:
    """An environment variable filled from a Secret at run time."""

    name: str
    key: str
    optional: bool


def container_env(rendered: Rendered, container: Mapping[str, Any]) -> dict[str, str | SecretValue]:
    """The container's environment as Kubernetes builds it: envFrom first, env wins."""
    configmaps = {
        cm["metadata"]["name"]: cm.get("data", {}) for cm in rendered.of_kind("ConfigMap")
    }
    env: dict[str, str | SecretValue] = {}
    for source in container.get("envFrom", []):
        assert set(source) <= {"configMapRef", "prefix"}, (
            f"envFrom other than a ConfigMap: {source}"
        )
        name = source["configMapRef"]["name"]
        assert name in configmaps, f"envFrom a ConfigMap that is not rendered: {name}"
        env.update(
            {source.get("prefix", "") + key: value for key, value in configmaps[name].items()}
        )
    for item in container.get("env", []):
        if "value" in item:
            env[item["name"]] = str(item["value"])
        else:
            ref = item["valueFrom"]["secretKeyRef"]
            env[item["name"]] = SecretValue(
                ref["name"], ref["key"], bool(ref.get("optional", False))
            )
    return env


def only_container(workload: Mapping[str, Any]) -> dict[str, Any]:
    containers = pod_spec(workload)["containers"]
    assert len(containers) == 1, workload["metadata"]["name"]
    return containers[0]


@pytest.fixture
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in list(os.environ):
        if name.startswith((*SETTING_PREFIXES, "FETCHER_")):
            monkeypatch.delenv(name)
    return monkeypatch


def settings_from(
    monkeypatch: pytest.MonkeyPatch, env: Mapping[str, str | SecretValue]
) -> Settings:
    """Settings as the container would load them; Secrets stand in as placeholders."""
    for name, value in env.items():
        if isinstance(value, SecretValue):
            if value.optional:
                continue  # the Secret may be missing: the variable is then unset
            value = f"from-secret-{value.name}-{value.key}"
        monkeypatch.setenv(name, value)
    return Settings()


def variants(**where: Any) -> Any:
    """pytest.mark.parametrize over the variants, optionally only some."""
    chosen = [
        (variant, ident)
        for variant, ident in zip(VARIANTS, VARIANT_IDS, strict=True)
        if all(
            (variant[0] == value) if key == "overlay" else (value in variant[1])
            for key, value in where.items()
        )
    ]
    return pytest.mark.parametrize("variant", [v for v, _ in chosen], ids=[i for _, i in chosen])


# --- rendering and schemas -----------------------------------------------------------


@variants()
def test_every_variant_renders(variant: tuple[str, tuple[str, ...]]) -> None:
    rendered = render(*variant)
    kinds = {obj["kind"] for obj in rendered.objects}
    assert {
        "Namespace",
        "ConfigMap",
        "Deployment",
        "StatefulSet",
        "NetworkPolicy",
        "PodDisruptionBudget",
    } <= kinds
    namespace = yaml.safe_load(
        (K8S_DIR / "overlays" / variant[0] / "kustomization.yaml").read_text()
    )["namespace"]
    assert [ns["metadata"]["name"] for ns in rendered.of_kind("Namespace")] == [namespace]
    for obj in rendered.objects:
        if obj["kind"] != "Namespace":
            assert obj["metadata"].get("namespace") == namespace, (
                obj["kind"],
                obj["metadata"]["name"],
            )
        assert obj["metadata"]["labels"]["app.kubernetes.io/part-of"] == "newswire", obj[
            "metadata"
        ]["name"]
    assert set(rendered.workloads()) == (
        LONG_RUNNING if "strimzi-topics" in variant[1] else LONG_RUNNING | {"topics"}
    )


def _kubernetes_validate() -> Any:
    return pytest.importorskip(
        "kubernetes_validate",
        reason="kubernetes-validate is not installed (it belongs in the `test` extra): "
        "it bundles the Kubernetes schemas the offline validation needs",
    )


@variants()
def test_objects_validate_against_the_kubernetes_schemas(
    variant: tuple[str, tuple[str, ...]],
) -> None:
    kv = _kubernetes_validate()
    errors = []
    for obj in render(*variant).objects:
        if (obj["apiVersion"], obj["kind"]) in CRD_KINDS:
            errors += [f"{obj['kind']}/{obj['metadata']['name']}: {e}" for e in crd_problems(obj)]
            continue
        try:
            kv.validate(obj, K8S_VERSION, strict=True)
        except kv.ValidationError as exc:
            where = "/".join(map(str, exc.path))
            errors.append(f"{obj['kind']}/{obj['metadata']['name']}: {where}: {exc.message}")
    assert not errors, "\n".join(errors)


def test_the_schema_check_catches_mistakes() -> None:
    """Strict validation is not vacuous, and it works offline on the bundled schemas."""
    kv = _kubernetes_validate()
    sink = render("dev").one("Deployment", "newswire-sink")
    broken = yaml.safe_load(yaml.safe_dump(sink))
    only_container(broken)["livenessProbe"]["httpGet"]["paht"] = "/healthz"  # unknown field
    with pytest.raises(kv.ValidationError):
        kv.validate(broken, K8S_VERSION, strict=True)
    broken = yaml.safe_load(yaml.safe_dump(sink))
    broken["spec"]["replicas"] = "one"
    with pytest.raises(kv.ValidationError):
        kv.validate(broken, K8S_VERSION, strict=True)
    unknown = {"apiVersion": "example.com/v1", "kind": "Nothing", "metadata": {"name": "x"}}
    with pytest.raises(kv.SchemaNotFoundError):
        kv.validate(unknown, K8S_VERSION, strict=True)


_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_KAFKA_TOPIC = re.compile(r"^[a-zA-Z0-9._-]{1,249}$")


def crd_problems(obj: Mapping[str, Any]) -> list[str]:
    """apiVersion, kind and the required fields of the CRDs, as their schemas define them."""
    problems: list[str] = []
    meta = obj.get("metadata", {})
    if not _DNS_SUBDOMAIN.match(meta.get("name", "")) or len(meta.get("name", "")) > 253:
        problems.append(f"metadata.name {meta.get('name')!r} is not a DNS subdomain")
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return [*problems, "no spec"]
    kind = obj["kind"]
    if kind == "KafkaTopic":
        if not meta.get("labels", {}).get("strimzi.io/cluster"):
            problems.append("the label strimzi.io/cluster names no Kafka cluster")
        if extra := set(spec) - {"topicName", "partitions", "replicas", "config"}:
            problems.append(f"unknown spec fields {sorted(extra)}")
        for field in ("partitions", "replicas"):
            value = spec.get(field)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                problems.append(f"spec.{field} must be an integer >= 1, got {value!r}")
        if not _KAFKA_TOPIC.match(str(spec.get("topicName", ""))):
            problems.append(f"spec.topicName {spec.get('topicName')!r} is not a Kafka topic name")
        for key, value in (spec.get("config") or {}).items():
            if not isinstance(value, str | int | float | bool):
                problems.append(f"spec.config.{key}: {value!r} is not a scalar")
    elif kind == "ScaledObject":
        allowed = {
            "scaleTargetRef",
            "pollingInterval",
            "cooldownPeriod",
            "initialCooldownPeriod",
            "idleReplicaCount",
            "minReplicaCount",
            "maxReplicaCount",
            "fallback",
            "advanced",
            "triggers",
        }
        if extra := set(spec) - allowed:
            problems.append(f"unknown spec fields {sorted(extra)}")
        target = spec.get("scaleTargetRef", {})
        if not isinstance(target.get("name"), str) or not target["name"]:
            problems.append("spec.scaleTargetRef.name is required")
        for field in ("minReplicaCount", "maxReplicaCount", "pollingInterval", "cooldownPeriod"):
            if field in spec and (
                not isinstance(spec[field], int) or isinstance(spec[field], bool)
            ):
                problems.append(f"spec.{field} must be an integer, got {spec[field]!r}")
        triggers = spec.get("triggers")
        if not isinstance(triggers, list) or not triggers:
            problems.append("spec.triggers needs at least one trigger")
        for index, trigger in enumerate(triggers or []):
            if not isinstance(trigger.get("type"), str):
                problems.append(f"spec.triggers[{index}].type is required")
            metadata = trigger.get("metadata")
            # map[string]string in the CRD: an unquoted number or boolean is rejected.
            if not isinstance(metadata, dict) or not all(
                isinstance(v, str) for v in metadata.values()
            ):
                problems.append(
                    f"spec.triggers[{index}].metadata must map strings to strings: {metadata!r}"
                )
            ref = trigger.get("authenticationRef")
            if ref is not None and not isinstance(ref.get("name"), str):
                problems.append(f"spec.triggers[{index}].authenticationRef.name is required")
    elif kind == "TriggerAuthentication":
        refs = spec.get("secretTargetRef")
        if not isinstance(refs, list) or not refs:
            problems.append("spec.secretTargetRef is empty")
        for index, ref in enumerate(refs or []):
            if set(ref) != {"parameter", "name", "key"} or not all(
                isinstance(v, str) for v in ref.values()
            ):
                problems.append(
                    f"spec.secretTargetRef[{index}] needs parameter, name and key: {ref!r}"
                )
    else:
        problems.append(f"no check for {kind}")
    return problems


def test_the_crd_checks_catch_mistakes() -> None:
    rendered = render("prod", COMPONENTS)
    topic = yaml.safe_load(yaml.safe_dump(rendered.one("KafkaTopic", "news-raw")))
    assert crd_problems(topic) == []
    topic["spec"]["partitions"] = "12"
    topic["spec"]["retention"] = 1
    del topic["metadata"]["labels"]["strimzi.io/cluster"]
    assert len(crd_problems(topic)) == 3
    scaled = yaml.safe_load(yaml.safe_dump(rendered.one("ScaledObject", "newswire-enricher")))
    assert crd_problems(scaled) == []
    scaled["spec"]["triggers"][0]["metadata"]["lagThreshold"] = 1000
    del scaled["spec"]["scaleTargetRef"]["name"]
    assert len(crd_problems(scaled)) == 2


# --- settings, commands, files -------------------------------------------------------


@functools.cache
def known_settings() -> frozenset[str]:
    return frozenset(name for name, _default, _meaning in settings_reference())


@variants()
def test_every_environment_variable_is_a_setting(variant: tuple[str, tuple[str, ...]]) -> None:
    rendered = render(*variant)
    allowed = known_settings()
    for component, workload in rendered.workloads().items():
        for container in all_containers(pod_spec(workload)):
            unknown = set(container_env(rendered, container)) - allowed
            assert not unknown, f"{component}: not in `newswire settings`: {sorted(unknown)}"
    unknown = set(rendered.config) - known_settings()
    assert not unknown, f"newswire-config: not in `newswire settings`: {sorted(unknown)}"


@variants()
def test_environments_load_as_valid_settings(
    variant: tuple[str, tuple[str, ...]], clean_environ: pytest.MonkeyPatch
) -> None:
    rendered = render(*variant)
    for component, workload in rendered.workloads().items():
        env = container_env(rendered, only_container(workload))
        with pytest.MonkeyPatch.context() as patch:
            settings = settings_from(patch, env)
        assert settings.kafka.bootstrap_servers, component
        assert settings.kafka.effective_profile.value == "kafka", component
        assert settings.kafka.client_id == f"newswire-{component}", component


@variants()
def test_every_command_is_a_newswire_command(variant: tuple[str, tuple[str, ...]]) -> None:
    rendered = render(*variant)
    for component, workload in rendered.workloads().items():
        container = only_container(workload)
        # The image's ENTRYPOINT is `newswire`: the manifests give only its arguments.
        assert "command" not in container or container["command"] == ["newswire"], component
        assert container["image"].split("/")[-1].split(":")[0] == "newswire", container["image"]
        assert parse_cli(container["args"]) == COMMANDS[component], component


def _mounted_file(
    rendered: Rendered,
    workload: Mapping[str, Any],
    path: str,
    container: Mapping[str, Any] | None = None,
) -> tuple[str, str, str]:
    """(volume source kind, object name, key) of the file at `path` in the pod's
    CONTAINER (default: its only container)."""
    container = container if container is not None else only_container(workload)
    volumes = {volume["name"]: volume for volume in pod_spec(workload).get("volumes", [])}
    for mount in container.get("volumeMounts", []):
        prefix = mount["mountPath"].rstrip("/") + "/"
        if not path.startswith(prefix):
            continue
        relative = path.removeprefix(prefix)
        volume = volumes[mount["name"]]
        for kind in ("configMap", "secret"):
            if kind in volume:
                name = volume[kind]["name" if kind == "configMap" else "secretName"]
                items = volume[kind].get("items")
                if items is not None:
                    keys = {item["path"]: item["key"] for item in items}
                    assert relative in keys, f"{path}: no item with that path in {name}"
                    return kind, name, keys[relative]
                return kind, name, relative
        pytest.fail(f"{path} is on volume {mount['name']}, neither a ConfigMap nor a Secret")
    pytest.fail(f"{path} is on no mounted volume of {workload['metadata']['name']}")


@variants()
def test_the_sources_and_taxonomy_files_are_mounted(variant: tuple[str, tuple[str, ...]]) -> None:
    rendered = render(*variant)
    configmaps = {
        cm["metadata"]["name"]: cm.get("data", {}) for cm in rendered.of_kind("ConfigMap")
    }
    workloads = rendered.workloads()

    assert only_container(workloads["fetcher"])["args"] == ["fetch"]  # the group member
    (apply,) = pod_spec(workloads["fetcher"])["initContainers"]
    args = apply["args"]
    assert args[:2] == ["sources", "apply"]
    sources = args[2]
    kind, name, key = _mounted_file(rendered, workloads["fetcher"], sources, apply)
    assert kind == "configMap" and name.startswith("newswire-sources-")
    assert yaml.safe_load(configmaps[name][key])["sources"], "the sources file has no sources"

    enricher_env = container_env(rendered, only_container(workloads["enricher"]))
    taxonomy = enricher_env["ENRICHER_TAXONOMY_PATH"]
    assert isinstance(taxonomy, str)
    kind, name, key = _mounted_file(rendered, workloads["enricher"], taxonomy)
    assert kind == "configMap" and name.startswith("newswire-taxonomy-")
    assert yaml.safe_load(configmaps[name][key]), "empty taxonomy"


def test_the_file_copies_match_the_originals() -> None:
    """kustomize cannot read files above deploy/k8s/base: it keeps copies. Refresh them with
    cp sources.example.yaml deploy/k8s/base/files/sources.yaml
    cp services/enricher/taxonomy.yaml deploy/k8s/base/files/taxonomy.yaml"""
    files = K8S_DIR / "base" / "files"
    assert (files / "sources.yaml").read_bytes() == (ROOT / "sources.example.yaml").read_bytes()
    assert (files / "taxonomy.yaml").read_bytes() == (
        ROOT / "services" / "enricher" / "taxonomy.yaml"
    ).read_bytes()


def test_the_shipped_files_validate() -> None:
    """The copies the ConfigMaps carry load the way the services load them."""
    from newswire.enricher.topics import TopicClassifier

    TopicClassifier.from_file(K8S_DIR / "base" / "files" / "taxonomy.yaml")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "newswire",
            "sources",
            "check",
            str(K8S_DIR / "base" / "files" / "sources.yaml"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


# --- the enricher and its partitions -------------------------------------------------


@variants()
def test_enricher_replicas_stay_within_the_partitions(variant: tuple[str, tuple[str, ...]]) -> None:
    rendered = render(*variant)
    enricher = rendered.one("StatefulSet", "newswire-enricher")
    scaled = rendered.of_kind("ScaledObject")
    if "keda" in variant[1]:
        assert "replicas" not in enricher["spec"], "KEDA owns the replica count: drop spec.replicas"
        assert [s["spec"]["scaleTargetRef"]["name"] for s in scaled] == ["newswire-enricher"]
        assert 1 <= scaled[0]["spec"]["minReplicaCount"] <= scaled[0]["spec"]["maxReplicaCount"]
        assert scaled[0]["spec"]["maxReplicaCount"] <= rendered.partitions
    else:
        assert not scaled
        assert 1 <= enricher["spec"]["replicas"] <= rendered.partitions
    assert rendered.partitions == {"dev": 3, "prod": 12}[variant[0]]


def test_prod_runs_several_enrichers() -> None:
    assert render("prod").one("StatefulSet", "newswire-enricher")["spec"]["replicas"] == 6


@variants()
def test_the_enricher_keeps_rocksdb_state_on_its_own_volume(
    variant: tuple[str, tuple[str, ...]],
) -> None:
    rendered = render(*variant)
    enricher = rendered.one("StatefulSet", "newswire-enricher")
    env = container_env(rendered, only_container(enricher))
    assert env["ENRICHER_STORE"] == "rocksdb://"
    claims = {
        claim["metadata"]["name"]: claim for claim in enricher["spec"]["volumeClaimTemplates"]
    }
    mounts = {m["mountPath"]: m["name"] for m in only_container(enricher)["volumeMounts"]}
    assert mounts[env["ENRICHER_DATA_DIR"]] in claims, (
        "ENRICHER_DATA_DIR is not on a claim template"
    )
    assert claims[mounts[env["ENRICHER_DATA_DIR"]]]["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert enricher["spec"]["serviceName"] in {
        s["metadata"]["name"] for s in rendered.of_kind("Service")
    }


@variants()
def test_singletons(variant: tuple[str, tuple[str, ...]]) -> None:
    """One sink (the JSON Lines lock), replaced not rolled."""
    rendered = render(*variant)
    deployment = rendered.one("Deployment", "newswire-sink")
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"]["type"] == "Recreate"


@variants()
def test_fetcher_replicas_share_the_sources_by_group(variant: tuple[str, tuple[str, ...]]) -> None:
    """Fetcher replicas join one group: more than one, rolled, no more than partitions."""
    rendered = render(*variant)
    deployment = rendered.one("Deployment", "newswire-fetcher")
    config = rendered.config
    assert 1 < deployment["spec"]["replicas"] <= int(config["FETCHER_PARTITIONS"])
    assert deployment["spec"]["strategy"]["type"] == "RollingUpdate"
    env = container_env(rendered, only_container(deployment))
    assert not [name for name in env if name.startswith("FETCHER_SHARD")]
    assert config["FETCHER_SOURCES_TOPIC"] and config["FETCHER_GROUP_ID"]


# --- probes, ports, scraping ---------------------------------------------------------


def _port_number(container: Mapping[str, Any], port: int | str) -> int:
    if isinstance(port, int):
        return port
    named = {p["name"]: p["containerPort"] for p in container.get("ports", []) if "name" in p}
    assert port in named, f"probe port {port!r} is not a container port"
    return named[port]


@variants()
def test_probes_point_at_the_services_ports(variant: tuple[str, tuple[str, ...]]) -> None:
    rendered = render(*variant)
    defaults = {name: default for name, default, _meaning in settings_reference()}
    for component, workload in rendered.workloads().items():
        container = only_container(workload)
        if component not in LONG_RUNNING:
            assert not {"livenessProbe", "readinessProbe"} & set(container), component
            continue
        env = container_env(rendered, container)
        setting = PORT_SETTINGS[component]
        port = int(str(env.get(setting, defaults.get(setting))))
        assert port == EXPECTED_PORTS[component], (component, port)
        for probe, path in (
            ("startupProbe", "/healthz"),
            ("livenessProbe", "/healthz"),
            ("readinessProbe", "/readyz"),
        ):
            get = container[probe]["httpGet"]
            assert get["path"] == path, (component, probe)
            assert _port_number(container, get["port"]) == port, (component, probe)
        annotations = pod_template(workload)["metadata"]["annotations"]
        assert annotations["prometheus.io/scrape"] == "true"
        assert annotations["prometheus.io/path"] == "/metrics"
        assert int(annotations["prometheus.io/port"]) == port, component
        services = [
            s
            for s in rendered.of_kind("Service")
            if s["spec"]["selector"].items() <= pod_template(workload)["metadata"]["labels"].items()
        ]
        assert len(services) == 1, component
        assert [_port_number(container, p["targetPort"]) for p in services[0]["spec"]["ports"]] == [
            port
        ]


@variants()
def test_selectors_match_their_pods(variant: tuple[str, tuple[str, ...]]) -> None:
    rendered = render(*variant)
    pods = {c: pod_template(w)["metadata"]["labels"] for c, w in rendered.workloads().items()}
    for component, workload in rendered.workloads().items():
        if workload["kind"] in {"Deployment", "StatefulSet"}:
            assert workload["spec"]["selector"]["matchLabels"].items() <= pods[component].items()
    for pdb in rendered.of_kind("PodDisruptionBudget"):
        matched = [
            c
            for c, labels in pods.items()
            if pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()
        ]
        assert len(matched) == 1, pdb["metadata"]["name"]
    budgeted = {
        c
        for c, labels in pods.items()
        for pdb in rendered.of_kind("PodDisruptionBudget")
        if pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()
    }
    assert budgeted == LONG_RUNNING
    for pdb in rendered.of_kind("PodDisruptionBudget"):
        # minAvailable >= replicas would block every node drain.
        assert "minAvailable" not in pdb["spec"] and pdb["spec"]["maxUnavailable"] >= 1


# --- security ------------------------------------------------------------------------


def test_the_uid_is_the_images() -> None:
    assert f"USER {UID}:{UID}" in DOCKERFILE.read_text(encoding="utf-8")


@variants()
def test_security_contexts(variant: tuple[str, tuple[str, ...]]) -> None:
    rendered = render(*variant)
    for component, workload in rendered.workloads().items():
        spec = pod_spec(workload)
        pod = spec["securityContext"]
        assert (
            pod["runAsNonRoot"] is True and pod["runAsUser"] == UID and pod["runAsGroup"] == UID
        ), component
        assert pod["fsGroup"] == UID, component
        assert pod["seccompProfile"] == {"type": "RuntimeDefault"}, component
        assert spec["automountServiceAccountToken"] is False, component
        assert not {"hostNetwork", "hostPID", "hostIPC"} & {k for k, v in spec.items() if v}, (
            component
        )
        volumes = {volume["name"]: volume for volume in spec.get("volumes", [])}
        for container in all_containers(spec):
            sc = container["securityContext"]
            assert sc["allowPrivilegeEscalation"] is False, component
            assert sc["readOnlyRootFilesystem"] is True, component
            assert sc["capabilities"] == {"drop": ["ALL"]}, component
            assert sc.get("privileged", False) is False, component
            assert sc.get("runAsNonRoot", pod["runAsNonRoot"]) is True, component
            assert sc.get("runAsUser", pod["runAsUser"]) == UID, component
            assert sc.get("seccompProfile", pod["seccompProfile"]) == {"type": "RuntimeDefault"}, (
                component
            )
            tmp = [m for m in container["volumeMounts"] if m["mountPath"] == "/tmp"]
            assert len(tmp) == 1 and "emptyDir" in volumes[tmp[0]["name"]], (
                f"{component}: /tmp is no emptyDir"
            )
    for ns in rendered.of_kind("Namespace"):
        assert ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


def _quantity(value: str | int) -> float:
    text = str(value)
    units = {
        "m": 1e-3,
        "Ki": 2**10,
        "Mi": 2**20,
        "Gi": 2**30,
        "Ti": 2**40,
        "k": 1e3,
        "M": 1e6,
        "G": 1e9,
    }
    for suffix, factor in units.items():
        if text.endswith(suffix):
            return float(text.removesuffix(suffix)) * factor
    return float(text)


@variants()
def test_resources_are_requested_and_limited(variant: tuple[str, tuple[str, ...]]) -> None:
    rendered = render(*variant)
    for component, workload in rendered.workloads().items():
        for container in all_containers(pod_spec(workload)):
            resources = container["resources"]
            for resource in ("cpu", "memory"):
                request = _quantity(resources["requests"][resource])
                limit = _quantity(resources["limits"][resource])
                assert 0 < request <= limit, (component, resource)


@variants()
def test_secrets_are_referenced_never_rendered(variant: tuple[str, tuple[str, ...]]) -> None:
    rendered = render(*variant)
    assert not rendered.of_kind("Secret"), "a Secret is rendered: keep credentials out of git"
    readme = README.read_text(encoding="utf-8")
    referenced: dict[str, set[str]] = {}
    for workload in rendered.workloads().values():
        spec = pod_spec(workload)
        for container in all_containers(spec):
            for source in container.get("envFrom", []):
                assert "secretRef" not in source, "envFrom a Secret: name the keys instead"
            for value in container_env(rendered, container).values():
                if isinstance(value, SecretValue):
                    referenced.setdefault(value.name, set()).add(value.key)
        for volume in spec.get("volumes", []):
            if "secret" in volume:
                items = volume["secret"].get("items")
                assert items, f"secret volume {volume['name']}: list its keys (items)"
                referenced.setdefault(volume["secret"]["secretName"], set()).update(
                    i["key"] for i in items
                )
    for auth in rendered.of_kind("TriggerAuthentication"):
        for ref in auth["spec"]["secretTargetRef"]:
            referenced.setdefault(ref["name"], set()).add(ref["key"])
    for name, keys in referenced.items():
        assert name in SECRETS and keys <= SECRETS[name], (name, keys)
        assert f"kubectl create secret generic {name}" in readme, (
            f"deploy/README.md: how to create {name}"
        )


@variants(overlay="prod")
def test_prod_kafka_clients_use_sasl_ssl_from_secrets(variant: tuple[str, tuple[str, ...]]) -> None:
    rendered = render(*variant)
    config = rendered.config
    assert config["KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
    assert config["KAFKA_SASL_MECHANISM"] in {"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"}
    workloads = rendered.workloads()
    assert set(workloads) >= LONG_RUNNING
    for component, workload in workloads.items():
        assert component in KAFKA_CLIENTS
        env = container_env(rendered, only_container(workload))
        assert env["KAFKA_SASL_USERNAME"] == SecretValue(
            "newswire-kafka-sasl", "username", False
        ), component
        assert env["KAFKA_SASL_PASSWORD"] == SecretValue(
            "newswire-kafka-sasl", "password", False
        ), component
        cafile = env["KAFKA_SSL_CAFILE"]
        assert isinstance(cafile, str)
        assert _mounted_file(rendered, workload, cafile) == (
            "secret",
            "newswire-kafka-ca",
            "ca.crt",
        ), component
    sink_env = container_env(rendered, only_container(workloads["sink"]))
    assert sink_env["SINK_POSTGRES_DSN"] == SecretValue("newswire-postgres", "dsn", False)


@variants(overlay="dev")
def test_dev_needs_no_secret(variant: tuple[str, tuple[str, ...]]) -> None:
    rendered = render(*variant)
    assert rendered.config["KAFKA_SECURITY_PROTOCOL"] == "PLAINTEXT"
    for component, workload in rendered.workloads().items():
        for volume in pod_spec(workload).get("volumes", []):
            assert "secret" not in volume, component
        for name, value in container_env(rendered, only_container(workload)).items():
            if isinstance(value, SecretValue):
                assert value.optional, f"{component}: {name} needs a Secret in dev"


def test_prod_pins_its_image() -> None:
    for component, workload in render("prod").workloads().items():
        image = only_container(workload)["image"]
        name, _, tag = image.rpartition(":")
        assert name and tag and tag != "latest" and "/" in name, (component, image)


# --- network policies ----------------------------------------------------------------


def _selects(selector: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    if not selector.get("matchLabels", {}).items() <= labels.items():
        return False
    for expression in selector.get("matchExpressions", []):
        value = labels.get(expression["key"])
        operator = expression["operator"]
        if operator == "In" and value not in expression["values"]:
            return False
        if operator == "NotIn" and value in expression["values"]:
            return False
        if operator == "Exists" and value is None:
            return False
        if operator == "DoesNotExist" and value is not None:
            return False
    return True


def _policies_for(rendered: Rendered, labels: Mapping[str, str]) -> list[dict[str, Any]]:
    return [
        p for p in rendered.of_kind("NetworkPolicy") if _selects(p["spec"]["podSelector"], labels)
    ]


def _egress_ports(
    policies: list[dict[str, Any]],
) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    for policy in policies:
        for rule in policy["spec"].get("egress", []):
            for peer in rule.get("to", [{}]):
                for port in rule.get("ports", [{}]):
                    yield peer, port


@variants()
def test_network_policies(variant: tuple[str, tuple[str, ...]]) -> None:
    rendered = render(*variant)
    private = [
        ipaddress.ip_network(n)
        for n in (
            *("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16", "127.0.0.0/8"),
            *("fc00::/7", "fe80::/10", "::1/128"),
        )
    ]
    for component, workload in rendered.workloads().items():
        labels = pod_template(workload)["metadata"]["labels"]
        policies = _policies_for(rendered, labels)
        assert any(
            set(p["spec"]["policyTypes"]) == {"Ingress", "Egress"}
            and not p["spec"].get("ingress")
            and not p["spec"].get("egress")
            for p in policies
        ), f"{component}: no default-deny policy selects it"
        # In: only Prometheus from the monitoring namespace, only on the metrics port.
        ingress = [rule for p in policies for rule in p["spec"].get("ingress", [])]
        if component in LONG_RUNNING:
            assert ingress, f"{component}: metrics cannot be scraped"
        for rule in ingress:
            assert rule["from"] == [
                {
                    "namespaceSelector": {
                        "matchLabels": {"kubernetes.io/metadata.name": "monitoring"}
                    }
                }
            ]
            assert [_port_number(only_container(workload), p["port"]) for p in rule["ports"]] == [
                EXPECTED_PORTS[component]
            ]
        # Out: DNS and Kafka for all; PostgreSQL for the sink; HTTPS to public
        # addresses for the fetcher.
        egress = list(_egress_ports(policies))
        dns = {
            (port["protocol"], port["port"])
            for peer, port in egress
            if peer.get("podSelector") == {"matchLabels": {"k8s-app": "kube-dns"}}
        }
        assert dns == {("UDP", 53), ("TCP", 53)}, component
        kafka = [
            port
            for peer, port in egress
            if peer.get("namespaceSelector")
            == {"matchLabels": {"kubernetes.io/metadata.name": "kafka"}}
        ]
        for server in rendered.config["KAFKA_BOOTSTRAP_SERVERS"].split(","):
            port = int(server.rpartition(":")[2])
            assert any(
                p["protocol"] == "TCP" and p["port"] <= port <= p.get("endPort", p["port"])
                for p in kafka
            ), f"{component}: no egress to the Kafka port {port}"
        postgres = [peer for peer, port in egress if port.get("port") == 5432]
        assert bool(postgres) == (component == "sink"), component
        blocks = [(peer["ipBlock"], port) for peer, port in egress if "ipBlock" in peer]
        assert bool(blocks) == (component == "fetcher"), component
        for block, block_port in blocks:
            assert block_port == {"protocol": "TCP", "port": 443}, block_port
            cidr = ipaddress.ip_network(block["cidr"])
            excepted = [ipaddress.ip_network(n) for n in block.get("except", [])]
            for network in private:
                if network.version == cidr.version:
                    inside = any(
                        e.version == network.version and network.subnet_of(e)  # type: ignore[arg-type]
                        for e in excepted
                    )
                    assert inside, f"fetcher may reach {network}"
        for peer, _port in egress:
            assert peer, f"{component}: an egress rule to anywhere"


# --- the optional components ---------------------------------------------------------


@variants(component="strimzi-topics")
def test_strimzi_topics_are_the_declared_topics(
    variant: tuple[str, tuple[str, ...]], clean_environ: pytest.MonkeyPatch
) -> None:
    rendered = render(*variant)
    assert not rendered.of_kind("Job"), "the KafkaTopics replace the topics Job"
    settings = settings_from(
        clean_environ,
        rendered.config
        | {
            "KAFKA_SASL_USERNAME": "user",
            "KAFKA_SASL_PASSWORD": "password",
        },
    )
    declared = {spec.name: spec for spec in declared_topics(settings)}
    topics = {t["spec"]["topicName"]: t for t in rendered.of_kind("KafkaTopic")}
    assert (
        set(topics)
        == set(declared)
        == {"news.raw", "news.enriched", "news.dlq", "news.sources", "news.fetcher-state"}
    )
    for name, spec in declared.items():
        topic = topics[name]["spec"]
        assert topic["partitions"] == spec.partitions, name
        assert topic["replicas"] == spec.replication_factor, name
        assert {k: str(v) for k, v in topic["config"].items()} == spec.config, name
    assert topics["news.fetcher-state"]["spec"]["config"]["cleanup.policy"] == "compact"
    assert topics["news.sources"]["spec"]["config"]["cleanup.policy"] == "compact"
    assert (
        topics["news.sources"]["spec"]["partitions"]
        == topics["news.fetcher-state"]["spec"]["partitions"]
    )
    assert topics["news.raw"]["spec"]["partitions"] == rendered.partitions


@variants(component="keda")
def test_keda_scales_the_enricher_on_its_lag(variant: tuple[str, tuple[str, ...]]) -> None:
    rendered = render(*variant)
    (scaled,) = rendered.of_kind("ScaledObject")
    target = scaled["spec"]["scaleTargetRef"]
    assert (target["apiVersion"], target["kind"]) == ("apps/v1", "StatefulSet")
    rendered.one("StatefulSet", target["name"])
    (trigger,) = scaled["spec"]["triggers"]
    config = rendered.config
    assert trigger["type"] == "kafka"
    metadata = trigger["metadata"]
    assert metadata["bootstrapServers"] == config["KAFKA_BOOTSTRAP_SERVERS"]
    assert metadata["consumerGroup"] == config["ENRICHER_APP_ID"] == "newswire-enricher"
    assert metadata["topic"] == config["TOPIC_RAW"] == "news.raw"
    assert metadata["allowIdleConsumers"] == "false"
    assert int(metadata["lagThreshold"]) > 0
    assert scaled["spec"]["maxReplicaCount"] == rendered.partitions
    auth = rendered.one("TriggerAuthentication", trigger["authenticationRef"]["name"])
    assert {ref["parameter"] for ref in auth["spec"]["secretTargetRef"]} == SECRETS[
        "newswire-keda-kafka"
    ]


def test_components_are_components() -> None:
    for name in COMPONENTS:
        path = K8S_DIR / "components" / name / "kustomization.yaml"
        assert yaml.safe_load(path.read_text())["kind"] == "Component", name
    readme = README.read_text(encoding="utf-8")
    for overlay in OVERLAYS:
        kustomization = yaml.safe_load(
            (K8S_DIR / "overlays" / overlay / "kustomization.yaml").read_text()
        )
        # Used from an overlay on top (as rendered here): in this one, its own patches
        # would run after the components and undo them.
        assert "components" not in kustomization, overlay
    for name in COMPONENTS:
        assert f"../deploy/k8s/components/{name}" in readme, f"deploy/README.md: how to use {name}"
