"""Direction and exchange probes of the tdir round (issue 12 item 4), all five languages.

The probes (``tests/fixtures/enricher/topic_probes_direction.yaml``) were written before
the rules they exercise, one group per general pattern of language; a probe with a
``miss`` is a strict xfail, so a limit that starts passing is noticed.
"""

from __future__ import annotations

from typing import Any

import pytest

from newswire.enricher.topics import TopicClassifier
from tests.enricher.topics.helpers import assert_labelled, load_probes, probe_param

_PROBES = load_probes("topic_probes_direction.yaml")


@pytest.mark.parametrize("case", [probe_param(c, miss_key="miss") for c in _PROBES])
def test_direction_probe(classifier: TopicClassifier, case: dict[str, Any]) -> None:
    assert_labelled(classifier, case)


def test_every_class_is_probed_with_a_negative_in_all_languages() -> None:
    """Each pattern has probes in every shipped language, and look-alikes (an empty or a
    different label set) next to its positives."""
    for cls in ("deliberation", "place-owner", "proxy-near", "downed-genitive"):
        languages = {c["language"] for c in _PROBES if c["class"] == cls}
        assert languages == {"ar", "en", "fa", "ckb", "kmr"}, cls
    names = [c["name"] for c in _PROBES]
    assert len(names) == len(set(names))
    assert sum(1 for c in _PROBES if not c["topics"]) >= 10
