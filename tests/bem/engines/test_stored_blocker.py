"""A blocker stored in a model runs on the Spark engine as on the local one."""

from __future__ import annotations

import pandas as pd
import pytest

from blocking import FuzzyBlocker, Key, UnionBlocker, blocker_to_config
from data import make_linkage

COLUMNS = ["title", "brand", "model", "price"]


@pytest.mark.spark
def test_spark_blocks_with_the_stored_blocker_as_the_local_engine(spark_engine):
    from bem.engines import LocalEngine

    syn = make_linkage(n_entities=30, seed=6)
    left, right = syn.left[COLUMNS], syn.right[COLUMNS]
    a = FuzzyBlocker("title", top_k=3, progress=False)
    b = FuzzyBlocker(Key(["brand", "model"]), top_k=2, scorer="ratio", progress=False)
    config = blocker_to_config(UnionBlocker([a, b]))
    local = LocalEngine().block(left, right, blocker_config=config, progress=False)
    spark = spark_engine.block(left, right, blocker_config=config)
    pd.testing.assert_frame_equal(
        local.reset_index(drop=True), spark.reset_index(drop=True), check_exact=False
    )
