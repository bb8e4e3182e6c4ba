"""Fuzzy-key blocking on Spark with a broadcast index, ranked inside each task.

The shuffle design of :class:`~bem.engines.spark.blocking.SparkBlocker` joins
every query key with the postings and sums the IDF of each (record,
candidate) pair after a shuffle: at 10^5 records that is 281 million hits and
254 million distinct pairs, and the shuffle alone costs 1.7x the local
engine's whole run on 2 cores (``bench/results/spark_floor.json``). Here the
driver builds the prefilter's index once (:func:`blocking.prefilter.build_prefilter`,
the local blocker's code), Spark broadcasts it to the executors, and each task
ranks a run of query rows against it (:func:`blocking.prefilter.rank_chunk`):
the per-pair sums never leave the task that makes them, and only each record's
``top_k`` candidates come back. The pairs are the local blocker's by
construction.

The index must fit in the driver's and every executor's memory: the Spark
blocker uses this design up to ``broadcast_records`` records (its ``strategy``
option) and the shuffle design above that.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from blocking.index import chunks
from blocking.prefilter import merge_parts, rank_chunk

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from blocking import FuzzyBlocker

__all__ = ["broadcast_pairs"]

logger = logging.getLogger(__name__)

_SCHEMA = "li long, ri long, score double, rank int"


def _ranked_tasks(
    batches: Iterator[pd.DataFrame], *, shared, options: dict
) -> Iterator[pd.DataFrame]:
    """Task ids -> the pairs of their chunks (runs on the executors)."""
    from blocking.fuzzy import resolve_scorer

    directions, tasks = shared.value
    scorer = resolve_scorer(options["scorer"])
    settings = {**options, "scorer": scorer}
    for batch in batches:
        for task in batch["id"].to_numpy(dtype=np.int64):
            d, a, b = tasks[int(task)]
            li, ri, score, rank = rank_chunk(directions[d], a, b, workers=1, **settings)
            yield pd.DataFrame({"li": li, "ri": ri, "score": score, "rank": rank})


def broadcast_pairs(
    spark: SparkSession,
    blocker: FuzzyBlocker,
    left: pd.DataFrame,
    right: pd.DataFrame | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Positional pairs ``(left_pos, right_pos, score)`` of ``blocker`` (module doc).

    ``right=None`` deduplicates ``left``; each pair comes once, as
    :meth:`blocking.FuzzyBlocker.ranked` returns it.
    """
    dedup = right is None
    lkeys, rkeys = blocker._key_texts(left, right)
    directions = blocker.prefilter_directions(lkeys, rkeys, dedup)
    tasks = [
        (d, a, b)
        for d, direction in enumerate(directions)
        for a, b in chunks(direction.cost, blocker.chunk_pairs)
    ]
    options = {**blocker.chunk_options(), "scorer": blocker.scorer}
    shared = spark.sparkContext.broadcast((directions, tasks))
    try:
        slots = max(1, spark.sparkContext.defaultParallelism)
        frame = spark.range(len(tasks), numPartitions=max(1, min(len(tasks), 4 * slots)))
        got = frame.mapInPandas(
            lambda batches: _ranked_tasks(batches, shared=shared, options=options), _SCHEMA
        ).toPandas()
    finally:
        shared.destroy()
    parts = [
        (
            got["li"].to_numpy(dtype=np.int64),
            got["ri"].to_numpy(dtype=np.int64),
            got["score"].to_numpy(dtype=np.float64),
            got["rank"].to_numpy(dtype=np.int32),
        )
    ]
    li, ri, score, _ = merge_parts(parts, dedup=dedup, n_right=len(rkeys))
    logger.info(
        "%s: %d candidate pairs for %d x %d records (%d tasks on a broadcast index)",
        blocker.name,
        len(li),
        len(lkeys),
        len(rkeys),
        len(tasks),
    )
    return li, ri, score
