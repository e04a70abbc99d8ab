"""Topic classification from an operator-tuned taxonomy of weighted phrases.

The taxonomy (``newswire/enricher/taxonomy.yaml``, checked against
``schemas/taxonomy.v1.json``) lists per topic and language weighted terms,
co-occurrence groups, relations and exclusions. The package follows the steps an
article goes through, one module each:

* :mod:`.tokens`: the comparison form of text and its word tokens, with sentences,
  clauses and zones (title, lead, body); a text without a title whose first paragraph
  is one short sentence (a headline, up to ``headline_chars``) is scored as a title;
* :mod:`.morphology`: clitic stripping, the forms an article token may take to match
  (Arabic, Persian, Sorani, Kurmanji, English);
* :mod:`.taxonomy` and :mod:`.loading`: the taxonomy model, and reading it (YAML,
  schema, the checks a schema cannot say);
* :mod:`.matching`: every phrase compiled into one index per language, found in one
  pass over an article's tokens;
* :mod:`.relations`: which act mentions count (actor -> act -> target), so that
  "Israel strikes Iran" stays out of iran-strikes and "Iran strikes Israel" out of
  strikes-on-iran; :mod:`.relation_parties` finds who may own an act and what it may
  hit, :mod:`.relation_owner` picks an act's owner and object per word order, and
  :mod:`.grammar` holds their coordination ("and") and verb-final
  (subject-object-verb) rules;
* :mod:`.scoring`: masks, the co-occurrence gate, weights and the saturating score;
* :mod:`.classifier`: :class:`TopicClassifier`, what the enricher builds and calls.

Only the names below are the package's interface; the modules' other names serve
each other.
"""

from newswire.enricher.topics.classifier import TopicClassifier
from newswire.enricher.topics.morphology import candidate_forms
from newswire.enricher.topics.scoring import TopicMatch
from newswire.enricher.topics.taxonomy import TaxonomyError
from newswire.enricher.topics.tokens import FALLBACK, GAP_TOKENS, phrase_words, tokenise

__all__ = [
    "FALLBACK",
    "GAP_TOKENS",
    "TaxonomyError",
    "TopicClassifier",
    "TopicMatch",
    "candidate_forms",
    "phrase_words",
    "tokenise",
]
