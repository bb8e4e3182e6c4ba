"""Both designs of the Spark blocker give the local blocker's pairs."""

from __future__ import annotations

import pandas as pd
import pytest

from blocking import FuzzyBlocker
from data import make_dedup, make_linkage

pytestmark = pytest.mark.spark

STRATEGIES = ["broadcast", "shuffle"]


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    out = make_dedup(n_entities=40, seed=11, progress=False).records[["title", "brand"]].copy()
    out.loc[out.index[5], "title"] = None  # an empty key: no candidates, as locally
    return out


@pytest.fixture(scope="module")
def linkage():
    return make_linkage(n_entities=40, seed=4, progress=False)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_dedup_pairs_equal_the_local_blocker(spark, table, strategy):
    from bem.engines.spark.blocking import SparkBlocker

    options = {"top_k": 3, "score_cutoff": 40.0}
    want = FuzzyBlocker("title", progress=False, **options).candidates(table)
    got = SparkBlocker(spark, "title", strategy=strategy, **options).candidates(table)
    assert len(want) > 40
    pd.testing.assert_frame_equal(got, want)


@pytest.mark.parametrize("symmetric", [True, False])
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_linkage_pairs_equal_the_local_blocker(spark, linkage, strategy, symmetric):
    from bem.engines.spark.blocking import SparkBlocker

    options = {"top_k": 2, "symmetric": symmetric, "chunk_pairs": 500}
    key = ["title", "brand"]
    want = FuzzyBlocker(key, progress=False, **options).candidates(linkage.left, linkage.right)
    options.pop("chunk_pairs")  # the broadcast design cuts its tasks by the local budget
    blocker = SparkBlocker(spark, key, strategy=strategy, **options)
    if strategy == "broadcast":
        blocker.local.chunk_pairs = 500  # many small tasks, ranked on different executors
    got = blocker.candidates(linkage.left, linkage.right)
    pd.testing.assert_frame_equal(got, want)


def test_auto_broadcasts_up_to_its_record_limit_and_rejects_bad_options(spark):
    from bem.engines.spark.blocking import SparkBlocker

    blocker = SparkBlocker(spark, "title", broadcast_records=100)
    assert blocker.broadcasts(100) and not blocker.broadcasts(101)
    assert SparkBlocker(spark, "title", strategy="broadcast").broadcasts(10**9)
    assert not SparkBlocker(spark, "title", strategy="shuffle").broadcasts(1)
    with pytest.raises(ValueError, match="strategy must be"):
        SparkBlocker(spark, "title", strategy="joins")
    with pytest.raises(ValueError, match="broadcast_records"):
        SparkBlocker(spark, "title", broadcast_records=-1)
