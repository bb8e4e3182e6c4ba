"""How good is the model now? Precision, recall and F1 from the audit pairs.

Pairs picked for being uncertain are the hardest ones, so the answers to them
say little about the model on the rest. The session therefore asks, every few
questions, an *audit* pair: drawn uniformly at random from the unanswered pool,
alternately from the pairs the model then predicted to match and those it
predicted not to (two strata, so that matches turn up even when they are rare).
Each audit answer records the size ``N`` of the stratum it was drawn from, and
audit pairs are held out of every retrain, so the current model never saw them.

With ``c`` the current model's decision on an audit pair and ``y`` its answer,
the pool's totals are estimated stratum by stratum (stratified sampling):
``TP = sum over strata of mean(N * y * c)``, and the same for ``FP`` (``(1 -
y) * c``) and ``FN`` (``y * (1 - c)``); precision ``TP / (TP + FP)``, recall
``TP / (TP + FN)``, F1 ``2 TP / (2 TP + FP + FN)``, over the candidate pairs
(recall misses what blocking missed).

The 95% intervals are Bayesian: in each stratum the shares of the four cells
(answer x current decision) get a Dirichlet posterior under a weak prior of half
a pseudo-answer spread over the cells (:data:`PRIOR` each), and precision, recall
and F1 are computed for each of ``n_draws`` draws. A plain bootstrap says
``[1.00, 1.00]`` after two right answers; this stays wide (F1 ``[0.23, 1.00]``
after four right answers, ``[0.94, 1.00]`` after forty) until the audit answers
are enough to tell.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

__all__ = ["PRIOR", "Estimate", "estimate_quality"]

Interval = tuple[float, float]

PRIOR = 0.125
"""The Dirichlet prior of each (answer, decision) cell in a stratum."""


@dataclass(frozen=True)
class Estimate:
    """Precision, recall and F1 of the current model, with 95% intervals.

    A value is ``None`` while the audit answers cannot tell it (no audit pair
    yet, or none the model predicts to match / none that matches).

    Attributes:
        n: audit answers used (``1`` or ``0``; ``unsure`` ones are left out).
        matches: how many of them are matches.
        method: how the figures were computed, in words.
    """

    precision: float | None
    recall: float | None
    f1: float | None
    precision_ci: Interval | None
    recall_ci: Interval | None
    f1_ci: Interval | None
    n: int
    matches: int
    method: str = "stratified audit sample; 95% Bayesian intervals (Dirichlet posterior)"

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def _ratios(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray) -> tuple[np.ndarray, ...]:
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(tp + fp > 0, tp / (tp + fp), np.nan)
        recall = np.where(tp + fn > 0, tp / (tp + fn), np.nan)
        f1 = np.where(2 * tp + fp + fn > 0, 2 * tp / (2 * tp + fp + fn), np.nan)
    return precision, recall, f1


def _value(x: np.ndarray) -> float | None:
    v = float(x)
    return None if np.isnan(v) else v


def _interval(draws: np.ndarray) -> Interval | None:
    draws = draws[~np.isnan(draws)]
    if len(draws) == 0:
        return None
    low, high = np.percentile(draws, [2.5, 97.5])
    return (float(low), float(high))


def estimate_quality(
    labels: Sequence[int],
    decisions: Sequence[int],
    strata: Sequence[int],
    weights: Sequence[float],
    *,
    n_draws: int = 2000,
    seed: int = 0,
) -> Estimate:
    """Estimate precision, recall and F1 from audit answers (module docstring).

    Args:
        labels: each audit pair's answer (1 or 0).
        decisions: the current model's decision on it (1 or 0).
        strata: the stratum it was drawn from (the decision of the model of
            that time: 1 or 0).
        weights: the size of that stratum when it was drawn.
        n_draws: posterior draws for the intervals.
        seed: seeds the draws.
    """
    y = np.asarray(labels, dtype=int)
    c = np.asarray(decisions, dtype=int)
    s = np.asarray(strata, dtype=int)
    w = np.asarray(weights, dtype=float)
    if not len(y) == len(c) == len(s) == len(w):
        raise ValueError("labels, decisions, strata and weights must have the same length")
    if n_draws < 1:
        raise ValueError(f"n_draws must be >= 1, got {n_draws}")
    empty = Estimate(None, None, None, None, None, None, n=len(y), matches=int(y.sum()))
    if len(y) == 0:
        return empty
    point = np.zeros(3)  # TP, FP, FN
    draws = np.zeros((3, n_draws))
    rng = np.random.default_rng(seed)
    for stratum in np.unique(s):
        idx = np.flatnonzero(s == stratum)
        yi, ci, wi = y[idx], c[idx], w[idx]
        point += [np.mean(wi * yi * ci), np.mean(wi * (1 - yi) * ci), np.mean(wi * yi * (1 - ci))]
        counts = np.bincount(2 * yi + ci, minlength=4)  # cells (y, c): 00, 01, 10, 11
        shares = rng.dirichlet(counts + PRIOR, size=n_draws)
        draws += wi.mean() * shares[:, [3, 1, 2]].T
    p, r, f = _ratios(*point)
    dp, dr, df = _ratios(*draws)
    return Estimate(
        precision=_value(p),
        recall=_value(r),
        f1=_value(f),
        precision_ci=_interval(dp) if _value(p) is not None else None,
        recall_ci=_interval(dr) if _value(r) is not None else None,
        f1_ci=_interval(df) if _value(f) is not None else None,
        n=len(y),
        matches=int(y.sum()),
    )
