"""Pairwise evaluation of clusters against known true pairs."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import pandas as pd

__all__ = ["ClusterMetrics", "cluster_pairs", "evaluate_clusters"]


@dataclass(frozen=True)
class ClusterMetrics:
    """Pairwise precision, recall and F1 of predicted entities.

    A predicted pair is two records placed in the same entity; it is a false
    merge (``fp``) when the truth says they are distinct.
    """

    precision: float
    recall: float
    f1: float
    tp: int
    fp: int
    fn: int
    predicted_pairs: int
    true_pairs: int

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)


def cluster_pairs(entities: pd.DataFrame, *, cross_only: bool) -> set[tuple[str, str, str, str]]:
    """All record pairs that share an entity, as ``(source_a, id_a, source_b, id_b)``.

    With ``cross_only`` (linkage) only pairs whose records come from different
    sources count. Pairs are canonically ordered so each appears once.
    """
    out: set[tuple[str, str, str, str]] = set()
    for _, group in entities.groupby("entity_id", sort=False):
        if len(group) < 2:
            continue
        keys = sorted(zip(group["source"].astype(str), group["id"].astype(str)))
        for i, a in enumerate(keys):
            for b in keys[i + 1 :]:
                if cross_only and a[0] == b[0]:
                    continue
                out.add((a[0], a[1], b[0], b[1]))
    return out


def evaluate_clusters(
    entities: pd.DataFrame,
    matches: pd.DataFrame,
    *,
    left_source: str = "left",
    right_source: str = "right",
) -> ClusterMetrics:
    """Score the entities of a pipeline run against true pairs.

    Args:
        entities: one row per record with ``source``, ``id`` and ``entity_id``.
        matches: true pairs ``ltable_id, rtable_id``. In linkage the left id
            comes from ``left_source`` and the right id from ``right_source``;
            in deduplication pass the same source twice (the records' source).
    """
    cross = left_source != right_source
    predicted = cluster_pairs(entities, cross_only=cross)
    truth: set[tuple[str, str, str, str]] = set()
    for a, b in zip(matches["ltable_id"].astype(str), matches["rtable_id"].astype(str)):
        x, y = (left_source, a), (right_source, b)
        if x == y:
            continue
        lo, hi = min(x, y), max(x, y)
        truth.add((lo[0], lo[1], hi[0], hi[1]))
    tp = len(predicted & truth)
    fp = len(predicted) - tp
    fn = len(truth) - tp
    precision = tp / len(predicted) if predicted else 0.0
    recall = tp / len(truth) if truth else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return ClusterMetrics(
        precision=float(precision),
        recall=float(recall),
        f1=float(f1),
        tp=int(tp),
        fp=int(fp),
        fn=int(fn),
        predicted_pairs=len(predicted),
        true_pairs=len(truth),
    )
