"""The worker keeps its start-up objects out of the collector's passes (app.py)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from newswire.common.settings import Settings
from newswire.enricher.app import build_app, freeze_startup_heap


@pytest.fixture
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    gc.disable()  # only the collections the code under test runs
    yield
    gc.enable()
    gc.unfreeze()  # the test process collects as before


def test_what_start_up_built_is_frozen_and_what_came_after_is_not(unfrozen: None) -> None:
    app = build_app(Settings())
    freeze_startup_heap()
    frozen = gc.get_freeze_count()
    assert frozen > 0
    assert all(o is not app for o in gc.get_objects())  # the collector no longer walks it
    later = [[i] for i in range(1000)]  # allocated after: collected as usual
    assert any(later is o for o in gc.get_objects())
    assert gc.get_freeze_count() == frozen


def test_garbage_is_collected_before_it_is_frozen(unfrozen: None) -> None:
    cycle: list[object] = []
    cycle.append(cycle)
    del cycle
    freeze_startup_heap()
    gc.unfreeze()  # whatever was frozen is walked again: the cycle is not among it
    assert not any(isinstance(o, list) and len(o) == 1 and o[0] is o for o in gc.get_objects())
