"""What the topic rules say about labelled items: the labels, and where they saw *any*
evidence. Used by :mod:`.model_cv` in-process for the current rules, and run as a
script against an older source tree for the rules as they were before an item set
existed (``--as-of`` there)::

    PYTHONPATH=<old tree laid out as newswire/> python rule_outputs.py < items > outputs

Reads ``{"id", "title", "text"}`` JSON lines; writes first ``{"package": <folder>}``,
where the ``newswire`` it ran came from (so the caller can check it ran the old tree,
not the installed one), then ``{"id", "labels", "partial", "scores"}`` per record.
On purpose it imports only names every version of the package since the topics
package was split out has had (``load_taxonomy``, ``TopicClassifier``,
``LanguageIdentifier``), so that one file runs against either tree.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

#: Below every shipped threshold: a topic scored above this has *some* rule evidence.
PARTIAL_THRESHOLD = 1e-9


@dataclass(frozen=True, slots=True)
class RuleOutput:
    """The labels the rules give, and the labels for which they found evidence at all
    (the co-occurrence gate passed and the score is above zero, threshold or not)."""

    labels: frozenset[str]
    partial: frozenset[str]
    #: (topic, score) for every topic with evidence, threshold or not, sorted by topic:
    #: the rules' own scores, which a model over the rules' evidence reads
    scores: tuple[tuple[str, float], ...] = ()


def rule_outputs(records: Iterable[Mapping[str, str | None]]) -> list[RuleOutput]:
    """The shipped rules over ``{"title", "text"}`` records, each in the language the
    stream's language identifier detects, as ``newswire eval`` runs them."""
    from newswire.enricher.language import LanguageIdentifier
    from newswire.enricher.topics import TopicClassifier
    from newswire.enricher.topics.loading import load_taxonomy

    taxonomy = load_taxonomy()
    full = TopicClassifier(taxonomy.topics, taxonomy.scoring, taxonomy.source)
    low = TopicClassifier(
        [replace(t, threshold=PARTIAL_THRESHOLD) for t in taxonomy.topics],
        taxonomy.scoring,
        taxonomy.source,
    )
    languages = LanguageIdentifier()
    outputs = []
    for record in records:
        title, text = record.get("title"), record.get("text") or ""
        code = languages.identify(text, title=title).code
        seen = [m for m in low.classify(title=title, text=text, language=code) if m.score > 0]
        outputs.append(
            RuleOutput(
                labels=frozenset(
                    m.id for m in full.classify(title=title, text=text, language=code)
                ),
                partial=frozenset(m.id for m in seen),
                scores=tuple(sorted((m.id, float(m.score)) for m in seen)),
            )
        )
    return outputs


def main() -> int:
    """JSON lines in, JSON lines out (see the module docstring)."""
    import newswire

    records = [json.loads(line) for line in sys.stdin if line.strip()]
    print(json.dumps({"package": str(Path(newswire.__file__).resolve().parent)}))
    for record, output in zip(records, rule_outputs(records), strict=True):
        row = {"id": record["id"], "labels": sorted(output.labels)}
        row |= {"partial": sorted(output.partial), "scores": dict(output.scores)}
        print(json.dumps(row, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
