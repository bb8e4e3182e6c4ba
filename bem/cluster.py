"""Clustering scored pairs into entities.

Two methods over the graph of scored candidate pairs (nodes are records, edges
carry the match probability):

- ``"components"``: connected components of the edges at or above the
  threshold. Fast and transitive, but one weak false link chains two entities.
- ``"average"``: average-linkage agglomeration over the candidate graph. Two
  clusters merge only while the mean probability over *all* record pairs
  between them is at or above the threshold, where a pair that was never scored
  counts as 0. A single strong link between two otherwise unrelated groups
  therefore does not chain them. A record pair listed more than once (twice,
  or as ``(a, b)`` and ``(b, a)``) is one pair with its highest score, never the
  sum; self-pairs are ignored.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from typing import Literal

import numpy as np

__all__ = ["ClusterMethod", "average_linkage", "cluster", "connected_components"]

ClusterMethod = Literal["components", "average"]


def _find(parent: np.ndarray, i: int) -> int:
    root = i
    while parent[root] != root:
        root = parent[root]
    while parent[i] != root:  # path compression
        parent[i], i = root, parent[i]
    return root


def connected_components(
    n_nodes: int, u: Sequence[int] | np.ndarray, v: Sequence[int] | np.ndarray
) -> np.ndarray:
    """Label each of ``n_nodes`` nodes with its component over the edges ``(u[i], v[i])``.

    Labels are ``0..k-1`` in order of each component's smallest node, so the
    result does not depend on edge order.
    """
    parent = np.arange(n_nodes)
    for a, b in zip(np.asarray(u, dtype=int), np.asarray(v, dtype=int)):
        ra, rb = _find(parent, a), _find(parent, b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    roots = np.array([_find(parent, i) for i in range(n_nodes)], dtype=int)
    _, labels = np.unique(roots, return_inverse=True)
    return labels.astype(int)


def average_linkage(
    n_nodes: int,
    u: Sequence[int] | np.ndarray,
    v: Sequence[int] | np.ndarray,
    score: Sequence[float] | np.ndarray,
    *,
    threshold: float,
) -> np.ndarray:
    """Average-linkage clustering of a sparse scored graph (see module docstring).

    Args:
        n_nodes: number of records.
        u, v: endpoints of each scored pair (a repeated or reversed pair counts
            once, with its highest score).
        score: the pair's match probability in [0, 1].
        threshold: clusters merge while their average linkage is >= this.

    Returns:
        A label ``0..k-1`` per node, ordered by each cluster's smallest node.
    """
    u = np.asarray(u, dtype=int)
    v = np.asarray(v, dtype=int)
    score = np.asarray(score, dtype=float)
    # links[c][d] = sum of scores between the members of clusters c and d; a record
    # pair given more than once (repeated or reversed) is one pair: its best score
    links: dict[int, dict[int, float]] = {}
    for a, b, s in zip(u.tolist(), v.tolist(), score.tolist()):
        if a == b:
            continue
        best = max(s, links.get(a, {}).get(b, s))
        links.setdefault(a, {})[b] = best
        links.setdefault(b, {})[a] = best
    size = dict.fromkeys(range(n_nodes), 1)
    members: dict[int, list[int]] = {i: [i] for i in range(n_nodes)}
    heap: list[tuple[float, int, int]] = []
    for a, nbrs in links.items():
        for b, s in nbrs.items():
            if a < b and s >= threshold:
                heap.append((-s, a, b))
    heapq.heapify(heap)
    next_id = n_nodes
    alive = set(range(n_nodes))
    while heap:
        neg, a, b = heapq.heappop(heap)
        if a not in alive or b not in alive:
            continue
        if -neg < threshold:
            break
        c = next_id
        next_id += 1
        alive.difference_update((a, b))
        alive.add(c)
        size[c] = size.pop(a) + size.pop(b)
        members[c] = members.pop(a) + members.pop(b)
        la, lb = links.pop(a, {}), links.pop(b, {})
        merged: dict[int, float] = {}
        for nbrs in (la, lb):
            for d, s in nbrs.items():
                if d in (a, b):
                    continue
                merged[d] = merged.get(d, 0.0) + s
        links[c] = merged
        for d, s in merged.items():
            nd = links[d]
            nd.pop(a, None)
            nd.pop(b, None)
            nd[c] = s
            avg = s / (size[c] * size[d])
            if avg >= threshold:
                heapq.heappush(heap, (-avg, min(c, d), max(c, d)))
    roots = np.empty(n_nodes, dtype=int)
    for _cid, nodes in members.items():
        roots[nodes] = min(nodes)
    _, labels = np.unique(roots, return_inverse=True)
    return labels.astype(int)


def cluster(
    n_nodes: int,
    u: Sequence[int] | np.ndarray,
    v: Sequence[int] | np.ndarray,
    score: Sequence[float] | np.ndarray,
    *,
    threshold: float,
    method: ClusterMethod = "average",
) -> np.ndarray:
    """Cluster records given scored pairs; see :func:`connected_components` and
    :func:`average_linkage`."""
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"threshold must be in [0, 1], got {threshold}")
    score = np.asarray(score, dtype=float)
    if method == "components":
        keep = score >= threshold
        return connected_components(n_nodes, np.asarray(u)[keep], np.asarray(v)[keep])
    if method == "average":
        return average_linkage(n_nodes, u, v, score, threshold=threshold)
    raise ValueError(f"unknown clustering method {method!r}; use 'components' or 'average'")
