"""Which raw record each emission of one id stands for (newswire.audit.alignment)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from newswire.audit.alignment import MAX_CELLS, Outcome, align

E, R, L = Outcome.ENRICHED, Outcome.REDELIVERY, Outcome.LOST


def enricher(raws: list[str], crash_after: int | None = None) -> list[str]:
    """What the enricher emits: a record whose content differs from the last one seen;
    a crash re-emits the record at CRASH_AFTER."""
    emitted: list[str] = []
    previous = None
    for n, content in enumerate(raws):
        if content != previous:
            emitted.append(content)
            if n == crash_after:
                emitted.append(content)
        previous = content
    return emitted


def test_a_change_back_is_emitted_again_and_each_emission_explains_one_record() -> None:
    assert align(["a", "b", "a"], ["a", "b", "a"]) == [E, E, E]
    assert align(["a", "b", "a"], ["a", "b"]) == [E, E, L]


def test_a_repeat_is_a_redelivery_and_a_crash_copy_explains_nothing_more() -> None:
    assert align(["a", "a"], ["a"]) == [E, R]
    assert align(["a", "b"], ["a", "a", "b"]) == [E, E]


def test_the_record_blamed_is_the_one_no_emission_explains() -> None:
    """B, A, B with A and B emitted: the first B's emission is missing, not the A's."""
    assert align(["b", "a", "b"], ["a", "b"]) == [L, E, E]


def test_an_id_with_very_many_records_is_matched_by_count() -> None:
    raws = [str(n % 7) for n in range(MAX_CELLS // 10 + 1)]
    outcomes = align(raws, enricher(raws)[:-1])
    assert outcomes.count(L) == 1 and len(outcomes) == len(raws)


histories = st.lists(st.sampled_from("abc"), max_size=12)


@given(histories, st.data())
def test_what_the_enricher_emits_explains_every_record(
    raws: list[str], data: st.DataObject
) -> None:
    crash = data.draw(st.none() | st.integers(0, max(0, len(raws) - 1)))
    assert L not in align(raws, enricher(raws, crash))


@given(histories, st.data())
def test_one_missing_emission_is_always_found(raws: list[str], data: st.DataObject) -> None:
    """At least one record is lost. Which one can be ambiguous when content changes
    back (a, b, a, b with the second a missing explains as well with the first b
    lost); a record of the same version is blamed unless the history is ambiguous."""
    emitted = enricher(raws)
    if not emitted:
        return
    gone = data.draw(st.integers(0, len(emitted) - 1))
    outcomes = align(raws, emitted[:gone] + emitted[gone + 1 :])
    lost = [content for content, outcome in zip(raws, outcomes, strict=True) if outcome is L]
    assert lost
    if len(set(raws)) <= 1 or len(emitted) == len(set(emitted)):
        assert set(lost) == {emitted[gone]}, "no version comes back: no ambiguity"
