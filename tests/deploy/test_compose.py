"""docker-compose.yml and .env.example, checked statically (no Docker engine needed)."""

from __future__ import annotations

import base64
import importlib.util
import json
import re
import socket
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from newswire.common.settings import EnricherSettings, Settings
from newswire.common.settings_env import as_environment
from tests.deploy.support import (
    COMPOSE_FILE,
    DOCKERFILE,
    ENV_EXAMPLE,
    NEWSWIRE_IMAGE,
    ROOT,
    SETTING_PREFIXES,
    closed_port,
    command_argv,
    environment_dict,
    health_server,
    load_compose,
    newswire_services,
    parse_cli,
    read_env_example,
    run_python_probe,
    setting_names,
)

#: Settings whose default is None, so ``as_environment(Settings())`` leaves them out.
NONE_DEFAULT_SETTINGS = {
    "KAFKA_BOOTSTRAP_SERVERS",
    "KAFKA_PROFILE",
    "KAFKA_SASL_USERNAME",
    "KAFKA_SASL_PASSWORD",
    "KAFKA_SSL_CAFILE",
    "KAFKA_SSL_CERTFILE",
    "KAFKA_SSL_KEYFILE",
}
HEALTH_NOTE = "x-healthcheck-note"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return load_compose()


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


@pytest.fixture(scope="module")
def newswire(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found = newswire_services(compose)
    assert set(found) >= {"topics", "enricher", "sink", "replay"}
    return found


@pytest.fixture
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No newswire setting inherited from the test process's environment."""
    import os

    for name in list(os.environ):
        if name.startswith(SETTING_PREFIXES):
            monkeypatch.delenv(name)
    return monkeypatch


@pytest.fixture
def known_settings(clean_environ: pytest.MonkeyPatch) -> set[str]:
    names = setting_names()
    assert set(as_environment(Settings())) <= names
    assert names >= NONE_DEFAULT_SETTINGS
    return names


def build_settings(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> Settings:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return Settings()


# --- the Compose specification -------------------------------------------------------


def compose_spec_schema() -> dict[str, Any]:
    """The Compose spec schema that check-jsonschema vendors (`vendor.compose-spec`).

    Located without importing check_jsonschema (its CLI needs nothing here).
    """
    spec = importlib.util.find_spec("check_jsonschema")
    if spec is None or not spec.submodule_search_locations:
        pytest.fail(
            "check-jsonschema is not installed: it ships the Compose spec schema "
            "(pip install check-jsonschema; it belongs in the `test` extra)"
        )
    package = Path(next(iter(spec.submodule_search_locations)))
    path = package / "builtin_schemas" / "vendor" / "compose-spec.json"
    return json.loads(path.read_text(encoding="utf-8"))


def test_validates_against_the_compose_specification(compose: dict[str, Any]) -> None:
    schema = compose_spec_schema()
    assert "draft-07" in schema.get("$schema", ""), schema.get("$schema")
    jsonschema.Draft7Validator.check_schema(schema)
    errors = sorted(
        jsonschema.Draft7Validator(schema).iter_errors(compose), key=lambda e: list(e.absolute_path)
    )
    assert not errors, "\n".join(
        f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in errors
    )


def test_compose_spec_check_catches_mistakes(compose: dict[str, Any]) -> None:
    """The schema check above is not vacuous."""
    broken = json.loads(json.dumps(compose))
    broken["services"]["sink"]["restart_policy"] = "always"
    broken["services"]["enricher"]["depends_on"]["topics"]["condition"] = "service_finished"
    errors = list(jsonschema.Draft7Validator(compose_spec_schema()).iter_errors(broken))
    assert {tuple(e.absolute_path)[:2] for e in errors} == {
        ("services", "sink"),
        ("services", "enricher"),
    }


# --- the image and its commands ------------------------------------------------------


def test_newswire_services_share_the_anchor(newswire: dict[str, dict[str, Any]]) -> None:
    raw = COMPOSE_FILE.read_text(encoding="utf-8")
    assert re.search(r"^x-newswire: &newswire$", raw, re.MULTILINE)
    for name, service in newswire.items():
        assert service["build"] == {"context": ".", "dockerfile": "deploy/Dockerfile"}, name
        assert service["env_file"] == [{"path": ".env", "required": False}], name
        env = environment_dict(service.get("environment"))
        assert env["KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092", name
        assert env["KAFKA_PROFILE"] == "kafka", name
    assert (ROOT / newswire["enricher"]["build"]["context"] / "deploy" / "Dockerfile") == DOCKERFILE


def test_every_newswire_command_is_a_real_subcommand(newswire: dict[str, dict[str, Any]]) -> None:
    from newswire.cli import app

    registered = {command.name or command.callback.__name__ for command in app.registered_commands}
    registered |= {group.name for group in app.registered_groups}
    for name, service in newswire.items():
        argv = command_argv(service["command"])
        assert argv, f"{name}: no command (the image would only print --help)"
        assert argv[0] in registered, f"{name}: `newswire {argv[0]}` is not a subcommand"
        parse_cli(argv)  # the whole command line parses: subcommands, options, arguments


def test_service_commands(newswire: dict[str, dict[str, Any]]) -> None:
    commands = {name: parse_cli(command_argv(s["command"])) for name, s in newswire.items()}
    assert commands == {
        "topics": ["topics", "create"],
        "sources": ["sources", "apply"],
        "fetcher": ["fetch"],
        "demo-fetcher": ["fetch"],
        "enricher": ["enrich"],
        "sink": ["sink"],
        "replay": ["replay"],
    }
    assert command_argv(newswire["replay"]["command"]) == ["replay", "/app/seeds", "--loop", "1"]
    assert "COPY --chown=10001:10001 seeds/ /app/seeds/" in DOCKERFILE.read_text(encoding="utf-8")


def test_the_cli_check_rejects_bad_commands() -> None:
    with pytest.raises(LookupError):
        parse_cli(["enrichh"])
    with pytest.raises(LookupError):
        parse_cli(["topics", "delete"])
    with pytest.raises(ValueError):
        parse_cli(["replay", "/app/seeds", "--loop", "0"])
    with pytest.raises(ValueError):
        parse_cli(["sink", "--no-such-option"])


# --- environment variables -----------------------------------------------------------


def test_compose_environment_names_are_settings(
    newswire: dict[str, dict[str, Any]], known_settings: set[str]
) -> None:
    for name, service in newswire.items():
        unknown = set(environment_dict(service.get("environment"))) - known_settings
        assert not unknown, (
            f"{name}: not settings in services/common/settings.py: {sorted(unknown)}"
        )


def test_compose_environment_values_are_valid(
    newswire: dict[str, dict[str, Any]], clean_environ: pytest.MonkeyPatch
) -> None:
    for service in newswire.values():
        with pytest.MonkeyPatch.context() as patch:
            settings = build_settings(patch, environment_dict(service.get("environment")))
        assert settings.kafka.bootstrap_servers == "kafka:9092"
        assert not settings.kafka.uses_embedded_broker
    enricher_env = environment_dict(newswire["enricher"]["environment"])
    assert enricher_env["ENRICHER_STORE"] == "rocksdb://"


def test_env_example_names_are_settings(known_settings: set[str]) -> None:
    entries = read_env_example()
    assert entries, f"{ENV_EXAMPLE} has no NAME=value lines"
    unknown = {e.name for e in entries} - known_settings
    assert not unknown, (
        f".env.example: not settings in services/common/settings.py: {sorted(unknown)}"
    )
    names = [e.name for e in entries]
    assert len(names) == len(set(names)), "a name appears twice in .env.example"


def test_env_example_lists_every_setting(known_settings: set[str]) -> None:
    missing = known_settings - {e.name for e in read_env_example()}
    assert not missing, f"add to .env.example (commented out if not for compose): {sorted(missing)}"


def test_env_example_values_are_the_defaults(clean_environ: pytest.MonkeyPatch) -> None:
    defaults = as_environment(Settings())
    active = {e.name: e.value for e in read_env_example() if not e.commented}
    assert active, ".env.example sets nothing"
    for name, value in active.items():
        assert name in defaults, f"{name} has no default; leave it commented out in .env.example"
        assert value == defaults[name], (
            f".env.example {name}={value}, but the default is {defaults[name]}"
        )
    build_settings(clean_environ, active)  # and they load


def test_env_example_commented_compose_values_match(newswire: dict[str, dict[str, Any]]) -> None:
    """The 'set by docker-compose.yml' section repeats what compose really sets."""
    commented = {e.name: e.value for e in read_env_example() if e.commented and e.value}
    for service in newswire.values():
        for name, value in environment_dict(service.get("environment")).items():
            if name in commented:
                assert commented[name] == value, f".env.example says {name}={commented[name]}"


def test_enricher_data_dir_is_per_replica(
    newswire: dict[str, dict[str, Any]], clean_environ: pytest.MonkeyPatch
) -> None:
    """Replicas must not share RocksDB files: Faust expands {conf.web_host} to the hostname."""
    import faust

    settings = build_settings(clean_environ, environment_dict(newswire["enricher"]["environment"]))
    app = faust.App("deploy-test", datadir=str(settings.enricher.data_dir), store="memory://")
    assert app.conf.datadir == Path("/data/enricher") / socket.gethostname()
    assert "{" not in str(app.conf.tabledir)


# --- volumes, health, dependencies ---------------------------------------------------


def _volume_mounts(service: dict[str, Any]) -> list[tuple[str | None, str]]:
    mounts: list[tuple[str | None, str]] = []
    for volume in service.get("volumes", []):
        if isinstance(volume, str):
            parts = volume.split(":")
            source, target = (parts[0], parts[1]) if len(parts) > 1 else (None, parts[0])
        else:
            source, target = volume.get("source"), volume["target"]
            if volume.get("type", "volume") != "volume":
                source = f"./{source}"  # not a named volume
        mounts.append((source, target))
    return mounts


def _is_named(source: str | None) -> bool:
    return bool(source) and not source.startswith((".", "/", "~", "$"))


def test_named_volumes_are_declared_and_used(
    compose: dict[str, Any], services: dict[str, Any]
) -> None:
    declared = set(compose.get("volumes") or {})
    used = {src for s in services.values() for src, _ in _volume_mounts(s) if _is_named(src)}
    assert used <= declared, f"undeclared volumes: {sorted(used - declared)}"
    assert declared <= used, f"declared but unused volumes: {sorted(declared - used)}"
    assert {"kafka-data", "enricher-state", "sink-out", "postgres-data"} <= declared


def test_state_and_output_live_on_named_volumes(
    newswire: dict[str, dict[str, Any]], clean_environ: pytest.MonkeyPatch
) -> None:
    for name, key in (("enricher", "ENRICHER_DATA_DIR"), ("sink", "SINK_OUT_DIR")):
        service = newswire[name]
        path = Path(environment_dict(service["environment"])[key])
        targets = [Path(t) for src, t in _volume_mounts(service) if _is_named(src)]
        assert any(path == t or t in path.parents for t in targets), (
            f"{name}: {key}={path} is not on a volume"
        )


def _health_enabled(service: dict[str, Any]) -> bool:
    check = service.get("healthcheck") or {}
    return bool(check.get("test")) and not check.get("disable") and check.get("test") != ["NONE"]


def test_every_service_has_a_healthcheck_or_says_why_not(services: dict[str, Any]) -> None:
    for name, service in services.items():
        if not _health_enabled(service):
            note = service.get(HEALTH_NOTE)
            assert isinstance(note, str) and note.strip(), (
                f"{name}: no healthcheck and no {HEALTH_NOTE}"
            )


def test_long_running_services(services: dict[str, Any]) -> None:
    one_shot = {name for name, s in services.items() if str(s.get("restart", "no")) == "no"}
    assert one_shot == {"topics", "sources", "replay"}
    for name in set(services) - one_shot:
        assert services[name]["restart"] == "unless-stopped", name
    for name in ("kafka", "enricher", "postgres"):
        assert _health_enabled(services[name]), name


def test_newswire_services_replace_the_image_healthcheck(
    newswire: dict[str, dict[str, Any]],
) -> None:
    """The image's HEALTHCHECK probes the enricher's port: every other service must override it."""
    for name, service in newswire.items():
        assert "healthcheck" in service, f"{name} inherits the enricher-only image HEALTHCHECK"


def test_depends_on_references_existing_services(services: dict[str, Any]) -> None:
    conditions = {"service_started", "service_healthy", "service_completed_successfully"}
    for name, service in services.items():
        depends = service.get("depends_on") or {}
        entries = (
            {dep: {"condition": "service_started"} for dep in depends}
            if isinstance(depends, list)
            else depends
        )
        for dep, spec in entries.items():
            assert dep in services, f"{name} depends on unknown service {dep}"
            assert dep != name
            condition = spec.get("condition", "service_started")
            assert condition in conditions, f"{name} -> {dep}: {condition}"
            if condition == "service_healthy":
                assert _health_enabled(services[dep]), (
                    f"{name} waits for {dep} healthy; it has no check"
                )
            if condition == "service_completed_successfully":
                assert str(services[dep].get("restart", "no")) == "no", f"{dep} must be one-shot"
            if not service.get("profiles"):
                assert not services[dep].get("profiles"), (
                    f"{name} (default) depends on profiled {dep}"
                )


def test_start_order(services: dict[str, Any]) -> None:
    def condition(name: str, dep: str) -> str:
        return services[name]["depends_on"][dep]["condition"]

    assert condition("topics", "kafka") == "service_healthy"
    assert condition("enricher", "topics") == "service_completed_successfully"
    assert condition("sink", "topics") == "service_completed_successfully"
    assert condition("replay", "enricher") == "service_healthy"
    assert condition("replay", "sink") == "service_started"


def test_profiles(services: dict[str, Any]) -> None:
    profiled = {name: s["profiles"] for name, s in services.items() if s.get("profiles")}
    assert profiled == {
        "replay": ["demo"],
        "demo-feeds": ["demo"],
        "demo-fetcher": ["demo"],
        "postgres": ["postgres"],
    }


def test_enricher_is_scalable(services: dict[str, Any]) -> None:
    enricher = services["enricher"]
    assert "container_name" not in enricher
    assert "ports" not in enricher, "a fixed host port breaks --scale"
    assert "hostname" not in enricher, "replicas need distinct hostnames for their state dirs"


def test_enricher_healthcheck_probes_healthz() -> None:
    test = load_compose()["services"]["enricher"]["healthcheck"]["test"]
    assert test[0] == "CMD"
    argv = test[1:]
    code = argv[2]
    assert "/healthz" in code and "ENRICHER_WEB_PORT" in code
    assert f"'{EnricherSettings.model_fields['web_port'].default}'" in code
    with health_server(200) as port:
        assert run_python_probe(argv, port=port) == 0
    with health_server(503) as port:
        assert run_python_probe(argv, port=port) != 0
    assert run_python_probe(argv, port=closed_port()) != 0


def test_postgres(services: dict[str, Any]) -> None:
    postgres = services["postgres"]
    assert postgres["image"] == "postgres:17"
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    assert ("postgres-data", "/var/lib/postgresql/data") in _volume_mounts(postgres)


# --- kafka ---------------------------------------------------------------------------


def _listeners(value: str) -> dict[str, tuple[str, int]]:
    out: dict[str, tuple[str, int]] = {}
    for item in value.split(","):
        name, _, address = item.partition("://")
        host, _, port = address.rpartition(":")
        out[name] = (host, int(port))
    return out


def test_kafka_kraft_single_node(
    services: dict[str, Any], newswire: dict[str, dict[str, Any]]
) -> None:
    kafka = services["kafka"]
    assert kafka["image"] == "apache/kafka:3.9.1"
    env = environment_dict(kafka["environment"])
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert len(base64.urlsafe_b64decode(env["CLUSTER_ID"] + "==")) == 16, (
        "CLUSTER_ID must be a base64 UUID"
    )

    listeners = _listeners(env["KAFKA_LISTENERS"])
    advertised = _listeners(env["KAFKA_ADVERTISED_LISTENERS"])
    protocols = dict(
        item.split(":") for item in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(",")
    )
    controller = env["KAFKA_CONTROLLER_LISTENER_NAMES"]
    inter_broker = env["KAFKA_INTER_BROKER_LISTENER_NAME"]

    assert set(listeners) == set(protocols), "every listener needs a security protocol"
    assert controller in listeners and controller not in advertised
    assert inter_broker in advertised and set(advertised) <= set(listeners)
    for name, (_, port) in advertised.items():
        assert listeners[name][1] == port, f"{name}: advertised port differs from the listener's"

    voter_id, _, voter = env["KAFKA_CONTROLLER_QUORUM_VOTERS"].partition("@")
    assert voter_id == str(env["KAFKA_NODE_ID"])
    assert voter == f"kafka:{listeners[controller][1]}"

    # In-network clients use the inter-broker listener by service name ...
    host, port = advertised[inter_broker]
    assert host == "kafka"
    for name, service in newswire.items():
        assert (
            environment_dict(service["environment"])["KAFKA_BOOTSTRAP_SERVERS"] == f"{host}:{port}"
        ), name
    # ... the host uses EXTERNAL on localhost:9094, published on loopback only.
    assert advertised["EXTERNAL"] == ("localhost", 9094)
    assert kafka["ports"] == ["127.0.0.1:9094:9094"]

    for key in (
        "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR",
        "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR",
    ):
        assert str(env[key]) == "1", key
    assert ("kafka-data", env["KAFKA_LOG_DIRS"]) in _volume_mounts(kafka)

    check = " ".join(kafka["healthcheck"]["test"])
    assert (
        f"/opt/kafka/bin/kafka-broker-api-versions.sh --bootstrap-server localhost:{port}" in check
    )


def test_newswire_image_is_built_locally(compose: dict[str, Any]) -> None:
    images = {s.get("image") for s in compose["services"].values()}
    assert NEWSWIRE_IMAGE in images
    assert compose["x-newswire"]["image"] == NEWSWIRE_IMAGE
