"""Progress for long commands: a bar on a terminal, a periodic status line when piped.

Replay, audit, eval, bench and dlq replay can run for minutes. A person at a
terminal wants a bar; a log or a pipe wants one line every few seconds, and nothing
at all from a command that finishes quickly, so a short run leaves stderr empty.
Everything goes to stderr: stdout stays for the command's result.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import IO, Any, Protocol


class Progress(Protocol):
    """How far one step of a command has got."""

    def begin(self, label: str, total: int | None) -> None: ...

    def update(self, done: int) -> None: ...

    def end(self) -> None: ...


class NoProgress:
    def begin(self, label: str, total: int | None) -> None:
        return None

    def update(self, done: int) -> None:
        return None

    def end(self) -> None:
        return None


class LineProgress:
    """A status line at most every INTERVAL_S seconds, for logs and pipes."""

    def __init__(self, stream: IO[str], command: str, interval_s: float = 5.0) -> None:
        self._stream, self._command, self._interval_s = stream, command, interval_s
        self._total: int | None = None
        self._label, self._done, self._said = "", 0, False
        self._started = self._last = time.monotonic()

    def begin(self, label: str, total: int | None) -> None:
        self._label, self._total, self._done, self._said = label, total, 0, False
        self._started = time.monotonic()

    def update(self, done: int) -> None:
        self._done = done
        if time.monotonic() - self._last >= self._interval_s:
            self._last, self._said = time.monotonic(), True
            of = f"/{self._total}" if self._total is not None else ""
            self._write(f"{self._command}: {self._label}: {done}{of}")

    def end(self) -> None:
        if self._said:
            elapsed = time.monotonic() - self._started
            self._write(f"{self._command}: {self._label}: {self._done} in {elapsed:.1f}s")

    def _write(self, line: str) -> None:
        print(line, file=self._stream, flush=True)


class RichProgress:
    """A bar per step on a terminal (rich)."""

    def __init__(self, bar: Any) -> None:
        self._bar = bar
        self._task: Any = None

    def begin(self, label: str, total: int | None) -> None:
        self._task = self._bar.add_task(label, total=total)

    def update(self, done: int) -> None:
        self._bar.update(self._task, completed=done)

    def end(self) -> None:
        self._bar.refresh()


@contextlib.contextmanager
def progress_on(stream: IO[str], command: str) -> Iterator[Progress]:
    """A rich bar when STREAM is a terminal, periodic status lines (``COMMAND: ...``)
    otherwise."""
    if not stream.isatty():
        yield LineProgress(stream, command)
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
    from rich.progress import Progress as Bar

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Bar(*columns, console=Console(file=stream), transient=False) as bar:
        yield RichProgress(bar)
