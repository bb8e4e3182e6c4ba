"""The Spark engine gives the local engine's candidates, scores and entities."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bem.engines import LocalEngine
from data import make_dedup, make_linkage

pytestmark = pytest.mark.spark

LOCAL = LocalEngine()


@pytest.fixture(scope="module")
def dedup_table() -> pd.DataFrame:
    # three columns: the tiny matcher's 48 tokens leave room for their values
    table = (
        make_dedup(n_entities=40, seed=5, progress=False)
        .records[["title", "brand", "model"]]
        .copy()
    )
    table.loc[table.index[3], "title"] = None  # an empty key: no candidates, as locally
    return table


@pytest.fixture(scope="module")
def linkage():
    return make_linkage(n_entities=40, seed=2, progress=False)


def _partition(entities: pd.DataFrame) -> set[frozenset]:
    groups = entities.groupby("entity_id")["id"].apply(lambda s: frozenset(s.tolist()))
    return set(groups.tolist())


def _check_clusters(spark_engine, left, right, cands, prob, **options):
    lids, rids = cands["ltable_id"].to_numpy(), cands["rtable_id"].to_numpy()
    want, want_same = LOCAL.cluster(left, right, lids, rids, prob, **options)
    got, same = spark_engine.cluster(left, right, lids, rids, prob, **options)
    assert _partition(got) == _partition(want)
    pd.testing.assert_frame_equal(got, want)  # the entity ids are the local ones too
    np.testing.assert_array_equal(same, want_same)


def test_dedup_candidates_scores_and_entities_equal_the_local_engine(
    spark_engine, dedup_table, tiny_matcher
):
    want = LOCAL.block(dedup_table, None, key=["title"], top_k=4, progress=False)
    got = spark_engine.block(dedup_table, None, key=["title"], top_k=4)
    assert len(want) > 50
    pd.testing.assert_frame_equal(got, want)

    prob_local = LOCAL.score(tiny_matcher, dedup_table, dedup_table, want, progress=False)
    prob = spark_engine.score(tiny_matcher, dedup_table, dedup_table, want, chunk_size=64)
    np.testing.assert_allclose(prob, prob_local, rtol=0, atol=1e-6)

    # a threshold inside the scores' range, so that some pairs merge and some do not
    threshold = float(np.quantile(prob_local, 0.7))
    _check_clusters(
        spark_engine,
        dedup_table,
        None,
        want,
        prob_local,
        threshold=threshold,
        method="average",
        sources=("records", "records"),
    )


def test_linkage_candidates_and_entities_equal_the_local_engine(spark_engine, linkage):
    left, right = linkage.left, linkage.right
    want = LOCAL.block(left, right, key=["title", "brand"], top_k=3, progress=False)
    got = spark_engine.block(left, right, key=["title", "brand"], top_k=3)
    pd.testing.assert_frame_equal(got, want)

    # one-to-one linkage: the greedy assignment on the driver, components on Spark
    prob = np.random.default_rng(0).random(len(want)).round(2)
    _check_clusters(
        spark_engine,
        left,
        right,
        want,
        prob,
        threshold=0.55,
        one_to_one_links=True,
        sources=("a", "b"),
    )


def test_word_pairs_of_a_tight_budget_are_chosen_and_used_as_locally(spark, dedup_table, caplog):
    import logging

    from bem.engines.spark.blocking import SparkBlocker
    from blocking import FuzzyBlocker

    # a budget so tight that the median record's rarest q-gram outgrows it: word pairs
    local = FuzzyBlocker("title", top_k=3, max_postings=4, progress=False)
    with caplog.at_level(logging.INFO):
        want = local.candidates(dedup_table)
        got = SparkBlocker(spark, "title", top_k=3, max_postings=4).candidates(dedup_table)
    assert caplog.text.count("indexing word pairs") == 2  # once per engine
    pd.testing.assert_frame_equal(got, want)
    plain = FuzzyBlocker("title", top_k=3, max_postings=4, word_pairs=False, progress=False)
    assert not want.equals(plain.candidates(dedup_table))


def test_pairs_within_the_driver_limit_are_clustered_on_the_driver(spark, linkage, caplog):
    import logging

    from bem.engines import SparkEngine

    left, right = linkage.left, linkage.right
    cands = LOCAL.block(left, right, key=["title"], top_k=3, progress=False)
    prob = np.random.default_rng(1).random(len(cands)).round(2)
    options = {"threshold": 0.5, "method": "average", "sources": ("a", "b")}
    on_driver = SparkEngine(spark, driver_cluster_pairs=len(cands))
    with caplog.at_level(logging.INFO, logger="bem.engines.spark.engine"):
        _check_clusters(on_driver, left, right, cands, prob, **options)
    assert f"clustering {len(cands)} scored pairs on the driver" in caplog.text
    caplog.clear()
    # one pair over the limit: DataFrames, the same entities
    over = SparkEngine(spark, driver_cluster_pairs=len(cands) - 1)
    with caplog.at_level(logging.INFO, logger="bem.engines.spark.engine"):
        _check_clusters(over, left, right, cands, prob, **options)
    assert "on the driver" not in caplog.text


def test_a_negative_driver_limit_is_refused():
    from bem.engines import SparkEngine

    with pytest.raises(ValueError, match="driver_cluster_pairs"):
        SparkEngine(driver_cluster_pairs=-1)
