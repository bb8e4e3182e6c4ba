"""Blocking recall of the Spark engine on a public set equals the local engine's."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest

from bem.engines import LocalEngine
from blocking import evaluate_blocking

DATASETS = Path(__file__).resolve().parents[3].parent / "shared" / "datasets"

pytestmark = [pytest.mark.spark, pytest.mark.datasets]

logger = logging.getLogger(__name__)


@pytest.fixture(scope="module")
def abt_buy():
    directory = DATASETS / "ccer" / "abt_buy"
    if not directory.is_dir():
        pytest.skip(f"{directory} is absent")
    from data import load_linkage

    return load_linkage(directory)


def test_spark_recall_on_ccer_abt_buy_is_the_local_one(spark_engine, abt_buy):
    ds = abt_buy
    start = time.perf_counter()
    local = LocalEngine().block(ds.left, ds.right, key=["name"], top_k=10, progress=False)
    local_seconds = time.perf_counter() - start
    start = time.perf_counter()
    spark = spark_engine.block(ds.left, ds.right, key=["name"], top_k=10)
    spark_seconds = time.perf_counter() - start
    sizes = {"n_left": len(ds.left), "n_right": len(ds.right)}
    want = evaluate_blocking(local, ds.matches, **sizes)
    got = evaluate_blocking(spark, ds.matches, **sizes)
    logger.warning(
        "ccer/abt_buy name top-10: recall local %.4f (%d pairs, %.1fs), spark %.4f "
        "(%d pairs, %.1fs)",
        want.recall,
        len(local),
        local_seconds,
        got.recall,
        len(spark),
        spark_seconds,
    )
    assert abs(got.recall - want.recall) <= 0.005, (got, want)
    assert abs(len(spark) - len(local)) <= 0.01 * len(local)
