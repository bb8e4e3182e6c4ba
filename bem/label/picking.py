"""Which pair to ask next: uncertainty with diversity, both classes, and audits.

:func:`pick_uncertain` takes the pair closest to the threshold (in logits, so
that 0.5 vs 0.6 and 0.98 vs 0.99 are told apart), with two rules on top:

- **diversity**: a pair sharing a record with one of the recently asked pairs
  is skipped while any other is left, so one record's ten candidates are not
  asked in a row;
- **both classes**: the session tracks the predicted class of its recent
  questions and asks next from the class that came up less often among them
  (alternating on a tie), so the user sees matches as well as non-matches.

:func:`pick_audit` draws an audit pair uniformly at random from one stratum
(predicted match, predicted non-match: whichever holds fewer audit answers so
far), for the quality estimate of :mod:`bem.label.estimate`.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import numpy as np

__all__ = ["margins", "pick_audit", "pick_uncertain", "target_class"]

_EPS = 1e-6


def _logit(p: np.ndarray | float) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=float), _EPS, 1 - _EPS)
    return np.log(p / (1 - p))


def margins(probabilities: np.ndarray, threshold: float) -> np.ndarray:
    """``|logit(p) - logit(threshold)|``: how far each pair is from the decision."""
    return np.abs(_logit(probabilities) - _logit(threshold))


def target_class(recent: Sequence[int]) -> int | None:
    """The class to ask next: the rarer one among ``recent`` predicted classes,
    the opposite of the last one on a tie, ``None`` when nothing was asked yet."""
    if not recent:
        return None
    ones = sum(int(c) for c in recent)
    zeros = len(recent) - ones
    if ones != zeros:
        return int(ones < zeros)
    return 1 - int(recent[-1])


def pick_uncertain(
    probabilities: np.ndarray,
    threshold: float,
    available: np.ndarray,
    *,
    left_ids: np.ndarray,
    right_ids: np.ndarray,
    recent_left: Collection[str] = (),
    recent_right: Collection[str] = (),
    recent_classes: Sequence[int] = (),
) -> int | None:
    """The position of the next pair to ask among the ``available`` ones (module docstring).

    ``recent_left`` / ``recent_right`` are the records of the recently asked
    pairs (in deduplication both hold every recent record: a record can be on
    either side). Returns ``None`` when no pair is available.
    """
    if not available.any():
        return None
    shares = np.isin(left_ids, list(recent_left)) | np.isin(right_ids, list(recent_right))
    predicted = probabilities >= threshold
    target = target_class(recent_classes)
    cls = np.ones_like(available) if target is None else predicted == bool(target)
    distance = margins(probabilities, threshold)
    for mask in (available & ~shares & cls, available & ~shares, available & cls, available):
        if mask.any():
            idx = np.flatnonzero(mask)
            return int(idx[np.argmin(distance[idx])])
    return None  # pragma: no cover - the last mask is ``available``


def pick_audit(
    probabilities: np.ndarray,
    threshold: float,
    available: np.ndarray,
    *,
    audited: tuple[int, int],
    rng: np.random.Generator,
) -> tuple[int, int, int] | None:
    """A uniformly random available pair from one stratum: ``(position, stratum, size)``.

    ``audited`` counts the audit answers so far from stratum 0 (predicted
    non-match) and stratum 1 (predicted match); the stratum with fewer goes
    first (the match stratum on a tie), the other when it is empty. ``size`` is
    the number of available pairs in the stratum drawn from. ``None`` when no
    pair is available.
    """
    predicted = probabilities >= threshold
    first = 1 if audited[1] <= audited[0] else 0
    for stratum in (first, 1 - first):
        idx = np.flatnonzero(available & (predicted == bool(stratum)))
        if len(idx):
            return int(idx[rng.integers(len(idx))]), stratum, len(idx)
    return None
