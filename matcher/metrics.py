"""Match metrics and decision-threshold selection."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

__all__ = ["MatchMetrics", "best_threshold", "match_metrics"]


@dataclass(frozen=True)
class MatchMetrics:
    """Precision, recall, F1 and PR-AUC of match decisions at ``threshold``."""

    precision: float
    recall: float
    f1: float
    pr_auc: float
    tp: int
    fp: int
    fn: int
    tn: int
    threshold: float
    n: int

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)


def _check(labels: np.ndarray, proba: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    labels = np.asarray(labels).astype(int).ravel()
    proba = np.asarray(proba, dtype=float).ravel()
    if labels.shape != proba.shape:
        raise ValueError(f"got {labels.size} labels for {proba.size} scores")
    if labels.size and not np.isin(labels, (0, 1)).all():
        raise ValueError("labels must be 0 or 1")
    return labels, proba


def match_metrics(labels: np.ndarray, proba: np.ndarray, threshold: float) -> MatchMetrics:
    """Metrics of deciding ``proba >= threshold`` against 0/1 ``labels``."""
    labels, proba = _check(labels, proba)
    pred = proba >= threshold
    tp = int(np.sum(pred & (labels == 1)))
    fp = int(np.sum(pred & (labels == 0)))
    fn = int(np.sum(~pred & (labels == 1)))
    tn = int(np.sum(~pred & (labels == 0)))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    if labels.any() and not labels.all():
        from sklearn.metrics import average_precision_score

        pr_auc = float(average_precision_score(labels, proba))
    else:
        pr_auc = float("nan")
    return MatchMetrics(
        precision, recall, f1, pr_auc, tp, fp, fn, tn, float(threshold), int(labels.size)
    )


def best_threshold(labels: np.ndarray, proba: np.ndarray) -> tuple[float, float]:
    """The threshold that maximises F1 of ``proba >= threshold``, and that F1.

    The threshold is placed half-way between the lowest score decided a match
    and the next lower score, so that scores a little off (quantization, another
    batch size) fall on the same side. Returns ``(0.5, 0.0)`` without positives.
    """
    labels, proba = _check(labels, proba)
    if not labels.any():
        return 0.5, 0.0
    order = np.argsort(-proba, kind="stable")
    p_sorted, l_sorted = proba[order], labels[order]
    tp = np.cumsum(l_sorted)
    k = np.arange(1, len(p_sorted) + 1)
    # only cut where the score changes (ties go together)
    last = np.r_[p_sorted[1:] != p_sorted[:-1], True]
    f1 = 2 * tp / (k + labels.sum())
    f1 = np.where(last, f1, -1.0)
    i = int(np.argmax(f1))
    lower = p_sorted[i + 1] if i + 1 < len(p_sorted) else 0.0
    return float((p_sorted[i] + lower) / 2), float(f1[i])
