"""Stopping on SIGINT/SIGTERM: a real signal sent to this process with os.kill."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from newswire.common.signals import STOP_SIGNALS, stop_on_signals, stop_on_signals_blocking


@pytest.fixture
def own_handlers() -> Iterator[list[int]]:
    """A Python handler of the test's own on both signals (what the helpers must put
    back), and the signals it caught; the handlers of before the test return after it."""
    caught: list[int] = []

    def handler(signum: int, _frame: Any) -> None:
        caught.append(signum)

    before = {signum: signal.signal(signum, handler) for signum in STOP_SIGNALS}
    try:
        yield caught
    finally:
        for signum, previous in before.items():
            signal.signal(signum, previous)


def _handlers() -> dict[signal.Signals, Any]:
    return {signum: signal.getsignal(signum) for signum in STOP_SIGNALS}


@pytest.mark.parametrize("signum", STOP_SIGNALS)
async def test_a_signal_sets_the_event_and_the_old_handlers_return(
    own_handlers: list[int], signum: signal.Signals
) -> None:
    before = _handlers()
    async with stop_on_signals() as stop:
        assert not stop.is_set()
        os.kill(os.getpid(), signum)
        await asyncio.wait_for(stop.wait(), timeout=5)
    assert own_handlers == []  # the helper's handler took it, not the old one
    assert _handlers() == before
    os.kill(os.getpid(), signum)  # the old handler is live again
    await asyncio.sleep(0)
    assert own_handlers == [signum]


async def test_the_given_event_is_the_one_set(own_handlers: list[int]) -> None:
    mine = asyncio.Event()
    async with stop_on_signals(stop=mine) as stop:
        assert stop is mine
        os.kill(os.getpid(), signal.SIGTERM)
        await asyncio.wait_for(mine.wait(), timeout=5)


async def test_nothing_is_installed_outside_the_main_thread(own_handlers: list[int]) -> None:
    async def in_thread_loop() -> bool:
        async with stop_on_signals() as stop:
            return stop.is_set()

    assert await asyncio.to_thread(asyncio.run, in_thread_loop()) is False
    assert own_handlers == []


@pytest.mark.parametrize("signum", STOP_SIGNALS)
def test_blocking_variant_without_a_loop(own_handlers: list[int], signum: signal.Signals) -> None:
    before = _handlers()
    with stop_on_signals_blocking() as stop:
        threading.Timer(0.1, os.kill, (os.getpid(), signum)).start()
        assert stop.wait(timeout=5)
    assert own_handlers == []
    assert _handlers() == before
    os.kill(os.getpid(), signum)
    time.sleep(0.01)  # Python runs the handler between bytecodes of the main thread
    assert own_handlers == [signum]


def test_blocking_variant_outside_the_main_thread_installs_nothing(
    own_handlers: list[int],
) -> None:
    seen: list[bool] = []
    before = _handlers()

    def run() -> None:
        with stop_on_signals_blocking() as stop:
            seen.append(stop.is_set())

    worker = threading.Thread(target=run)
    worker.start()
    worker.join(timeout=5)
    assert seen == [False] and _handlers() == before
