"""Topic classification from an operator-tuned taxonomy of weighted phrases.

The taxonomy (``taxonomy.yaml``, checked against ``schemas/taxonomy.v1.json``) lists per
topic and language weighted terms, co-occurrence groups, relations and exclusions.
Everything is compiled once into a dict from a phrase's first token to the phrases that
start with it, so classifying an article is one pass over its tokens with a few dict
look-ups per token, whatever the size of the taxonomy.

Matching works on a comparison form of the text (:func:`newswire.common.text.normalise_text`:
case, Arabic letter variants and heh shapes, diacritics, tatweel, ZWNJ, Arabic-Indic and
Persian digits, Turkish dotted I folded; here also invisible format characters, the Arabic
decimal and thousands separators and Turkish dotless i)
split into word tokens. A taxonomy token matches an article token if it equals the token
or the token with its allowed clitics stripped (Arabic و ف ب ل ك ال لل, pronoun suffixes
and plural/dual endings; Persian and Sorani plural, ezafe, pronoun and definite suffixes;
English plural and possessive). Stripping only ever adds candidate forms, so what an
operator writes always matches itself. ``a … b`` in a phrase allows up to
:data:`GAP_TOKENS` other words between its parts.

Relations (actor -> act -> target) attribute each act, e.g. a strike word, to the nearest
actor mention in its sentence (an "agent" of the topic or a "rival"); actor mentions right
after a target marker (على, on, به, بۆ سەر ...) or before an object marker (را) are
targets, not actors; "by" picks the owner; no link crosses a barrier word (condemned,
foiled); the relation's word order (svo, vso, sov) settles ties, objects and verb-final
subjects. An act counts for the topic when its owner is not a rival (an agent if asked)
and, if asked, a target is near. This is what keeps "Israel strikes Iran" out of
iran-strikes and "Iran strikes Israel" out of strikes-on-iran. See
:func:`_relation_totals`.

Scoring, in the units of the ``scoring`` section: each mention of a term entry (or event
of a relation) adds its weight times the zone weight (title > lead > body); the k-th
strongest mention of the same entry is multiplied by ``repeat_decay**k``, so repetition
adds less and less; exclude penalties are subtracted; ``score = 1 - exp(-raw /
saturation)``. With the shipped settings one body mention of a weight-1 term scores 0.22,
below every threshold: a passing mention never makes a topic. A text without a title
whose first paragraph is one short sentence (a headline, up to ``headline_chars``) is
scored as a title.
"""

# ruff: noqa: RUF001, RUF003 - Arabic-script letters are this module's subject matter.

from __future__ import annotations

import bisect
import functools
import importlib.resources
import json
import math
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path
from typing import Any

import jsonschema_rs
import yaml

from newswire.common.errors import NewswireError
from newswire.common.text import normalise_text

FALLBACK = "*"
_SHIPPED_TAXONOMY = "taxonomy.yaml"
_SCHEMA_FILE = "taxonomy.v1.json"


class TaxonomyError(NewswireError):
    """A taxonomy that cannot be used; says which file and where in it."""

    def __init__(self, source: str, where: str, reason: str) -> None:
        super().__init__(f"{source}: {where}: {reason}")
        self.source = source
        self.where = where
        self.reason = reason


@dataclass(frozen=True, slots=True)
class TopicMatch:
    """A topic assigned to an article, with the taxonomy phrases that made it."""

    id: str
    score: float
    evidence: tuple[str, ...]  # matched phrases as written in the taxonomy, strongest first

    def as_record(self) -> dict[str, object]:
        """One item of the enriched-article ``topics`` array."""
        return {"id": self.id, "score": self.score, "evidence": list(self.evidence)}


# --------------------------------------------------------------------------- tokens


class Zone(IntEnum):
    TITLE = 0
    LEAD = 1
    BODY = 2


@dataclass(slots=True)  # not frozen: built by the hundred per article, never shared
class Token:
    form: str  # normalised
    sentence: int  # running sentence number; phrases and relations stay inside one
    zone: Zone
    clause: int = 0  # running clause number (commas, colons, brackets also end one)


# A word, a sentence stop, or a clause break (a comma not inside a number like 1,300).
_WORD_OR_STOP = re.compile(r"\w+|[.!?؟۔](?=\s|$)|,(?!\d)|[،؛;:()\[\]—–]")
_STOPS = frozenset(".!?؟۔")
_BREAK = ""  # clause break marker in token streams; None marks a sentence end
_POSSESSIVE = re.compile(r"(?<=\w)['’ʼ]s\b")
_US_ABBREVIATION = re.compile(r"\bu\.\s?s\.(?:\s?a\.)?")
# Persian plural/ezafe suffixes that writers separate with a space instead of a ZWNJ.
_DETACHED_SUFFIXES = frozenset(normalise_text(s) for s in ("ها", "های", "هایی"))
# "a … b" / "a ... b" in a taxonomy phrase: up to GAP_TOKENS other words between a and b.
GAP_TOKENS = 4
_GAP = "\u2026"  # the token that stands for a gap inside a compiled phrase
_GAP_SPLIT = re.compile(r"\s*(?:\.\.\.|\u2026)\s*")


# Folded before :func:`normalise_text` (which already folds the heh shapes, deletes
# ZWNJ and the other zero-width marks, maps Arabic-Indic and Persian digits and repairs
# Turkish İ): the Arabic decimal/thousands separators, and invisible format characters
# that would otherwise split a word in two (zero-width space, soft hyphen, Arabic letter
# mark, word joiner).
_PREPARE_FOLDS = {
    "\u066b": ".",
    "\u066c": ",",
    "\u200b": "",
    "\u00ad": "",
    "\u061c": "",
    "\u2060": "",
}
# str.translate looks every character up in a dict; a regex finds the few that fold.
_PREPARE_PATTERN = re.compile("[" + "".join(_PREPARE_FOLDS) + "]")


def _comparison_form(text: str) -> str:
    text = normalise_text(_PREPARE_PATTERN.sub(lambda m: _PREPARE_FOLDS[m.group()], text))
    # Turkish dotless ı is the same letter for us (a writer may type «ırak» for «IRAK»).
    if "ı" in text:
        text = text.replace("ı", "i")
    if "u." in text:
        text = _US_ABBREVIATION.sub("us", text)  # "U.S." would otherwise be the tokens u, s
    if "'" in text or "’" in text or "ʼ" in text:
        text = _POSSESSIVE.sub("", text)
    return text


def _paragraph_tokens(paragraph: str, language: str) -> Iterator[str | None]:
    """Word tokens of one paragraph; None marks a sentence end, ``_BREAK`` a clause end."""
    return _form_tokens(_comparison_form(paragraph), language)


def _form_tokens(form: str, language: str) -> Iterator[str | None]:
    """Word tokens of a paragraph's comparison form (see :func:`_paragraph_tokens`)."""
    previous: str | None = None
    for match in _WORD_OR_STOP.finditer(form):
        word = match.group()
        if word[0] in _STOPS or not (word[0].isalnum() or word[0] == "_"):
            if previous is not None:
                yield previous
            yield None if word in _STOPS else _BREAK
            previous = None
        elif previous is not None and word in _DETACHED_SUFFIXES and language == "fa":
            previous += word  # «نیرو های» -> «نیروهای»
        else:
            if previous is not None:
                yield previous
            previous = word
    if previous is not None:
        yield previous


def tokenise(text: str, language: str = FALLBACK) -> list[str]:
    """The normalised word tokens of ``text`` as the classifier sees them."""
    return [
        word
        for paragraph in text.splitlines()
        for word in _paragraph_tokens(paragraph, language)
        if word  # neither a sentence end (None) nor a clause break ("")
    ]


def phrase_words(phrase: str, language: str) -> tuple[str, ...]:
    """A taxonomy phrase as compiled: its tokens, with ``_GAP`` where it says ``…``."""
    words: list[str] = []
    for i, part in enumerate(p for p in _GAP_SPLIT.split(phrase)):
        part_words = tokenise(part, language)
        if not part_words:
            continue
        if i and words:
            words.append(_GAP)
        words.extend(part_words)
    return tuple(words)


@dataclass(frozen=True, slots=True)
class _LeadPolicy:
    sentences: int
    chars: int
    headline_chars: int


# Stands for a line break while a whole text is normalised in one call: not a space
# (normalise_text would collapse it) and not a word character.
_PARAGRAPH = "\ue000"


def _comparison_paragraphs(text: str) -> list[str]:
    """The comparison forms of the text's lines, normalised in one call."""
    if _PARAGRAPH in text:
        text = text.replace(_PARAGRAPH, " ")
    joined = _PARAGRAPH.join(text.splitlines())
    return [p.strip() for p in _comparison_form(joined).split(_PARAGRAPH)]


def _untitled_headline(
    paragraphs: Sequence[str], language: str, lead: _LeadPolicy
) -> tuple[int, list[str | None]] | None:
    """Index and tokens of the first non-empty paragraph (comparison forms) if it reads
    as a headline: one sentence, at most ``headline_chars`` characters. Feeds often send
    a headline as the text."""
    for i, paragraph in enumerate(paragraphs):
        if not paragraph:
            continue
        if len(paragraph) > lead.headline_chars:
            return None
        items = list(_form_tokens(paragraph, language))
        end = len(items)
        while end and items[end - 1] is None:
            end -= 1
        return (i, items) if end and None not in items[:end] else None
    return None


def _document_tokens(title: str | None, text: str, language: str, lead: _LeadPolicy) -> list[Token]:
    """Title and text as one token list with sentence/clause numbers and zones.

    Paragraph breaks end sentences: headlines inside the body often carry no full
    stop. The lead is the first ``lead.sentences`` sentences of the text, cut at
    ``lead.chars`` characters of the comparison form. Without a title, a first
    paragraph that reads as a headline is the title.
    """
    tokens: list[Token] = []
    sentence = clause = 0
    paragraphs = _comparison_paragraphs(text)
    heading: Iterable[str | None] = ()
    if title and title.strip():
        heading = _paragraph_tokens(title.replace("\n", " "), language)
    elif lead.headline_chars and (head := _untitled_headline(paragraphs, language, lead)):
        index, heading = head
        paragraphs = paragraphs[index + 1 :]
    open_sentence = False
    for word in heading:
        if word:
            tokens.append(Token(word, sentence, Zone.TITLE, clause))
            open_sentence = True
        else:  # a clause break, or a sentence end (rare in a title)
            if word is None:
                sentence, open_sentence = sentence + open_sentence, False
            clause += 1
    sentence, clause = sentence + open_sentence, clause + 1
    text_start, chars, open_sentence = sentence, 0, False
    for paragraph in paragraphs:
        for word in _form_tokens(paragraph, language):
            if word is None:
                sentence, open_sentence = sentence + open_sentence, False
                clause += 1
                continue
            if word == _BREAK:
                clause += 1
                continue
            in_lead = sentence - text_start < lead.sentences and chars < lead.chars
            tokens.append(Token(word, sentence, Zone.LEAD if in_lead else Zone.BODY, clause))
            chars += len(word) + 1
            open_sentence = True
        sentence, open_sentence = sentence + open_sentence, False
        clause += 1
    return tokens


# ------------------------------------------------------------------ clitic stripping


def _norm_all(items: Iterable[str]) -> tuple[str, ...]:
    """Affixes in comparison form, longest first."""
    return tuple(sorted({normalise_text(s) for s in items}, key=len, reverse=True))


_AR_CONJUNCTIONS = ("", "و", "ف")
_AR_PREPOSITIONS = ("", "ب", "ل", "ك")
_AR_ARTICLE = "ال"
# Pronoun suffixes, then number endings (sound plurals, dual, feminine plural): two
# rounds reach «قواتها» -> «قوات» and «جنودهم», «أمريكيين» -> «أمريكي», «ضرباتها» -> «ضربات».
_AR_SUFFIXES = _norm_all(["ها", "هم", "هما", "كم", "نا", "ه", "هن", "ين", "ون", "ان", "ات"])
_FA_SUFFIXES = _norm_all(
    ["ها", "های", "هایی", "ی", "ای", "یی", "ش", "شان", "ان", "اش", "هایش", "هایشان", "یش"]
)
_CKB_PREFIXES = _norm_all(["لە", "بە"])
_CKB_SUFFIXES = _norm_all(
    [
        "ەکە",
        "ەکان",
        "ەکانی",
        "ەکەی",
        "کە",
        "کان",
        "کانی",
        "ان",
        "انی",
        "ی",
        "ەی",
        "یەک",
        "ێک",
        "ێکی",
        "دا",
        "ەوە",
        "وە",
        "ش",
        "یش",
        "ە",
        "یان",
        "مان",
        "تان",
        "یەکان",
        "ییەکان",
        "ییەکە",
        "ەکانیان",
        "ەکەیان",
    ]
)
_MIN_STEM = 3


@functools.cache
def _by_last_letter(suffixes: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    """Suffixes grouped by their last letter: a word is only tried against its own."""
    groups: dict[str, list[str]] = defaultdict(list)
    for suffix in suffixes:
        groups[suffix[-1]].append(suffix)
    return {letter: tuple(group) for letter, group in groups.items()}


def _strip_suffixes(forms: Iterable[str], suffixes: tuple[str, ...], rounds: int = 1) -> set[str]:
    out = set(forms)
    frontier = set(out)
    groups = _by_last_letter(suffixes)
    for _ in range(rounds):
        frontier = {
            form[: -len(s)]
            for form in frontier
            if form
            for s in groups.get(form[-1], ())
            if len(form) - len(s) >= _MIN_STEM and form.endswith(s)
        }
        out |= frontier
    return out


def _arabic_prefix_forms(token: str) -> set[str]:
    """The token without conjunction, preposition and article, in every combination.

    ``لل`` is ل plus the article with its alef dropped (للعراق = ل + العراق), so it
    yields both the bare stem and the stem with ال restored.
    """
    forms = {token}
    for conj in _AR_CONJUNCTIONS:
        if not token.startswith(conj):
            continue
        after_conj = token[len(conj) :]
        for prep in _AR_PREPOSITIONS:
            if not after_conj.startswith(prep):
                continue
            rest = after_conj[len(prep) :]
            forms.add(rest)
            if rest.startswith(_AR_ARTICLE):
                forms.add(rest[len(_AR_ARTICLE) :])
            if prep == "ل" and rest.startswith("ل"):
                forms.update((rest[1:], _AR_ARTICLE + rest[1:]))
    return {f for f in forms if len(f) >= _MIN_STEM or f == token}


@functools.lru_cache(maxsize=65536)
def _arabic_forms(token: str) -> frozenset[str]:
    return frozenset(_strip_suffixes(_arabic_prefix_forms(token), _AR_SUFFIXES, rounds=2))


@functools.lru_cache(maxsize=65536)
def _persian_forms(token: str) -> frozenset[str]:
    return frozenset(_strip_suffixes({token}, _FA_SUFFIXES))


@functools.lru_cache(maxsize=65536)
def _sorani_forms(token: str) -> frozenset[str]:
    prefixed = {token} | {
        token[len(p) :]
        for p in _CKB_PREFIXES
        if token.startswith(p) and len(token) - len(p) >= _MIN_STEM
    }
    return frozenset(_strip_suffixes(prefixed, _CKB_SUFFIXES, rounds=2))


@functools.lru_cache(maxsize=65536)
def _english_forms(token: str) -> frozenset[str]:
    """Plural -s/-es/-ies stripped; possessives are removed before tokenising."""
    forms = {token}
    if len(token) > 4 and token.endswith("ies"):
        forms.add(token[:-3] + "y")
    if len(token) > 3 and token.endswith("es"):
        forms.add(token[:-2])
    if len(token) > 3 and token.endswith("s") and not token.endswith("ss"):
        forms.add(token[:-1])
    return frozenset(forms)


def _is_arabic_script(token: str) -> bool:
    return "\u0600" <= token[0] <= "\u06ff" or "\u0750" <= token[0] <= "\u077f"


def _generic_forms(token: str) -> frozenset[str]:
    """For languages without their own rules: Arabic clitics on Arabic-script tokens,
    English plurals on Latin ones (good enough for names in French, Turkish, ...)."""
    if _is_arabic_script(token):
        return _arabic_forms(token)
    if token.isascii():
        return _english_forms(token)
    return frozenset((token,))


_FORMS: dict[str, Callable[[str], frozenset[str]]] = {
    "ar": _arabic_forms,
    "fa": _persian_forms,
    "ckb": _sorani_forms,
    "en": _english_forms,
}


def candidate_forms(token: str, language: str) -> frozenset[str]:
    """Every form a taxonomy token may take to match this (normalised) article token."""
    return _FORMS.get(language, _generic_forms)(token)


# ------------------------------------------------------------------ taxonomy model


@dataclass(frozen=True, slots=True)
class _Scoring:
    title_weight: float = 3.0
    lead_weight: float = 2.0
    body_weight: float = 1.0
    repeat_decay: float = 0.5
    saturation: float = 4.0
    lead_sentences: int = 2
    lead_chars: int = 300
    headline_chars: int = 0  # 0: a text without a title never counts as a headline

    def zone_weight(self, zone: Zone) -> float:
        return (self.title_weight, self.lead_weight, self.body_weight)[zone]


@dataclass(frozen=True, slots=True)
class _Term:
    phrases: tuple[str, ...]
    weight: float


@dataclass(frozen=True, slots=True)
class _Exclude:
    phrases: tuple[str, ...]
    penalty: float
    veto: bool
    extends: str = "phrase"  # "clause" / "sentence": mask up to the end of it


@dataclass(frozen=True, slots=True)
class _Relation:
    """actor -> act -> target: an act mention counts when its nearest actor mention (an
    agent or a rival) is an agent, and/or a target phrase is near, as ``needs`` says."""

    act: tuple[str, ...]
    agent: tuple[str, ...]
    rival: tuple[str, ...]
    target: tuple[str, ...]
    object_targets: tuple[str, ...]  # actors that are a target when they are the act's object
    markers: tuple[str, ...]  # single words: an actor right after one is a target
    object_markers: tuple[str, ...]  # single words: an actor right before one is a target
    source_markers: tuple[str, ...]  # single words: a target right after one is an origin
    agent_markers: tuple[str, ...]  # single words: an actor right after one owns the act (by)
    barriers: tuple[str, ...]  # single words an act-owner link cannot cross (condemned)
    word_order: str  # "svo" / "vso" / "sov" / "" (none): how actors attach, see _relation_totals
    marker_reach: int  # words allowed between a marker and the actor it marks
    object_marker_reach: int
    needs_agent: bool
    needs_target: bool
    within: int
    weight: float


@dataclass(frozen=True, slots=True)
class _Section:
    terms: tuple[_Term, ...]
    requires: tuple[tuple[str, ...], ...]
    excludes: tuple[_Exclude, ...]
    relations: tuple[_Relation, ...] = ()


@dataclass(frozen=True, slots=True)
class _Topic:
    id: str
    threshold: float
    within: int | None
    sections: Mapping[str, _Section]

    def section(self, language: str) -> _Section:
        return self.sections.get(language) or self.sections[FALLBACK]


# Roles a phrase plays in one topic.
_TERM, _GROUP, _EXCLUDE, _ACT, _AGENT, _RIVAL, _TARGET, _OBJECT = range(8)
# An Arabic token with the article (الهجوم, والهجوم, بالهجوم, للهجوم): a noun.
_AR_DEFINITE = re.compile(r"[وف]?(?:[بكل]?ال|لل)")
_RELATION_KINDS = {
    "act": _ACT,
    "agent": _AGENT,
    "rival": _RIVAL,
    "target": _TARGET,
    "object_targets": _OBJECT,
}


@dataclass(frozen=True, slots=True)
class _Role:
    topic: int
    kind: int  # _TERM / _GROUP / _EXCLUDE / _ACT / _AGENT / _RIVAL / _TARGET
    slot: int  # index of the term entry / group / exclude entry / relation
    phrase: str  # as written in the taxonomy
    order: int  # position of the phrase in its entry: earlier wins a tie for evidence


@dataclass(slots=True)  # not frozen: built by the hundred per article, never shared
class _Match:
    start: int
    end: int  # exclusive token index
    role: _Role
    gaps: tuple[tuple[int, int], ...] = ()  # token ranges skipped by "a … b"

    def words(self) -> Iterator[int]:
        """Token positions of the phrase's own words (not its gaps)."""
        for i in range(self.start, self.end):
            if not any(a <= i < b for a, b in self.gaps):
                yield i


# first token -> (phrase tokens, whether it has a gap, roles of that phrase)
_Index = dict[str, list[tuple[tuple[str, ...], bool, tuple[_Role, ...]]]]


@dataclass(frozen=True, slots=True)
class _Compiled:
    """One language's phrase index and, per (topic, relation), its marker word forms."""

    index: _Index
    markers: Mapping[tuple[int, int], tuple[frozenset[str], ...]]
    first_words: frozenset[str]  # the index's keys, for one set intersection per token


# ------------------------------------------------------------------ loading


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML loader that rejects repeated mapping keys instead of keeping the last one,
    so a topic with two ``ar:`` sections is an error and not half a topic."""


def _construct_unique_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            mark = key_node.start_mark
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", mark)
        seen.add(key)
    return loader.construct_mapping(node)


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_unique_mapping
)


def _parse_yaml(raw: str, source: str) -> Any:
    try:
        return yaml.load(raw, Loader=_UniqueKeyLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(document)"
        problem = getattr(exc, "problem", None) or str(exc)
        raise TaxonomyError(source, where, f"not valid YAML: {problem}") from exc


@functools.cache
def _schema_validator() -> Any:
    resource = importlib.resources.files("newswire.schemas").joinpath(_SCHEMA_FILE)
    return jsonschema_rs.validator_for(json.loads(resource.read_text(encoding="utf-8")))


def _describe_path(document: Any, path: Sequence[str | int]) -> str:
    """``topics[2] (iran-strikes).languages.ar.terms[0].weight`` for a JSON path."""
    if not path:
        return "(root)"
    parts: list[str] = []
    node = document
    for step in path:
        if isinstance(step, int):
            if parts:
                parts[-1] += f"[{step}]"
            else:
                parts.append(f"[{step}]")
        else:
            parts.append(str(step))
        try:
            node = node[step]
        except (KeyError, IndexError, TypeError):
            node = None
        if len(parts) == 1 and isinstance(step, int) and isinstance(node, dict) and "id" in node:
            parts[-1] += f" ({node['id']})"
    return ".".join(parts)


def _validate_schema(document: Any, source: str) -> None:
    errors = list(_schema_validator().iter_errors(document))
    if not errors:
        return
    error = min(errors, key=lambda e: len(list(e.instance_path)))
    where = _describe_path(document, list(error.instance_path))
    more = f" (and {len(errors) - 1} more problems)" if len(errors) > 1 else ""
    raise TaxonomyError(source, where, f"{error.message}{more}")


def _flat(items: Iterable[str | Sequence[str]]) -> tuple[str, ...]:
    """Phrases, or lists of phrases (YAML anchors), as one tuple without repeats."""
    out = (item for x in items for item in ((x,) if isinstance(x, str) else x))
    return tuple(dict.fromkeys(out))


def _build_relation(raw: Mapping[str, Any]) -> _Relation:
    needs = set(raw.get("needs", ()))
    return _Relation(
        act=_flat(raw["act"]),
        agent=_flat(raw.get("agent", ())),
        rival=_flat(raw.get("rival", ())),
        target=_flat(raw.get("target", ())),
        object_targets=_flat(raw.get("object_targets", ())),
        markers=_flat(raw.get("markers", ())),
        object_markers=_flat(raw.get("object_markers", ())),
        source_markers=_flat(raw.get("source_markers", ())),
        agent_markers=_flat(raw.get("agent_markers", ())),
        barriers=_flat(raw.get("barriers", ())),
        word_order=str(raw.get("word_order", "")),
        marker_reach=int(raw.get("marker_reach", 2)),
        object_marker_reach=int(raw.get("object_marker_reach", 1)),
        needs_agent="agent" in needs,
        needs_target="target" in needs,
        within=int(raw.get("within", 6)),
        weight=float(raw.get("weight", 1.0)),
    )


def _build_section(raw: Mapping[str, Any]) -> _Section:
    return _Section(
        terms=tuple(_Term(tuple(t["match"]), float(t.get("weight", 1.0))) for t in raw["terms"]),
        requires=tuple(tuple(group) for group in raw.get("requires", ())),
        excludes=tuple(
            _Exclude(
                tuple(e["match"]),
                float(e.get("penalty", 0.0)),
                bool(e.get("veto", False)),
                e.get("extends", "phrase"),
            )
            for e in raw.get("excludes", ())
        ),
        relations=tuple(_build_relation(r) for r in raw.get("relations", ())),
    )


def _phrase_key(phrase: str, language: str, source: str, where: str) -> str:
    words = phrase_words(phrase, language)
    if not words:
        raise TaxonomyError(source, where, f"{phrase!r} has no word characters")
    return " ".join(words)


def _check_relation(
    relation: _Relation, language: str, where: str, source: str, excluded: Mapping[str, int]
) -> None:
    """Every phrase has words; no act/actor/target phrase is also an exclude (it would
    mask itself); needs names lists that exist; markers are single words."""
    for name in ("act", "agent", "rival", "target", "object_targets"):
        for phrase in getattr(relation, name):
            key = _phrase_key(phrase, language, source, f"{where}.{name}")
            if key in excluded:
                reason = (
                    f"{phrase!r} is also an exclude (excludes[{excluded[key]}]): "
                    "it would mask itself"
                )
                raise TaxonomyError(source, f"{where}.{name}", reason)
    for name in ("markers", "object_markers", "source_markers", "agent_markers", "barriers"):
        for phrase in getattr(relation, name):
            if len(_phrase_key(phrase, language, source, f"{where}.{name}").split()) != 1:
                raise TaxonomyError(source, f"{where}.{name}", f"{phrase!r} is not a single word")
    if relation.needs_agent and not relation.agent:
        raise TaxonomyError(source, f"{where}.needs", "needs agent but the relation has no agent")
    if relation.needs_target and not (relation.target or relation.object_targets):
        raise TaxonomyError(source, f"{where}.needs", "needs target but the relation has no target")


def _check_section(section: _Section, language: str, where: str, source: str) -> None:
    """Semantic rules the schema cannot express, each a likely operator mistake: a
    phrase with no words, the same phrase in two term entries (counted twice), a
    phrase that is both a term and an exclude (it would mask itself)."""
    term_slot: dict[str, int] = {}
    for i, term in enumerate(section.terms):
        for phrase in term.phrases:
            key = _phrase_key(phrase, language, source, f"{where}.terms[{i}]")
            if key in term_slot:
                reason = f"{phrase!r} is already in terms[{term_slot[key]}]: it would count twice"
                raise TaxonomyError(source, f"{where}.terms[{i}]", reason)
            term_slot[key] = i
    excluded: dict[str, int] = {}
    for i, exclude in enumerate(section.excludes):
        for phrase in exclude.phrases:
            key = _phrase_key(phrase, language, source, f"{where}.excludes[{i}]")
            if key in term_slot:
                reason = (
                    f"{phrase!r} is also a term (terms[{term_slot[key]}]): it would mask itself"
                )
                raise TaxonomyError(source, f"{where}.excludes[{i}]", reason)
            excluded.setdefault(key, i)
    for i, group in enumerate(section.requires):
        for phrase in group:
            _phrase_key(phrase, language, source, f"{where}.requires[{i}]")
    for i, relation in enumerate(section.relations):
        _check_relation(relation, language, f"{where}.relations[{i}]", source, excluded)


def _build_topics(document: Mapping[str, Any], source: str) -> tuple[_Topic, ...]:
    topics: list[_Topic] = []
    seen: set[str] = set()
    for i, raw in enumerate(document["topics"]):
        where = f"topics[{i}] ({raw['id']})"
        if raw["id"] in seen:
            raise TaxonomyError(source, f"{where}.id", f"duplicate topic id {raw['id']!r}")
        seen.add(raw["id"])
        sections = {}
        for language, raw_section in raw["languages"].items():
            section = _build_section(raw_section)
            _check_section(section, language, f"{where}.languages.{language}", source)
            sections[language] = section
        topics.append(
            _Topic(raw["id"], float(raw["threshold"]), raw.get("requires_within"), sections)
        )
    return tuple(topics)


# ------------------------------------------------------------------ classifier


class TopicClassifier:
    """Assigns taxonomy topics to articles. Build once (``from_file``), share freely.

    The phrase index is compiled per article language: the same phrase tokenises
    differently in Persian (detached suffixes join) than elsewhere. Languages without a section of
    their own and without morphology rules share the ``*`` index, so the number of
    compiled indexes stays bounded whatever language tags the feeds send.
    """

    def __init__(self, topics: Sequence[_Topic], scoring: _Scoring, source: str) -> None:
        self._topics = tuple(topics)
        self._scoring = scoring
        self._lead = _LeadPolicy(scoring.lead_sentences, scoring.lead_chars, scoring.headline_chars)
        self.source = source
        self._own_languages = frozenset(
            language for topic in self._topics for language in topic.sections
        ) | frozenset(_FORMS)
        self._compiled = {
            language: _compile(self._topics, language) for language in self._own_languages
        }

    @classmethod
    def from_file(cls, path: Path | None = None) -> TopicClassifier:
        """Load, validate and compile a taxonomy; None loads the shipped one.

        Raises :class:`TaxonomyError` naming the file and the place in it that is wrong.
        """
        source, raw = cls._read(path)
        document = _parse_yaml(raw, source)
        _validate_schema(document, source)
        topics = _build_topics(document, source)
        return cls(topics, _Scoring(**document.get("scoring", {})), source)

    @staticmethod
    def _read(path: Path | None) -> tuple[str, str]:
        if path is None:
            resource = importlib.resources.files("newswire.enricher").joinpath(_SHIPPED_TAXONOMY)
            return f"newswire.enricher/{_SHIPPED_TAXONOMY}", resource.read_text(encoding="utf-8")
        try:
            return str(path), Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise TaxonomyError(str(path), "(file)", f"cannot read: {exc}") from exc

    @property
    def topic_ids(self) -> tuple[str, ...]:
        return tuple(t.id for t in self._topics)

    def vocabulary(self, topic_id: str | None = None) -> frozenset[str]:
        """Every weighted term phrase and every act, agent and target phrase of a
        relation, as written: the only strings evidence can contain."""
        return frozenset(
            phrase
            for topic in self._topics
            if topic_id is None or topic.id == topic_id
            for section in topic.sections.values()
            for phrases in (
                *(term.phrases for term in section.terms),
                *(r.act + r.agent + r.target + r.object_targets for r in section.relations),
            )
            for phrase in phrases
        )

    def classify(self, *, title: str | None, text: str, language: str) -> list[TopicMatch]:
        """Topics whose score reaches their threshold, best first."""
        language = self._effective_language(language)
        tokens = _document_tokens(title, text, language, self._lead)
        compiled = self._compiled[language]
        forms = [candidate_forms(t.form, language) for t in tokens]
        by_topic: dict[int, list[_Match]] = defaultdict(list)
        barrier_positions: dict[frozenset[str], list[int]] = {}
        for match in _find_matches(tokens, forms, compiled):
            by_topic[match.role.topic].append(match)
        results = []
        for i, topic in enumerate(self._topics):
            if i not in by_topic:
                continue
            section = topic.section(language)
            context = _Context(tokens, forms, compiled, i, self._scoring, barrier_positions)
            result = _score_topic(topic, section, by_topic[i], context)
            if result is not None:
                results.append(result)
        return sorted(results, key=lambda m: (-m.score, m.id))

    def _effective_language(self, language: str) -> str:
        """``ar-IQ`` -> ``ar``; a language with no section and no rules of its own -> ``*``."""
        primary = re.split(r"[-_]", (language or "").strip().casefold(), maxsplit=1)[0]
        return primary if primary in self._own_languages else FALLBACK


def _section_roles(topic_index: int, section: _Section) -> Iterator[tuple[str, _Role]]:
    for slot, term in enumerate(section.terms):
        for order, phrase in enumerate(term.phrases):
            yield phrase, _Role(topic_index, _TERM, slot, phrase, order)
    for slot, group in enumerate(section.requires):
        for order, phrase in enumerate(group):
            yield phrase, _Role(topic_index, _GROUP, slot, phrase, order)
    for slot, exclude in enumerate(section.excludes):
        for order, phrase in enumerate(exclude.phrases):
            yield phrase, _Role(topic_index, _EXCLUDE, slot, phrase, order)
    for slot, relation in enumerate(section.relations):
        for name, kind in _RELATION_KINDS.items():
            for order, phrase in enumerate(getattr(relation, name)):
                yield phrase, _Role(topic_index, kind, slot, phrase, order)


def _compile(topics: Sequence[_Topic], language: str) -> _Compiled:
    """first token -> phrases starting with it (one entry per distinct token sequence),
    and the marker words of every relation."""
    roles: dict[tuple[str, ...], list[_Role]] = defaultdict(list)
    markers: dict[tuple[int, int], tuple[frozenset[str], ...]] = {}
    for i, topic in enumerate(topics):
        section = topic.section(language)
        for phrase, role in _section_roles(i, section):
            words = phrase_words(phrase, language)
            if words:  # checked at load for the section's language; guard the others
                roles[words].append(role)
        for slot, relation in enumerate(section.relations):
            markers[i, slot] = tuple(
                frozenset(w for m in words for w in tokenise(m, language))
                for words in (
                    relation.markers,
                    relation.object_markers,
                    relation.source_markers,
                    relation.agent_markers,
                    relation.barriers,
                )
            )
    index: _Index = defaultdict(list)
    for words, phrase_roles in roles.items():
        index[words[0]].append((words, _GAP in words, tuple(phrase_roles)))
    return _Compiled(dict(index), markers, frozenset(index))


def _match_end(
    words: tuple[str, ...],
    k: int,
    pos: int,
    tokens: Sequence[Token],
    forms: Sequence[frozenset[str]],
) -> tuple[int, tuple[tuple[int, int], ...]] | None:
    """End (exclusive) and skipped ranges of the phrase whose words[k:] start at token
    ``pos``, or None. A gap skips up to GAP_TOKENS tokens, shortest first; all inside
    one sentence."""
    sentence = tokens[pos - 1].sentence if pos else tokens[0].sentence
    while k < len(words):
        if words[k] == _GAP:
            for skip in range(GAP_TOKENS + 1):
                at = pos + skip
                if at >= len(tokens) or tokens[at].sentence != sentence:
                    return None
                if words[k + 1] in forms[at]:
                    found = _match_end(words, k + 2, at + 1, tokens, forms)
                    if found is not None:
                        end, gaps = found
                        return end, ((pos, at), *gaps) if skip else gaps
            return None
        if pos >= len(tokens) or tokens[pos].sentence != sentence or words[k] not in forms[pos]:
            return None
        k, pos = k + 1, pos + 1
    return pos, ()


_NO_GAPS: tuple[tuple[int, int], ...] = ()


def _find_matches(
    tokens: Sequence[Token], forms: Sequence[frozenset[str]], compiled: _Compiled
) -> list[_Match]:
    """Every phrase occurrence: per token its candidate forms are looked up in the index,
    then the rest of the phrase is checked token by token inside the same sentence."""
    index, first_words, n = compiled.index, compiled.first_words, len(tokens)
    found: list[_Match] = []
    for start, token_forms in enumerate(forms):
        hits = token_forms & first_words
        if not hits:
            continue
        sentence = tokens[start].sentence
        for form in hits:
            for words, gapped, roles in index[form]:
                end, gaps = start + len(words), _NO_GAPS
                if gapped:
                    matched = _match_end(words, 1, start + 1, tokens, forms)
                    if matched is None:
                        continue
                    end, gaps = matched
                elif end > n or tokens[end - 1].sentence != sentence:
                    continue
                elif end - start > 1 and not all(
                    words[k] in forms[start + k] for k in range(1, end - start)
                ):
                    continue
                found.extend(_Match(start, end, role, gaps) for role in roles)
    return found


# ------------------------------------------------------------------ scoring


@dataclass(frozen=True, slots=True)
class _Context:
    """What scoring one topic of one article needs besides its matches."""

    tokens: Sequence[Token]
    forms: Sequence[frozenset[str]]
    compiled: _Compiled
    topic: int
    scoring: _Scoring
    # Per article, shared by its topics: sorted token positions of each barrier word set.
    barrier_positions: dict[frozenset[str], list[int]]


def _overlaps(a: _Match, spans: Sequence[tuple[int, int]]) -> bool:
    for start, end in spans:
        if a.start < end and start < a.end:
            return True
    return False


def _gap(a: _Match, b: _Match) -> int:
    """Tokens strictly between two spans (0 if they touch or overlap)."""
    return max(0, b.start - a.end, a.start - b.end)


def _near_all_groups(
    match: _Match, groups: Sequence[Sequence[_Match]], within: int, tokens: Sequence[Token]
) -> bool:
    sentence = tokens[match.start].sentence
    return all(
        any(tokens[g.start].sentence == sentence and _gap(match, g) <= within for g in group)
        for group in groups
    )


def _diminishing_sum(values: Iterable[float], decay: float) -> float:
    return sum(v * decay**k for k, v in enumerate(sorted(values, reverse=True)))


def _one_per_span(matches: Iterable[_Match]) -> list[_Match]:
    """Where several phrases of one entry cover the same words (العراق and عراق,
    سپاه پاسداران and پاسداران), keep one mention: longest phrase first, then the
    phrase listed first in the entry."""
    kept: list[_Match] = []
    taken: set[int] = set()
    for m in sorted(matches, key=lambda m: (m.start - m.end, m.role.order, m.start)):
        span = range(m.start, m.end)
        if taken.isdisjoint(span):
            kept.append(m)
            taken.update(span)
    return kept


def _extent_end(tokens: Sequence[Token], start: int, unit: str) -> int:
    """End of the clause or sentence that token ``start`` is in."""
    key = (lambda t: t.clause) if unit == "clause" else (lambda t: t.sentence)
    value, end = key(tokens[start]), start
    while end < len(tokens) and key(tokens[end]) == value:
        end += 1
    return end


def _mask_spans(
    section: _Section, excludes: Sequence[_Match], tokens: Sequence[Token]
) -> list[tuple[int, int]]:
    """Excluded phrases; ``extends: clause|sentence`` masks to the end of that unit."""
    spans = []
    for m in excludes:
        unit = section.excludes[m.role.slot].extends
        spans.append((m.start, m.end if unit == "phrase" else _extent_end(tokens, m.start, unit)))
    return spans


def _survives(
    m: _Match,
    excludes: Sequence[_Match],
    masked: Sequence[tuple[int, int]],
    masked_tokens: frozenset[int],
) -> bool:
    """Not inside any masked span -- unless the match is a longer phrase that contains
    the excluded phrase itself: «من الأراضي الإيرانية» (an origin) outlives the exclude
    «الأراضي الإيرانية» (a target), as the longest phrase wins everywhere else."""
    if masked_tokens.isdisjoint(range(m.start, m.end)):
        return True
    for x, (start, end) in zip(excludes, masked, strict=True):
        if m.start < end and start < m.end:
            if m.start <= x.start and x.end <= m.end and m.end - m.start > x.end - x.start:
                continue
            return False
    return True


def _score_topic(
    topic: _Topic, section: _Section, matches: Sequence[_Match], context: _Context
) -> TopicMatch | None:
    """Mask excluded spans, apply the co-occurrence gate, add up weighted mentions and
    relation events."""
    tokens, scoring = context.tokens, context.scoring
    excludes = [m for m in matches if m.role.kind == _EXCLUDE]
    if any(section.excludes[m.role.slot].veto for m in excludes):
        return None
    masked = _mask_spans(section, excludes, tokens)
    masked_tokens = frozenset().union(*(range(start, end) for start, end in masked))
    live = [
        m
        for m in matches
        if m.role.kind != _EXCLUDE and _survives(m, excludes, masked, masked_tokens)
    ]
    groups: list[list[_Match]] = [[] for _ in section.requires]
    for m in live:
        if m.role.kind == _GROUP:
            groups[m.role.slot].append(m)
    if any(not group for group in groups):
        return None
    terms = [m for m in live if m.role.kind == _TERM]
    if topic.within is not None and groups:
        terms = [m for m in terms if _near_all_groups(m, groups, topic.within, tokens)]
    per_entry: dict[int, list[_Match]] = defaultdict(list)
    for m in terms:
        per_entry[m.role.slot].append(m)
    totals = _term_totals(section, per_entry, tokens, scoring)
    if section.relations:
        totals.extend(_relation_totals(section, live, masked, context))
    totals.sort(key=lambda item: (-item[0], item[1]))
    evidence = tuple(dict.fromkeys(p for _, _, phrases in totals for p in phrases))
    raw = sum(total for total, _, _ in totals) - _penalties(section, excludes, tokens, scoring)
    score = round(1.0 - math.exp(-max(raw, 0.0) / scoring.saturation), 4)
    if score < topic.threshold or not evidence:
        return None
    return TopicMatch(topic.id, score, evidence)


# (total, sort key, evidence phrases in text order)
_Total = tuple[float, int, list[str]]


def _term_totals(
    section: _Section,
    per_entry: Mapping[int, list[_Match]],
    tokens: Sequence[Token],
    scoring: _Scoring,
) -> list[_Total]:
    """Per term entry: its diminishing sum of weighted mentions, and their phrases."""
    totals: list[_Total] = []
    for slot, entry_matches in per_entry.items():
        mentions = _one_per_span(entry_matches)
        weight = section.terms[slot].weight
        total = _diminishing_sum(
            (weight * scoring.zone_weight(tokens[m.start].zone) for m in mentions),
            scoring.repeat_decay,
        )
        phrases = [m.role.phrase for m in sorted(mentions, key=lambda m: m.start)]
        totals.append((total, slot, phrases))
    return totals


def _marker_before(
    m: _Match, words: frozenset[str], reach: int, blocked: frozenset[int], context: _Context
) -> frozenset[str]:
    """The marker words among ``words`` found within ``reach`` words before the mention,
    in its clause, scanning back until an act or an excluded span (``blocked``)."""
    tokens, forms = context.tokens, context.forms
    clause = tokens[m.start].clause
    for i in range(m.start - 1, max(m.start - 2 - reach, -1), -1):
        if tokens[i].clause != clause or i in blocked:
            break
        found = forms[i] & words
        if found:
            return found
    return frozenset()


def _marker_after(
    m: _Match, words: frozenset[str], reach: int, blocked: frozenset[int], context: _Context
) -> bool:
    """An (object) marker within ``reach`` words after the mention, in its clause."""
    tokens, forms = context.tokens, context.forms
    clause = tokens[m.start].clause
    for i in range(m.end, min(m.end + 1 + reach, len(tokens))):
        if tokens[i].clause != clause or i in blocked:
            return False
        if forms[i] & words:
            return True
    return False


def _right_after_act(
    m: _Match, act_ends: frozenset[int], reach: int, tokens: Sequence[Token]
) -> bool:
    """The mention follows an act within ``reach`` words, in one clause: its object."""
    clause = tokens[m.start].clause
    for end in range(m.start, max(m.start - 1 - reach, 0), -1):
        if tokens[end - 1].clause != clause:
            return False
        if end in act_ends:
            return True
    return False


def _relation_totals(
    section: _Section, live: Sequence[_Match], masked: Sequence[tuple[int, int]], context: _Context
) -> list[_Total]:
    """Per relation: the diminishing sum of its events' weights, and their phrases.

    An event is an act mention whose owner -- the nearest actor mention (agent or rival)
    within ``within`` tokens in its sentence -- is not a rival, is an agent if the
    relation needs one, and has a target phrase within ``within`` tokens if the
    relation needs one (a target phrase, or an ``object_targets`` mention that is the
    act's object, see :func:`_object_of`). Actor mentions inside a target phrase or
    marked as targets are
    not actors; an actor right after an agent marker ("by") owns the act before it;
    targets right after a source marker (from, من, از) are origins, not targets; no
    link crosses a barrier word (condemned, foiled). ``word_order`` says how actors
    attach (without one, ties go to the earlier actor and nothing else applies):

    * svo (English): an actor right after an act is its object ("Iran hit Jaish
      al-Adl bases"); on a tie the earlier actor (the subject) wins.
    * vso (Arabic): the subject may follow the verb («ضربت إيران»); on a tie the earlier
      actor wins («إسرائيل تضرب إيران») except after a definite noun, whose actor
      follows it («أدان العراق الهجوم الإيراني»).
    * sov (Persian, Sorani): on a tie the later actor wins (ezafe/genitive: «حمله
      اسرائیل», «هێرشی ئیسرائیلی»); with no actor near, the sentence's first actor
      before a verb-final act owns it (a long object between); a barrier after the act
      in its clause makes the actors before it that verb's subjects.
    """
    tokens, scoring = context.tokens, context.scoring
    by_kind: dict[tuple[int, int], list[_Match]] = defaultdict(list)
    for m in live:
        if m.role.kind >= _ACT:
            by_kind[m.role.slot, m.role.kind].append(m)
    totals: list[_Total] = []
    for slot, relation in enumerate(section.relations):
        acts = by_kind.get((slot, _ACT))
        agents = by_kind.get((slot, _AGENT))
        raw_targets = by_kind.get((slot, _TARGET))
        raw_objects = by_kind.get((slot, _OBJECT))
        if (
            not acts
            or (relation.needs_agent and not agents)
            or (relation.needs_target and not raw_targets and not raw_objects)
        ):
            continue
        acts = _one_per_span(acts)
        act_sentences = {tokens[m.start].sentence for m in acts}
        before, after, source, by, barrier_words = context.compiled.markers[context.topic, slot]
        # Marker scans stop at an act («سپاه این حملات را»: را marks the attacks, not
        # the IRGC) and ignore marker words inside excluded spans («به گفته سپاه»).
        blocked = frozenset(i for m in acts for i in m.words()).union(
            *(range(start, end) for start, end in masked)
        )
        targets: dict[int, list[_Match]] = defaultdict(list)  # by sentence
        for t in _one_per_span(raw_targets or ()):
            if tokens[t.start].sentence in act_sentences and not (
                source and _marker_before(t, source, relation.marker_reach, blocked, context)
            ):
                targets[tokens[t.start].sentence].append(t)
        objects: dict[int, list[tuple[_Match, bool]]] = defaultdict(list)  # (mention, marked)
        for o in raw_objects or ():
            if tokens[o.start].sentence in act_sentences:
                marked = bool(
                    _marker_before(o, before, relation.marker_reach, blocked, context)
                ) or (
                    bool(after)
                    and _marker_after(o, after, relation.object_marker_reach, blocked, context)
                )
                objects[tokens[o.start].sentence].append((o, marked))
        if relation.needs_target and not targets and not objects:
            continue
        target_spans = [(t.start, t.end) for ts in targets.values() for t in ts]
        act_ends = frozenset(m.end for m in acts) if relation.word_order == "svo" else frozenset()
        before_or_by = before | by
        actors: dict[int, list[_Match]] = defaultdict(list)  # by sentence
        by_agent: set[int] = set()  # actors introduced by an agent marker ("by Iran")
        for m in _one_per_span((agents or []) + by_kind.get((slot, _RIVAL), [])):
            if tokens[m.start].sentence not in act_sentences or _overlaps(m, target_spans):
                continue
            marker = _marker_before(m, before_or_by, relation.marker_reach, blocked, context)
            if marker & by:
                by_agent.add(m.start)
            elif (
                marker
                or (
                    after
                    and _marker_after(m, after, relation.object_marker_reach, blocked, context)
                )
                or (act_ends and _right_after_act(m, act_ends, relation.marker_reach, tokens))
            ):
                continue
            actors[tokens[m.start].sentence].append(m)
        barriers = _barrier_positions(barrier_words, context) if barrier_words else None
        values: list[float] = []
        phrases: list[tuple[int, str]] = []
        for act in acts:
            sentence = tokens[act.start].sentence
            candidates = actors.get(sentence, [])
            if barriers and candidates:
                candidates = _across_no_barrier(act, candidates, barriers, relation, tokens)
            owner = _owner(act, candidates, by_agent, relation, context)
            if owner is not None and owner.role.kind == _RIVAL:
                continue
            if relation.needs_agent and owner is None:
                continue
            target = min(
                (t for t in targets.get(sentence, ()) if _gap(act, t) <= relation.within),
                key=lambda t: _gap(act, t),
                default=None,
            )
            if target is None and objects:
                target = _object_of(act, owner, objects.get(sentence, ()), relation)
            if relation.needs_target and target is None:
                continue
            values.append(relation.weight * scoring.zone_weight(tokens[act.start].zone))
            phrases.extend((m.start, m.role.phrase) for m in (act, owner, target) if m is not None)
        if values:
            total = _diminishing_sum(values, scoring.repeat_decay)
            totals.append((total, len(section.terms) + slot, [p for _, p in sorted(phrases)]))
    return totals


def _object_of(
    act: _Match,
    owner: _Match | None,
    objects: Iterable[tuple[_Match, bool]],
    relation: _Relation,
) -> _Match | None:
    """An object-target mention that is the act's object: marked as a target within
    ``within`` tokens («على إيران», «به ایران»); in svo right after the act ("struck
    Iran"); in vso right after the act when its owner comes first («إسرائيل تضرب
    إيران»; in «ضربت إيران أهدافا» Iran is the subject)."""
    for o, marked in objects:
        if o.start < act.end and act.start < o.end:
            continue
        if marked and _gap(act, o) <= relation.within:
            return o
        if relation.word_order == "svo" and act.end <= o.start <= act.end + 1:
            return o
        if (
            relation.word_order == "vso"
            and o.start == act.end
            and owner is not None
            and owner.end <= act.start
        ):
            return o
    return None


def _owner(
    act: _Match,
    actors: Sequence[_Match],
    by_agent: set[int],
    relation: _Relation,
    context: _Context,
) -> _Match | None:
    """The nearest actor within ``within`` tokens (the sentence's actors); one after an
    agent marker behind the act wins outright; in verb-final word order with none near,
    the sentence's first actor before the act (a verb-final sentence's subject, with a
    long object in between). Ties: see :func:`_relation_totals`."""
    near = [m for m in actors if _gap(act, m) <= relation.within]
    marked = [m for m in near if m.start in by_agent and m.start >= act.end]
    if marked:
        near = marked
    if not near:
        if relation.word_order == "sov":
            return min(
                (m for m in actors if m.end <= act.start), key=lambda m: m.start, default=None
            )
        return None
    if relation.word_order == "sov":
        later_wins = True
    elif relation.word_order == "vso":
        later_wins = bool(_AR_DEFINITE.match(context.tokens[act.start].form))
    else:
        later_wins = False
    return min(near, key=lambda m: (_gap(act, m), (m.start < act.start) == later_wins))


def _barrier_positions(words: frozenset[str], context: _Context) -> list[int]:
    """Sorted positions of the article's tokens that are barrier words (cached per
    article: the topics of one language share their barrier lists)."""
    positions = context.barrier_positions.get(words)
    if positions is None:
        positions = [i for i, f in enumerate(context.forms) if f & words]
        context.barrier_positions[words] = positions
    return positions


def _any_between(positions: list[int], start: int, end: int) -> bool:
    return bisect.bisect_left(positions, start) < bisect.bisect_left(positions, end)


def _across_no_barrier(
    act: _Match,
    actors: Sequence[_Match],
    barriers: list[int],
    relation: _Relation,
    tokens: Sequence[Token],
) -> list[_Match]:
    """Actors whose link to the act crosses no barrier word («إيران تعلن إحباط هجوم»:
    Iran foiled the attack). Verb-final: a barrier after the act in its clause is the
    verb of the actors before the act («ایران حمله ... را محکوم کرد»)."""
    if relation.word_order == "sov":
        clause_end = act.end
        while clause_end < len(tokens) and tokens[clause_end].clause == tokens[act.start].clause:
            clause_end += 1
        if _any_between(barriers, act.end, clause_end):
            actors = [m for m in actors if m.start >= act.end]
    return [
        m
        for m in actors
        if not (
            _any_between(barriers, m.end, act.start)
            if m.end <= act.start
            else _any_between(barriers, act.end, m.start)
        )
    ]


def _penalties(
    section: _Section, excludes: Sequence[_Match], tokens: Sequence[Token], scoring: _Scoring
) -> float:
    per_entry: dict[int, list[_Match]] = defaultdict(list)
    for m in excludes:
        if section.excludes[m.role.slot].penalty > 0:
            per_entry[m.role.slot].append(m)
    return sum(
        _diminishing_sum(
            (
                section.excludes[slot].penalty * scoring.zone_weight(tokens[m.start].zone)
                for m in _one_per_span(ms)
            ),
            scoring.repeat_decay,
        )
        for slot, ms in per_entry.items()
    )
