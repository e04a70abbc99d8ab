"""Story clusters whose grouping and head do not depend on arrival order.

Copies of one story reach the enricher in any order: a rewrite may be processed
before its original (another partition, another worker, a lagging feed). So:

* **Cluster ids are stable once formed.** An article that matches nothing starts a
  cluster named by its own id; a later member never relabels it. A consumer that
  groups by ``cluster_id`` never has to rewrite a group it already holds.
* **The head is the earliest article**, by story key (``published_at``, else
  ``fetched_at``, then id), not the first one processed. A newcomer earlier than its
  cluster's head becomes the head: ``status`` stays ``new`` (it copies nothing), it
  takes the existing ``cluster_id``, and its record says ``role: head``. A later
  newcomer is a ``member``, marked a copy of the head known then, which is always
  earlier than itself.
* **Clusters merge** when a newcomer matches members of two or more clusters (two
  copies cut from different ends of one original, processed before it): the
  survivor is the cluster with the earliest head, and the newcomer's record lists
  the absorbed ids (``merged_clusters``). A consumer unions them.

The consumer rule (group by ``cluster_id``, union through ``merged_clusters``)
yields the connected components of the match graph, whatever the order: every
matching pair is seen by whichever of the two comes second, and every record links
its article to the clusters of all members it matched. The band buckets also learn
from each newcomer (:class:`ClusterBook`): absorbed ids resolve to their survivor
and the earliest head known per cluster is handed to later arrivals, so most later
records name the survivor and the true head directly.

Pure: no Faust, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, NamedTuple

from newswire.common.times import parse_rfc3339

Role = Literal["head", "member"]


class Head(NamedTuple):
    """An article's story key: ordered by time (epoch seconds), then id."""

    at: float
    article_id: str


#: Where an article with no readable time sorts: after every real one (9999-12-31).
UNKNOWN_AT = 253402300799.0


def story_at(published_at: str | None, fetched_at: str) -> float:
    """The time that orders a story's copies: when it was published, else fetched.

    Both were validated as date-times already; one this parser still refuses sorts
    last rather than failing the batch it is in.
    """
    for value in (published_at, fetched_at):
        if value:
            try:
                return parse_rfc3339(value).timestamp()
            except (ValueError, OverflowError):
                continue
    return UNKNOWN_AT


@dataclass(frozen=True, slots=True)
class Placement:
    """Where a newcomer lands: its cluster, the cluster's head, the clusters it absorbed."""

    cluster_id: str
    head: Head
    merged: tuple[str, ...] = ()

    def role(self, article_id: str) -> Role:
        return "head" if self.head.article_id == article_id else "member"


def place(article_id: str, at: float, matched: Iterable[tuple[str, Head]]) -> Placement:
    """Place a newcomer given (cluster id, head claim) of every member version it matched.

    No match: a cluster of its own. Otherwise the survivor is the matched cluster with
    the earliest head (ties by cluster id); the others are absorbed; the head is the
    earlier of the survivor's head and the newcomer itself.
    """
    own = Head(at, article_id)
    heads: dict[str, Head] = {}
    for cluster_id, claim in matched:
        known = heads.get(cluster_id)
        heads[cluster_id] = claim if known is None else min(known, claim)
    if not heads:
        return Placement(article_id, own)
    survivor = min(heads, key=lambda c: (heads[c], c))
    merged = tuple(sorted(c for c in heads if c != survivor))
    return Placement(survivor, min(heads[survivor], own), merged)


def published_labels(versions: Iterable[tuple[str, str, str, Head]]) -> list[tuple[str, Head]]:
    """The (cluster id, head claim) pairs to place a newcomer on, from the (article id,
    cluster it was filed under when it joined, cluster id now, head claim) of every
    member version it matched.

    A band partition places a newcomer on the matches in its own buckets only; the
    worker places its record on every partition's answers. A partition where it matched
    nothing files it under a cluster of its own (its own id), though its record joined
    a cluster found on another partition: that id was never published. Article X's
    record started cluster X only if X matched nothing, and then no partition filed X
    under another cluster; where one did, X's record lists that cluster. So a version
    of X under its own id is read as X under those clusters (its head claim kept).
    Only the filing is evidence, not a partition's later resolution through its
    merges: those come from local placements whose records may not report them. Only
    X's own versions are read so: another article filed under X on that partition may
    have carried X in its record, and a consumer needs that link. Without this a later
    copy takes the unpublished id (it ties with the real cluster on the head, X itself)
    and reports a merge that never happened (tester s8 finding 1: a copy, its earlier
    original, a second copy).
    """
    versions = list(versions)
    elsewhere: dict[str, set[str]] = {}
    for article_id, filed, _, _ in versions:
        if filed != article_id:
            elsewhere.setdefault(article_id, set()).add(filed)
    labels: list[tuple[str, Head]] = []
    for article_id, _, cluster_id, head in versions:
        real = sorted(elsewhere.get(cluster_id, ())) if cluster_id == article_id else []
        labels.extend((label, head) for label in real or [cluster_id])
    return labels


class ClusterBook:
    """What one band partition knows about clusters: absorbed ids and earliest heads.

    A union-find over cluster ids: each merge a newcomer reports joins its absorbed
    clusters to its survivor, the root being the side with the earlier head (so the
    root is the cluster a fresh :func:`place` would pick as survivor). Rebuilt from
    the members themselves (their ``merged`` lists and head claims), so a worker
    that reloads the buckets from their deltas knows what the live one knew.
    """

    def __init__(self) -> None:
        self._parent: dict[str, str] = {}
        self._head: dict[str, Head] = {}

    def __len__(self) -> int:
        return len(self._head)

    def learn(self, cluster_id: str, head: Head, merged: Iterable[str] = ()) -> None:
        """A member of CLUSTER_ID claims HEAD and reports the clusters it absorbed."""
        self._claim(cluster_id, head)
        for absorbed in merged:
            self._union(cluster_id, absorbed)

    def resolve(self, cluster_id: str, claim: Head) -> tuple[str, Head]:
        """(the surviving cluster id, the earliest head known for it or CLAIM)."""
        root = self._find(cluster_id)
        known = self._head.get(root)
        return root, claim if known is None else min(known, claim)

    def _claim(self, cluster_id: str, head: Head) -> None:
        root = self._find(cluster_id)
        known = self._head.get(root)
        self._head[root] = head if known is None else min(known, head)

    def _find(self, cluster_id: str) -> str:
        root = cluster_id
        while (parent := self._parent.get(root, root)) != root:
            root = parent
        while cluster_id != root:  # path compression: later finds take one step
            parent = self._parent[cluster_id]
            self._parent[cluster_id] = root
            cluster_id = parent
        return root

    def _union(self, a: str, b: str) -> None:
        root_a, root_b = self._find(a), self._find(b)
        if root_a == root_b:
            return
        head_a, head_b = self._head.get(root_a), self._head.get(root_b)
        key_a = (head_a, root_a) if head_a is not None else None
        key_b = (head_b, root_b) if head_b is not None else None
        if key_b is not None and (key_a is None or key_b < key_a):
            root_a, root_b = root_b, root_a
        self._parent[root_b] = root_a
        heads = [h for h in (head_a, head_b) if h is not None]
        if heads:
            self._head[root_a] = min(heads)
        self._head.pop(root_b, None)
