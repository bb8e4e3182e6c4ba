"""One-to-one linkage: the greedy assignment and the threshold tuned for it.

Two sources that are each free of duplicates hold every entity at most once, so
a record links to at most one record of the other side. :func:`one_to_one`
keeps the best-scoring pairs first, each record used once;
:func:`tune_one_to_one_threshold` picks the threshold that decision wants from
labelled validation pairs (``bem train --one-to-one`` stores it in the model).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["one_to_one", "tune_one_to_one_threshold"]


def one_to_one(
    lids: Sequence[str], rids: Sequence[str], probability: np.ndarray, *, threshold: float
) -> np.ndarray:
    """Greedy one-to-one assignment: best-scoring pairs first, each record used once.

    Returns a boolean mask of the pairs kept.
    """
    order = np.argsort(-np.asarray(probability), kind="stable")
    used_l: set[str] = set()
    used_r: set[str] = set()
    keep = np.zeros(len(order), dtype=bool)
    for i in order:
        if probability[i] < threshold:
            break
        a, b = lids[i], rids[i]
        if a in used_l or b in used_r:
            continue
        used_l.add(a)
        used_r.add(b)
        keep[i] = True
    return keep


def tune_one_to_one_threshold(
    lids: Sequence[str],
    rids: Sequence[str],
    probability: np.ndarray,
    labels: np.ndarray,
    *,
    candidates: int = 200,
) -> tuple[float, float]:
    """The threshold that maximises F1 of :func:`one_to_one` on labelled pairs.

    A matcher's own threshold is tuned for independent pair decisions, where a
    near-duplicate (a sibling product one digit apart) must be rejected on its
    own. One-to-one linkage already rejects it when the true partner scores
    higher, so it pays to accept weaker best matches: this picks the threshold
    for that decision from labelled validation pairs. Ties go to the higher
    threshold. Returns ``(threshold, f1)``.

    Raises:
        ValueError: the inputs differ in length or ``labels`` holds no match.
    """
    probability = np.asarray(probability, dtype=np.float64)
    labels = np.asarray(labels).astype(int)
    if not len(lids) == len(rids) == len(probability) == len(labels):
        raise ValueError(
            f"lids, rids, probability and labels differ in length: {len(lids)}, "
            f"{len(rids)}, {len(probability)}, {len(labels)}"
        )
    positives = int(labels.sum())
    if positives == 0:
        raise ValueError("the labelled pairs hold no match (label 1); cannot tune a threshold")
    grid = np.unique(np.quantile(probability, np.linspace(0.0, 1.0, candidates)))
    # the greedy walk is the same at every threshold up to where it stops, so the
    # pairs kept at threshold t are those of one full walk that score >= t
    chosen = one_to_one(lids, rids, probability, threshold=-np.inf)
    chosen_proba = probability[chosen]
    chosen_match = labels[chosen] == 1
    best = (0.0, -1.0)
    for t in grid[::-1]:  # from the highest, so that ties keep the higher threshold
        above = chosen_proba >= t
        tp = int((above & chosen_match).sum())
        kept = int(above.sum())
        f1 = 0.0 if tp == 0 else 2 * tp / (kept + positives)
        if f1 > best[1]:
            best = (float(t), f1)
    return best
