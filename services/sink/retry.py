"""How the sink retries: with backoff, for as long as it takes only when that is safe.

An error's type decides (:func:`transient`):

* the destination or Kafka is down (:class:`~newswire.sink.writers.base.WriterError`,
  :class:`~aiokafka.errors.KafkaError`, ``OSError``, a timeout): retried with
  exponential backoff for as long as it takes - a database that is down loses
  nothing, the sink waits for it (only a stop request or a deadline ends that);
* anything else is a bug: retried :attr:`RetryPolicy.max_attempts` times, then
  :class:`AttemptsExhausted` tells the caller to do something else with the record
  (dead-letter it) - a bug is never retried forever;
* :class:`~newswire.sink.writers.base.RecordRejected` is final: never retried.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from aiokafka.errors import KafkaError

from newswire.common.errors import NewswireError
from newswire.sink.writers.base import RecordRejected, WriterError

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Errors that say "not now" rather than "never": worth waiting for.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (WriterError, KafkaError, OSError, TimeoutError)


def transient(error: BaseException) -> bool:
    return isinstance(error, TRANSIENT_ERRORS) and not isinstance(error, RecordRejected)


@dataclass(frozen=True)
class RetryPolicy:
    """Backoff between attempts (doubling from ``initial_s`` up to ``max_s``) and how
    many times an error that is not transient may be tried."""

    initial_s: float = 0.2
    max_s: float = 30.0
    max_attempts: int = 3


class GaveUp(NewswireError):
    """A retried operation stopped retrying: stop was requested or its deadline came."""

    def __init__(self, what: str) -> None:
        super().__init__(f"gave up on {what}")
        self.what = what


class AttemptsExhausted(NewswireError):
    """An error that is not transient (a bug) failed an operation every time."""

    def __init__(self, what: str, attempts: int, error: BaseException) -> None:
        super().__init__(f"{what} failed {attempts} times: {error!r}")
        self.what = what
        self.attempts = attempts
        self.error = error


#: Waits between attempts: gets the delay in seconds.
Wait = Callable[[float], Awaitable[None]]


class Retrier:
    """Runs an operation until it works, as :class:`RetryPolicy` and the module say.

    ``wait`` is how the unbounded mode waits (the poll loop keeps polling paused
    partitions meanwhile, so it stays in its group); with a deadline (a revocation,
    the final flush) it sleeps. ``on_retry`` is told the operation label of every
    failed attempt that is retried (metrics).
    """

    def __init__(
        self,
        policy: RetryPolicy,
        *,
        stop: asyncio.Event,
        wait: Wait,
        on_retry: Callable[[str], None],
    ) -> None:
        self.policy = policy
        self._stop = stop
        self._wait = wait
        self._on_retry = on_retry

    async def run(
        self,
        attempt_once: Callable[[], Awaitable[T]],
        *,
        what: str,
        operation: str,
        deadline: float | None = None,
        failed_once: Exception | None = None,
    ) -> T:
        """The first result of ``attempt_once`` that does not raise. Raises
        RecordRejected as is, :class:`AttemptsExhausted` after the bounded attempts
        at a non-transient error, :class:`GaveUp` when stop is requested (unbounded
        mode) or the next attempt would be past ``deadline`` (``time.monotonic``).

        ``failed_once``: the caller made the first attempt itself, and it raised
        this (a hot path that goes through the retrier only when it has to)."""
        delay = self.policy.initial_s
        failures = 0
        error = failed_once
        while True:
            if error is None:
                try:
                    return await attempt_once()
                except RecordRejected:
                    raise
                except Exception as exc:
                    error = exc
            failures += 1
            if not transient(error) and failures >= self.policy.max_attempts:
                raise AttemptsExhausted(what, failures, error) from error
            self._on_retry(operation)
            log.warning(
                "%s failed (attempt %d), retrying in %.1fs: %r", what, failures, delay, error
            )
            self._check_go_on(what, delay, deadline, error)
            error = None
            if deadline is None:
                await self._wait(delay)
            else:
                await asyncio.sleep(delay)  # bounded by the deadline; stop may be set already
            delay = min(delay * 2, self.policy.max_s)

    def _check_go_on(
        self, what: str, delay: float, deadline: float | None, error: BaseException
    ) -> None:
        if deadline is None and self._stop.is_set():
            raise GaveUp(what) from error
        if deadline is not None and time.monotonic() + delay > deadline:
            raise GaveUp(what) from error
