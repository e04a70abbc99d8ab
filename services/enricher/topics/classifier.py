"""The classifier the enricher calls: a compiled taxonomy and one method per article.

Everything expensive happens once, when a taxonomy is loaded (:mod:`.loading`) and its
phrases are compiled per language (:mod:`.matching`); :meth:`TopicClassifier.classify`
is then one pass over an article's tokens followed by scoring the topics it touched.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from newswire.enricher.topics.loading import load_taxonomy
from newswire.enricher.topics.matching import Context, Match, compile_language, find_matches
from newswire.enricher.topics.morphology import LANGUAGES_WITH_RULES, candidate_forms
from newswire.enricher.topics.scoring import TopicMatch, score_topic
from newswire.enricher.topics.taxonomy import Scoring, Topic
from newswire.enricher.topics.tokens import FALLBACK, LeadPolicy, document_tokens


class TopicClassifier:
    """Assigns taxonomy topics to articles. Build once (``from_file``), share freely.

    The phrase index is compiled per article language: the same phrase tokenises
    differently in Persian (detached suffixes join) than elsewhere. Languages without a
    section of their own and without morphology rules share the ``*`` index, so the
    number of compiled indexes stays bounded whatever language tags the feeds send.
    """

    def __init__(self, topics: Sequence[Topic], scoring: Scoring, source: str) -> None:
        self._topics = tuple(topics)
        self._scoring = scoring
        self._lead = LeadPolicy(scoring.lead_sentences, scoring.lead_chars, scoring.headline_chars)
        self.source = source
        self._own_languages = (
            frozenset(language for topic in self._topics for language in topic.sections)
            | LANGUAGES_WITH_RULES
        )
        self._compiled = {
            language: compile_language(self._topics, language) for language in self._own_languages
        }

    @classmethod
    def from_file(cls, path: Path | None = None) -> TopicClassifier:
        """Load, validate and compile a taxonomy; None loads the shipped one.

        Raises :class:`~.taxonomy.TaxonomyError` naming the file and the place in it
        that is wrong.
        """
        taxonomy = load_taxonomy(path)
        return cls(taxonomy.topics, taxonomy.scoring, taxonomy.source)

    @property
    def topic_ids(self) -> tuple[str, ...]:
        """The taxonomy's topic ids, in file order."""
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
        tokens = document_tokens(title, text, language, self._lead)
        compiled = self._compiled[language]
        forms = [candidate_forms(t.form, language) for t in tokens]
        by_topic: dict[int, list[Match]] = defaultdict(list)
        barrier_positions: dict[frozenset[str], list[int]] = {}
        for match in find_matches(tokens, forms, compiled):
            by_topic[match.role.topic].append(match)
        results = []
        for i, topic in enumerate(self._topics):
            if i not in by_topic:
                continue
            section = topic.section(language)
            context = Context(tokens, forms, compiled, i, self._scoring, barrier_positions)
            result = score_topic(topic, section, by_topic[i], context)
            if result is not None:
                results.append(result)
        return sorted(results, key=lambda m: (-m.score, m.id))

    def _effective_language(self, language: str) -> str:
        """``ar-IQ`` -> ``ar``; a language with no section and no rules of its own -> ``*``."""
        primary = re.split(r"[-_]", (language or "").strip().casefold(), maxsplit=1)[0]
        return primary if primary in self._own_languages else FALLBACK
