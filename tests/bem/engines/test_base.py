"""The engine interface and the local engine (no Spark needed)."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest

from bem.engines import ENGINES, Engine, LocalEngine, SparkEngine, make_engine
from bem.entities import resolve_entities
from bem.pipeline import block, score_pairs
from data import BemError, make_dedup


@pytest.fixture(scope="module")
def records() -> pd.DataFrame:
    # three columns: the tiny matcher's 48 tokens leave room for their values
    return make_dedup(n_entities=25, seed=3, progress=False).records[["title", "brand", "model"]]


def test_make_engine_by_name():
    assert isinstance(make_engine("local"), LocalEngine)
    engine = LocalEngine()
    assert make_engine(engine) is engine
    assert set(ENGINES) == {"local", "spark"}
    with pytest.raises(ValueError, match="unknown engine 'dask'"):
        make_engine("dask")
    with pytest.raises(ValueError, match="takes no options"):
        make_engine("local", master="local[2]")


def test_local_engine_is_the_pipeline_functions(records, tiny_matcher):
    engine = LocalEngine()
    assert isinstance(engine, Engine)
    cands = engine.block(records, None, key=["title"], top_k=3, progress=False)
    pd.testing.assert_frame_equal(
        cands, block(records, None, key=["title"], top_k=3, progress=False)
    )
    prob = engine.score(tiny_matcher, records, records, cands, progress=False)
    np.testing.assert_array_equal(
        prob, score_pairs(tiny_matcher, records, records, cands, progress=False)
    )
    lids, rids = cands["ltable_id"].to_numpy(), cands["rtable_id"].to_numpy()
    entities, same = engine.cluster(records, None, lids, rids, prob, threshold=0.5)
    want, want_same = resolve_entities(records, None, lids, rids, prob, threshold=0.5)
    pd.testing.assert_frame_equal(entities, want)
    np.testing.assert_array_equal(same, want_same)


def test_default_key_is_a_name_like_column(records):
    cands = LocalEngine().block(records, None, top_k=2, progress=False)
    assert set(cands["blocker"]) == {"fuzzy[title]"}


@pytest.mark.parametrize("engine", ["local", "spark"])
def test_missing_key_column_fails_alike_before_any_work(records, engine):
    """Both engines raise the pipeline's BemError; the Spark one before starting Spark."""
    if engine == "spark":
        pytest.importorskip("pyspark")
        eng = SparkEngine(master="local[1]")
    else:
        eng = LocalEngine()
    table = records.copy()
    table.attrs["source"] = "records.csv"
    message = r"records.csv: key column\(s\) \['sku'\] not found; available columns:"
    with pytest.raises(BemError, match=message):
        eng.block(table, None, key=["sku"], progress=False)
    right = records.copy()
    right.attrs = {}
    with pytest.raises(BemError, match=r"^right: key column\(s\) \['sku'\] not found"):
        eng.block(table.assign(sku="x"), right, key=["sku"])
    empty = right.iloc[:0]
    with pytest.raises(BemError, match="records: the table has no records"):
        eng.block(empty, None, key=["title"])
    if engine == "spark":
        assert not eng.started  # no session was started for bad input


def test_spark_engine_without_pyspark_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "pyspark", None)
    with pytest.raises(ImportError, match=r"pip install 'bem\[spark\]'"):
        SparkEngine()
    with pytest.raises(ImportError, match="the Spark engine needs pyspark"):
        make_engine("spark", master="local[1]")
