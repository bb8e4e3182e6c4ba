"""Two-stage scoring: the cascade decides what it is sure about, the cross-encoder the rest.

:func:`predict_with_cascade` routes pairs through a
:class:`~matcher.cascade.Cascade` and scores only the pairs it leaves undecided
with the matcher (``predict_proba`` on that subset), so on those pairs the
decisions are exactly the cross-encoder's; :class:`CascadePrediction` says
which stage decided each pair.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from data import RecordPairs
from matcher.cascade import Cascade, CascadeRouting, Scorer

__all__ = ["STAGES", "CascadePrediction", "predict_with_cascade"]

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


def predict_with_cascade(
    matcher: Scorer,
    cascade: Cascade | None,
    pairs: RecordPairs,
    *,
    threshold: float | None = None,
    batch_size: int | None = None,
    progress: bool = False,
) -> CascadePrediction:
    """Decide ``pairs`` with the cascade first and score only the rest with the
    cross-encoder (``matcher.predict_proba`` on that subset).

    With ``cascade`` ``None`` or not :attr:`~Cascade.enabled`, every pair goes
    to the cross-encoder. On the pairs the cascade does not decide, decisions
    are exactly ``matcher``'s at ``threshold`` (default: its tuned ``threshold_``).
    """
    if not isinstance(pairs, RecordPairs):
        raise TypeError(f"predict_with_cascade takes RecordPairs, got {type(pairs).__name__}")
    t = float(matcher.threshold_ if threshold is None else threshold)
    if not 0.0 <= t <= 1.0:
        raise ValueError(f"threshold must be in [0, 1], got {t}")
    n = len(pairs)
    if cascade is not None and cascade.enabled:
        if abs(t - cascade.threshold_) > 1e-9:
            logger.warning(
                "the cascade's band was tuned at threshold %.4f, not %.4f: its decisions may "
                "differ from what the cross-encoder decides at %.4f",
                cascade.threshold_,
                t,
                t,
            )
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
    if len(rest):
        scores = matcher.predict_proba(pairs[rest], batch_size=batch_size, progress=progress)
        proba[rest] = scores
        decision[rest] = scores >= t
    stage = np.where(routing.decided, STAGES[0], STAGES[1]).astype(object)
    logger.info("cascade decided %d of %d pairs", routing.n_decided, n)
    return CascadePrediction(
        proba=proba, decision=decision, stage=stage, cheap_proba=routing.proba, threshold=t
    )
