"""Topic classification: the seed article, hard positive/negative cases in four
languages (tests/fixtures/enricher/topic_cases.yaml), clitics, taxonomy validation and
properties that must hold for any text."""

# ruff: noqa: RUF001 - Arabic-script and Turkish letters are this module's subject matter.

from __future__ import annotations

import importlib.resources
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from newswire.common.errors import NewswireError
from newswire.enricher.classify import (
    TaxonomyError,
    TopicClassifier,
    TopicMatch,
    candidate_forms,
    phrase_words,
    tokenise,
)

FIXTURES = Path(__file__).parent.parent / "fixtures" / "enricher"
SEED = Path(__file__).parent.parent.parent / "seeds" / "000_71de62777f81eff8.txt"
SHIPPED = Path(__file__).parent.parent.parent / "services" / "enricher" / "taxonomy.yaml"
CASES: list[dict[str, Any]] = yaml.safe_load(
    (FIXTURES / "topic_cases.yaml").read_text(encoding="utf-8")
)
HYPOTHESIS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def classifier() -> TopicClassifier:
    return TopicClassifier.from_file()


def _ids(matches: list[TopicMatch]) -> set[str]:
    return {m.id for m in matches}


# ------------------------------------------------------------------ the seed article


def test_seed_article_topics(classifier: TopicClassifier) -> None:
    matches = classifier.classify(title=None, text=SEED.read_text(encoding="utf-8"), language="ar")
    assert _ids(matches) == {"iraq", "us-forces", "iran-strikes"}


def test_seed_iran_strike_evidence_is_the_strike_not_the_kerman_bombing(
    classifier: TopicClassifier,
) -> None:
    matches = classifier.classify(title=None, text=SEED.read_text(encoding="utf-8"), language="ar")
    strikes = next(m for m in matches if m.id == "iran-strikes")
    assert "ضربة" in strikes.evidence


# ------------------------------------------------------------------ cases


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_cases(classifier: TopicClassifier, case: dict[str, Any]) -> None:
    got = classifier.classify(title=case.get("title"), text=case["text"], language=case["language"])
    ids = _ids(got)
    detail = [(m.id, m.score, m.evidence) for m in got]
    if "topics" in case:
        assert ids == set(case["topics"]), detail
    assert set(case.get("includes", [])) <= ids, detail
    assert not set(case.get("excludes", [])) & ids, detail


def test_cases_cover_every_topic_and_language() -> None:
    languages = {c["language"] for c in CASES}
    assert {"ar", "en", "fa", "ckb"} <= languages
    assert {t for c in CASES for t in c.get("topics", [])} == {
        "iraq",
        "us-forces",
        "iran-strikes",
        "strikes-on-iran",
    }


def test_passing_mention_does_not_make_a_topic(classifier: TopicClassifier) -> None:
    text = "Oil prices rose on Monday. Traders also watched Iraq. Markets closed higher."
    assert classifier.classify(title="Oil climbs", text=text, language="en") == []


def test_title_mention_outweighs_body_mention(classifier: TopicClassifier) -> None:
    body = "Officials met on Monday to discuss trade. " * 3
    in_title = classifier.classify(title="Iraq and Iraqi officials meet", text=body, language="en")
    in_body = classifier.classify(
        title="Officials meet", text=body + "Iraq and Iraqi officials.", language="en"
    )
    assert _ids(in_title) == {"iraq"}
    assert _ids(in_body) == set()


def test_results_sorted_by_score(classifier: TopicClassifier) -> None:
    matches = classifier.classify(title=None, text=SEED.read_text(encoding="utf-8"), language="ar")
    assert [m.score for m in matches] == sorted((m.score for m in matches), reverse=True)


def test_as_record(classifier: TopicClassifier) -> None:
    match = classifier.classify(title="العراق", text="العراق والعراقيون", language="ar")[0]
    record = match.as_record()
    assert record == {"id": "iraq", "score": match.score, "evidence": list(match.evidence)}


def test_language_tag_and_fallback(classifier: TopicClassifier) -> None:
    assert _ids(classifier.classify(title="بغداد", text="العراق", language="ar-IQ")) == {"iraq"}
    french = "Des frappes israéliennes ont visé un site militaire près d'Ispahan, selon les médias."
    assert _ids(
        classifier.classify(title="Frappe israélienne près d'Ispahan", text=french, language="fr")
    ) == {"strikes-on-iran"}
    assert _ids(classifier.classify(title="Irak", text="Bagdad et l'Irak.", language="und")) == {
        "iraq"
    }


# ------------------------------------------------------------------ matching details


@pytest.mark.parametrize(
    "word", ["العراق", "والعراق", "بالعراق", "للعراق", "فالعراق", "وللعراق", "كالعراق"]
)
def test_arabic_clitics_reach_the_definite_form(word: str) -> None:
    (token,) = tokenise(word, "ar")
    assert "العراق" in candidate_forms(token, "ar")


@pytest.mark.parametrize("word", ["والعراق", "بالعراق", "للعراق"])
def test_clitic_forms_match_taxonomy_term(classifier: TopicClassifier, word: str) -> None:
    match = classifier.classify(title=word, text=f"{word} {word}", language="ar")[0]
    assert (match.id, match.evidence) == ("iraq", ("العراق",))


def test_attached_pronoun_suffix() -> None:
    (token,) = tokenise("قواتها", "ar")
    assert "قوات" in candidate_forms(token, "ar")


def test_stripping_never_shortens_below_three_letters() -> None:
    assert all(len(form) >= 3 for form in candidate_forms("وله", "ar") - {"وله"})


@pytest.mark.parametrize(
    "written", ["نیروهای آمریکایی", "نیرو\u200cهای آمریکایی", "نیرو های آمریکایی"]
)
def test_persian_zwnj_space_and_joined_spellings(classifier: TopicClassifier, written: str) -> None:
    matches = classifier.classify(title=written, text=f"{written} در سوریه", language="fa")
    assert "us-forces" in _ids(matches)


def test_sorani_heh_doachashmee_spelling(classifier: TopicClassifier) -> None:
    # Sorani keyboards often type ھ (U+06BE) where the taxonomy has ه.
    text = "ھێزەکانی ئەمریکا لە ھەولێر و بەغدا مانەوە. ھەرێمی کوردستان."
    matches = classifier.classify(title="ھێزەکانی ئەمریکا لە ھەولێر", text=text, language="ckb")
    assert {"us-forces", "iraq"} <= _ids(matches)


def test_english_plural_possessive_and_abbreviation(classifier: TopicClassifier) -> None:
    assert tokenise("Iraq's U.S.-led coalition", "en") == ["iraq", "us", "led", "coalition"]
    assert "strike" in candidate_forms("strikes", "en")
    assert "militia" in candidate_forms("militias", "en")
    matches = classifier.classify(
        title="U.S. forces in Iraq's west", text="U.S. troops stay.", language="en"
    )
    assert {"us-forces", "iraq"} <= _ids(matches)


def test_phrases_do_not_cross_sentences(classifier: TopicClassifier) -> None:
    split = classifier.classify(
        title=None, text="They came from the US. Forces were ready.", language="en"
    )
    assert "us-forces" not in _ids(split)


def test_militia_aligned_with_iran_is_not_iran(classifier: TopicClassifier) -> None:
    text = "Iran-backed militias attacked a US base in Syria with drones."
    assert "iran-strikes" not in _ids(classifier.classify(title=text, text=text, language="en"))


def test_word_before_a_full_stop_is_kept() -> None:
    # The last word of every sentence used to be dropped at the stop.
    assert tokenise("Troops left Iraq. Iran struck Erbil.", "en") == [
        "troops",
        "left",
        "iraq",
        "iran",
        "struck",
        "erbil",
    ]
    assert "iraq" in _ids(
        TopicClassifier.from_file().classify(
            title="Oil deal signed with Iraq.", text="", language="en"
        )
    )


@pytest.mark.parametrize(
    ("written", "language", "expected"),
    [
        ("البرج ٢٢", "ar", ["البرج", "22"]),  # Arabic-Indic digits
        ("برج ۲۲", "fa", ["برج", "22"]),  # Persian digits
        ("٣٫٥ مليون", "ar", ["3", "5", "مليون"]),  # Arabic decimal separator
        ("العر\u200bاق", "ar", ["العراق"]),  # zero-width space inside a word
        ("Bagh\u00addad", "en", ["baghdad"]),  # soft hyphen
        ("\u061cالعراق", "ar", ["العراق"]),  # Arabic letter mark
        ("İRAN IRAK ırak", "tr", ["iran", "irak", "irak"]),  # Turkish dotted/dotless i
        ("ھەولێر", "ckb", tokenise("هەولێر", "ckb")),  # heh doachashmee
        ("کۆمپانیاکە\u200cی", "ckb", tokenise("کۆمپانیاکەی", "ckb")),  # ZWNJ joins
        # canonically equivalent spellings of heh goal with hamza fold alike
        ("خان\u06c1\u0654", "fa", tokenise("خان\u06c2", "fa")),
    ],
)
def test_character_variants_fold(written: str, language: str, expected: list[str]) -> None:
    assert tokenise(written, language) == expected


def test_digit_variants_match_the_same_base(classifier: TopicClassifier) -> None:
    for digits in ("22", "٢٢", "۲۲"):
        text = f"مقتل ثلاثة جنود بهجوم على موقع البرج {digits} في الأردن"
        assert "us-forces" in _ids(classifier.classify(title=None, text=text, language="ar"))


def test_commas_end_clauses_but_not_numbers() -> None:
    assert tokenise("In response to that, 1,300 left; others stayed.", "en") == [
        "in",
        "response",
        "to",
        "that",
        "1",
        "300",
        "left",
        "others",
        "stayed",
    ]


def test_untitled_headline_is_scored_as_a_title(classifier: TopicClassifier) -> None:
    headline = "Protests spread to the streets of Basra"
    assert _ids(classifier.classify(title=None, text=headline, language="en")) == {"iraq"}
    # The same words opening a longer paragraph are a lead mention: not enough alone.
    article = headline + ". Officials met on Monday. They discussed trade and prices."
    assert _ids(classifier.classify(title=None, text=article, language="en")) == set()


def test_gap_phrases() -> None:
    assert phrase_words("fired … missiles", "en") == ("fired", "\u2026", "missiles")
    assert phrase_words("fired ... missiles", "en") == ("fired", "\u2026", "missiles")
    classifier = TopicClassifier.from_file()
    near = "Iran fired a barrage of missiles at Israel"
    far = "Iran fired its spokesman after a long row over missiles"
    assert "iran-strikes" in _ids(classifier.classify(title=None, text=near, language="en"))
    assert "iran-strikes" not in _ids(classifier.classify(title=None, text=far, language="en"))


# ------------------------------------------------------------------ relations


def _relation_taxonomy(tmp_path: Path, relation: dict[str, Any], **section: Any) -> TopicClassifier:
    document = {
        "version": "1.1",
        "topics": [
            {
                "id": "demo",
                "description": "A demo relation.",
                "threshold": 0.5,
                "languages": {
                    "*": {"terms": [{"match": ["zzz"]}], "relations": [relation], **section}
                },
            }
        ],
    }
    return TopicClassifier.from_file(_write(tmp_path, document))


_STRIKE = {"act": ["hit"], "agent": ["alpha"], "rival": ["beta"], "needs": ["agent"], "within": 4}
_OBJECT_TARGET = {
    "act": ["hit"],
    "agent": ["beta"],
    "rival": ["gamma"],
    "object_targets": ["gamma"],
    "needs": ["target"],
}


@pytest.mark.parametrize(
    ("relation", "text", "language", "expected"),
    [
        # The nearest actor owns the act; a rival owner does not count.
        (_STRIKE, "Alpha hit the depot", "en", True),
        (_STRIKE, "Beta hit the depot", "en", False),
        (_STRIKE, "The depot was hit", "en", False),  # needs an agent
        (_STRIKE, "Beta said Alpha hit the depot", "en", True),
        (_STRIKE, "Alpha said Beta hit the depot", "en", False),
        # svo: an actor right after the act is its object.
        ({**_STRIKE, "word_order": "svo"}, "Beta hit Alpha", "en", False),
        ({**_STRIKE, "word_order": "svo"}, "Alpha hit Beta", "en", True),
        # Target markers: an actor after one is what is hit.
        ({**_STRIKE, "markers": ["on"]}, "Beta hit targets on Alpha", "en", False),
        ({**_STRIKE, "markers": ["on"]}, "Alpha hit targets on Beta", "en", True),
        # ... but not across a clause break.
        ({**_STRIKE, "markers": ["on"]}, "On Monday, Alpha hit the depot", "en", True),
        # Agent markers: "by" picks the owner however near another actor is.
        ({**_STRIKE, "agent_markers": ["by"]}, "Beta was hit by Alpha", "en", True),
        ({**_STRIKE, "agent_markers": ["by"]}, "Alpha was hit by Beta", "en", False),
        # Barriers: no owner link crosses one.
        ({**_STRIKE, "barriers": ["condemned"]}, "Alpha condemned the hit", "en", False),
        ({**_STRIKE, "barriers": ["condemned"]}, "Beta condemned the hit by Alpha", "en", True),
        # sov: ties go to the later actor; with none near, the sentence's first actor.
        ({**_STRIKE, "word_order": "sov"}, "Beta hit Alpha", "en", True),
        ({**_STRIKE, "word_order": "sov"}, "Alpha one two three four five hit", "en", True),
        (_STRIKE, "Alpha one two three four five hit", "en", False),
        # sov: a barrier after the act makes the actors before it that verb's subjects.
        (
            {**_STRIKE, "word_order": "sov", "barriers": ["condemned"]},
            "Alpha hit condemned",
            "en",
            False,
        ),
        # vso: a definite Arabic act noun takes the actor after it on a tie.
        (
            {"act": ["هجوم"], "agent": ["إيراني"], "rival": ["العراق"], "needs": ["agent"]},
            "أدان العراق الهجوم الإيراني",
            "ar",
            False,
        ),
        (
            {
                "act": ["هجوم"],
                "agent": ["إيراني"],
                "rival": ["العراق"],
                "needs": ["agent"],
                "word_order": "vso",
            },
            "أدان العراق الهجوم الإيراني",
            "ar",
            True,
        ),
        # Targets: needed near the act; one after a source marker is an origin.
        (
            {"act": ["hit"], "target": ["gamma"], "needs": ["target"]},
            "Rockets hit Gamma",
            "en",
            True,
        ),
        (
            {"act": ["hit"], "target": ["gamma"], "needs": ["target"], "source_markers": ["from"]},
            "Rockets from Gamma hit the town",
            "en",
            False,
        ),
        # A rival owner blocks even when the target is there.
        (
            {"act": ["hit"], "target": ["gamma"], "rival": ["beta"], "needs": ["target"]},
            "Beta hit Gamma",
            "en",
            False,
        ),
        # Object targets: an actor that is what the act hits.
        (
            {**_OBJECT_TARGET, "word_order": "vso"},
            "Beta hit Gamma",  # the subject comes first: Gamma is the object
            "en",
            True,
        ),
        ({**_OBJECT_TARGET, "word_order": "vso"}, "Hit Gamma the depot", "en", False),
        ({**_OBJECT_TARGET, "word_order": "svo"}, "Beta hit Gamma", "en", True),
        ({**_OBJECT_TARGET, "markers": ["on"]}, "Jets hit targets on Gamma", "en", True),
        ({**_OBJECT_TARGET}, "Beta hit Gamma", "en", False),  # no word order, no marker
        # Gap phrases as acts, with the actor inside the gap.
        (
            {"act": ["fired … rockets"], "agent": ["alpha"], "needs": ["agent"]},
            "They fired Alpha made rockets",
            "en",
            True,
        ),
    ],
)
def test_relation_rules(
    tmp_path: Path, relation: dict[str, Any], text: str, language: str, expected: bool
) -> None:
    classifier = _relation_taxonomy(tmp_path, relation)
    assert ("demo" in _ids(classifier.classify(title=text, text="", language=language))) is expected


def test_relation_evidence_is_act_owner_and_target(tmp_path: Path) -> None:
    relation = {
        "act": ["hit"],
        "agent": ["alpha"],
        "target": ["gamma"],
        "needs": ["agent", "target"],
    }
    classifier = _relation_taxonomy(tmp_path, relation)
    (match,) = classifier.classify(title="Alpha hit Gamma", text="", language="en")
    assert match.evidence == ("alpha", "hit", "gamma")
    assert {"hit", "alpha", "gamma"} <= classifier.vocabulary("demo")


@pytest.mark.parametrize(
    ("exclude", "text", "expected"),
    [
        # extends: clause masks to the clause's end, not beyond the comma.
        ({"match": ["in response to"], "extends": "clause"}, "In response to zzz, talks", False),
        ({"match": ["in response to"], "extends": "clause"}, "In response to talks, zzz", True),
        # extends: sentence masks to the sentence's end.
        ({"match": ["warned"], "extends": "sentence"}, "Officials warned, then zzz", False),
        ({"match": ["warned"], "extends": "sentence"}, "Officials warned. Then zzz", True),
    ],
)
def test_exclude_extents(
    tmp_path: Path, exclude: dict[str, Any], text: str, expected: bool
) -> None:
    document = {
        "version": "1.1",
        "topics": [
            {
                "id": "demo",
                "description": "d",
                "threshold": 0.5,
                "languages": {"*": {"terms": [{"match": ["zzz"]}], "excludes": [exclude]}},
            }
        ],
    }
    classifier = TopicClassifier.from_file(_write(tmp_path, document))
    assert ("demo" in _ids(classifier.classify(title=text, text="", language="en"))) is expected


def test_longer_phrase_survives_an_exclude_inside_it(tmp_path: Path) -> None:
    document = _minimal()
    document["topics"][0]["languages"]["en"] = {
        "terms": [{"match": ["launched from gamma"]}],
        "excludes": [{"match": ["gamma"]}],
    }
    classifier = TopicClassifier.from_file(_write(tmp_path, document))
    assert _ids(classifier.classify(title="Launched from Gamma", text="", language="en")) == {
        "demo"
    }


@pytest.mark.parametrize(
    ("relation", "where", "reason"),
    [
        ({"act": ["hit"], "needs": ["agent"]}, "relations[0].needs", "needs agent"),
        ({"act": ["hit"], "needs": ["target"]}, "relations[0].needs", "needs target"),
        ({"act": ["hit"], "markers": ["on top"]}, "relations[0].markers", "not a single word"),
        ({"act": ["zzz top"]}, "relations[0].act", "would mask itself"),
        ({"act": ["hit"], "word_order": "osv"}, "relations[0].word_order", "is not one of"),
        ({"act": []}, "relations[0].act", ""),
    ],
)
def test_broken_relation_names_where(
    tmp_path: Path, relation: dict[str, Any], where: str, reason: str
) -> None:
    document = _minimal()
    document["version"] = "1.1"
    document["topics"][0]["languages"]["en"] = {
        "terms": [{"match": ["demo"]}],
        "relations": [relation],
        "excludes": [{"match": ["zzz top"]}],
    }
    with pytest.raises(TaxonomyError) as caught:
        TopicClassifier.from_file(_write(tmp_path, document))
    assert caught.value.where.startswith(f"topics[0] (demo).languages.en.{where}"), str(
        caught.value
    )
    assert reason in caught.value.reason


def test_relation_lists_may_nest_for_yaml_anchors(tmp_path: Path) -> None:
    text = (
        "version: '1.1'\ntopics:\n  - id: demo\n    description: d\n    threshold: 0.5\n"
        "    languages:\n      '*':\n        terms: [{match: [zzz]}]\n        relations:\n"
        "          - {act: [hit], agent: &good [alpha, delta], needs: [agent]}\n"
        "          - {act: [struck], agent: [*good, omega], needs: [agent]}\n"
    )
    classifier = TopicClassifier.from_file(_write(tmp_path, text))
    assert _ids(classifier.classify(title="Delta struck", text="", language="en")) == {"demo"}
    assert _ids(classifier.classify(title="Omega struck", text="", language="en")) == {"demo"}


def test_shipped_strike_directions_are_mirror_images(classifier: TopicClassifier) -> None:
    pairs = {
        "en": ("Israel struck Iran overnight", "Iran struck Israel overnight"),
        "ar": ("إسرائيل تضرب إيران", "إيران تضرب إسرائيل"),
        "fa": ("اسرائیل به ایران حمله کرد", "ایران به اسرائیل حمله کرد"),
        "ckb": ("ئیسرائیل هێرشی کردە سەر ئێران", "ئێران هێرشی کردە سەر ئیسرائیل"),
    }
    for language, (on_iran, by_iran) in pairs.items():
        assert _ids(classifier.classify(title=None, text=on_iran, language=language)) == {
            "strikes-on-iran"
        }, language
        assert _ids(classifier.classify(title=None, text=by_iran, language=language)) == {
            "iran-strikes"
        }, language


# ------------------------------------------------------------------ taxonomy validation


def _schema() -> dict[str, Any]:
    resource = importlib.resources.files("newswire.schemas").joinpath("taxonomy.v1.json")
    return json.loads(resource.read_text(encoding="utf-8"))


def test_schema_is_valid_draft_2020_12() -> None:
    jsonschema.Draft202012Validator.check_schema(_schema())


def test_shipped_taxonomy_validates_with_reference_validator() -> None:
    document = yaml.safe_load(SHIPPED.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(_schema()).validate(document)


def test_shipped_taxonomy_is_the_packaged_one() -> None:
    packaged = importlib.resources.files("newswire.enricher").joinpath("taxonomy.yaml")
    assert packaged.read_text(encoding="utf-8") == SHIPPED.read_text(encoding="utf-8")
    assert TopicClassifier.from_file(SHIPPED).topic_ids == (
        "iraq",
        "us-forces",
        "iran-strikes",
        "strikes-on-iran",
    )


def _minimal(**topic_overrides: Any) -> dict[str, Any]:
    topic = {
        "id": "demo",
        "description": "A demo topic.",
        "threshold": 0.5,
        "languages": {
            "en": {"terms": [{"match": ["demo"]}]},
            "*": {"terms": [{"match": ["demo"]}]},
        },
    }
    topic.update(topic_overrides)
    return {"version": "1.0", "topics": [topic]}


def _write(tmp_path: Path, document: Any) -> Path:
    path = tmp_path / "taxonomy.yaml"
    path.write_text(
        document if isinstance(document, str) else yaml.safe_dump(document, allow_unicode=True),
        encoding="utf-8",
    )
    return path


def test_minimal_taxonomy_loads(tmp_path: Path) -> None:
    classifier = TopicClassifier.from_file(_write(tmp_path, _minimal()))
    assert _ids(classifier.classify(title="Demo", text="A demo of demos.", language="en")) == {
        "demo"
    }


@pytest.mark.parametrize(
    ("mutate", "where", "reason"),
    [
        (
            lambda d: d["topics"][0]["languages"]["en"]["terms"][0].update(weight="heavy"),
            "topics[0] (demo).languages.en.terms[0].weight",
            "not of type",
        ),
        (
            lambda d: d["topics"][0]["languages"].pop("*"),
            "topics[0] (demo).languages",
            "is a required property",
        ),
        (lambda d: d["topics"][0].update(threshold=1.5), "topics[0] (demo).threshold", "1.5"),
        (lambda d: d["topics"][0].update(id="Not An Id"), "topics[0]", "does not match"),
        (
            lambda d: d["topics"].append(dict(d["topics"][0])),
            "topics[1] (demo).id",
            "duplicate topic id",
        ),
        (
            lambda d: d["topics"][0]["languages"]["en"].update(excludes=[{"match": ["Demo"]}]),
            "topics[0] (demo).languages.en.excludes[0]",
            "also a term",
        ),
        (
            lambda d: d["topics"][0]["languages"]["en"]["terms"].append({"match": ["DEMO"]}),
            "topics[0] (demo).languages.en.terms[1]",
            "count twice",
        ),
        (
            lambda d: d["topics"][0]["languages"]["en"]["terms"][0].update(match=["---"]),
            "topics[0] (demo).languages.en.terms[0]",
            "no word characters",
        ),
        (lambda d: d.update(version="2.0"), "version", "does not match"),
    ],
)
def test_broken_taxonomy_names_where(tmp_path: Path, mutate: Any, where: str, reason: str) -> None:
    document = _minimal()
    mutate(document)
    path = _write(tmp_path, document)
    with pytest.raises(TaxonomyError) as caught:
        TopicClassifier.from_file(path)
    error = caught.value
    assert isinstance(error, NewswireError)
    assert error.source == str(path)
    assert error.where.startswith(where), str(error)
    assert reason in error.reason, str(error)
    assert str(path) in str(error) and where in str(error)


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "version: '1.0'\ntopics: [\n  - id: x\n")
    with pytest.raises(TaxonomyError, match=r"line \d+, column \d+: not valid YAML"):
        TopicClassifier.from_file(path)


def test_duplicate_yaml_key_is_an_error(tmp_path: Path) -> None:
    text = (
        "version: '1.0'\ntopics:\n  - id: demo\n    description: d\n    threshold: 0.5\n"
        "    languages:\n      '*': {terms: [{match: [a]}]}\n      '*': {terms: [{match: [b]}]}\n"
    )
    with pytest.raises(TaxonomyError, match="duplicate key"):
        TopicClassifier.from_file(_write(tmp_path, text))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(TaxonomyError, match=r"\(file\): cannot read"):
        TopicClassifier.from_file(tmp_path / "absent.yaml")


# ------------------------------------------------------------------ properties

_ARABIC_TEXTS = [SEED.read_text(encoding="utf-8")] + [
    f"{c['title']}\n{c['text']}" for c in CASES if c["language"] in {"ar", "fa", "ckb"}
]
_ALL_CASES = [(c.get("title"), c["text"], c["language"]) for c in CASES] + [
    (None, SEED.read_text(encoding="utf-8"), "ar")
]
# Harakat, shadda, sukun, superscript alef; tatweel. Not hamza/madda above, which
# compose with the letter under NFKC and are letters, not decoration.
_DECORATIONS = [chr(c) for c in range(0x064B, 0x0653)] + ["\u0670", "\u0640"]


def _summary(matches: list[TopicMatch]) -> list[tuple[str, float, tuple[str, ...]]]:
    return [(m.id, m.score, m.evidence) for m in matches]


def _is_arabic_letter(ch: str) -> bool:
    return "\u0621" <= ch <= "\u064a" or "\u0671" <= ch <= "\u06d3"


@HYPOTHESIS
@given(data=st.data(), index=st.integers(0, len(_ARABIC_TEXTS) - 1))
def test_invariant_under_diacritics_and_tatweel(
    classifier: TopicClassifier, data: st.DataObject, index: int
) -> None:
    text = _ARABIC_TEXTS[index]
    language = (
        "ar"
        if index == 0
        else next(c["language"] for c in CASES if f"{c['title']}\n{c['text']}" == text)
    )
    decorated = "".join(
        ch + (data.draw(st.sampled_from(["", "", *_DECORATIONS])) if _is_arabic_letter(ch) else "")
        for ch in text
    )
    assert _summary(classifier.classify(title=None, text=decorated, language=language)) == _summary(
        classifier.classify(title=None, text=text, language=language)
    )


@HYPOTHESIS
@given(data=st.data(), index=st.integers(0, len(_ALL_CASES) - 1))
def test_invariant_under_whitespace(
    classifier: TopicClassifier, data: st.DataObject, index: int
) -> None:
    title, text, language = _ALL_CASES[index]
    space = st.sampled_from([" ", "  ", "\t", " \t ", "\u00a0", "\u2003"])
    respaced = "".join(data.draw(space) if ch == " " else ch for ch in text)
    padded = (
        data.draw(st.sampled_from(["", " ", "\n\n", "\t\n "]))
        + respaced
        + data.draw(st.sampled_from(["", " ", "\n", "\n\n  "]))
    )
    assert _summary(classifier.classify(title=title, text=padded, language=language)) == _summary(
        classifier.classify(title=title, text=text, language=language)
    )


_WORDS = st.sampled_from(
    [
        "العراق",
        "والعراق",
        "إيران",
        "ضربة",
        "الحرس",
        "الثوري",
        "القوات",
        "الأمريكية",
        "Iran",
        "strike",
        "US",
        "troops",
        "Isfahan",
        "in",
        "on",
        "ایران",
        "حمله",
        "ئێران",
        "هێرش",
        "بۆ",
        "سەر",
        ".",
        "،",
        "\n",
    ]
)


@HYPOTHESIS
@given(
    words=st.lists(_WORDS | st.text(max_size=8), max_size=60),
    language=st.sampled_from(["ar", "en", "fa", "ckb", "tr", "und", ""]),
)
def test_scores_and_evidence_are_well_formed(
    classifier: TopicClassifier, words: list[str], language: str
) -> None:
    text = " ".join(words)
    matches = classifier.classify(title=text[:40] or None, text=text, language=language)
    assert [m.score for m in matches] == sorted((m.score for m in matches), reverse=True)
    for match in matches:
        assert 0.0 <= match.score < 1.0
        assert match.evidence and set(match.evidence) <= classifier.vocabulary(match.id)


@settings(max_examples=300, deadline=None)
@given(text=st.text(), language=st.sampled_from(["ar", "en", "fa", "ckb", "*", "xx"]))
def test_tokeniser_never_fails(text: str, language: str) -> None:
    tokens = tokenise(text, language)
    assert all(token and not any(ch.isspace() for ch in token) for token in tokens)
    for token in tokens:
        assert token in candidate_forms(token, language)


@settings(max_examples=100, deadline=None)
@given(title=st.none() | st.text(max_size=30), text=st.text(), language=st.text(max_size=6))
def test_classify_never_fails(
    classifier: TopicClassifier, title: str | None, text: str, language: str
) -> None:
    for match in classifier.classify(title=title, text=text, language=language):
        assert match.score >= 0.0
