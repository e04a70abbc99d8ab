"""What a command tells the shell and the person at it: an exit status, and one line.

Exit status of the newswire commands that talk to Kafka (``replay``, ``run``,
``sink``, ``fetch``, ``topics create``, ``dlq replay``):

====  =====================================================================
0     done: everything asked for was done (the summary says what that was)
1     not done, or not all of it: e.g. a seed file could not be replayed,
      nothing was produced, a service of ``run`` failed; the summary says what
2     usage or configuration error: a bad option or environment variable;
      nothing was tried
3     a dependency could not be reached: Kafka did not answer within
      ``--kafka-timeout`` seconds (one line on stderr, no traceback)
====  =====================================================================
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine, Iterator
from typing import Annotated, Any, NoReturn, TypeVar

import typer

from newswire.common.errors import CannotStart
from newswire.common.settings import KafkaSettings
from newswire.common.text import excerpt

T = TypeVar("T")

EXIT_OK = 0
EXIT_INCOMPLETE = 1
EXIT_USAGE = 2
EXIT_UNREACHABLE = 3

#: How long a command waits for Kafka to answer before it gives up (exit 3).
DEFAULT_KAFKA_TIMEOUT_S = 10.0


def _positive_seconds(value: float) -> float:
    if not value > 0:
        raise typer.BadParameter(f"must be a positive number of seconds, got {value:g}")
    return value


def positive_rate(value: float | None) -> float | None:
    """``--rate``: a positive number of records per second (0, negatives and nan are refused)."""
    if value is not None and not value > 0:
        raise typer.BadParameter(f"must be a positive number of records per second, got {value:g}")
    return value


KafkaTimeout = Annotated[
    float,
    typer.Option(
        "--kafka-timeout",
        callback=_positive_seconds,
        help="Seconds to wait for Kafka to answer before giving up (exit status 3); it "
        "bounds that wait only (audit's --timeout is the same wait; run's and bench's "
        "--timeout bound their whole work).",
    ),
]


def fail(command: str, message: str, code: int) -> NoReturn:
    """One line on stderr, ``newswire COMMAND: MESSAGE``, and exit with CODE."""
    typer.echo(f"newswire {command}: {message}", err=True)
    raise typer.Exit(code)


def unreachable_line(kafka: KafkaSettings, timeout_s: float | None = None) -> str:
    """``Kafka at HOST:PORT did not answer [within Ns] (what to do about it)``."""
    within = f" within {timeout_s:g}s" if timeout_s is not None else ""
    if kafka.uses_embedded_broker:
        hint = "start one with 'newswire broker', or set KAFKA_BOOTSTRAP_SERVERS"
    else:
        hint = "check KAFKA_BOOTSTRAP_SERVERS, or unset it and start one with 'newswire broker'"
    return f"Kafka at {kafka.bootstrap} did not answer{within} ({hint})"


@contextlib.contextmanager
def command_failures(command: str, kafka: KafkaSettings) -> Iterator[None]:
    """What stops a command, said in one line: Kafka not reachable, before or during the
    work (exit 3); a service that cannot start as configured, e.g. its port taken or
    its output folder impossible (:class:`CannotStart`, exit 2)."""
    from newswire.common.kafka import KafkaUnreachable, is_unreachable

    try:
        yield
    except CannotStart as exc:
        fail(command, str(exc), EXIT_USAGE)
    except KafkaUnreachable as exc:
        line = unreachable_line(kafka, exc.timeout_s)
        cause = exc.last_error
        if cause is not None and not (is_unreachable(cause) or isinstance(cause, TimeoutError)):
            # it answered, but not as expected (TLS, SASL ...): that is the thing to fix
            line += f"; last error: {excerpt(f'{type(cause).__name__}: {cause}', 200)}"
        fail(command, line, EXIT_UNREACHABLE)
    except Exception as exc:
        if not is_unreachable(exc):
            raise
        fail(command, unreachable_line(kafka), EXIT_UNREACHABLE)


def require_free_port(command: str, host: str, port: int, *, name: str) -> None:
    """A service's HTTP port must be free before anything waits for Kafka: a taken
    one is the user's to fix (one line, exit 2), where waiting first would end in exit
    3 and name the wrong thing. Port 0 (any free port, or off) needs no check."""
    from newswire.common.health import check_port_free

    if not port:
        return
    try:
        check_port_free(host, port, name=name)
    except CannotStart as exc:
        fail(command, str(exc), EXIT_USAGE)


def require_kafka(command: str, kafka: KafkaSettings, timeout_s: float) -> None:
    """Wait up to TIMEOUT_S for Kafka to answer; one line and exit 3 if it does not."""
    from newswire.common.kafka import require_broker

    with command_failures(command, kafka):
        asyncio.run(require_broker(kafka, timeout_s=timeout_s))


def run_with_kafka(
    command: str,
    kafka: KafkaSettings,
    timeout_s: float,
    work: Callable[[], Coroutine[Any, Any, T]],
) -> T:
    """``asyncio.run(work())`` once Kafka answers, in one event loop; Kafka going away
    at any point is one line and exit 3, a service that cannot start one line and exit
    2 (:func:`command_failures`), never a traceback."""
    from newswire.common.kafka import require_broker

    async def main() -> T:
        await require_broker(kafka, timeout_s=timeout_s)
        return await work()

    with command_failures(command, kafka):
        return asyncio.run(main())


def networks(values: list[str] | None) -> list[str] | None:
    """``--allow-network``: every value a CIDR (or a bare address), else a usage error
    naming the value."""
    import ipaddress

    for value in values or ():
        try:
            ipaddress.ip_network(value.strip(), strict=False)
        except ValueError:
            raise typer.BadParameter(
                f"{excerpt(value)!r} is not an IPv4 or IPv6 network "
                "(a CIDR such as 10.0.0.0/8, or an address such as 127.0.0.1)"
            ) from None
    return values
