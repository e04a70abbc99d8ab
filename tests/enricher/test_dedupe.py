from hypothesis import given
from hypothesis import strategies as st

from newswire.enricher.dedupe import SeenEntry, Verdict, decide

NOW = "2026-01-01T00:00:00.000Z"


def test_first_sight_is_new() -> None:
    decision = decide(None, "a" * 32, NOW)
    assert decision.verdict is Verdict.NEW and decision.entry.revisions == 1


def test_same_content_again_is_a_redelivery_and_counted() -> None:
    first = decide(None, "a" * 32, NOW).entry
    again = decide(first, "a" * 32, NOW)
    assert again.verdict is Verdict.REDELIVERY and again.entry.redeliveries == 1
    assert again.entry.content_hash == first.content_hash


def test_changed_content_is_an_update() -> None:
    first = decide(None, "a" * 32, NOW).entry
    changed = decide(first, "b" * 32, NOW)
    assert changed.verdict is Verdict.UPDATE and changed.entry.revisions == 2
    assert changed.entry.first_seen_at == first.first_seen_at


@given(st.lists(st.sampled_from(["h1", "h2", "h3"]), min_size=1, max_size=30))
def test_emitted_exactly_when_content_differs_from_the_last_emitted(hashes: list[str]) -> None:
    """Folding any sequence of deliveries for one id: one emission per content change."""
    entry: SeenEntry | None = None
    emitted: list[str] = []
    for h in hashes:
        decision = decide(entry, h, NOW)
        if decision.verdict is not Verdict.REDELIVERY:
            emitted.append(h)
        entry = SeenEntry.from_json(
            decision.entry.to_json()
        )  # survives the table's JSON round trip
    changes = [h for i, h in enumerate(hashes) if i == 0 or hashes[i - 1] != h]
    assert emitted == changes
    assert entry is not None and entry.redeliveries == len(hashes) - len(changes)
