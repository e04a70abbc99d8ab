"""The taxonomy as the classifier uses it: topics, their per-language sections, scoring.

This is the in-memory model only, built by :mod:`.loading` from ``taxonomy.yaml``
(whose contract is ``schemas/taxonomy.v1.json``). Phrases stay as the operator wrote
them: evidence quotes them back, and :mod:`.matching` compiles them per language.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from newswire.common.errors import NewswireError
from newswire.enricher.topics.tokens import FALLBACK, Zone


class TaxonomyError(NewswireError):
    """A taxonomy that cannot be used; says which file and where in it."""

    def __init__(self, source: str, where: str, reason: str) -> None:
        super().__init__(f"{source}: {where}: {reason}")
        self.source = source
        self.where = where
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Scoring:
    """The ``scoring`` section: zone weights, repetition decay, saturation, lead size.

    Every field is optional in the file; these defaults apply to the ones left out.
    """

    title_weight: float = 3.0
    lead_weight: float = 2.0
    body_weight: float = 1.0
    repeat_decay: float = 0.5
    saturation: float = 4.0
    lead_sentences: int = 2
    lead_chars: int = 300
    headline_chars: int = 0  # 0: a text without a title never counts as a headline

    def zone_weight(self, zone: Zone) -> float:
        """What one mention in this zone is worth, before its entry's weight."""
        return (self.title_weight, self.lead_weight, self.body_weight)[zone]


@dataclass(frozen=True, slots=True)
class Term:
    """A weighted term entry: synonyms that count as one entry (repeats decay)."""

    phrases: tuple[str, ...]
    weight: float


@dataclass(frozen=True, slots=True)
class Exclude:
    """Phrases that mask what they cover (and, if asked, penalise or veto the topic)."""

    phrases: tuple[str, ...]
    penalty: float
    veto: bool
    extends: str = "phrase"  # "clause" / "sentence": mask up to the end of it; "place": and
    # the place name after the phrase (a venue)


@dataclass(frozen=True, slots=True)
class Relation:
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
    word_order: str  # "svo" / "vso" / "sov" / "" (none): how actors attach, see .relations
    marker_reach: int  # words allowed between a marker and the actor it marks
    object_marker_reach: int
    needs_agent: bool
    needs_target: bool
    within: int
    weight: float


@dataclass(frozen=True, slots=True)
class Section:
    """One topic in one language (or ``*``): terms, co-occurrence groups, excludes,
    relations."""

    terms: tuple[Term, ...]
    requires: tuple[tuple[str, ...], ...]
    excludes: tuple[Exclude, ...]
    relations: tuple[Relation, ...] = ()


@dataclass(frozen=True, slots=True)
class Topic:
    """A topic: its threshold, how near its groups must be, its sections by language."""

    id: str
    threshold: float
    within: int | None
    sections: Mapping[str, Section]

    def section(self, language: str) -> Section:
        """The language's own section, else the ``*`` fallback every topic has."""
        return self.sections.get(language) or self.sections[FALLBACK]


@dataclass(frozen=True, slots=True)
class Taxonomy:
    """A loaded, checked taxonomy and where it came from (named in errors and logs)."""

    topics: tuple[Topic, ...]
    scoring: Scoring
    source: str
