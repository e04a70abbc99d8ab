"""Language accuracy on the *tuning* split of tests/fixtures/eval/topics.jsonl.

Items whose event is listed in tests/fixtures/eval/split/topics.frozen.txt are never
loaded past their event id: they are the frozen test split. The identifier is called
exactly as ``newswire eval`` calls it (``identify(text, title=title)``).

Usage: .venv/bin/python tools/langid_tuning.py [-v]
"""

from __future__ import annotations

import json
import sys
from collections import Counter, defaultdict
from pathlib import Path

from newswire.enricher.language import LanguageIdentifier

ROOT = Path(__file__).resolve().parent.parent
EVAL = ROOT / "tests" / "fixtures" / "eval"


def frozen_events() -> set[str]:
    lines = (EVAL / "split" / "topics.frozen.txt").read_text(encoding="utf-8").splitlines()
    return {line.strip() for line in lines if line.strip() and not line.startswith("#")}


def tuning_items() -> list[dict[str, str]]:
    frozen = frozen_events()
    items = []
    for line in (EVAL / "topics.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            item = json.loads(line)
            if item["event"] not in frozen:
                items.append(item)
    return items


def main(verbose: bool) -> None:
    identifier = LanguageIdentifier()
    total: Counter[tuple[str, str]] = Counter()
    right: Counter[tuple[str, str]] = Counter()
    confusion: dict[str, Counter[str]] = defaultdict(Counter)
    for item in tuning_items():
        kind = item.get("kind") or ("headline" if item.get("title") is None else "article")
        result = identifier.identify(item["text"], title=item.get("title"))
        key = (item["lang"], kind)
        total[key] += 1
        right[key] += result.code == item["lang"]
        confusion[item["lang"]][result.code] += 1
        if result.code != item["lang"] and verbose:
            text = " ".join(f"{item.get('title') or ''} {item['text']}".split())[:110]
            print(f"  {item['id']} {item['lang']}->{result.code} p={result.confidence} {text}")
    for lang in sorted({k[0] for k in total}):
        n = sum(total[k] for k in total if k[0] == lang)
        ok = sum(right[k] for k in total if k[0] == lang)
        kinds = "  ".join(
            f"{k[1]} {right[k]}/{total[k]}={right[k] / total[k]:.3f}"
            for k in sorted(total)
            if k[0] == lang
        )
        print(f"{lang:4} {ok}/{n}={ok / n:.3f}   {kinds}   -> {dict(confusion[lang])}")
    n, ok = sum(total.values()), sum(right.values())
    print(f"all  {ok}/{n}={ok / n:.3f}")


if __name__ == "__main__":
    main("-v" in sys.argv[1:])
