"""The same article gets the same topics *and evidence* in every process.

Evidence goes out in the enriched record; downstream consumers compare records and the
sink writes them idempotently, so two workers (or a restart) must not word it
differently. Python salts ``str`` hashes per process, so any set iterated on the way
to the evidence would change it between processes: the classifier runs here in two
child processes with different hash seeds over every evaluation item.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ITEMS = Path(__file__).parents[2] / "fixtures" / "eval" / "topics.jsonl"

_CLASSIFY_ALL = """
import json, sys
from newswire.enricher.topics import TopicClassifier
classifier = TopicClassifier.from_file()
for line in open(sys.argv[1], encoding="utf-8"):
    item = json.loads(line)
    matches = classifier.classify(title=item.get("title"), text=item["text"], language=item["lang"])
    print(item["id"], [(m.id, round(m.score, 9), list(m.evidence)) for m in matches])
"""


def _classify_with_seed(seed: str) -> str:
    env = {**os.environ, "PYTHONHASHSEED": seed}
    done = subprocess.run(
        [sys.executable, "-c", _CLASSIFY_ALL, str(ITEMS)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    return done.stdout


def test_evidence_does_not_depend_on_the_hash_seed() -> None:
    first, second = _classify_with_seed("0"), _classify_with_seed("1")
    assert first.count("\n") > 1000
    differing = [
        (a, b) for a, b in zip(first.splitlines(), second.splitlines(), strict=True) if a != b
    ]
    assert differing == []
