"""The Spark engine: the pipeline's blocking, scoring and clustering on Apache Spark.

:class:`SparkEngine` implements :class:`~bem.engines.Engine` with the
distributed stages of this package: :class:`~bem.engines.spark.SparkBlocker`
(fuzzy-key blocking as joins), :func:`~bem.engines.spark.scoring.score_candidates`
(the model loaded once per Python worker) and
:func:`~bem.engines.spark.clustering.entity_table` (connected components and
per-component average linkage; up to ``driver_cluster_pairs`` scored pairs the
local clustering on the driver instead). On the same inputs and matcher its
outputs equal the local engine's.

The session is started on first use, not in the constructor, so that bad
input fails before any Spark work; a session passed in, or one already active
when the engine needs one, is used as it is and never stopped by
:meth:`SparkEngine.close`.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from bem.engines.base import Engine, check_block_inputs
from bem.engines.spark.session import require_pyspark, start_session

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from bem.cluster import ClusterMethod
    from matcher import CascadePrediction, Matcher

__all__ = ["SparkEngine"]

logger = logging.getLogger(__name__)

DRIVER_CLUSTER_PAIRS = 5_000_000
"""Scored pairs up to which :meth:`SparkEngine.cluster` runs on the driver: 5 million
pairs are 120 MB of arrays, and the local clustering of 10^5 records takes 1.6 s where
the DataFrame rounds take 48 s (bench/results/scale.md)."""


class SparkEngine(Engine):
    """Block, score and cluster on Spark (see :class:`~bem.engines.Engine`).

    Args:
        spark: an existing session (a cluster's); ``None`` starts one on
            ``master`` when first needed (:func:`~bem.engines.spark.session.start_session`).
        master: the master URL of a session BEM starts: ``local[*]``,
            ``local[2]``, ``spark://host:7077``...
        app_name: its application name.
        config: Spark settings for a session BEM starts (they override BEM's).
        work_dir: a directory every worker can read, where the matcher is saved
            for scoring (on a cluster: shared storage); default a temporary
            directory on the driver, which is enough in local mode.
        checkpoint_every: rounds of connected components between lineage cuts.
        driver_cluster_pairs: with at most this many scored pairs, the entities
            are clustered on the driver by the local engine's
            :func:`bem.entities.resolve_entities` (the pairs are already there as
            arrays; rounds of Spark joins cost seconds each); above it, on
            DataFrames (:mod:`bem.engines.spark.clustering`). 0 always uses
            DataFrames. The entities are the same either way.
        blocker_options: options for :class:`~bem.engines.spark.SparkBlocker`
            beyond ``key`` and ``top_k`` (``scorer``, ``index``, ``max_df``...;
            by default the local blocker's).

    Raises:
        ImportError: pyspark is not installed.
    """

    name = "spark"

    def __init__(
        self,
        spark: SparkSession | None = None,
        *,
        master: str = "local[*]",
        app_name: str = "bem",
        config: Mapping[str, str] | None = None,
        work_dir: str | Path | None = None,
        checkpoint_every: int = 3,
        driver_cluster_pairs: int = DRIVER_CLUSTER_PAIRS,
        blocker_options: Mapping[str, Any] | None = None,
    ) -> None:
        require_pyspark()
        if checkpoint_every < 1:
            raise ValueError(f"checkpoint_every must be positive, got {checkpoint_every}")
        if driver_cluster_pairs < 0:
            raise ValueError(f"driver_cluster_pairs must be >= 0, got {driver_cluster_pairs}")
        self.driver_cluster_pairs = driver_cluster_pairs
        self.master = master
        self.app_name = app_name
        self.config = dict(config or {})
        self.work_dir = None if work_dir is None else Path(work_dir)
        self.checkpoint_every = checkpoint_every
        self.blocker_options = dict(blocker_options or {})
        self._spark = spark
        self._owned = False

    def __repr__(self) -> str:
        where = "given session" if self._spark is not None and not self._owned else self.master
        return f"SparkEngine({where!r})"

    @property
    def spark(self) -> SparkSession:
        """The session (started on first use; an active session is reused, not owned)."""
        if self._spark is None:
            from pyspark.sql import SparkSession

            active = SparkSession.getActiveSession()
            self._spark = start_session(self.master, app_name=self.app_name, config=self.config)
            self._owned = active is None
        return self._spark

    @property
    def started(self) -> bool:
        """Whether the engine holds a session (given, or started by a stage)."""
        return self._spark is not None

    def close(self) -> None:
        """Stop the session if this engine started it."""
        if self._spark is not None and self._owned:
            self._spark.stop()
            self._spark = None
            self._owned = False

    # -- the three stages -------------------------------------------------------
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
        """Candidate pairs equal to the local fuzzy blocker's (``progress`` is unused:
        Spark reports its own progress); a stored ``blocker_config`` runs each of
        its fuzzy blockers on Spark and unites their pairs as the local engine does."""
        from bem.engines.spark.blocking import SparkBlocker

        if blocker_config is not None:
            from blocking import config_attributes, fuzzy_options, union_candidates

            check_block_inputs(left, right, config_attributes(blocker_config))
            frames = []
            for part in blocker_config.get("blockers", []):
                options = {**self.blocker_options, **fuzzy_options(part)}
                key_ = options.pop("key")
                frames.append(SparkBlocker(self.spark, key_, **options).candidates(left, right))
            if len(frames) == 1:
                return frames[0]
            return union_candidates(frames, left, right)
        key = check_block_inputs(left, right, key)
        blocker = SparkBlocker(self.spark, key, top_k=top_k, **self.blocker_options)
        return blocker.candidates(left, right)

    def predict(
        self,
        matcher: Matcher | str | Path,
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
        """Every pair's decision, made on the workers: the cascade first (with
        ``cascade`` and an enabled one), the cross-encoder for the rest.

        ``matcher`` may also be the directory of a saved matcher, which the
        workers then read directly (it must be visible to all of them).
        ``progress`` is unused: Spark reports its own progress.
        """
        from bem.engines.spark.scoring import score_candidates
        from bem.scoring import predict_pairs
        from matcher import Matcher

        saved = not isinstance(matcher, Matcher)
        if saved:
            path = Path(matcher)
            matcher = Matcher.from_pretrained(path)
        if len(candidates) == 0:  # nothing to score: no session, no model saved
            return predict_pairs(matcher, left, right, candidates, threshold=threshold)
        if not saved:
            root = self.work_dir if self.work_dir is not None else Path(tempfile.gettempdir())
            path = root / f"bem-spark-model-{uuid.uuid4().hex}"
            matcher.save_pretrained(path)
        try:
            return score_candidates(
                self.spark,
                matcher,
                path,
                left,
                right,
                candidates,
                cascade=cascade,
                threshold=threshold,
                chunk_size=chunk_size,
                batch_size=batch_size,
            )
        finally:
            if not saved:
                shutil.rmtree(path, ignore_errors=True)

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
        """The entity table and same-entity flags of :func:`bem.entities.resolve_entities`.

        Up to ``driver_cluster_pairs`` pairs it is that function, on the driver.
        Above, on DataFrames; there one-to-one linkage collects the pairs at or
        above the threshold to the driver for the greedy assignment (see
        :mod:`bem.engines.spark.clustering`).
        """
        from bem.engines.spark.clustering import entity_table
        from bem.entities import resolve_entities
        from bem.linkage import one_to_one

        if not 0.0 <= threshold <= 1.0:
            raise ValueError(f"threshold must be in [0, 1], got {threshold}")
        if method not in ("components", "average"):
            raise ValueError(f"unknown clustering method {method!r}; use 'components' or 'average'")
        if len(prob) <= self.driver_cluster_pairs:
            logger.info("clustering %d scored pairs on the driver", len(prob))
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
        tables = [left] if right is None else [left, right]
        names = [sources[0]] if right is None else list(sources)
        nodes = pd.DataFrame(
            {
                "source": np.concatenate([[n] * len(t) for t, n in zip(tables, names)]),
                "id": np.concatenate([t.index.astype(str).to_numpy(dtype=object) for t in tables]),
            }
        )
        starts = np.cumsum([0] + [len(t) for t in tables])
        u = _positions(left, lids, 0)
        v = _positions(left if right is None else right, rids, int(starts[-2]))
        prob = np.asarray(prob, dtype=np.float64)
        keep = None
        if right is not None and one_to_one_links:
            strong = np.flatnonzero(prob >= threshold)
            keep = np.zeros(len(prob), dtype=bool)
            lids_a, rids_a = np.asarray(lids), np.asarray(rids)
            keep[strong] = one_to_one(
                lids_a[strong], rids_a[strong], prob[strong], threshold=threshold
            )
        return entity_table(
            self.spark,
            nodes,
            u,
            v,
            prob,
            threshold=threshold,
            method=method,
            keep=keep,
            checkpoint_every=self.checkpoint_every,
        )


def _positions(table: pd.DataFrame, ids: np.ndarray, offset: int) -> np.ndarray:
    """Node numbers of ``ids`` in ``table`` (its row positions plus ``offset``)."""
    where = pd.Index(table.index.astype(str)).get_indexer(np.asarray(ids, dtype=object))
    if (where < 0).any():
        unknown = pd.unique(np.asarray(ids, dtype=object)[where < 0])[:5].tolist()
        raise KeyError(f"pair ids {unknown} are not in their table")
    return where.astype(np.int64) + offset
