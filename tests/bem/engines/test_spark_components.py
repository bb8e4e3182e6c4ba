"""Connected components and clustering on Spark DataFrames, against the local code."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bem.cluster import average_linkage
from bem.cluster import connected_components as local_components

pytestmark = pytest.mark.spark


def _components(spark, edges: list[tuple[int, int]]) -> dict[int, int]:
    from bem.engines.spark import connected_components

    frame = spark.createDataFrame(pd.DataFrame(edges, columns=["u", "v"]), "u long, v long")
    out = connected_components(frame, checkpoint_every=2).toPandas()
    return dict(zip(out["node"].tolist(), out["component"].tolist()))


def test_hand_made_and_random_graphs_in_one_run(spark):
    """Chain, star, two components, singletons and a random graph (nodes from 1000 on)."""
    chain = [(7, 8), (3, 4), (1, 2), (5, 6), (2, 3), (9, 10), (4, 5), (8, 9), (6, 7)]  # 1..10
    star = [(20, leaf) for leaf in (14, 15, 16, 17, 18, 19, 21, 22)]  # centre 20, min 14
    two = [(30, 31), (31, 32), (40, 41), (41, 40), (42, 41)]  # 30-32 and 40-42, a repeat
    singletons = [(50, 50), (60, 60)]  # self edges: a node alone
    rng = np.random.default_rng(7)
    n = 300
    u, v = rng.integers(0, n, 260), rng.integers(0, n, 260)
    randoms = list(zip((u + 1000).tolist(), (v + 1000).tolist()))
    found = _components(spark, chain + star + two + singletons + randoms)

    assert {n: found[n] for n in range(1, 11)} == dict.fromkeys(range(1, 11), 1)
    assert {found[n] for n in (14, 15, 16, 17, 18, 19, 20, 21, 22)} == {14}
    assert [found[n] for n in (30, 31, 32)] == [30, 30, 30]
    assert [found[n] for n in (40, 41, 42)] == [40, 40, 40]
    assert found[50] == 50 and found[60] == 60
    labels = local_components(n, u, v)
    random_part = {k - 1000: c - 1000 for k, c in found.items() if k >= 1000}
    assert set(random_part) == set(u.tolist()) | set(v.tolist())
    for node, comp in random_part.items():
        assert comp == np.flatnonzero(labels == labels[node])[0]
    assert len(found) == 10 + 9 + 6 + 2 + len(random_part)


def test_average_linkage_per_component_matches_the_local_one(spark):
    """A weak bridge and a chain through one strong link stay apart, as locally."""
    from bem.engines.spark.clustering import cluster_roots

    rng = np.random.default_rng(1)
    n = 80
    u, v = rng.integers(0, n, 400), rng.integers(0, n, 400)
    p = np.round(rng.random(400), 2)  # repeated scores: ties in the merge order
    frame = spark.createDataFrame(
        pd.DataFrame({"u": u, "v": v, "p": p}), "u long, v long, p double"
    )
    out = cluster_roots(frame, threshold=0.6, method="average").toPandas()
    roots = dict(zip(out["node"].tolist(), out["root"].tolist()))
    labels = average_linkage(n, u, v, p, threshold=0.6)
    assert set(roots) == set(u.tolist()) | set(v.tolist())
    for node, root in roots.items():
        assert root == np.flatnonzero(labels == labels[node])[0], node
    assert len(set(roots.values())) < len(roots)  # some clusters merged
