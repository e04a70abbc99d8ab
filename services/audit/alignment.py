"""Which raw record each emission of one article id stands for.

The enricher emits a record when an id's content differs from the content it saw
last for that id (so A, B, A is emitted three times) and counts a repeat of the same
content as a redelivery. A crash can emit a batch twice. The audit sees, per id, the
raw records in offset order and the emissions in offset order, and must say which
raw records have no emission: matching by count alone gets A, B, A with the last
emission missing wrong (the first A's emission seems to cover the third), and blames
the wrong record when a dead letter is missing.

:func:`align` finds the explanation that loses the fewest raw records, and among those
the one that passes over the fewest emissions (an emission comes from a record, so
one left unexplained counts against an explanation): an emission explains a record
that changed the id's content to the emission's content, in order; emissions passed
over are duplicates; a lost record did not reach the enricher's table, so the
records after it are judged against the content before it.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum
from functools import cache


class Outcome(Enum):
    ENRICHED = "enriched"
    REDELIVERY = "redelivery"
    LOST = "lost"


#: Above this many (records x emissions) for one id, fall back to matching by count.
MAX_CELLS = 200_000


def align(raws: Sequence[str], emissions: Sequence[str]) -> list[Outcome]:
    """The outcome of each raw record (its content, in offset order) of one id, given the
    contents of the id's emissions in offset order."""
    if len(raws) * max(1, len(emissions)) > MAX_CELLS:
        return _by_count(raws, emissions)
    emitted = frozenset(emissions)

    @cache
    def next_match(j: int, content: str) -> int | None:
        for k in range(j, len(emissions)):
            if emissions[k] == content:
                return k
        return None

    @cache
    def cost_from(i: int, j: int, previous: str | None) -> tuple[int, int, tuple[Outcome, ...]]:
        """(records lost, emissions passed over, outcomes) for raws[i:] and emissions[j:]."""
        if i == len(raws):
            return 0, len(emissions) - j, ()
        content = raws[i]
        if content == previous:
            outcome = Outcome.REDELIVERY if content in emitted else Outcome.LOST
            lost, skipped, rest = cost_from(i + 1, j, previous)
            return lost + (outcome is Outcome.LOST), skipped, (outcome, *rest)
        lost, skipped, rest = cost_from(i + 1, j, previous)
        best = (lost + 1, skipped, (Outcome.LOST, *rest))
        k = next_match(j, content)
        if k is not None:
            lost, skipped, rest = cost_from(i + 1, k + 1, content)
            if (lost, skipped + k - j) <= best[:2]:
                best = (lost, skipped + k - j, (Outcome.ENRICHED, *rest))
        return best

    try:
        return list(cost_from(0, 0, None)[2])
    except RecursionError:  # an id with thousands of versions: count instead
        return _by_count(raws, emissions)


def _by_count(raws: Sequence[str], emissions: Sequence[str]) -> list[Outcome]:
    available: dict[str, int] = {}
    for content in emissions:
        available[content] = available.get(content, 0) + 1
    outcomes: list[Outcome] = []
    previous: str | None = None
    for content in raws:
        if content == previous:
            outcomes.append(Outcome.REDELIVERY if content in available else Outcome.LOST)
        elif available.get(content, 0) > 0:
            available[content] -= 1
            outcomes.append(Outcome.ENRICHED)
            previous = content
        else:
            outcomes.append(Outcome.LOST)
    return outcomes
