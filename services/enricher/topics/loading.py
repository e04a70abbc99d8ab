"""Reading a taxonomy file: YAML, then the schema, then the rules a schema cannot say.

Each step names the file and the place in it that is wrong (:class:`TaxonomyError`),
in the operator's terms: ``topics[2] (iran-strikes).languages.ar.terms[0].weight``,
not a JSON pointer. The schema is ``schemas/taxonomy.v1.json``, loaded and compiled
through :mod:`newswire.common.schemas` like every other contract of the project; the
checks after it (:func:`_check_section`) catch likely operator mistakes the schema
cannot express, such as a phrase that would count twice or mask itself.
"""

from __future__ import annotations

import importlib.resources
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from newswire.common import yamlfile
from newswire.common.schemas import file_validator
from newswire.enricher.topics.taxonomy import (
    Exclude,
    Relation,
    Scoring,
    Section,
    Taxonomy,
    TaxonomyError,
    Term,
    Topic,
)
from newswire.enricher.topics.tokens import phrase_words

#: The shipped taxonomy, a data file of this package's parent (``newswire.enricher``),
#: used when ``ENRICHER_TAXONOMY_PATH`` is unset.
_SHIPPED_PACKAGE = "newswire.enricher"
_SHIPPED_TAXONOMY = "taxonomy.yaml"
_SCHEMA_FILE = "taxonomy.v1.json"


def load_taxonomy(path: Path | None = None) -> Taxonomy:
    """Read, parse, validate and build a taxonomy; None loads the shipped one.

    Raises :class:`TaxonomyError` naming the file and the place in it that is wrong.
    """
    source, raw = _read(path)
    document = _parse_yaml(raw, source)
    _validate_schema(document, source)
    topics = _build_topics(document, source)
    return Taxonomy(topics, Scoring(**document.get("scoring", {})), source)


def _read(path: Path | None) -> tuple[str, str]:
    """The file's name (as errors will say it) and its text."""
    if path is None:
        resource = importlib.resources.files(_SHIPPED_PACKAGE).joinpath(_SHIPPED_TAXONOMY)
        return f"{_SHIPPED_PACKAGE}/{_SHIPPED_TAXONOMY}", resource.read_text(encoding="utf-8")
    try:
        return str(path), Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TaxonomyError(str(path), "(file)", f"cannot read: {exc}") from exc


def _parse_yaml(raw: str, source: str) -> Any:
    """The document (through the project's YAML loader: safe, a repeated key refused, so
    a topic with two ``ar:`` sections is an error and not half a topic), or
    :class:`TaxonomyError` with the line and column YAML gave up at."""
    try:
        return yamlfile.load(raw)
    except yamlfile.YamlFileError as exc:
        where = f"line {exc.line}, column {exc.column}" if exc.line is not None else "(document)"
        raise TaxonomyError(source, where, f"not valid YAML: {exc.problem}") from exc


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
    """Against ``taxonomy.v1.json``; reports the shallowest problem (the one nearest
    the operator's mistake) and how many more there are."""
    errors = list(file_validator(_SCHEMA_FILE).iter_errors(document))
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


def _build_relation(raw: Mapping[str, Any]) -> Relation:
    """A relation with the schema's defaults filled in (reach 2/1, within 6, weight 1)."""
    needs = set(raw.get("needs", ()))
    return Relation(
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


def _build_section(raw: Mapping[str, Any]) -> Section:
    """A language section with the optional lists and weights defaulted."""
    return Section(
        terms=tuple(Term(tuple(t["match"]), float(t.get("weight", 1.0))) for t in raw["terms"]),
        requires=tuple(tuple(group) for group in raw.get("requires", ())),
        excludes=tuple(
            Exclude(
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
    """The phrase as matching will see it, so that two spellings of one phrase are
    caught as one; a phrase without words is an error (it could never match)."""
    words = phrase_words(phrase, language)
    if not words:
        raise TaxonomyError(source, where, f"{phrase!r} has no word characters")
    return " ".join(words)


def _check_relation(
    relation: Relation, language: str, where: str, source: str, excluded: Mapping[str, int]
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


def _check_section(section: Section, language: str, where: str, source: str) -> None:
    """Semantic rules the schema cannot express, each a likely operator mistake: a
    phrase with no words, the same phrase in two term entries (counted twice), a
    phrase that is both a term and an exclude (it would mask itself)."""
    term_slot = _check_terms(section, language, where, source)
    excluded = _check_excludes(section, term_slot, language, where, source)
    for i, group in enumerate(section.requires):
        for phrase in group:
            _phrase_key(phrase, language, source, f"{where}.requires[{i}]")
    for i, relation in enumerate(section.relations):
        _check_relation(relation, language, f"{where}.relations[{i}]", source, excluded)


def _check_terms(section: Section, language: str, where: str, source: str) -> dict[str, int]:
    """Compiled phrase -> its term entry; no phrase may stand in two entries."""
    term_slot: dict[str, int] = {}
    for i, term in enumerate(section.terms):
        for phrase in term.phrases:
            key = _phrase_key(phrase, language, source, f"{where}.terms[{i}]")
            if key in term_slot:
                reason = f"{phrase!r} is already in terms[{term_slot[key]}]: it would count twice"
                raise TaxonomyError(source, f"{where}.terms[{i}]", reason)
            term_slot[key] = i
    return term_slot


def _check_excludes(
    section: Section, term_slot: Mapping[str, int], language: str, where: str, source: str
) -> dict[str, int]:
    """Compiled phrase -> its (first) exclude entry; no exclude may also be a term."""
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
    return excluded


def _build_topics(document: Mapping[str, Any], source: str) -> tuple[Topic, ...]:
    """Every topic, in file order (the classifier breaks score ties by id, evaluation
    lists topics in this order); ids must be unique, each section must pass its checks."""
    topics: list[Topic] = []
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
            Topic(raw["id"], float(raw["threshold"]), raw.get("requires_within"), sections)
        )
    return tuple(topics)
