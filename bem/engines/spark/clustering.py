"""Clustering scored pairs into entities on Spark DataFrames.

The same clusters as :func:`bem.entities.resolve_entities`:

- ``"components"``: :func:`~bem.engines.spark.components.connected_components`
  of the pairs at or above the threshold;
- ``"average"``: average linkage never merges two clusters whose every
  scored pair is below the threshold (their mean is below it too), so each of
  those components is clustered on its own, by the local
  :func:`bem.cluster.average_linkage` inside ``applyInPandas`` (components
  hashed into as many groups as shuffle partitions, each component with every
  scored pair inside it). Its tie-breaking depends only
  on the order of the nodes, which a component keeps, so the clusters are the
  local ones. A component is clustered in one Python worker: one giant
  component is as slow as it is locally;
- one-to-one linkage: the greedy assignment (:func:`bem.linkage.one_to_one`)
  runs on the driver over the pairs at or above the threshold (collected:
  in linkage of two duplicate-free sources they are at most a few per record).

Clusters are labelled as locally: ``e<k>`` numbered by each cluster's smallest
node, zero-padded to the width of the cluster count.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from bem.engines.spark.components import connected_components

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from bem.cluster import ClusterMethod

__all__ = ["cluster_roots", "entity_table"]

logger = logging.getLogger(__name__)


def _average_linkage(batch: pd.DataFrame, *, threshold: float) -> pd.DataFrame:
    """One component's scored pairs ``component, u, v, p`` -> ``node, root``."""
    from bem.cluster import average_linkage

    nodes = np.unique(np.concatenate([batch["u"].to_numpy(), batch["v"].to_numpy()]))
    u = np.searchsorted(nodes, batch["u"].to_numpy())
    v = np.searchsorted(nodes, batch["v"].to_numpy())
    labels = average_linkage(len(nodes), u, v, batch["p"].to_numpy(), threshold=threshold)
    # labels follow each cluster's smallest node: the root is that node
    roots = np.full(labels.max() + 1, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(roots, labels, nodes)
    return pd.DataFrame({"node": nodes, "root": roots[labels]})


def _average_linkage_each(batch: pd.DataFrame, *, threshold: float) -> pd.DataFrame:
    """The components of one bucket, each clustered on its own (:func:`_average_linkage`)."""
    groups = batch.groupby("component", sort=False)  # Spark never calls with an empty bucket
    return pd.concat(
        [_average_linkage(group, threshold=threshold) for _, group in groups], ignore_index=True
    )


def cluster_roots(
    edges: DataFrame,
    *,
    threshold: float,
    method: ClusterMethod = "average",
    checkpoint_every: int = 3,
) -> DataFrame:
    """``node, root`` for every node of a scored pair, ``root`` its cluster's smallest node.

    ``edges`` holds ``u, v, p`` (integer nodes, probability). Nodes in no pair
    are clusters of their own and not listed.

    Raises:
        ValueError: an unknown ``method``.
    """
    from pyspark.sql import functions as F

    if method not in ("components", "average"):
        raise ValueError(f"unknown clustering method {method!r}; use 'components' or 'average'")
    strong = edges.where(F.col("p") >= float(threshold)).select("u", "v")
    components = connected_components(strong, checkpoint_every=checkpoint_every)
    everyone = (
        edges.select(F.col("u").alias("node"))
        .unionByName(edges.select(F.col("v").alias("node")))
        .distinct()
    )
    if method == "components":
        found = components.select("node", F.col("component").alias("root"))
    else:
        cu = components.select(F.col("node").alias("u"), F.col("component").alias("cu"))
        cv = components.select(F.col("node").alias("v"), F.col("component").alias("cv"))
        inside = (
            edges.join(cu, "u")
            .join(cv, "v")
            .where(F.col("cu") == F.col("cv"))
            .select(F.col("cu").alias("component"), "u", "v", "p")
        )
        # one group per component costs a Python round trip each (tens of thousands of
        # small components): components share a bucket, and each is clustered on its own
        buckets = int(edges.sparkSession.conf.get("spark.sql.shuffle.partitions", "200"))
        split = partial(_average_linkage_each, threshold=float(threshold))
        found = (
            inside.withColumn("bucket", F.pmod(F.col("component"), F.lit(buckets)))
            .groupBy("bucket")
            .applyInPandas(split, "node long, root long")
        )
    return everyone.join(found, "node", "left").select(
        "node", F.coalesce("root", "node").alias("root")
    )


def entity_table(
    spark: SparkSession,
    nodes: pd.DataFrame,
    u: np.ndarray,
    v: np.ndarray,
    probability: np.ndarray,
    *,
    threshold: float,
    method: ClusterMethod = "average",
    keep: np.ndarray | None = None,
    checkpoint_every: int = 3,
) -> tuple[pd.DataFrame, np.ndarray]:
    """The entity table of :func:`bem.entities.resolve_entities` and, per pair, whether
    its two records share an entity.

    ``nodes`` lists ``source, id`` per node (node ``i`` is row ``i``); pair ``i``
    joins nodes ``u[i]`` and ``v[i]`` with ``probability[i]``. With ``keep`` (a
    mask, from one-to-one linkage) the clusters are the connected components of
    the kept pairs; otherwise ``method`` clusters all pairs at ``threshold``.
    """
    from pyspark.sql import functions as F

    u = np.asarray(u, dtype=np.int64)
    v = np.asarray(v, dtype=np.int64)
    probability = np.asarray(probability, dtype=np.float64)
    pairs = spark.createDataFrame(
        pd.DataFrame({"i": np.arange(len(u), dtype=np.int64), "u": u, "v": v, "p": probability}),
        schema="i long, u long, v long, p double",
    )
    if keep is not None:
        chosen = pairs.where(F.lit(False))
        if keep.any():
            kept = np.flatnonzero(keep)
            chosen = spark.createDataFrame(
                pd.DataFrame({"u": u[kept], "v": v[kept], "p": np.ones(len(kept))}),
                schema="u long, v long, p double",
            )
        roots = cluster_roots(chosen.select("u", "v", "p"), threshold=1.0, method="components")
    else:
        roots = cluster_roots(
            pairs.select("u", "v", "p"),
            threshold=threshold,
            method=method,
            checkpoint_every=checkpoint_every,
        )
    node_ids = spark.createDataFrame(
        pd.DataFrame({"node": np.arange(len(nodes), dtype=np.int64)}), schema="node long"
    )
    roots = node_ids.join(roots, "node", "left").select(
        "node", F.coalesce("root", "node").alias("root")
    )
    roots = roots.persist()
    ru = roots.select(F.col("node").alias("u"), F.col("root").alias("ru"))
    rv = roots.select(F.col("node").alias("v"), F.col("root").alias("rv"))
    scored = (
        pairs.join(ru, "u")
        .join(rv, "v")
        .select("i", "p", "ru", (F.col("ru") == F.col("rv")).alias("same"))
    )
    same = scored.select("i", "same").toPandas()
    inside = (
        scored.where("same")
        .groupBy(F.col("ru").alias("root"))
        .agg(F.min("p").alias("lo"), F.max("p").alias("hi"))
    )
    sizes = roots.groupBy("root").agg(F.count("*").alias("size"))
    table = (
        roots.join(sizes, "root")
        .join(inside, "root", "left")
        .select("node", "root", "size", "lo", "hi")
        .toPandas()
        .sort_values("node", kind="stable")
    )
    roots.unpersist()
    _, labels = np.unique(table["root"].to_numpy(), return_inverse=True)
    width = max(len(str(labels.max() + 1 if len(labels) else 0)), 1)
    entities = pd.DataFrame(
        {
            "source": nodes["source"].to_numpy(),
            "id": nodes["id"].to_numpy(),
            "entity_id": [f"e{lab:0{width}d}" for lab in labels],
            "cluster_size": table["size"].to_numpy(dtype=np.int64),
            "min_probability": table["lo"].to_numpy(dtype=np.float64),
            "max_probability": table["hi"].to_numpy(dtype=np.float64),
        }
    )
    flags = np.zeros(len(u), dtype=int)
    flags[same["i"].to_numpy(dtype=np.int64)] = same["same"].to_numpy(dtype=bool).astype(int)
    return entities, flags
