"""Offline readers for the deployment files: compose, Dockerfile, .dockerignore, .env.

Nothing here needs Docker; the tests check the files statically and run the health
probe commands against a local HTTP server.
"""

from __future__ import annotations

import json
import re
import shlex
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml
from pydantic_settings import BaseSettings
from typer.main import get_command

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
ENV_EXAMPLE = ROOT / ".env.example"
NEWSWIRE_IMAGE = "newswire:latest"

#: Prefixes of the settings groups in services/common/settings.py.
SETTING_PREFIXES = ("KAFKA_", "TOPIC_", "ENRICHER_", "SINK_", "REPLAY_", "NEWSWIRE_")


# --- compose -------------------------------------------------------------------------


def load_compose() -> dict[str, Any]:
    """The compose file as compose sees it after YAML parsing (anchors and merges resolved)."""
    with COMPOSE_FILE.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def command_argv(command: str | list[str]) -> list[str]:
    return shlex.split(command) if isinstance(command, str) else [str(part) for part in command]


def environment_dict(environment: Mapping[str, Any] | list[str] | None) -> dict[str, str]:
    """Compose `environment:` in either form (mapping or list of NAME=value)."""
    if environment is None:
        return {}
    if isinstance(environment, Mapping):
        return {name: "" if value is None else str(value) for name, value in environment.items()}
    pairs = (item.partition("=") for item in environment)
    return {name: value for name, _, value in pairs}


def newswire_services(compose: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: service
        for name, service in compose["services"].items()
        if service.get("image") == NEWSWIRE_IMAGE
    }


# --- the CLI -------------------------------------------------------------------------


def cli_root() -> Any:
    """The click group behind the `newswire` Typer app (typer may vendor its own click)."""
    from newswire.cli import app

    return get_command(app)


def _is_group(command: Any) -> bool:
    return hasattr(command, "get_command") and hasattr(command, "commands")


def parse_cli(argv: list[str]) -> list[str]:
    """Parse argv as the `newswire` CLI would, without running anything.

    Returns the command path (e.g. ``["topics", "create"]``); raises ``LookupError``
    for an unknown (sub)command and ``ValueError`` for bad options or arguments.
    """
    command = cli_root()
    ctx = command.context_class(command, info_name="newswire")
    rest = list(argv)
    path: list[str] = []
    while _is_group(command):
        if not rest:
            raise LookupError(f"`newswire {' '.join(path)}` needs a subcommand")
        name = rest.pop(0)
        sub = command.get_command(ctx, name)
        if sub is None:
            raise LookupError(f"`newswire {' '.join([*path, name])}` is not a command")
        path.append(name)
        command = sub
        ctx = command.context_class(command, info_name=name, parent=ctx)
    try:
        command.make_context(path[-1], rest, parent=ctx.parent)
    except Exception as exc:  # click's UsageError (typer may vendor click)
        if hasattr(exc, "format_message"):
            raise ValueError(f"newswire {' '.join(argv)}: {exc.format_message()}") from exc
        raise
    return path


# --- settings ------------------------------------------------------------------------


def setting_names() -> set[str]:
    """Every environment variable services/common/settings.py reads (None defaults too).

    Reads the model, not the environment; ``as_environment`` (checked by the tests to
    be a subset) leaves out the settings whose default is None.
    """
    from newswire.common.settings import Settings

    names: set[str] = set()
    groups: list[type[BaseSettings]] = [Settings]
    for field in Settings.model_fields.values():
        if isinstance(field.annotation, type) and issubclass(field.annotation, BaseSettings):
            groups.append(field.annotation)
    for group in groups:
        prefix = str(group.model_config.get("env_prefix", ""))
        for name, field in group.model_fields.items():
            if isinstance(field.annotation, type) and issubclass(field.annotation, BaseSettings):
                continue
            names.add(f"{prefix}{name}".upper())
    return names


@dataclass(frozen=True)
class EnvLine:
    name: str
    value: str
    commented: bool
    line: int


_ENV_ASSIGNMENT = re.compile(
    r"^(?P<hash>#\s*)?(?:export\s+)?(?P<name>[A-Za-z_][A-Za-z0-9_]*)=(?P<value>.*)$"
)


def read_env_example() -> list[EnvLine]:
    """Assignments in .env.example, including commented-out ``# NAME=value`` lines."""
    entries: list[EnvLine] = []
    for number, raw in enumerate(ENV_EXAMPLE.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        match = _ENV_ASSIGNMENT.match(line)
        if not match:
            continue
        value = match["value"].strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        entries.append(EnvLine(match["name"], value, bool(match["hash"]), number))
    return entries


# --- Dockerfile ----------------------------------------------------------------------


@dataclass(frozen=True)
class Instruction:
    keyword: str
    args: str
    line: int

    def json_args(self) -> list[str] | None:
        """The exec (JSON array) form of the arguments, or None for the shell form."""
        text = self.args.strip()
        if not text.startswith("["):
            return None
        value = json.loads(text)
        assert isinstance(value, list) and all(isinstance(item, str) for item in value)
        return value


def parse_dockerfile(text: str) -> list[Instruction]:
    """Instructions with line continuations joined; comments and blank lines dropped."""
    instructions: list[Instruction] = []
    pending = ""
    start = 0
    for number, raw in enumerate(text.splitlines(), 1):
        stripped = raw.strip()
        if stripped.startswith("#") or (not stripped and not pending):
            continue  # comments (also inside continuations) and blank lines
        if not pending:
            start = number
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        pending += stripped
        keyword, _, args = pending.partition(" ")
        instructions.append(Instruction(keyword.upper(), args.strip(), start))
        pending = ""
    assert not pending, "Dockerfile ends inside a line continuation"
    return instructions


def dockerfile_stages(instructions: list[Instruction]) -> list[list[Instruction]]:
    """Build stages, each starting with its FROM (global ARGs before the first FROM dropped)."""
    stages: list[list[Instruction]] = []
    for instruction in instructions:
        if instruction.keyword == "FROM":
            stages.append([instruction])
        elif stages:
            stages[-1].append(instruction)
    return stages


def global_args(instructions: list[Instruction]) -> dict[str, str]:
    values: dict[str, str] = {}
    for instruction in instructions:
        if instruction.keyword == "FROM":
            break
        if instruction.keyword == "ARG":
            name, _, default = instruction.args.partition("=")
            values[name.strip()] = default.strip()
    return values


def expand_args(text: str, values: Mapping[str, str]) -> str:
    return re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: values.get(m[1] or m[2], m[0]), text)


def split_flags(args: str) -> tuple[dict[str, str], str]:
    """``--from=builder --chown=1:1 a b`` -> ({"from": "builder", "chown": "1:1"}, "a b")."""
    flags: dict[str, str] = {}
    rest = args.strip()
    while rest.startswith("--"):
        token, _, rest = rest.partition(" ")
        name, _, value = token[2:].partition("=")
        flags[name] = value
        rest = rest.strip()
    return flags, rest


def healthcheck_command(instruction: Instruction) -> list[str]:
    """The exec-form command of ``HEALTHCHECK [--options] CMD [...]``."""
    _, rest = split_flags(instruction.args)
    keyword, _, command = rest.partition(" ")
    assert keyword.upper() == "CMD", f"HEALTHCHECK without CMD: {instruction.args}"
    argv = Instruction("CMD", command, instruction.line).json_args()
    assert argv is not None, "HEALTHCHECK CMD should use the exec (JSON) form"
    return argv


# --- .dockerignore -------------------------------------------------------------------


@dataclass(frozen=True)
class IgnorePattern:
    regex: re.Pattern[str]
    exclusion: bool  # a `!pattern`: lets files back in


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    out = ""
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out += "(?:.*/)?"
            i += 3
        elif pattern.startswith("**", i):
            out += ".*"
            i += 2
        elif pattern[i] == "*":
            out += "[^/]*"
            i += 1
        elif pattern[i] == "?":
            out += "[^/]"
            i += 1
        elif pattern[i] == "[":
            end = pattern.index("]", i)
            out += "[" + pattern[i + 1 : end].replace("!", "^", 1) + "]"
            i = end + 1
        else:
            out += re.escape(pattern[i])
            i += 1
    return re.compile(out + r"\Z")


def read_dockerignore() -> list[IgnorePattern]:
    patterns: list[IgnorePattern] = []
    for raw in DOCKERIGNORE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        exclusion = line.startswith("!")
        body = line[1:].strip() if exclusion else line
        body = body.strip("/") or "."
        body = re.sub(r"/+", "/", body)
        patterns.append(IgnorePattern(_pattern_regex(body), exclusion))
    return patterns


def is_ignored(path: str, patterns: list[IgnorePattern]) -> bool:
    """Docker's rule: the last pattern matching the path or one of its parents decides."""
    parts = path.strip("/").split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    ignored = False
    for pattern in patterns:
        if any(pattern.regex.match(candidate) for candidate in candidates):
            ignored = not pattern.exclusion
    return ignored


# --- health probes -------------------------------------------------------------------


@contextmanager
def health_server(status: int) -> Iterator[int]:
    """A local HTTP server answering /healthz with `status`; yields its port."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            code = status if self.path == "/healthz" else 404
            body = b'{"status": "ok"}'
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_python_probe(argv: list[str], *, port: int) -> int:
    """Run a `python -c ...` health command with this interpreter; return its exit code.

    An HTTP proxy is set on purpose: a probe of 127.0.0.1 must not go through one.
    """
    assert Path(argv[0]).name.startswith("python") and argv[1] == "-c", argv
    env = {
        "ENRICHER_WEB_PORT": str(port),
        "HTTP_PROXY": "http://127.0.0.1:9",
        "http_proxy": "http://127.0.0.1:9",
        "PATH": "/usr/bin:/bin",
    }
    done = subprocess.run(
        [sys.executable, *argv[1:]], env=env, capture_output=True, timeout=30, check=False
    )
    return done.returncode
