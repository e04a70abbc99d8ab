"""The one place that tells Faust which event a table write belongs to.

Faust tables place a key (its changelog partition, its RocksDB partition) by the
*current event*. Inside ``stream.events()`` Faust sets that itself, but a batch mixes
partitions and a sweep deletes keys of partitions whose last event went by long ago,
so those writes must name their event explicitly.

Faust keeps the current event twice: in a task-local context variable, which is
what tables and stores read, and on the stream object, which ``take_events`` and
other stream processors read to pair each arriving value with its event. Setting
the stream's copy (``Stream._set_current_event``) from an agent leaves it pointing at
an old event across the agent's next ``await``; every record that arrives meanwhile
is then paired with that old event: the old one is processed twice, the new one
never, and its offset is acked and committed anyway. That is how trickled articles
were lost.

:func:`writes_for` therefore sets only the task-local variable, restores it on
exit, and is a plain (synchronous) context manager: no ``await`` can happen while
it is set, so no other code, in this task or any other, can observe it. Nothing
else in newswire may touch Faust's current event; a test enforces that.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from contextlib import contextmanager

import faust
from faust import streams as faust_streams


@contextmanager
def writes_for(event: faust.EventT) -> Iterator[None]:
    """Table reads and writes inside this block are placed by EVENT's partition."""
    token = faust_streams._current_event.set(weakref.ref(event))
    try:
        yield
    finally:
        faust_streams._current_event.reset(token)
