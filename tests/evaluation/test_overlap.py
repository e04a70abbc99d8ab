"""Exact shingle overlap: hand-computed cases and the properties that define it; the
split loader and rule."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from newswire.evaluation.overlap import containment, jaccard, overlap, shingles
from newswire.evaluation.split import load_frozen, split_of

WORDS = st.lists(st.sampled_from(["a", "b", "c", "d", "بغداد", "هەولێر"]), max_size=30)


def test_shingles_are_case_folded_word_runs() -> None:
    assert shingles("The cat, the CAT sat.", 3) == {
        ("the", "cat", "the"), ("cat", "the", "cat"), ("the", "cat", "sat"),
    }  # fmt: skip
    assert shingles("two words", 3) == {("two", "words")}
    assert shingles("  ,. ", 3) == frozenset()


def test_a_cut_copy_is_contained_though_its_jaccard_is_low() -> None:
    # 10 words -> 8 three-word shingles; the first half (5 words) -> 3 shingles, all shared
    long = "w1 w2 w3 w4 w5 w6 w7 w8 w9 w10"
    short = "w1 w2 w3 w4 w5"
    figures = overlap(long, short)
    assert figures.containment3 == 1.0
    assert figures.jaccard3 == 3 / 8
    assert figures.jaccard4 == 2 / 7 and figures.containment4 == 1.0


@given(WORDS, WORDS)
def test_jaccard_never_exceeds_containment_and_both_are_symmetric(
    a: list[str], b: list[str]
) -> None:
    sa, sb = shingles(" ".join(a), 3), shingles(" ".join(b), 3)
    assert 0.0 <= jaccard(sa, sb) <= containment(sa, sb) <= 1.0
    assert jaccard(sa, sb) == jaccard(sb, sa) and containment(sa, sb) == containment(sb, sa)


@given(WORDS)
def test_a_text_overlaps_itself_fully(a: list[str]) -> None:
    text = " ".join(a)
    figures = overlap(text, text)
    expected = 1.0 if a else 0.0
    assert figures.jaccard3 == figures.containment4 == expected


def test_split_files_list_events_and_missing_files_freeze_nothing(tmp_path: Path) -> None:
    path = tmp_path / "near_duplicates.frozen.txt"
    path.write_text("# header\n\nev-1\n ev-2 \n", encoding="utf-8")
    frozen = load_frozen([path, tmp_path / "missing.txt"])
    assert frozen == {"ev-1", "ev-2"}
    assert load_frozen([tmp_path / "missing.txt"]) == frozenset()
    assert split_of(["ev-1"], frozen) == "frozen"
    assert split_of([None], frozen) == "tuning"
    assert split_of(["ev-3", "ev-2"], frozen) == "frozen"  # any frozen event freezes a pair
