"""Topic classification from an operator-tuned taxonomy of weighted phrases.

The taxonomy (``taxonomy.yaml``, checked against ``schemas/taxonomy.v1.json``) lists per
topic and language weighted terms, co-occurrence groups and exclusions. Everything is
compiled once into a dict from a phrase's first token to the phrases that start with it,
so classifying an article is one pass over its tokens with a few dict look-ups per token,
whatever the size of the taxonomy.

Matching works on a comparison form of the text (:func:`newswire.common.text.normalise_text`:
case, Arabic letter variants, diacritics and tatweel folded) split into word tokens. A
taxonomy token matches an article token if it equals the token or the token with its
allowed clitics stripped (Arabic و ف ب ل ك ال لل and pronoun suffixes; Persian and
Sorani plural, ezafe and definite suffixes; English plural and possessive). Stripping
only ever adds candidate forms, so what an operator writes always matches itself.

Scoring, in the units of the ``scoring`` section: each mention of a term entry adds its
weight times the zone weight (title > lead > body); the k-th strongest mention of the
same entry is multiplied by ``repeat_decay**k``, so repetition adds less and less; exclude
penalties are subtracted; ``score = 1 - exp(-raw / saturation)``. With the shipped
settings one body mention of a weight-1 term scores 0.22, below every threshold: a
passing mention never makes a topic.
"""

# ruff: noqa: RUF001, RUF003 - Arabic-script letters are this module's subject matter.

from __future__ import annotations

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


@dataclass(frozen=True, slots=True)
class Token:
    form: str  # normalised
    sentence: int  # running sentence number; phrases and relations stay inside one
    zone: Zone


_WORD_OR_STOP = re.compile(r"\w+|[.!?؟۔](?=\s|$)")
_STOPS = frozenset(".!?؟۔")
_POSSESSIVE = re.compile(r"(?<=\w)['’ʼ]s\b")
_US_ABBREVIATION = re.compile(r"\bu\.\s?s\.(?:\s?a\.)?")
_ZWNJ = "\u200c"
# Persian plural/ezafe suffixes that writers separate with a space instead of a ZWNJ.
_DETACHED_SUFFIXES = frozenset(normalise_text(s) for s in ("ها", "های", "هایی"))


# Heh shapes that ar/fa/ckb writers use for plain ه (Sorani keyboards often type ھ:
# «ھەولێر»). Not folded for Urdu or the fallback, where ھ marks aspiration.
_HEH_FOLDS = str.maketrans({"ھ": "ه", "ہ": "ه", "ۃ": "ه"})


def _prepare(text: str, language: str) -> str:
    """Language-specific clean-up before :func:`normalise_text`.

    Persian and Sorani join suffixes with a zero-width non-joiner, which normalise_text
    turns into a space; deleting it instead keeps «نیرو‌های» one word, as it is
    written without the ZWNJ too. normalise_text leaves the heh shapes apart.
    """
    if language in {"fa", "ckb"}:
        text = text.replace(_ZWNJ, "")
    if language in {"ar", "fa", "ckb"}:
        text = text.translate(_HEH_FOLDS)
    return text


def _comparison_form(text: str, language: str) -> str:
    text = normalise_text(_prepare(text, language))
    text = text.replace("i\u0307", "i")  # casefolded Turkish İ keeps a combining dot
    text = _US_ABBREVIATION.sub("us", text)  # "U.S." would otherwise be the tokens u, s
    return _POSSESSIVE.sub("", text)


def _paragraph_tokens(paragraph: str, language: str) -> Iterator[str | None]:
    """Word tokens of one paragraph; None marks a sentence end."""
    previous: str | None = None
    for match in _WORD_OR_STOP.finditer(_comparison_form(paragraph, language)):
        word = match.group()
        if word in _STOPS:
            yield None
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
        if word is not None
    ]


@dataclass(frozen=True, slots=True)
class _LeadPolicy:
    sentences: int
    chars: int


def _document_tokens(title: str | None, text: str, language: str, lead: _LeadPolicy) -> list[Token]:
    """Title and text as one token list with sentence numbers and zones.

    Paragraph breaks end sentences: headlines inside the body often carry no full
    stop. The lead is the first ``lead.sentences`` sentences of the text, cut at
    ``lead.chars`` characters of the comparison form.
    """
    tokens: list[Token] = []
    sentence = 0
    if title:
        tokens.extend(Token(w, 0, Zone.TITLE) for w in tokenise(title, language))
        sentence = 1
    text_start, chars, open_sentence = sentence, 0, False
    for paragraph in text.splitlines():
        for word in _paragraph_tokens(paragraph, language):
            if word is None:
                sentence, open_sentence = sentence + open_sentence, False
                continue
            in_lead = sentence - text_start < lead.sentences and chars < lead.chars
            tokens.append(Token(word, sentence, Zone.LEAD if in_lead else Zone.BODY))
            chars += len(word) + 1
            open_sentence = True
        sentence, open_sentence = sentence + open_sentence, False
    return tokens


# ------------------------------------------------------------------ clitic stripping


def _norm_all(items: Iterable[str]) -> tuple[str, ...]:
    """Affixes in comparison form, longest first."""
    return tuple(sorted({normalise_text(s) for s in items}, key=len, reverse=True))


_AR_CONJUNCTIONS = ("", "و", "ف")
_AR_PREPOSITIONS = ("", "ب", "ل", "ك")
_AR_ARTICLE = "ال"
_AR_SUFFIXES = _norm_all(["ها", "هم", "هما", "كم", "نا", "ه", "هن"])
_FA_SUFFIXES = _norm_all(["ها", "های", "هایی", "ی", "ای", "یی", "ش", "شان"])
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
    ]
)
_MIN_STEM = 3


def _strip_suffixes(forms: Iterable[str], suffixes: Sequence[str], rounds: int = 1) -> set[str]:
    out = set(forms)
    frontier = set(out)
    for _ in range(rounds):
        frontier = {
            form[: -len(s)]
            for form in frontier
            for s in suffixes
            if form.endswith(s) and len(form) - len(s) >= _MIN_STEM
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
    return frozenset(_strip_suffixes(_arabic_prefix_forms(token), _AR_SUFFIXES))


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


@dataclass(frozen=True, slots=True)
class _Section:
    terms: tuple[_Term, ...]
    requires: tuple[tuple[str, ...], ...]
    excludes: tuple[_Exclude, ...]


@dataclass(frozen=True, slots=True)
class _Topic:
    id: str
    threshold: float
    within: int | None
    sections: Mapping[str, _Section]

    def section(self, language: str) -> _Section:
        return self.sections.get(language) or self.sections[FALLBACK]


# Roles a phrase plays in one topic.
_TERM, _GROUP, _EXCLUDE = 0, 1, 2


@dataclass(frozen=True, slots=True)
class _Role:
    topic: int
    kind: int  # _TERM / _GROUP / _EXCLUDE
    slot: int  # index of the term entry / group / exclude entry
    phrase: str  # as written in the taxonomy
    order: int  # position of the phrase in its entry: earlier wins a tie for evidence


@dataclass(frozen=True, slots=True)
class _Match:
    start: int
    end: int  # exclusive token index
    role: _Role


# first token -> (phrase tokens, roles of that phrase)
_Index = dict[str, list[tuple[tuple[str, ...], tuple[_Role, ...]]]]


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


def _build_section(raw: Mapping[str, Any]) -> _Section:
    return _Section(
        terms=tuple(_Term(tuple(t["match"]), float(t.get("weight", 1.0))) for t in raw["terms"]),
        requires=tuple(tuple(group) for group in raw.get("requires", ())),
        excludes=tuple(
            _Exclude(tuple(e["match"]), float(e.get("penalty", 0.0)), bool(e.get("veto", False)))
            for e in raw.get("excludes", ())
        ),
    )


def _phrase_key(phrase: str, language: str, source: str, where: str) -> str:
    words = tokenise(phrase, language)
    if not words:
        raise TaxonomyError(source, where, f"{phrase!r} has no word characters")
    return " ".join(words)


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
    for i, exclude in enumerate(section.excludes):
        for phrase in exclude.phrases:
            key = _phrase_key(phrase, language, source, f"{where}.excludes[{i}]")
            if key in term_slot:
                reason = (
                    f"{phrase!r} is also a term (terms[{term_slot[key]}]): it would mask itself"
                )
                raise TaxonomyError(source, f"{where}.excludes[{i}]", reason)
    for i, group in enumerate(section.requires):
        for phrase in group:
            _phrase_key(phrase, language, source, f"{where}.requires[{i}]")


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
    differently in Persian (ZWNJ joins) than elsewhere. Languages without a section of
    their own and without morphology rules share the ``*`` index, so the number of
    compiled indexes stays bounded whatever language tags the feeds send.
    """

    def __init__(self, topics: Sequence[_Topic], scoring: _Scoring, source: str) -> None:
        self._topics = tuple(topics)
        self._scoring = scoring
        self._lead = _LeadPolicy(scoring.lead_sentences, scoring.lead_chars)
        self.source = source
        self._own_languages = frozenset(
            language for topic in self._topics for language in topic.sections
        ) | frozenset(_FORMS)
        self._indexes = {
            language: _build_index(self._topics, language) for language in self._own_languages
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
        """Every weighted term phrase as written: the only strings evidence can contain."""
        return frozenset(
            phrase
            for topic in self._topics
            if topic_id is None or topic.id == topic_id
            for section in topic.sections.values()
            for term in section.terms
            for phrase in term.phrases
        )

    def classify(self, *, title: str | None, text: str, language: str) -> list[TopicMatch]:
        """Topics whose score reaches their threshold, best first."""
        language = self._effective_language(language)
        tokens = _document_tokens(title, text, language, self._lead)
        by_topic: dict[int, list[_Match]] = defaultdict(list)
        for match in _find_matches(tokens, self._indexes[language], language):
            by_topic[match.role.topic].append(match)
        results = []
        for i, topic in enumerate(self._topics):
            section = topic.section(language)
            result = _score_topic(topic, section, by_topic.get(i, []), tokens, self._scoring)
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


def _build_index(topics: Sequence[_Topic], language: str) -> _Index:
    """first token -> phrases starting with it; one entry per distinct token sequence."""
    roles: dict[tuple[str, ...], list[_Role]] = defaultdict(list)
    for i, topic in enumerate(topics):
        for phrase, role in _section_roles(i, topic.section(language)):
            words = tuple(tokenise(phrase, language))
            if words:  # checked at load for the section's language; guard the others
                roles[words].append(role)
    index: _Index = defaultdict(list)
    for words, phrase_roles in roles.items():
        index[words[0]].append((words, tuple(phrase_roles)))
    return dict(index)


def _find_matches(tokens: Sequence[Token], index: _Index, language: str) -> Iterator[_Match]:
    """Every phrase occurrence: per token its candidate forms are looked up in the index,
    then the rest of the phrase is checked token by token inside the same sentence."""
    forms = [candidate_forms(t.form, language) for t in tokens]
    for start, token in enumerate(tokens):
        for form in forms[start]:
            for words, roles in index.get(form, ()):
                end = start + len(words)
                if end > len(tokens) or tokens[end - 1].sentence != token.sentence:
                    continue
                if all(words[k] in forms[start + k] for k in range(1, len(words))):
                    for role in roles:
                        yield _Match(start, end, role)


# ------------------------------------------------------------------ scoring


def _overlaps(a: _Match, spans: Sequence[tuple[int, int]]) -> bool:
    return any(a.start < end and start < a.end for start, end in spans)


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
    for m in sorted(matches, key=lambda m: (m.start - m.end, m.role.order, m.start)):
        if not any(m.start < k.end and k.start < m.end for k in kept):
            kept.append(m)
    return kept


def _score_topic(
    topic: _Topic,
    section: _Section,
    matches: Sequence[_Match],
    tokens: Sequence[Token],
    scoring: _Scoring,
) -> TopicMatch | None:
    """Mask excluded spans, apply the co-occurrence gate, add up weighted mentions."""
    excludes = [m for m in matches if m.role.kind == _EXCLUDE]
    if any(section.excludes[m.role.slot].veto for m in excludes):
        return None
    masked = [(m.start, m.end) for m in excludes]
    live = [m for m in matches if m.role.kind != _EXCLUDE and not _overlaps(m, masked)]
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
    raw, evidence = _add_up(section, per_entry, tokens, scoring)
    raw -= _penalties(section, excludes, tokens, scoring)
    score = round(1.0 - math.exp(-max(raw, 0.0) / scoring.saturation), 4)
    if score < topic.threshold or not evidence:
        return None
    return TopicMatch(topic.id, score, evidence)


def _add_up(
    section: _Section,
    per_entry: Mapping[int, list[_Match]],
    tokens: Sequence[Token],
    scoring: _Scoring,
) -> tuple[float, tuple[str, ...]]:
    """Raw score and evidence (phrases of the strongest entries first)."""
    totals: list[tuple[float, int, list[_Match]]] = []
    for slot, entry_matches in per_entry.items():
        mentions = _one_per_span(entry_matches)
        weight = section.terms[slot].weight
        total = _diminishing_sum(
            (weight * scoring.zone_weight(tokens[m.start].zone) for m in mentions),
            scoring.repeat_decay,
        )
        totals.append((total, slot, sorted(mentions, key=lambda m: m.start)))
    totals.sort(key=lambda item: (-item[0], item[1]))
    evidence = dict.fromkeys(m.role.phrase for _, _, mentions in totals for m in mentions)
    return sum(total for total, _, _ in totals), tuple(evidence)


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
