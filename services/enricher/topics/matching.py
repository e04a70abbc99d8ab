"""Finding the taxonomy's phrases in an article, in one pass over its tokens.

Every phrase of every topic is compiled once per language into a dict from the
phrase's first token to the phrases that start with it, so classifying an article is a
few dict look-ups per token whatever the size of the taxonomy. A phrase may appear in
several places of the taxonomy (a term of one topic, an actor of another's relation):
it is compiled once and each match carries every :class:`Role` it plays.

``a … b`` in a phrase allows up to :data:`~.tokens.GAP_TOKENS` other words between
its parts; no phrase crosses a clause break (comma, colon, bracket) or a sentence.

The span helpers at the end (:func:`gap`, :func:`overlaps`, :func:`one_per_span`) are
shared by scoring and relations: both reason about where matches stand.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from newswire.enricher.topics.taxonomy import Scoring, Section, Topic
from newswire.enricher.topics.tokens import GAP, GAP_TOKENS, Token, phrase_words, tokenise

# Roles a phrase plays in one topic.
TERM, GROUP, EXCLUDE, ACT, AGENT, RIVAL, TARGET, OBJECT = range(8)
_RELATION_KINDS = {
    "act": ACT,
    "agent": AGENT,
    "rival": RIVAL,
    "target": TARGET,
    "object_targets": OBJECT,
}


@dataclass(frozen=True, slots=True)
class Role:
    """What a phrase is in one topic: which list of which entry, as written there."""

    topic: int
    kind: int  # TERM / GROUP / EXCLUDE / ACT / AGENT / RIVAL / TARGET / OBJECT
    slot: int  # index of the term entry / group / exclude entry / relation
    phrase: str  # as written in the taxonomy
    order: int  # position of the phrase in its entry: earlier wins a tie for evidence


@dataclass(slots=True)  # not frozen: built by the hundred per article, never shared
class Match:
    """One occurrence of a phrase in the article, in one of its roles."""

    start: int
    end: int  # exclusive token index
    role: Role
    gaps: tuple[tuple[int, int], ...] = ()  # token ranges skipped by "a … b"

    def words(self) -> Iterator[int]:
        """Token positions of the phrase's own words (not its gaps)."""
        for i in range(self.start, self.end):
            if not any(a <= i < b for a, b in self.gaps):
                yield i


# first token -> (phrase tokens, whether it has a gap, roles of that phrase)
_Index = dict[str, list[tuple[tuple[str, ...], bool, tuple[Role, ...]]]]


class MarkerWords(NamedTuple):
    """A relation's single-word lists as token forms, ready for set intersections."""

    target: frozenset[str]  # ``markers``: an actor right after one is a target
    object: frozenset[str]  # ``object_markers``: an actor right before one is a target
    source: frozenset[str]  # ``source_markers``: a target right after one is an origin
    agent: frozenset[str]  # ``agent_markers``: an actor right after one owns the act
    barrier: frozenset[str]  # ``barriers``: no act-owner link crosses one


@dataclass(frozen=True, slots=True)
class Compiled:
    """One language's phrase index and, per (topic, relation), its marker word forms."""

    index: _Index
    markers: Mapping[tuple[int, int], MarkerWords]
    first_words: frozenset[str]  # the index's keys, for one set intersection per token


@dataclass(frozen=True, slots=True)
class Context:
    """What scoring one topic of one article needs besides its matches."""

    tokens: Sequence[Token]
    forms: Sequence[frozenset[str]]
    compiled: Compiled
    topic: int
    scoring: Scoring
    # Per article, shared by its topics: sorted token positions of each barrier word set.
    barrier_positions: dict[frozenset[str], list[int]]


def compile_language(topics: Sequence[Topic], language: str) -> Compiled:
    """first token -> phrases starting with it (one entry per distinct token sequence),
    and the marker words of every relation."""
    roles: dict[tuple[str, ...], list[Role]] = defaultdict(list)
    markers: dict[tuple[int, int], MarkerWords] = {}
    for i, topic in enumerate(topics):
        section = topic.section(language)
        for phrase, role in _section_roles(i, section):
            words = phrase_words(phrase, language)
            if words:  # checked at load for the section's language; guard the others
                roles[words].append(role)
        for slot, relation in enumerate(section.relations):
            markers[i, slot] = MarkerWords(
                *(
                    frozenset(w for m in words for w in tokenise(m, language))
                    for words in (
                        relation.markers,
                        relation.object_markers,
                        relation.source_markers,
                        relation.agent_markers,
                        relation.barriers,
                    )
                )
            )
    index: _Index = defaultdict(list)
    for words, phrase_roles in roles.items():
        index[words[0]].append((words, GAP in words, tuple(phrase_roles)))
    return Compiled(dict(index), markers, frozenset(index))


def _section_roles(topic_index: int, section: Section) -> Iterator[tuple[str, Role]]:
    """Every phrase of a section with the role it plays there, in taxonomy order."""
    for slot, term in enumerate(section.terms):
        for order, phrase in enumerate(term.phrases):
            yield phrase, Role(topic_index, TERM, slot, phrase, order)
    for slot, group in enumerate(section.requires):
        for order, phrase in enumerate(group):
            yield phrase, Role(topic_index, GROUP, slot, phrase, order)
    for slot, exclude in enumerate(section.excludes):
        for order, phrase in enumerate(exclude.phrases):
            yield phrase, Role(topic_index, EXCLUDE, slot, phrase, order)
    for slot, relation in enumerate(section.relations):
        for name, kind in _RELATION_KINDS.items():
            for order, phrase in enumerate(getattr(relation, name)):
                yield phrase, Role(topic_index, kind, slot, phrase, order)


_NO_GAPS: tuple[tuple[int, int], ...] = ()


def find_matches(
    tokens: Sequence[Token], forms: Sequence[frozenset[str]], compiled: Compiled
) -> list[Match]:
    """Every phrase occurrence: per token its candidate forms are looked up in the index,
    then the rest of the phrase is checked token by token inside the same clause: a
    phrase never runs across a comma or colon («تبادل الضربات: إيران ...» is not
    «ضرب إيران»)."""
    index, first_words, n = compiled.index, compiled.first_words, len(tokens)
    found: list[Match] = []
    for start, token_forms in enumerate(forms):
        hits = token_forms & first_words
        if not hits:
            continue
        clause = tokens[start].clause
        # In a fixed order, not the set's: the order of equal-span matches decides which
        # one is kept as evidence, and the evidence must not change with the hash seed.
        for form in sorted(hits):
            for words, gapped, roles in index[form]:
                end, gaps = start + len(words), _NO_GAPS
                if gapped:
                    matched = _match_end(words, 1, start + 1, tokens, forms)
                    if matched is None:
                        continue
                    end, gaps = matched
                elif end > n or tokens[end - 1].clause != clause:
                    continue
                elif end - start > 1 and not all(
                    words[k] in forms[start + k] for k in range(1, end - start)
                ):
                    continue
                found.extend(Match(start, end, role, gaps) for role in roles)
    return found


def _match_end(
    words: tuple[str, ...],
    k: int,
    pos: int,
    tokens: Sequence[Token],
    forms: Sequence[frozenset[str]],
) -> tuple[int, tuple[tuple[int, int], ...]] | None:
    """End (exclusive) and skipped ranges of the phrase whose words[k:] start at token
    ``pos``, or None. A gap skips up to GAP_TOKENS tokens, shortest first; all inside
    one clause."""
    clause = tokens[pos - 1].clause if pos else tokens[0].clause
    while k < len(words):
        if words[k] == GAP:
            for skip in range(GAP_TOKENS + 1):
                at = pos + skip
                if at >= len(tokens) or tokens[at].clause != clause:
                    return None
                if words[k + 1] in forms[at]:
                    found = _match_end(words, k + 2, at + 1, tokens, forms)
                    if found is not None:
                        end, gaps = found
                        return end, ((pos, at), *gaps) if skip else gaps
            return None
        if pos >= len(tokens) or tokens[pos].clause != clause or words[k] not in forms[pos]:
            return None
        k, pos = k + 1, pos + 1
    return pos, ()


# ------------------------------------------------------------------ spans


def overlaps(a: Match, spans: Sequence[tuple[int, int]]) -> bool:
    """The match shares a token with one of the (start, end) spans."""
    for start, end in spans:
        if a.start < end and start < a.end:
            return True
    return False


def gap(a: Match, b: Match) -> int:
    """Tokens strictly between two spans (0 if they touch or overlap)."""
    return max(0, b.start - a.end, a.start - b.end)


def one_per_span(matches: Iterable[Match]) -> list[Match]:
    """Where several phrases of one entry cover the same words (العراق and عراق,
    سپاه پاسداران and پاسداران), keep one mention: longest phrase first, then the
    phrase listed first in the entry."""
    kept: list[Match] = []
    taken: set[int] = set()
    for m in sorted(matches, key=lambda m: (m.start - m.end, m.role.order, m.start)):
        span = range(m.start, m.end)
        if taken.isdisjoint(span):
            kept.append(m)
            taken.update(span)
    return kept
