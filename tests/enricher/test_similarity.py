"""Body fingerprints: exact-duplicate key, MinHash signature, shingle count, band keys.

Crafted wire-copy variants and independent reports, the labelled fixture pairs,
serialisation, stability of the stored format, and properties for any text."""

# ruff: noqa: RUF001 - Arabic-script letters are this module's subject matter.

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from newswire.common.text import normalise_text
from newswire.enricher import similarity
from newswire.enricher.bands import probe_band_keys
from newswire.enricher.overlap import PROBE_BANDS
from newswire.enricher.similarity import (
    Fingerprint,
    NearDuplicateDetector,
    band_keys,
    exact_containment,
    exact_jaccard,
    text_fingerprint,
)

FIXTURES = Path(__file__).parent.parent / "fixtures" / "eval"
SEED = Path(__file__).parent.parent.parent / "seeds" / "000_71de62777f81eff8.txt"
PAIRS = [
    json.loads(line)
    for line in (FIXTURES / "near_duplicates.jsonl").read_text(encoding="utf-8").splitlines()
    if line.strip()
]
HYPOTHESIS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
STABLE_VALUES = [158486183, 127745539, 134897782, 397740842]
STABLE_KEYS = ("0:eb5f37f9982b8e1c", "1:de6019957d6f1101")
BAND_KEY = re.compile(r"^(\d+):[0-9a-f]{16}$")

WIRE = (
    "Rockets struck near the international airport in the Iraqi capital late on Tuesday, "
    "security officials said, damaging two parked aircraft and wounding a member of the "
    "ground staff. No group immediately claimed responsibility for the attack.\n\n"
    "The officials, who spoke on condition of anonymity because they were not authorised "
    "to brief reporters, said at least three rockets landed inside the perimeter and a "
    "fourth fell on a road outside. Flights were suspended for several hours while army "
    "engineers searched the runway for unexploded munitions.\n\n"
    "The airport hosts a logistics base used by foreign diplomats, and similar attacks "
    "have been blamed in the past on armed factions opposed to the presence of foreign "
    "troops in the country. The prime minister ordered an investigation and said those "
    "responsible would be brought to justice."
)
INDEPENDENT = (
    "Three rockets hit the grounds of Baghdad International Airport on Tuesday night, "
    "according to a statement from the Iraqi security media cell, which said one airport "
    "employee was lightly injured and two civilian planes were damaged. A fourth rocket "
    "came down on a nearby road. Air traffic was halted until engineers had cleared the "
    "runway. Nobody has claimed the attack so far. Prime Minister's office said an inquiry "
    "had been opened and promised that the perpetrators would be punished. Armed groups "
    "that reject the deployment of foreign forces in Iraq have been accused of earlier "
    "attacks on the airport, where a diplomatic support facility is located."
)
ARABIC_WIRE = (
    "سقطت ثلاثة صواريخ على قاعدة عسكرية تستضيف قوات التحالف الدولي في محافظة الأنبار غربي "
    "العراق مساء الأحد، وفق ما أفاد مسؤولون أمنيون، من دون أن تسفر عن إصابات بشرية. "
    "وقال المسؤولون إن الصواريخ أطلقت من منطقة صحراوية تقع إلى الجنوب من القاعدة، وإن "
    "القوات الأمنية عثرت لاحقا على منصة الإطلاق وعليها صاروخ رابع لم ينطلق.\n\n"
    "وأضافوا أن فرق الهندسة العسكرية طوقت المكان وبدأت تحقيقا لمعرفة الجهة المسؤولة عن "
    "الهجوم، الذي يأتي بعد أسابيع من هجمات مماثلة استهدفت مواقع تضم جنودا أجانب في البلاد. "
    "ولم تعلن أي جهة مسؤوليتها حتى الآن، فيما دعت الحكومة إلى ضبط النفس وحماية البعثات "
    "والقواعد التي توجد فيها قوات أجنبية بموجب اتفاقات رسمية مع بغداد.\n\n"
    "وتنتشر في العراق قوات تابعة للتحالف بدعوة من الحكومة لتقديم المشورة والتدريب للقوات "
    "العراقية، بينما يطالب عدد من الأحزاب والفصائل بجدول زمني لانسحابها. وكان البرلمان قد "
    "صوت في وقت سابق على قرار غير ملزم يدعو إلى إنهاء وجود القوات الأجنبية."
)


@pytest.fixture(scope="module")
def detector() -> NearDuplicateDetector:
    return NearDuplicateDetector()


def _bands(fingerprint: Fingerprint) -> set[str]:
    """The probe band keys the stream sends for this fingerprint."""
    return set(probe_band_keys(fingerprint.signature))


def _paragraphs(text: str) -> list[str]:
    return text.split("\n\n")


_CHANGES = (
    ("late on Tuesday", "on Tuesday night"),
    ("wounding", "injuring"),
    ("brought to justice", "held to account"),
    ("مساء الأحد", "ليل الأحد"),
    ("إصابات بشرية", "خسائر بشرية"),
    ("ضبط النفس", "التهدئة"),
)


def _change_words(text: str) -> str:
    for old, new in _CHANGES:
        text = text.replace(old, new)
    return text


# ------------------------------------------------------------------ exact duplicates


def test_text_fingerprint_is_blake2b_128_of_the_normalised_text() -> None:
    expected = hashlib.blake2b(normalise_text(WIRE).encode(), digest_size=16).hexdigest()
    assert text_fingerprint(WIRE) == expected
    assert re.fullmatch(r"[0-9a-f]{32}", expected)


def test_text_fingerprint_ignores_case_marks_tatweel_and_spacing() -> None:
    plain = "قالت الحكومة العراقية إن الانتخابات ستجرى في موعدها"
    decorated = "  قالَت الحكـــومة   العراقيّة\nإنّ الانتخاباتِ ستجرى في موعدها "
    assert text_fingerprint(plain) == text_fingerprint(decorated)
    assert text_fingerprint("Breaking NEWS") == text_fingerprint("breaking news")
    assert text_fingerprint(WIRE) != text_fingerprint(WIRE.replace("Tuesday", "Monday"))


def test_fingerprint_text_hash_is_the_exact_duplicate_key(detector: NearDuplicateDetector) -> None:
    assert detector.fingerprint(WIRE).text_hash == text_fingerprint(WIRE)


# ------------------------------------------------------------------ shape and validation


def test_fingerprint_shape(detector: NearDuplicateDetector) -> None:
    fingerprint = detector.fingerprint(WIRE)
    assert fingerprint.signature.dtype == np.dtype("<u4")
    assert fingerprint.signature.shape == (256,)
    assert not fingerprint.signature.flags.writeable
    assert fingerprint.shingles == len(similarity.shingle_set(WIRE))
    keys = probe_band_keys(fingerprint.signature)
    assert len(keys) == PROBE_BANDS
    for i, key in enumerate(keys):
        match = BAND_KEY.fullmatch(key)
        assert match is not None and int(match.group(1)) == i
    assert len(set(keys)) == PROBE_BANDS


@pytest.mark.parametrize(
    "kwargs",
    [
        {"num_perm": 0},
        {"num_perm": 15},  # fewer values than the probe bands read
        {"shingle_words": 0},
        {"threshold": 0.0},
        {"threshold": 1.5},
    ],
)
def test_invalid_parameters_fail_at_construction(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        NearDuplicateDetector(**kwargs)  # type: ignore[arg-type]


def test_other_valid_layouts() -> None:
    detector = NearDuplicateDetector(num_perm=64, shingle_words=4, threshold=0.6)
    fingerprint = detector.fingerprint(WIRE)
    assert fingerprint.signature.size == 64
    assert fingerprint.shingles == len(similarity.shingle_set(WIRE, shingle_words=4))
    assert len(probe_band_keys(fingerprint.signature)) == PROBE_BANDS


def test_stored_format_is_stable(detector: NearDuplicateDetector) -> None:
    """Signatures and band keys live in changelogged tables and Kafka keys: a change to
    the hashing must be deliberate (and come with a migration), never a side effect.
    (Changed once on purpose: 3-word shingles and 16 one-row probe bands, issue 12.)"""
    fingerprint = detector.fingerprint(
        "The quick brown fox jumps over the lazy dog near the river bank."
    )
    assert fingerprint.text_hash == "a110a5d64051f423094f0690333c30d4"
    assert fingerprint.signature[:4].tolist() == STABLE_VALUES
    assert probe_band_keys(fingerprint.signature)[:2] == STABLE_KEYS


# ------------------------------------------------------------------ crafted pairs


@pytest.mark.parametrize(
    "variant",
    [
        pytest.param(lambda t: "BAGHDAD (Reuters) - " + t, id="dateline"),
        pytest.param(lambda t: "By Sana Qureshi\n\n" + t, id="byline"),
        pytest.param(lambda t: "\n\n".join(_paragraphs(t)[:-1]), id="trimmed-last-paragraph"),
        pytest.param(lambda t: _change_words(t), id="few-words-changed"),
        pytest.param(
            lambda t: "BAGHDAD, Jan 5 (AFP) -- By Sana Qureshi\n\n" + _change_words(t),
            id="combined-dateline-byline-words",
        ),
        pytest.param(
            lambda t: "BAGHDAD (Reuters) - " + "\n\n".join(_paragraphs(t)[:-1]),
            id="combined-dateline-trimmed",
        ),
    ],
)
def test_syndicated_copies_are_near_duplicates(detector: NearDuplicateDetector, variant) -> None:
    for text in (WIRE, ARABIC_WIRE):
        original, copy = detector.fingerprint(text), detector.fingerprint(variant(text))
        assert original.text_hash != copy.text_hash
        assert detector.is_near_duplicate(original, copy)
        assert _bands(original) & _bands(copy)


def test_arabic_dateline_and_diacritics(detector: NearDuplicateDetector) -> None:
    copy = "بغداد - " + ARABIC_WIRE.replace("صواريخ", "صَوارِيخ").replace("العراق", "العـــراق")
    assert detector.is_near_duplicate(detector.fingerprint(ARABIC_WIRE), detector.fingerprint(copy))


def test_independent_report_of_the_same_event_is_not_a_near_duplicate(
    detector: NearDuplicateDetector,
) -> None:
    a, b = detector.fingerprint(WIRE), detector.fingerprint(INDEPENDENT)
    assert detector.similarity(a, b) < 0.1
    assert not detector.is_near_duplicate(a, b)


def test_unrelated_stories_share_no_band(detector: NearDuplicateDetector) -> None:
    a, b = detector.fingerprint(WIRE), detector.fingerprint(ARABIC_WIRE)
    assert detector.similarity(a, b) == 0.0
    assert not _bands(a) & _bands(b)


def test_estimate_tracks_exact_jaccard(detector: NearDuplicateDetector) -> None:
    copy = WIRE.replace("wounding", "injuring").replace("several hours", "two hours")
    estimate = detector.similarity(detector.fingerprint(WIRE), detector.fingerprint(copy))
    assert estimate == pytest.approx(exact_jaccard(WIRE, copy), abs=0.15)


# ------------------------------------------------------------------ labelled fixture pairs


@pytest.mark.parametrize("pair", PAIRS, ids=[p["id"] for p in PAIRS])
def test_fixture_pairs(detector: NearDuplicateDetector, pair: dict) -> None:
    a, b = detector.fingerprint(pair["a"]["text"]), detector.fingerprint(pair["b"]["text"])
    assert detector.is_near_duplicate(a, b) is pair["near_duplicate"]
    if pair["near_duplicate"]:  # a candidate for sure; independent reports may share a
        assert _bands(a) & _bands(b)  # band by chance (one-row bands), then fail the check


def test_shingle_width_separates_the_fixture_pairs() -> None:
    """The margin the defaults rest on: 3-word shingle containment >= 0.7 for every
    copy, <= 0.1 for every independent report or unrelated story."""
    for pair in PAIRS:
        overlap = exact_containment(pair["a"]["text"], pair["b"]["text"])
        if pair["near_duplicate"]:
            assert overlap >= 0.7, pair["id"]
        else:
            assert overlap <= 0.1, pair["id"]


# ------------------------------------------------------------------ short and odd texts


def test_empty_text_has_a_fingerprint_without_band_keys(detector: NearDuplicateDetector) -> None:
    for text in ("", "   \n\t "):
        fingerprint = detector.fingerprint(text)
        assert fingerprint.is_empty
        assert probe_band_keys(fingerprint.signature) == ()
        assert fingerprint.shingles == 0
        assert fingerprint.signature.size == 256
        assert Fingerprint.from_bytes(fingerprint.to_bytes()) == fingerprint
        assert detector.similarity(fingerprint, fingerprint) == 1.0
        assert detector.similarity(fingerprint, detector.fingerprint(WIRE)) == 0.0


@pytest.mark.parametrize("text", ["Iraq", "Iraq votes", "Iraq votes today", "!!!", "٣", "🙂 🙂"])
def test_short_texts_fall_back_to_smaller_shingles(
    detector: NearDuplicateDetector, text: str
) -> None:
    fingerprint = detector.fingerprint(text)
    assert not fingerprint.is_empty
    assert fingerprint.shingles == 1
    assert len(probe_band_keys(fingerprint.signature)) == PROBE_BANDS
    assert detector.similarity(fingerprint, detector.fingerprint(text)) == 1.0


def test_short_texts_are_told_apart(detector: NearDuplicateDetector) -> None:
    iraq, iran = detector.fingerprint("Iraq votes"), detector.fingerprint("Iran votes")
    assert detector.similarity(iraq, iran) < 0.2
    assert detector.similarity(detector.fingerprint("!!!"), detector.fingerprint("???")) < 0.2


def test_digits_fold_across_scripts(detector: NearDuplicateDetector) -> None:
    assert detector.fingerprint("killed 25 people").signature.tolist() == (
        detector.fingerprint("killed ٢٥ people").signature.tolist()
    )


def test_characters_outside_the_basic_plane(detector: NearDuplicateDetector) -> None:
    a = detector.fingerprint("markets 🙂 rallied 𝟙𝟚 points in early trading today")
    b = detector.fingerprint("markets 😀 rallied 12 points in early trading today")
    assert 0.0 < detector.similarity(a, b) <= 1.0


def test_long_text_is_processed_in_blocks(detector: NearDuplicateDetector) -> None:
    words = [f"w{i}" for i in range(6000)]
    text = " ".join(words)
    shingles = similarity._shingle_hashes(similarity._word_hashes(normalise_text(text)), 3)
    assert shingles.size > 2 * similarity._CHUNK
    a, b = similarity._coefficients(256)
    reference = (np.multiply.outer(a, shingles) + b[:, None]).min(axis=1) >> np.uint64(32)
    assert detector.fingerprint(text).signature.tolist() == reference.astype(np.uint32).tolist()


# ------------------------------------------------------------------ comparing signatures


def test_similarity_accepts_fingerprints_and_arrays(detector: NearDuplicateDetector) -> None:
    a, b = detector.fingerprint(WIRE), detector.fingerprint(INDEPENDENT)
    assert detector.similarity(a, b) == detector.similarity(a.signature, b.signature)


def test_similarity_rejects_mismatched_signatures(detector: NearDuplicateDetector) -> None:
    with pytest.raises(ValueError):
        detector.similarity(np.zeros(128, np.uint32), np.zeros(64, np.uint32))
    with pytest.raises(ValueError):
        detector.similarity(np.zeros((2, 64), np.uint32), np.zeros((2, 64), np.uint32))


def test_similarities_of_many(detector: NearDuplicateDetector) -> None:
    texts = [WIRE, INDEPENDENT, ARABIC_WIRE, "BAGHDAD (Reuters) - " + WIRE]
    fingerprints = [detector.fingerprint(t) for t in texts]
    matrix = np.stack([f.signature for f in fingerprints])
    many = detector.similarities(fingerprints[0], matrix)
    assert many.tolist() == [detector.similarity(fingerprints[0], f) for f in fingerprints]
    with pytest.raises(ValueError):
        detector.similarities(fingerprints[0], matrix[:, :10])


def test_band_keys_of_a_prefix(detector: NearDuplicateDetector) -> None:
    """band_keys works on any slice whose length the band count divides."""
    signature = detector.fingerprint(WIRE).signature
    keys = band_keys(signature[:16], 8)
    assert len(keys) == 8 and all(BAND_KEY.fullmatch(k) for k in keys)
    with pytest.raises(ValueError):
        band_keys(signature[:15], 8)


# ------------------------------------------------------------------ serialisation


def test_serialisation_is_compact(detector: NearDuplicateDetector) -> None:
    data = detector.fingerprint(WIRE).to_bytes()
    assert len(data) == 5 + 16 + 256 * 4


@pytest.mark.parametrize(
    "mangle",
    [
        lambda d: d[:10],  # truncated
        lambda d: b"\x09" + d[1:],  # unknown version
        lambda d: d[:-1],  # not whole values
        lambda d: d[:1] + (0).to_bytes(4, "little") + d[5:],  # no shingles for a real text
    ],
)
def test_from_bytes_rejects_malformed_input(detector: NearDuplicateDetector, mangle) -> None:
    with pytest.raises(ValueError):
        Fingerprint.from_bytes(mangle(detector.fingerprint(WIRE).to_bytes()))


def test_fingerprints_compare_and_hash_by_value(detector: NearDuplicateDetector) -> None:
    a, b = detector.fingerprint(WIRE), NearDuplicateDetector().fingerprint(WIRE)
    assert a == b and hash(a) == hash(b)
    assert a != detector.fingerprint(INDEPENDENT)
    assert len({a, b}) == 1
    assert "num_perm=256" in repr(a)


# ------------------------------------------------------------------ properties

_ARABIC_LETTERS = "ابتثجحخدذرزسشصضطظعغفقكلمنهوي"
_LATIN_LETTERS = "abcdefghijklmnopqrstuvwxyz"
_HARAKAT = [chr(c) for c in range(0x064B, 0x0653)]
_TATWEEL = "\u0640"

_arabic_words = st.lists(
    st.text(alphabet=_ARABIC_LETTERS, min_size=1, max_size=8), min_size=1, max_size=60
)
_unique_words = st.lists(
    st.text(alphabet=_ARABIC_LETTERS + _LATIN_LETTERS, min_size=3, max_size=9),
    min_size=80,
    max_size=200,
    unique_by=normalise_text,
)


@HYPOTHESIS
@given(a=st.text(max_size=300), b=st.text(max_size=300))
def test_similarity_is_symmetric_and_bounded(a: str, b: str) -> None:
    detector = NearDuplicateDetector()
    fa, fb = detector.fingerprint(a), detector.fingerprint(b)
    forward, backward = detector.similarity(fa, fb), detector.similarity(fb, fa)
    assert forward == backward
    assert 0.0 <= forward <= 1.0
    assert detector.similarity(fa, fa) == 1.0
    assert detector.similarity(fa, detector.fingerprint(a)) == 1.0


@HYPOTHESIS
@given(text=st.text(max_size=400))
def test_identical_text_gives_identical_fingerprints(text: str) -> None:
    a, b = NearDuplicateDetector().fingerprint(text), NearDuplicateDetector().fingerprint(text)
    assert a == b
    assert probe_band_keys(a.signature) == probe_band_keys(b.signature)


@HYPOTHESIS
@given(text=st.text(max_size=400), num_perm=st.sampled_from([256, 128, 16]))
def test_serialisation_round_trips(text: str, num_perm: int) -> None:
    fingerprint = NearDuplicateDetector(num_perm=num_perm).fingerprint(text)
    restored = Fingerprint.from_bytes(fingerprint.to_bytes())
    assert restored == fingerprint
    assert restored.shingles == fingerprint.shingles
    assert restored.signature.dtype == fingerprint.signature.dtype


@HYPOTHESIS
@given(words=_arabic_words, data=st.data())
def test_fingerprint_ignores_diacritics_tatweel_and_whitespace(
    words: list[str], data: st.DataObject
) -> None:
    decorated = []
    for word in words:
        letters = []
        for letter in word:
            letters.append(letter)
            letters.append(data.draw(st.sampled_from(["", "", _TATWEEL, *_HARAKAT])))
        decorated.append("".join(letters))
    separators = data.draw(
        st.lists(st.sampled_from([" ", "  ", "\n", "\n\n", "\t", " \u00a0"]), min_size=len(words))
    )
    variant = "".join(w + s for w, s in zip(decorated, separators, strict=False))
    detector = NearDuplicateDetector()
    assert detector.fingerprint(" ".join(words)) == detector.fingerprint(variant)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(words=_unique_words, data=st.data())
def test_one_changed_word_keeps_a_long_text_a_near_duplicate(
    words: list[str], data: st.DataObject
) -> None:
    index = data.draw(st.integers(0, len(words) - 1))
    replacement = data.draw(st.text(alphabet=_LATIN_LETTERS, min_size=10, max_size=12))
    assume(normalise_text(replacement) not in {normalise_text(w) for w in words})
    changed = [*words[:index], replacement, *words[index + 1 :]]
    detector = NearDuplicateDetector()
    a, b = detector.fingerprint(" ".join(words)), detector.fingerprint(" ".join(changed))
    assert a.text_hash != b.text_hash
    assert detector.is_near_duplicate(a, b)
    assert _bands(a) & _bands(b)


# ------------------------------------------------------- one normalisation per record


@settings(max_examples=50, deadline=None)
@given(st.text(max_size=400))
def test_fingerprint_of_a_normalised_form_is_the_fingerprint(text: str) -> None:
    detector = NearDuplicateDetector()
    assert detector.fingerprint_normalised(normalise_text(text)) == detector.fingerprint(text)


def test_fingerprint_normalised_over_the_seed_and_fixtures(detector: NearDuplicateDetector) -> None:
    texts = [SEED.read_text(encoding="utf-8")]
    texts += [pair[side]["text"] for pair in PAIRS for side in ("a", "b")]
    for text in texts:
        once = detector.fingerprint_normalised(normalise_text(text))
        assert once.to_bytes() == detector.fingerprint(text).to_bytes()
