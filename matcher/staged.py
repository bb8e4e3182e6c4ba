"""Two-stage scoring: the cascade decides what it is sure about, the cross-encoder the rest.

:func:`predict_with_cascade` routes pairs through a
:class:`~matcher.cascade.Cascade` and scores only the pairs it leaves undecided
with the matcher (``predict_proba`` on that subset), so on those pairs the
decisions are exactly the cross-encoder's; :class:`CascadePrediction` says
which stage decided each pair. ``chunk_size`` scores the rest a chunk at a
time, so that only one chunk of encoded pairs is alive (bounded memory).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from data import RecordPairs
from matcher.cascade import Cascade, CascadeRouting, Scorer

__all__ = ["STAGES", "CascadePrediction", "check_cascade_threshold", "predict_with_cascade"]

logger = logging.getLogger(__name__)


STAGES = ("cascade", "cross_encoder")


@dataclass(frozen=True)
class CascadePrediction:
    """Decisions of the cascade and the cross-encoder together.

    Attributes:
        proba: P(match) from the stage that decided each pair (the cheap
            model's for cascade decisions: a decided match may lie below the
            cross-encoder's threshold, a decided non-match above it).
        decision: 0/1 per pair.
        stage: ``"cascade"`` or ``"cross_encoder"`` per pair.
        cheap_proba: the cheap model's P(match) (NaN without an enabled cascade).
        threshold: the cross-encoder threshold the rest was decided at.
    """

    proba: np.ndarray
    decision: np.ndarray
    stage: np.ndarray
    cheap_proba: np.ndarray
    threshold: float

    @property
    def counts(self) -> dict[str, int]:
        """Pairs decided per stage."""
        return {s: int((self.stage == s).sum()) for s in STAGES}

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "probability": self.proba,
                "decision": self.decision,
                "stage": self.stage,
                "cheap_probability": self.cheap_proba,
            }
        )


def check_cascade_threshold(cascade: Cascade, threshold: float) -> bool:
    """Whether ``cascade``'s band was tuned at ``threshold``; logs a warning when not."""
    if abs(threshold - cascade.threshold_) <= 1e-9:
        return True
    logger.warning(
        "the cascade's band was tuned at threshold %.4f, not %.4f: its decisions may "
        "differ from what the cross-encoder decides at %.4f",
        cascade.threshold_,
        threshold,
        threshold,
    )
    return False


def predict_with_cascade(
    matcher: Scorer,
    cascade: Cascade | None,
    pairs: RecordPairs,
    *,
    threshold: float | None = None,
    batch_size: int | None = None,
    chunk_size: int | None = None,
    progress: bool = False,
    warn: bool = True,
) -> CascadePrediction:
    """Decide ``pairs`` with the cascade first and score only the rest with the
    cross-encoder (``matcher.predict_proba`` on that subset).

    With ``cascade`` ``None`` or not :attr:`~Cascade.enabled`, every pair goes
    to the cross-encoder. On the pairs the cascade does not decide, decisions
    are exactly ``matcher``'s at ``threshold`` (default: its tuned ``threshold_``).
    ``chunk_size`` scores the rest that many pairs at a time (``None``: all at
    once). ``warn=False`` skips :func:`check_cascade_threshold` (a caller that
    predicts batch by batch checks once itself).
    """
    from tqdm.auto import tqdm

    if not isinstance(pairs, RecordPairs):
        raise TypeError(f"predict_with_cascade takes RecordPairs, got {type(pairs).__name__}")
    t = float(matcher.threshold_ if threshold is None else threshold)
    if not 0.0 <= t <= 1.0:
        raise ValueError(f"threshold must be in [0, 1], got {t}")
    if chunk_size is not None and chunk_size < 1:
        raise ValueError(f"chunk_size must be positive, got {chunk_size}")
    n = len(pairs)
    if cascade is not None and cascade.enabled:
        if warn:
            check_cascade_threshold(cascade, t)
        routing = cascade.route(pairs)
    else:
        routing = CascadeRouting(
            decided=np.zeros(n, dtype=bool),
            decision=np.full(n, -1, dtype=np.int8),
            proba=np.full(n, np.nan),
        )
    rest = np.flatnonzero(~routing.decided)
    proba = routing.proba.copy()
    decision = routing.decision.copy()
    step = max(1, len(rest)) if chunk_size is None else chunk_size
    inner = progress and chunk_size is None  # one call: the matcher's own progress bar
    with tqdm(total=len(rest), unit="pair", desc="score", disable=not progress or inner) as bar:
        for start in range(0, len(rest), step):
            part = rest[start : start + step]
            scores = matcher.predict_proba(pairs[part], batch_size=batch_size, progress=inner)
            proba[part] = scores
            decision[part] = scores >= t
            bar.update(len(part))
    stage = np.where(routing.decided, STAGES[0], STAGES[1]).astype(object)
    if n:
        logger.info("cascade decided %d of %d pairs", routing.n_decided, n)
    return CascadePrediction(
        proba=proba, decision=decision, stage=stage, cheap_proba=routing.proba, threshold=t
    )
