"""Connected components of a graph held as a Spark DataFrame, without GraphFrames.

GraphFrames' PyPI wheel carries no JVM jar (it fetches one from Maven at run
time), so BEM runs its own: the alternating large-star / small-star algorithm
of Kiveris et al., "Connected Components in MapReduce and Beyond" (SoCC 2014),
which needs O(log^2 n) rounds of joins and aggregations whatever the graph's
diameter (a long chain too, where min-label propagation needs one round per
hop). Nodes are integers; a component is labelled by its smallest node, so
the result does not depend on the edges' order, as in
:func:`bem.cluster.connected_components`.

Each round's edges are cached, and the lineage is cut every
``checkpoint_every`` rounds (:func:`~bem.engines.spark.session.lineage_cut`) so
that plans do not grow with the number of rounds.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

from bem.engines.spark.session import lineage_cut

__all__ = ["connected_components"]

logger = logging.getLogger(__name__)


def _both_ways(edges: DataFrame) -> DataFrame:
    """Undirected edges ``u, v`` listed in both directions."""
    from pyspark.sql import functions as F

    back = edges.select(F.col("v").alias("u"), F.col("u").alias("v"))
    return edges.unionByName(back)


def _large_star(edges: DataFrame) -> DataFrame:
    """Every node's larger neighbours are linked to the smallest node around it."""
    from pyspark.sql import functions as F

    arcs = _both_ways(edges)
    lowest = arcs.groupBy("u").agg(F.min("v").alias("m"))
    lowest = lowest.select("u", F.least("u", "m").alias("m"))
    return (
        arcs.where(F.col("v") > F.col("u"))
        .join(lowest, "u")
        .select(F.col("v").alias("u"), F.col("m").alias("v"))
        .distinct()
    )


def _small_star(edges: DataFrame) -> DataFrame:
    """Every node and its smaller neighbours are linked to the smallest of them."""
    from pyspark.sql import functions as F

    down = edges.select(F.greatest("u", "v").alias("u"), F.least("u", "v").alias("v")).where(
        F.col("u") != F.col("v")
    )
    lowest = down.groupBy("u").agg(F.min("v").alias("m"))
    moved = down.join(lowest, "u").select(F.col("v").alias("u"), F.col("m").alias("v"))
    kept = lowest.select("u", F.col("m").alias("v"))
    return moved.unionByName(kept).where(F.col("u") != F.col("v")).distinct()


def _differ(a: DataFrame, b: DataFrame) -> bool:
    """Whether two distinct edge sets differ (one job: an outer join on the edges)."""
    from pyspark.sql import functions as F

    marked = a.select("u", "v", F.lit(True).alias("in_a")).join(
        b.select("u", "v", F.lit(True).alias("in_b")), ["u", "v"], "full_outer"
    )
    return marked.where(F.col("in_a").isNull() | F.col("in_b").isNull()).limit(1).count() > 0


def connected_components(
    edges: DataFrame,
    *,
    checkpoint_every: int = 3,
    max_rounds: int = 200,
) -> DataFrame:
    """``node, component`` for every node of an edge, ``component`` its smallest node.

    Args:
        edges: a DataFrame with integer columns ``u`` and ``v`` (undirected;
            repeated, reversed and self edges are fine). Nodes in no edge are
            not listed: they are components of their own.
        checkpoint_every: rounds between two lineage cuts.
        max_rounds: give up after this many large-star + small-star rounds.

    Raises:
        ValueError: ``checkpoint_every`` or ``max_rounds`` is not positive.
        RuntimeError: no convergence within ``max_rounds`` (it converges in
            O(log^2 n) rounds, so this means something is wrong).
    """
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    if checkpoint_every < 1 or max_rounds < 1:
        raise ValueError(
            f"checkpoint_every and max_rounds must be positive, got {checkpoint_every} and "
            f"{max_rounds}"
        )
    nodes = _both_ways(edges.select(F.col("u").cast("long"), F.col("v").cast("long")))
    nodes = nodes.select(F.col("u").alias("node")).distinct()
    current = edges.select(
        F.least("u", "v").cast("long").alias("u"), F.greatest("u", "v").cast("long").alias("v")
    )
    current = lineage_cut(current.where(F.col("u") != F.col("v")).distinct())
    previous = None
    for round_ in range(1, max_rounds + 1):
        step = _small_star(_large_star(current))
        step = step.select(F.least("u", "v").alias("u"), F.greatest("u", "v").alias("v"))
        if round_ % checkpoint_every == 0:
            step = lineage_cut(step)
        else:
            step = step.persist(StorageLevel.MEMORY_AND_DISK)
        changed = _differ(step, current)
        if previous is not None:
            previous.unpersist()
        previous, current = current, step
        if not changed:
            logger.info("connected components: converged in %d round(s)", round_)
            break
    else:
        raise RuntimeError(f"connected components did not converge in {max_rounds} rounds")
    # a converged graph is a set of stars: every node linked to its component's minimum
    parent = current.groupBy("v").agg(F.min("u").alias("m")).select(F.col("v").alias("node"), "m")
    return (
        nodes.join(parent, "node", "left")
        .select("node", F.coalesce("m", "node").alias("component"))
        .persist(StorageLevel.MEMORY_AND_DISK)
    )
