"""Scoring candidate pairs on Spark with the model loaded once per Python worker.

The driver saves the matcher to a directory every worker can read
(:meth:`matcher.Matcher.save_pretrained`; in local mode a temporary one), joins
the candidates with both tables' records and scores them in an iterator
``mapInPandas``: each Python worker loads the model from that directory once
(:func:`worker_matcher`, a module-level cache keyed by the path, kept across
tasks because Spark reuses its Python workers) and decides its batches
``chunk_size`` pairs at a time with :func:`matcher.predict_with_cascade`: the
saved model's cascade (``cascade.json``) first when asked for, the
cross-encoder for the rest, as the local engine does.
torch uses as many threads as the task has cores (``spark.task.cpus``, which
Spark also exports as ``OMP_NUM_THREADS``), so that parallel tasks do not
oversubscribe the machine.
"""

from __future__ import annotations

import logging
import os
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from bem.engines.spark.session import records_frame

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from matcher import CascadePrediction, Matcher

__all__ = ["score_candidates", "task_threads", "worker_matcher"]

logger = logging.getLogger(__name__)

_MODELS: OrderedDict[str, Matcher] = OrderedDict()
_KEEP_MODELS = 2  # models a worker keeps loaded (an engine scores with one at a time)


def worker_matcher(path: str) -> Matcher:
    """The matcher saved at ``path``, loaded once per process (the last two are kept)."""
    if path in _MODELS:
        _MODELS.move_to_end(path)
        return _MODELS[path]
    from matcher import Matcher

    matcher = Matcher.from_pretrained(path)
    _MODELS[path] = matcher
    while len(_MODELS) > _KEEP_MODELS:
        _MODELS.popitem(last=False)
    return matcher


def task_threads() -> int:
    """The running Spark task's cores (``spark.task.cpus``), else ``OMP_NUM_THREADS``, else 1."""
    try:
        from pyspark import TaskContext

        context = TaskContext.get()
    except ImportError:  # pragma: no cover - only called inside Spark
        context = None
    if context is not None:
        return max(1, int(context.cpus()))
    return max(1, int(os.environ.get("OMP_NUM_THREADS", "1") or 1))


def _table(batch: pd.DataFrame, id_col: str, cols: Sequence[str], names: Sequence[str]):
    table = batch[[id_col, *cols]].drop_duplicates(id_col).set_index(id_col)
    table.columns = list(names)
    table.index.name = None
    return table


def _score(
    batches: Iterator[pd.DataFrame],
    *,
    model_dir: str,
    left_names: Sequence[str],
    right_names: Sequence[str],
    cascade: bool,
    threshold: float | None,
    chunk_size: int,
    batch_size: int | None,
) -> Iterator[pd.DataFrame]:
    """Rows ``row, lid, rid, l0.., r0..`` -> ``row, probability, decision, by_cascade,
    cheap_probability``."""
    import torch

    from data import RecordPairs
    from matcher import predict_with_cascade
    from matcher.staged import STAGES

    matcher = worker_matcher(model_dir)
    first = matcher.cascade_ if cascade else None
    torch.set_num_threads(task_threads())
    lcols = [f"l{i}" for i in range(len(left_names))]
    rcols = [f"r{i}" for i in range(len(right_names))]
    for batch in batches:
        for start in range(0, len(batch), chunk_size):
            chunk = batch.iloc[start : start + chunk_size]
            pairs = RecordPairs(
                _table(chunk, "lid", lcols, left_names),
                _table(chunk, "rid", rcols, right_names),
                pd.DataFrame(
                    {
                        "ltable_id": chunk["lid"].to_numpy(dtype=object),
                        "rtable_id": chunk["rid"].to_numpy(dtype=object),
                    }
                ),
            )
            # the driver checked the cascade's threshold once (no warning per batch)
            out = predict_with_cascade(
                matcher, first, pairs, threshold=threshold, batch_size=batch_size, warn=False
            )
            yield pd.DataFrame(
                {
                    "row": chunk["row"].to_numpy(dtype=np.int64),
                    "probability": out.proba,
                    "decision": out.decision.astype(np.int32),
                    "by_cascade": out.stage == STAGES[0],
                    "cheap_probability": out.cheap_proba,
                }
            )


def _columns(matcher: Matcher, table: pd.DataFrame) -> list[str]:
    """The columns the matcher reads from ``table``: its attributes that ``table`` has,
    or every column for a model that records none (as the local scoring does)."""
    attributes = matcher.attributes_
    if attributes is None:
        return [str(c) for c in table.columns]
    return [a for a in attributes if a in table.columns]


def score_candidates(
    spark: SparkSession,
    matcher: Matcher,
    model_dir: str | Path,
    left: pd.DataFrame,
    right: pd.DataFrame,
    candidates: pd.DataFrame,
    *,
    cascade: bool = False,
    threshold: float | None = None,
    chunk_size: int = 4096,
    batch_size: int | None = None,
) -> CascadePrediction:
    """Every candidate pair's decision, in the candidates' order, made on Spark.

    ``model_dir`` holds ``matcher`` saved with :meth:`~matcher.Matcher.save_pretrained`
    and must be readable by every worker. ``right`` is ``left`` in deduplication.
    With ``cascade``, the saved model's enabled cascade decides first (see
    :func:`matcher.predict_with_cascade`); decisions are made at ``threshold``
    (default: the matcher's).

    Raises:
        BemError: a table has none of the model's attributes (checked on the driver).
    """
    from pyspark.sql import functions as F

    from matcher import CascadePrediction, check_cascade_threshold
    from matcher.schema import check_schema
    from matcher.staged import STAGES

    if len(candidates) == 0:
        raise ValueError("score_candidates needs candidate pairs (SparkEngine.predict takes none)")
    t = float(matcher.threshold_ if threshold is None else threshold)
    first = getattr(matcher, "cascade_", None) if cascade else None
    cascade = first is not None and first.enabled
    if cascade:
        check_cascade_threshold(first, t)
    attributes = matcher.attributes_
    if attributes is not None:
        check_schema(left, attributes, name="left", warn=False)
        if right is not left:
            check_schema(right, attributes, name="right", warn=False)
    left_names, right_names = _columns(matcher, left), _columns(matcher, right)
    pdf = pd.DataFrame(
        {
            "row": np.arange(len(candidates), dtype=np.int64),
            "lid": candidates["ltable_id"].astype(str).to_numpy(dtype=object),
            "rid": candidates["rtable_id"].astype(str).to_numpy(dtype=object),
        }
    )
    pairs = spark.createDataFrame(pdf, schema="row long, lid string, rid string")
    lrec = records_frame(spark, left, left_names)
    rrec = lrec if right is left else records_frame(spark, right, right_names)
    lsel = [F.col("id").alias("lid")] + [
        F.col(f"c{i}").alias(f"l{i}") for i in range(len(left_names))
    ]
    rsel = [F.col("id").alias("rid")] + [
        F.col(f"c{i}").alias(f"r{i}") for i in range(len(right_names))
    ]
    joined = pairs.join(lrec.select(*lsel), "lid").join(rrec.select(*rsel), "rid")
    scorer = partial(
        _score,
        model_dir=str(model_dir),
        left_names=left_names,
        right_names=right_names,
        cascade=cascade,
        threshold=t,
        chunk_size=max(1, int(chunk_size)),
        batch_size=batch_size,
    )
    schema = (
        "row long, probability double, decision int, by_cascade boolean, cheap_probability double"
    )
    scored = joined.mapInPandas(scorer, schema).toPandas()
    if len(scored) != len(candidates):
        raise RuntimeError(
            f"Spark scored {len(scored)} of {len(candidates)} candidate pairs; some ids are "
            "not in their table (check the candidates against the tables)"
        )
    order = np.argsort(scored["row"].to_numpy(dtype=np.int64), kind="stable")
    scored = scored.iloc[order]
    by_cascade = scored["by_cascade"].to_numpy(dtype=bool)
    return CascadePrediction(
        proba=scored["probability"].to_numpy(dtype=np.float64),
        decision=scored["decision"].to_numpy(dtype=np.int8),
        stage=np.where(by_cascade, STAGES[0], STAGES[1]).astype(object),
        cheap_proba=scored["cheap_probability"].to_numpy(dtype=np.float64),
        threshold=t,
    )
