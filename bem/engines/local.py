"""The local engine: the pipeline's stages in this process, as they always ran.

:class:`LocalEngine` is a thin adapter over the existing functions:
:func:`bem.pipeline.block` (the fuzzy blocker of :mod:`blocking.fuzzy`),
:func:`bem.scoring.predict_pairs` (the cascade, then chunked cross-encoder scoring) and
:func:`bem.entities.resolve_entities` (clustering into entities). They are
imported inside the methods because :mod:`bem.pipeline` imports the engines.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from bem.engines.base import Engine, check_block_inputs

if TYPE_CHECKING:
    from bem.cluster import ClusterMethod
    from matcher import CascadePrediction, Matcher

__all__ = ["LocalEngine"]


class LocalEngine(Engine):
    """Block, score and cluster in this process (see :class:`~bem.engines.Engine`)."""

    name = "local"

    def block(
        self,
        left: pd.DataFrame,
        right: pd.DataFrame | None,
        *,
        key: Sequence[str] | None = None,
        top_k: int = 10,
        blocker_config: Mapping[str, Any] | None = None,
        progress: bool = True,
    ) -> pd.DataFrame:
        if blocker_config is not None:
            from blocking import blocker_from_config, config_attributes

            check_block_inputs(left, right, config_attributes(blocker_config))
            blocker = blocker_from_config(blocker_config, progress=progress)
            return blocker.candidates(left, right)
        from bem.pipeline import block

        key = check_block_inputs(left, right, key)
        return block(left, right, key=key, top_k=top_k, progress=progress)

    def predict(
        self,
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
        from bem.scoring import predict_pairs

        return predict_pairs(
            matcher,
            left,
            right,
            candidates,
            cascade=cascade,
            threshold=threshold,
            chunk_size=chunk_size,
            batch_size=batch_size,
            progress=progress,
        )

    def cluster(
        self,
        left: pd.DataFrame,
        right: pd.DataFrame | None,
        lids: np.ndarray,
        rids: np.ndarray,
        prob: np.ndarray,
        *,
        threshold: float,
        method: ClusterMethod = "average",
        one_to_one_links: bool = False,
        sources: tuple[str, str] = ("left", "right"),
    ) -> tuple[pd.DataFrame, np.ndarray]:
        from bem.entities import resolve_entities

        return resolve_entities(
            left,
            right,
            lids,
            rids,
            prob,
            threshold=threshold,
            method=method,
            one_to_one_links=one_to_one_links,
            sources=sources,
        )
