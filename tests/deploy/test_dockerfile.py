"""deploy/Dockerfile and .dockerignore, checked statically (no Docker engine needed)."""

from __future__ import annotations

import re
import tomllib

import pytest
from typer.testing import CliRunner

from newswire.common.settings import EnricherSettings
from tests.deploy.support import (
    DOCKERFILE,
    ROOT,
    SETTING_PREFIXES,
    Instruction,
    closed_port,
    dockerfile_stages,
    expand_args,
    global_args,
    health_server,
    healthcheck_command,
    is_ignored,
    parse_dockerfile,
    read_dockerignore,
    run_python_probe,
    setting_names,
    split_flags,
)

BUILD_TOOLS = re.compile(
    r"\b(build-essential|gcc|g\+\+|cc|c\+\+|clang|make|cmake|cargo|rustc|"
    r"[\w.+-]+-dev|libc6-dev|python3-dev)\b"
)
RUNTIME_UID = "10001"


@pytest.fixture(scope="module")
def instructions() -> list[Instruction]:
    return parse_dockerfile(DOCKERFILE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def stages(instructions: list[Instruction]) -> list[list[Instruction]]:
    return dockerfile_stages(instructions)


@pytest.fixture(scope="module")
def final(stages: list[list[Instruction]]) -> list[Instruction]:
    return stages[-1]


def only(stage: list[Instruction], keyword: str) -> list[Instruction]:
    return [i for i in stage if i.keyword == keyword]


def last(stage: list[Instruction], keyword: str) -> Instruction:
    found = only(stage, keyword)
    assert found, f"no {keyword} in the final stage"
    return found[-1]


def env_values(stage: list[Instruction]) -> dict[str, str]:
    values: dict[str, str] = {}
    for instruction in only(stage, "ENV"):
        for match in re.finditer(r'(\w+)=("[^"]*"|\S+)', instruction.args):
            values[match[1]] = match[2].strip('"')
    return values


def test_multi_stage_on_python_311_slim(
    instructions: list[Instruction], stages: list[list[Instruction]]
) -> None:
    assert len(stages) >= 2
    args = global_args(instructions)
    bases = [expand_args(stage[0].args.split()[0], args) for stage in stages]
    # The venv built in the builder is copied as is: both stages need the same Python.
    assert bases[0] == bases[-1] == "python:3.11-slim", bases
    assert stages[0][0].args.split()[-1] == "builder"


def test_builder_makes_wheels_with_the_rocksdb_extra(stages: list[list[Instruction]]) -> None:
    builder = " ".join(i.args for i in only(stages[0], "RUN"))
    assert "pip wheel --no-deps" in builder
    assert "[rocksdb]" in builder and "python -m venv /opt/venv" in builder
    assert "--no-index --find-links /wheels" in builder


def test_builder_copies_what_the_wheel_needs(stages: list[list[Instruction]]) -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    package_dirs = set(pyproject["tool"]["setuptools"]["package-dir"].values())
    copied = set()
    for instruction in only(stages[0], "COPY"):
        _, rest = split_flags(instruction.args)
        copied |= {src.rstrip("/") for src in rest.split()[:-1]}
    assert {"pyproject.toml", pyproject["project"]["readme"]} | package_dirs <= copied


def test_final_stage_has_only_the_venv_and_seeds(final: list[Instruction]) -> None:
    copies = [split_flags(i.args) for i in only(final, "COPY")]
    from_builder = [rest for flags, rest in copies if "from" in flags]
    from_context = [rest for flags, rest in copies if "from" not in flags]
    assert from_builder == ["/opt/venv /opt/venv"]
    assert from_context == ["seeds/ /app/seeds/"]
    assert only(final, "WORKDIR")[-1].args == "/app"


def test_final_stage_installs_no_build_tools(final: list[Instruction]) -> None:
    for instruction in only(final, "RUN"):
        tool = BUILD_TOOLS.search(instruction.args)
        assert tool is None, f"line {instruction.line}: {tool and tool[0]} in the final image"
        assert "apt-get install" not in instruction.args and "pip install" not in instruction.args


def test_build_tool_check_is_not_vacuous() -> None:
    assert BUILD_TOOLS.search("apt-get install -y --no-install-recommends build-essential")
    assert BUILD_TOOLS.search("apt-get install -y gcc libpq-dev")
    assert not BUILD_TOOLS.search("install -d -o 10001 -g 10001 /app /data")


def test_runs_as_non_root_user(final: list[Instruction]) -> None:
    user = last(final, "USER").args.split(":")[0]
    assert user not in {"root", "0", ""}
    assert user == RUNTIME_UID
    setup = " ".join(i.args for i in only(final, "RUN"))
    assert f"--uid {RUNTIME_UID}" in setup
    # Volumes mounted at /data start out with the ownership of these directories.
    assert (
        f"install -d -o {RUNTIME_UID} -g {RUNTIME_UID}" in setup
        and "/data/enricher /data/out" in setup
    )


def test_entrypoint_and_default_command(final: list[Instruction]) -> None:
    assert last(final, "ENTRYPOINT").json_args() == ["newswire"]
    cmd = last(final, "CMD").json_args()
    assert cmd == ["--help"]
    from newswire.cli import app

    result = CliRunner().invoke(app, cmd)
    assert result.exit_code == 0, result.output
    for sub in ("enrich", "sink", "replay", "topics"):
        assert sub in result.output


def test_environment(final: list[Instruction]) -> None:
    env = env_values(final)
    assert env["PYTHONUNBUFFERED"] == "1"
    assert env["PATH"].startswith("/opt/venv/bin:")
    settings = {name for name in env if name.startswith(SETTING_PREFIXES)}
    assert settings <= setting_names(), f"not settings: {sorted(settings - setting_names())}"
    assert env["ENRICHER_DATA_DIR"] == "/data/enricher"
    assert env["SINK_OUT_DIR"] == "/data/out"


def test_oci_labels(final: list[Instruction]) -> None:
    labels = " ".join(i.args for i in only(final, "LABEL"))
    for key in ("title", "description", "version", "revision", "created", "licenses"):
        assert f"org.opencontainers.image.{key}=" in labels, key
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    version_args = [i.args for i in only(final, "ARG") if i.args.startswith("VERSION=")]
    assert version_args == [f"VERSION={pyproject['project']['version']}"]


def test_healthcheck_probes_the_enricher(final: list[Instruction]) -> None:
    instruction = last(final, "HEALTHCHECK")
    flags, _ = split_flags(instruction.args)
    assert {"interval", "timeout", "start-period", "retries"} <= set(flags)
    argv = healthcheck_command(instruction)
    assert argv[0] == "/opt/venv/bin/python"
    code = argv[2]
    assert "/healthz" in code and "ENRICHER_WEB_PORT" in code
    assert f"'{EnricherSettings.model_fields['web_port'].default}'" in code
    assert f"EXPOSE {EnricherSettings.model_fields['web_port'].default}" in DOCKERFILE.read_text(
        encoding="utf-8"
    )
    with health_server(200) as port:
        assert run_python_probe(argv, port=port) == 0
    with health_server(500) as port:
        assert run_python_probe(argv, port=port) != 0
    assert run_python_probe(argv, port=closed_port()) != 0


def test_dockerignore_keeps_what_the_build_copies(stages: list[list[Instruction]]) -> None:
    patterns = read_dockerignore()
    sources: list[str] = []
    for stage in stages:
        for instruction in only(stage, "COPY"):
            flags, rest = split_flags(instruction.args)
            if "from" not in flags:
                sources += rest.split()[:-1]
    checked = 0
    for source in sources:
        path = ROOT / source
        assert path.exists(), f"COPY source {source} does not exist"
        files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
        for file in files:
            relative = file.relative_to(ROOT).as_posix()
            if "__pycache__" in relative or relative.endswith(".pyc"):
                assert is_ignored(relative, patterns), relative
                continue
            assert not is_ignored(relative, patterns), (
                f".dockerignore drops {relative}, which the build copies"
            )
            checked += 1
    assert checked >= 10


def test_dockerignore_keeps_the_rest_out() -> None:
    patterns = read_dockerignore()
    for path in (
        ".venv/pyvenv.cfg",
        ".git/HEAD",
        "tests/__init__.py",
        "out/x.jsonl",
        ".newswire/x",
        ".env",
        "docker-compose.yml",
        "newswire.egg-info/PKG-INFO",
        ".hypothesis/x",
    ):
        assert is_ignored(path, patterns), path
