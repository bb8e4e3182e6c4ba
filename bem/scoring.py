"""The pipeline's scoring step: the cascade first, the cross-encoder for the rest.

:func:`predict_pairs` decides every candidate pair in this process with
:func:`matcher.predict_with_cascade`: a matcher with an enabled first stage
(:attr:`matcher.Matcher.cascade_`) decides the pairs it is sure about, and only
the rest are scored by the cross-encoder, a chunk at a time (bounded memory).
:func:`score_pairs` is the cross-encoder alone. The engines call these
(:class:`bem.engines.LocalEngine`) or run the same per batch on their workers
(:mod:`bem.engines.spark.scoring`).

:func:`pair_decisions` turns a :class:`matcher.CascadePrediction` into what
the pipeline writes and clusters. A pair's ``decision`` is its deciding
stage's, and no evidence, no merge (:mod:`bem.decide`) overrules both stages.
A cascade decision carries the cheap model's probability, which need not lie
on the decided side of the cross-encoder's threshold (the band is tuned on
the cheap model's own scale), so the clustering reads each cascade-decided
pair's probability moved just onto its decided side of the threshold: the
clusters then follow the same decisions as ``decision``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from data import RecordPairs

if TYPE_CHECKING:
    from matcher import CascadePrediction, Matcher

__all__ = ["PairDecisions", "cascade_of", "pair_decisions", "predict_pairs", "score_pairs"]

logger = logging.getLogger(__name__)


def cascade_of(matcher: Matcher, use: bool = True):
    """The matcher's enabled first stage when ``use``, else ``None``."""
    cascade = getattr(matcher, "cascade_", None) if use else None
    return cascade if cascade is not None and cascade.enabled else None


def _pairs(left: pd.DataFrame, right: pd.DataFrame, candidates: pd.DataFrame) -> RecordPairs:
    return RecordPairs(left, right, candidates[["ltable_id", "rtable_id"]].reset_index(drop=True))


def predict_pairs(
    matcher: Matcher,
    left: pd.DataFrame,
    right: pd.DataFrame,
    candidates: pd.DataFrame,
    *,
    cascade: bool = True,
    threshold: float | None = None,
    chunk_size: int = 4096,
    batch_size: int | None = None,
    progress: bool = True,
) -> CascadePrediction:
    """Every candidate pair's decision, probability and deciding stage, in order.

    With ``cascade`` and an enabled :attr:`~matcher.Matcher.cascade_`, the
    cascade decides first; the cross-encoder scores the rest ``chunk_size``
    pairs at a time, decided at ``threshold`` (default: the matcher's).
    ``right`` is ``left`` in deduplication.
    """
    from matcher import predict_with_cascade

    return predict_with_cascade(
        matcher,
        cascade_of(matcher, cascade),
        _pairs(left, right, candidates),
        threshold=threshold,
        batch_size=batch_size,
        chunk_size=chunk_size,
        progress=progress,
    )


def score_pairs(
    matcher: Matcher,
    left: pd.DataFrame,
    right: pd.DataFrame,
    candidates: pd.DataFrame,
    *,
    chunk_size: int = 4096,
    batch_size: int | None = None,
    progress: bool = True,
) -> np.ndarray:
    """The cross-encoder's match probabilities of the candidate pairs, scored chunk by chunk.

    Only one chunk of encoded pairs is alive at a time, so memory stays bounded
    however many candidates there are.
    """
    return predict_pairs(
        matcher,
        left,
        right,
        candidates,
        cascade=False,
        chunk_size=chunk_size,
        batch_size=batch_size,
        progress=progress,
    ).proba


@dataclass(frozen=True)
class PairDecisions:
    """The pipeline's decisions of its candidate pairs.

    Attributes:
        decision: 1 where the deciding stage said match and the pair shares
            evidence, else 0.
        cluster_probability: what the clustering reads: 0 without evidence,
            a cascade decision's probability moved onto its side of the
            threshold, else the cross-encoder's probability.
        overruled: pairs the deciding stage called a match that share no evidence.
    """

    decision: np.ndarray
    cluster_probability: np.ndarray
    overruled: np.ndarray


def pair_decisions(prediction: CascadePrediction, evidence: np.ndarray) -> PairDecisions:
    """Decisions and clustering probabilities from the stages' output (see module docstring)."""
    thr = float(prediction.threshold)
    said = np.asarray(prediction.decision) == 1
    prob = np.asarray(prediction.proba, dtype=np.float64)
    by_cascade = np.asarray(prediction.stage) == "cascade"
    below = np.nextafter(thr, -np.inf) if thr > 0.0 else 0.0
    moved = np.where(said, np.maximum(prob, thr), np.minimum(prob, below))
    cluster = np.where(by_cascade, moved, prob)
    _log(prediction.stage, evidence, said & ~evidence)
    return PairDecisions(
        decision=(said & evidence).astype(int),
        cluster_probability=np.where(evidence, cluster, 0.0),  # no evidence, no merge
        overruled=said & ~evidence,
    )


def _log(stage: np.ndarray, evidence: np.ndarray, overruled: np.ndarray) -> None:
    by_cascade = int((np.asarray(stage) == "cascade").sum())
    if by_cascade:
        logger.info(
            "the cascade decided %d of %d pairs; %d went to the cross-encoder",
            by_cascade,
            len(stage),
            len(stage) - by_cascade,
        )
    if (~evidence).any():
        logger.info(
            "%d candidate pair(s) share no non-empty attribute: decided no match "
            "(%d of them scored above the threshold)",
            int((~evidence).sum()),
            int(overruled.sum()),
        )
