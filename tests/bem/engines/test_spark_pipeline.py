"""``bem dedup --engine spark`` writes what ``--engine local`` writes, the cascade included."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from bem.cli import main

pytestmark = pytest.mark.spark

IDS = {"ltable_id": str, "rtable_id": str}


def _run(root, model, engine: str) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    out = root / f"engine-{engine}"
    args = ["-q", "dedup", str(root / "records.csv"), "--model", str(model)]
    args += ["--key", "title", "--top-k", "4", "--review", "2", "-o", str(out)]
    if engine == "spark":
        args += ["--engine", "spark", "--spark-master", "local[2]"]
    assert main(args) == 0
    entities = pd.read_csv(out / "entities.csv", dtype={"id": str, "source": str})
    pairs = pd.read_csv(out / "pairs.csv", dtype=IDS)
    return entities, pairs, json.loads((out / "run.json").read_text())


def test_dedup_on_spark_gives_the_local_entities_pairs_and_stages(spark, cascade_workspace):
    root, _, model = cascade_workspace
    want_entities, want_pairs, want_run = _run(root, model, "local")
    entities, pairs, run = _run(root, model, "spark")
    pd.testing.assert_frame_equal(entities, want_entities)
    exact = ["ltable_id", "rtable_id", "decision", "same_entity", "evidence", "stage", "blocker"]
    pd.testing.assert_frame_equal(pairs[exact], want_pairs[exact])
    np.testing.assert_allclose(pairs["probability"], want_pairs["probability"], rtol=0, atol=1e-6)
    assert set(pairs["stage"]) == {"cascade", "cross_encoder"}  # both stages ran on the workers
    assert run["counts"] == want_run["counts"]
    assert run["config"]["engine"] == "spark" and run["config"]["spark_master"] == "local[2]"
    # the CLI's engine found the tests' session active: it used it and left it running
    assert spark.range(3).count() == 3
