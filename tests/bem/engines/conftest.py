"""Fixtures of the engine tests: one small local Spark session for all of them.

Spark tests are marked ``spark`` and skip when pyspark or ``java`` is missing.
The session is shared by the whole test session (starting a JVM takes seconds
to minutes on a busy machine): ``local[2]``, no web UI, 2 shuffle partitions.
"""

from __future__ import annotations

import shutil

import pytest


@pytest.fixture(scope="session")
def spark():
    """A ``local[2]`` SparkSession, stopped after the tests."""
    pytest.importorskip("pyspark", reason="pyspark is not installed (pip install 'bem[spark]')")
    if shutil.which("java") is None:
        pytest.skip("java is not installed (Spark needs a JRE, e.g. openjdk-17-jre-headless)")
    from bem.engines.spark import start_session

    session = start_session(
        "local[2]",
        app_name="bem-tests",
        config={"spark.sql.shuffle.partitions": "2", "spark.default.parallelism": "2"},
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="session")
def spark_engine(spark):
    """A :class:`~bem.engines.SparkEngine` on the shared session that clusters on
    DataFrames (``driver_cluster_pairs=0``), as it does above its driver limit."""
    from bem.engines import SparkEngine

    return SparkEngine(spark, driver_cluster_pairs=0)
