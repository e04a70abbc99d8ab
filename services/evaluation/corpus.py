"""The event-grouped near-duplicate corpus: hand-written sources in, labelled pairs out.

Why a generator: syndicated copies in the wild are made by editors, not by the
detector's designers. The copies here come from a fixed list of editing *recipes*
(cut paragraphs from an end or the middle, reorder, a rewritten lead, a new
dateline / byline / headline, a few sentences paraphrased, and combinations) chosen
per event by a seeded random generator, never by looking at a detector's scores.
Negatives are the hard kinds a real stream meets: other outlets' own reports of the
same event, the same outlet's follow-up story, a copy against another outlet's
report, and two events of the same topic.

The split (tuning / frozen) is a fixed rule on the event id, independent of any
method: :func:`is_frozen`. Every pair keeps the events it was made from, so no event
straddles the splits. Run ``python -m newswire.evaluation.corpus`` to rewrite the
committed pairs and split files; a test holds them byte for byte equal to this.
"""

from __future__ import annotations

import hashlib
import json
import random
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from itertools import combinations, pairwise
from pathlib import Path
from typing import Any

import yaml

from newswire.evaluation.data import EvaluationDataError

SEED = "newswire-near-duplicates-v1"
FIXTURES = Path(__file__).resolve().parent.parent.parent / "tests" / "fixtures" / "eval"
SOURCES = FIXTURES / "near_duplicate_sources"
PAIRS_FILE = FIXTURES / "near_duplicates_events.jsonl"
SPLIT_FILE = FIXTURES / "split" / "near_duplicates.frozen.txt"
SPLIT_HEADER = (
    "# Frozen near-duplicate test split: one event id per line. NEVER TUNE ON THESE.\n"
    "# Rule: an event is frozen when blake2b(event id as UTF-8, digest_size=1) is odd.\n"
    "# Fixed 2026-12-05, before any tuning; the list grows by the same rule as events are\n"
    "# added, an event once frozen stays frozen. Written by python -m newswire.evaluation.corpus\n"
)
CUT_LOW, CUT_HIGH = 0.2, 0.5  # share of paragraphs a cut drops, inclusive
COPIES_PER_EVENT = 4

#: Editing recipes for a syndicated copy; each op is applied in the order listed.
RECIPES: tuple[tuple[str, ...], ...] = (
    ("cut_start",),
    ("cut_end",),
    ("cut_middle",),
    ("cut_ends",),
    ("reorder",),
    ("rewritten_lead",),
    ("dateline", "byline"),
    ("headline", "paraphrase"),
    ("cut_end", "dateline", "paraphrase"),
    ("cut_ends", "dateline", "headline"),
    ("rewritten_lead", "cut_end", "headline"),
    ("cut_middle", "byline", "paraphrase"),
    ("reorder", "dateline", "byline"),
    ("cut_ends", "dateline", "headline", "paraphrase"),
    ("rewritten_lead", "paraphrase", "byline"),
    ("cut_start", "paraphrase", "headline"),
)


@dataclass(frozen=True)
class Article:
    """One published text: headline, byline line, dateline prefix and paragraphs."""

    headline: str
    paragraphs: tuple[str, ...]
    dateline: str = ""
    byline: str = ""
    kept: tuple[int, ...] = ()  # indices of the base paragraphs, in printed order
    paraphrased: int = 0
    lead_rewritten: bool = False

    def body(self) -> str:
        """The body text as the stream sees it: byline line, then the dateline glued to
        the first paragraph, paragraphs separated by a blank line."""
        parts = [self.byline] if self.byline else []
        parts.append(self.dateline + self.paragraphs[0])
        parts.extend(self.paragraphs[1:])
        return "\n\n".join(parts)

    def as_json(self) -> dict[str, str]:
        return {"title": self.headline, "text": self.body()}


@dataclass(frozen=True)
class Event:
    """One event's hand-written material (format: tests/fixtures/eval/README.md)."""

    id: str
    lang: str
    topic: str
    base: Article
    alt_headline: str
    alt_dateline: str
    alt_byline: str
    rewritten_lead: str
    paraphrases: tuple[tuple[str, str], ...]
    others: tuple[Article, ...]
    follow_up: Article
    outlets: tuple[str, ...] = field(default=())


def is_frozen(event_id: str) -> bool:
    """The split rule: frozen when the one-byte blake2b of the id is odd."""
    return hashlib.blake2b(event_id.encode("utf-8"), digest_size=1).digest()[0] % 2 == 1


# ------------------------------------------------------------------ reading the sources


def _text(value: dict[str, Any], name: str, where: str, *, empty: bool = False) -> str:
    text = value.get(name, "" if empty else None)
    if not isinstance(text, str) or (not empty and not text.strip()):
        raise EvaluationDataError(f"{where}: field {name!r} must be a non-empty string")
    return text


def _article(value: Any, where: str, *, dateline: str = "", byline: str = "") -> Article:
    if not isinstance(value, dict):
        raise EvaluationDataError(f"{where}: expected a mapping")
    paragraphs = value.get("paragraphs")
    if not isinstance(paragraphs, list) or not all(
        isinstance(p, str) and p.strip() for p in paragraphs
    ):
        raise EvaluationDataError(f"{where}: 'paragraphs' must be a list of strings")
    return Article(
        headline=_text(value, "headline", where),
        paragraphs=tuple(p.strip() for p in paragraphs),
        dateline=str(value.get("dateline", dateline)),
        byline=str(value.get("byline", byline)),
        kept=tuple(range(len(paragraphs))),
    )


def _event(value: Any, lang: str, where: str) -> Event:
    if not isinstance(value, dict):
        raise EvaluationDataError(f"{where}: expected a mapping")
    event_id = _text(value, "id", where)
    where = f"{where} ({event_id})"
    base = _article(value, where)
    house = {"dateline": base.dateline, "byline": base.byline}
    pairs = value.get("paraphrases") or []
    if not all(isinstance(p, list) and len(p) == 2 for p in pairs):
        raise EvaluationDataError(f"{where}: paraphrases must be [original, paraphrase] pairs")
    others = value.get("others") or []
    if not isinstance(others, list) or len(others) < 2:
        raise EvaluationDataError(f"{where}: at least two other outlets' reports are needed")
    return Event(
        id=event_id,
        lang=lang,
        topic=_text(value, "topic", where),
        base=base,
        alt_headline=_text(value, "alt_headline", where),
        alt_dateline=_text(value, "alt_dateline", where, empty=True),
        alt_byline=_text(value, "alt_byline", where, empty=True),
        rewritten_lead=_text(value, "rewritten_lead", where),
        paraphrases=tuple((str(a), str(b)) for a, b in pairs),
        others=tuple(_article(o, f"{where} other {i}") for i, o in enumerate(others, 1)),
        follow_up=_article(value.get("follow_up"), f"{where} follow_up", **house),
    )


def load_events(sources: Path = SOURCES) -> list[Event]:
    """Every event of every ``<lang>.yaml`` under ``sources``, sorted by id."""
    events: list[Event] = []
    for path in sorted(sources.glob("*.yaml")):
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise EvaluationDataError(f"{path}: cannot read: {exc}") from exc
        if not isinstance(data, list):
            raise EvaluationDataError(f"{path}: expected a list of events")
        events.extend(_event(v, path.stem, f"{path} event {i}") for i, v in enumerate(data, 1))
    ids = [e.id for e in events]
    if len(set(ids)) != len(ids):
        raise EvaluationDataError(f"{sources}: duplicate event ids")
    return sorted(events, key=lambda e: e.id)


# ------------------------------------------------------------------ editing operations

Op = Callable[[Article, Event, random.Random], Article]


def _cut_count(n: int, rng: random.Random) -> int:
    """How many of n paragraphs a cut drops: 20-50 % of them, at least one."""
    choices = [k for k in range(1, n) if CUT_LOW <= k / n <= CUT_HIGH]
    if not choices:
        raise EvaluationDataError(f"{n} paragraphs cannot be cut by 20-50 %")
    return rng.choice(choices)


def _keep(article: Article, indices: Sequence[int]) -> Article:
    return replace(
        article,
        paragraphs=tuple(article.paragraphs[i] for i in indices),
        kept=tuple(article.kept[i] for i in indices),
    )


def cut_start(article: Article, event: Event, rng: random.Random) -> Article:
    n = len(article.paragraphs)
    return _keep(article, range(_cut_count(n, rng), n))


def cut_end(article: Article, event: Event, rng: random.Random) -> Article:
    n = len(article.paragraphs)
    return _keep(article, range(n - _cut_count(n, rng)))


def cut_ends(article: Article, event: Event, rng: random.Random) -> Article:
    """The wire's habit: the first and last paragraphs go (more from either end if the
    share allows it)."""
    n = len(article.paragraphs)
    k = max(2, _cut_count(n, rng))
    head = rng.randint(1, k - 1)
    return _keep(article, range(head, n - (k - head)))


def cut_middle(article: Article, event: Event, rng: random.Random) -> Article:
    n = len(article.paragraphs)
    k = _cut_count(n, rng)
    start = rng.randint(1, n - 1 - k)  # the lead and the last paragraph stay
    return _keep(article, [i for i in range(n) if not start <= i < start + k])


def reorder(article: Article, event: Event, rng: random.Random) -> Article:
    """The lead stays; the rest is shuffled into a different order."""
    rest = list(range(1, len(article.paragraphs)))
    order = rest[:]
    while order == rest:
        rng.shuffle(order)
    return _keep(article, [0, *order])


def rewritten_lead(article: Article, event: Event, rng: random.Random) -> Article:
    return replace(
        article, paragraphs=(event.rewritten_lead, *article.paragraphs[1:]), lead_rewritten=True
    )


def dateline(article: Article, event: Event, rng: random.Random) -> Article:
    return replace(article, dateline=event.alt_dateline)


def byline(article: Article, event: Event, rng: random.Random) -> Article:
    return replace(article, byline=event.alt_byline)


def headline(article: Article, event: Event, rng: random.Random) -> Article:
    return replace(article, headline=event.alt_headline)


def paraphrase(article: Article, event: Event, rng: random.Random) -> Article:
    """Two or three of the hand-written paraphrases whose sentence is still in the copy
    (fewer when fewer are left)."""
    paragraphs = list(article.paragraphs)
    present = [(o, n) for o, n in event.paraphrases if any(o in p for p in paragraphs)]
    chosen = rng.sample(present, min(len(present), rng.randint(2, 3)))
    for original, new in chosen:
        i = next(i for i, text in enumerate(paragraphs) if original in text)
        paragraphs[i] = paragraphs[i].replace(original, new, 1)
    return replace(article, paragraphs=tuple(paragraphs), paraphrased=len(chosen))


OPS: dict[str, Op] = {
    op.__name__: op
    for op in (
        cut_start,
        cut_end,
        cut_ends,
        cut_middle,
        reorder,
        rewritten_lead,
        dateline,
        byline,
        headline,
        paraphrase,
    )
}


def make_copy(event: Event, recipe: Sequence[str], rng: random.Random) -> Article:
    """The base article edited by each op of the recipe in turn."""
    article = event.base
    for name in recipe:
        article = OPS[name](article, event, rng)
    if "paraphrase" in recipe and article.paraphrased == 0:
        raise EvaluationDataError(f"{event.id}: {recipe} left no sentence to paraphrase")
    return article


# ------------------------------------------------------------------ pairs


def _pair(
    pair_id: str,
    event: Event,
    a: Article,
    b: Article,
    *,
    duplicate: bool,
    variation: str,
    ops: Sequence[str] = (),
    events: Sequence[str] = (),
    provenance: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "id": pair_id,
        "lang": event.lang,
        "event": event.id,
        "events": list(events or [event.id]),
        "a": a.as_json(),
        "b": b.as_json(),
        "near_duplicate": duplicate,
        "variation": variation,
        "ops": list(ops),
        "provenance": provenance or {},
    }


def _copy_provenance(event: Event, copy: Article, copy_side: str) -> dict[str, Any]:
    return {
        "source": "base",
        "copy_side": copy_side,
        "base_paragraphs": len(event.base.paragraphs),
        "kept_paragraphs": list(copy.kept),
        "paraphrased_sentences": copy.paraphrased,
        "lead_rewritten": copy.lead_rewritten,
    }


def event_pairs(event: Event) -> Iterator[dict[str, Any]]:
    """An event's positives (copies of the base) and its own negatives."""
    rng = random.Random(f"{SEED}:{event.id}")
    recipes = rng.sample(RECIPES, COPIES_PER_EVENT)
    copies = []
    for n, recipe in enumerate(recipes, 1):
        copy = make_copy(event, recipe, rng)
        copies.append(copy)
        side = rng.choice("ab")
        a, b = (event.base, copy) if side == "b" else (copy, event.base)
        provenance = _copy_provenance(event, copy, side)
        yield _pair(
            f"{event.id}:copy{n}",
            event,
            a,
            b,
            duplicate=True,
            variation="copy",
            ops=recipe,
            provenance=provenance,
        )
    reports = [("base", event.base)] + [(f"other{i}", o) for i, o in enumerate(event.others, 1)]
    for (name_a, a), (name_b, b) in combinations(reports, 2):
        yield _pair(
            f"{event.id}:{name_a}-{name_b}",
            event,
            a,
            b,
            duplicate=False,
            variation="independent_report",
            provenance={"a": name_a, "b": name_b},
        )
    yield _pair(
        f"{event.id}:base-follow_up",
        event,
        event.base,
        event.follow_up,
        duplicate=False,
        variation="follow_up",
        provenance={"a": "base", "b": "follow_up"},
    )
    other = rng.randrange(len(event.others))
    yield _pair(
        f"{event.id}:copy1-other{other + 1}",
        event,
        copies[0],
        event.others[other],
        duplicate=False,
        variation="copy_vs_other",
        ops=recipes[0],
        provenance={"a": "copy1", "b": f"other{other + 1}"},
    )
    yield _pair(
        f"{event.id}:copy2-follow_up",
        event,
        copies[1],
        event.follow_up,
        duplicate=False,
        variation="follow_up",
        ops=recipes[1],
        provenance={"a": "copy2", "b": "follow_up"},
    )


def cross_event_pairs(events: Sequence[Event]) -> Iterator[dict[str, Any]]:
    """Same language, same topic, same split: each event's base against the next one's."""
    groups: dict[tuple[str, str, bool], list[Event]] = {}
    for event in events:
        groups.setdefault((event.lang, event.topic, is_frozen(event.id)), []).append(event)
    for group in groups.values():
        for first, second in pairwise(group):
            yield _pair(
                f"{first.id}:vs:{second.id}",
                first,
                first.base,
                second.base,
                duplicate=False,
                variation="same_topic_other_event",
                events=(first.id, second.id),
                provenance={"a": f"{first.id}/base", "b": f"{second.id}/base"},
            )


def build(events: Sequence[Event]) -> tuple[str, str]:
    """The pairs file and the split file, as the exact text to commit."""
    rows = [pair for event in events for pair in event_pairs(event)]
    rows.extend(cross_event_pairs(events))
    pairs = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    frozen = "".join(f"{e.id}\n" for e in events if is_frozen(e.id))
    return pairs, SPLIT_HEADER + frozen


def main(argv: Sequence[str] = ()) -> int:
    """Rewrite the committed pairs and split files from the sources."""
    try:
        pairs, split = build(load_events())
    except EvaluationDataError as exc:
        print(exc, file=sys.stderr)
        return 2
    PAIRS_FILE.write_text(pairs, encoding="utf-8")
    SPLIT_FILE.parent.mkdir(parents=True, exist_ok=True)
    SPLIT_FILE.write_text(split, encoding="utf-8")
    print(f"{PAIRS_FILE}: {pairs.count(chr(10))} pairs; {SPLIT_FILE}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
