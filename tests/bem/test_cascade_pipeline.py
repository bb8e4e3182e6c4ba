"""The cascade in the pipeline: stages, decisions, clusters, explanations, the CLI flags."""

from __future__ import annotations

import json
import sys

import numpy as np
import pandas as pd
import pytest

from bem.cli import main
from bem.cluster import connected_components
from bem.decide import decision_rules
from bem.engines import LocalEngine
from bem.pipeline import dedup
from bem.scoring import pair_decisions
from data import RecordPairs
from matcher import CascadePrediction, Matcher

PIPELINE = ["--key", "title", "--top-k", "4", "--clustering", "components"]


def _dedup(root, model, out, *extra: str) -> int:
    args = ["-q", "dedup", str(root / "records.csv"), "--model", str(model), *PIPELINE]
    return main([*args, *extra, "-o", str(out)])


def _pairs(out) -> pd.DataFrame:
    return pd.read_csv(out / "pairs.csv", dtype={"ltable_id": str, "rtable_id": str})


@pytest.fixture(scope="module")
def cascade_run(cascade_workspace):
    """``bem dedup`` with the model's cascade, components clustering and a review."""
    root, _, model = cascade_workspace
    out = root / "with-cascade"
    assert _dedup(root, model, out, "--review", "6") == 0
    return out


def test_pair_decisions_follow_the_deciding_stage_and_the_evidence_rule():
    prediction = CascadePrediction(
        proba=np.array([0.3, 0.9, 0.7, 0.2, 0.95, 0.5]),
        decision=np.array([1, 0, 1, 0, 1, 1], dtype=np.int8),
        stage=np.array(["cascade"] * 2 + ["cross_encoder"] * 2 + ["cascade", "cross_encoder"]),
        cheap_proba=np.full(6, np.nan),
        threshold=0.5,
    )
    evidence = np.array([True, True, True, True, False, False])
    out = pair_decisions(prediction, evidence)
    # a cascade match below the threshold, a cascade no-match above it: their stage decides
    assert out.decision.tolist() == [1, 0, 1, 0, 0, 0]
    cluster = out.cluster_probability
    assert cluster[0] >= 0.5 > cluster[1] and cluster[1] > 0.49
    assert cluster[2:4].tolist() == [0.7, 0.2]  # the cross-encoder's own scores
    assert cluster[4:].tolist() == [0.0, 0.0]  # no evidence, no merge: overrules both stages
    assert out.overruled.tolist() == [False, False, False, False, True, True]
    assert ((cluster >= 0.5) == (out.decision == 1)).all()


def test_decision_rules_name_the_cascade():
    pairs = pd.DataFrame(
        {
            "probability": [0.3, 0.9, 0.7],
            "decision": [1, 0, 1],
            "same_entity": [1, 0, 1],
            "evidence": [1, 1, 1],
            "stage": ["cascade", "cascade", "cross_encoder"],
        }
    )
    rules = decision_rules(pairs, threshold=0.5, clustering="components", one_to_one=False)
    assert rules[0].endswith("(match) made by the cascade (first stage), not the cross-encoder")
    assert "merged through other links" not in rules[0]  # the cascade said match itself
    assert "(no match) made by the cascade" in rules[1] and "kept apart" not in rules[1]
    assert "cascade" not in rules[2]


def test_stage_counts_decisions_and_clusters_agree(cascade_workspace, cascade_run):
    _, records, model = cascade_workspace
    pairs = _pairs(cascade_run)
    run = json.loads((cascade_run / "run.json").read_text())
    counts, stage = run["counts"], pairs["stage"]
    assert counts["decided_by_cascade"] == (stage == "cascade").sum() > 0
    assert counts["decided_by_cross_encoder"] == (stage == "cross_encoder").sum() > 0
    assert counts["candidates"] == len(pairs)
    assert run["config"]["engine"] == "local" and run["config"]["cascade"] is True

    # each pair's decision is its deciding stage's, and no evidence overrules both
    matcher = Matcher.from_pretrained(model)
    routing = matcher.cascade_.route(
        RecordPairs(records, records, pairs[["ltable_id", "rtable_id"]])
    )
    by_cascade = stage.to_numpy() == "cascade"
    np.testing.assert_array_equal(by_cascade, routing.decided)
    evidence = pairs["evidence"].to_numpy() == 1
    decided = np.where(
        by_cascade, routing.decision == 1, pairs["probability"] >= run["threshold_used"]
    )
    np.testing.assert_array_equal(pairs["decision"], (decided & evidence).astype(int))
    np.testing.assert_allclose(pairs.loc[by_cascade, "probability"], routing.proba[by_cascade])
    assert counts["match_decisions"] == pairs["decision"].sum()

    # components clustering: the entities are the components of the decided matches
    ids = list(records.index)
    where = {i: n for n, i in enumerate(ids)}
    links = pairs[pairs["decision"] == 1]
    labels = connected_components(
        len(ids), links["ltable_id"].map(where), links["rtable_id"].map(where)
    )
    entities = pd.read_csv(cascade_run / "entities.csv", dtype=str).set_index("id")["entity_id"]
    same = entities[pairs["ltable_id"]].to_numpy() == entities[pairs["rtable_id"]].to_numpy()
    np.testing.assert_array_equal(pairs["same_entity"], same.astype(int))
    component = dict(zip(ids, labels))
    want = [component[a] == component[b] for a, b in zip(pairs["ltable_id"], pairs["rtable_id"])]
    np.testing.assert_array_equal(same, want)


def test_no_cascade_sends_every_pair_to_the_cross_encoder(cascade_workspace, cascade_run):
    root, _, model = cascade_workspace
    out = root / "no-cascade"
    assert _dedup(root, model, out, "--no-cascade", "--no-explain") == 0
    pairs = _pairs(out)
    run = json.loads((out / "run.json").read_text())
    assert (pairs["stage"] == "cross_encoder").all()
    assert run["counts"]["decided_by_cascade"] == 0
    assert run["counts"]["decided_by_cross_encoder"] == len(pairs)
    assert run["config"]["cascade"] is False
    # on the pairs the cascade left to it, the cross-encoder decided exactly the same
    staged = _pairs(cascade_run)
    rest = (staged["stage"] == "cross_encoder").to_numpy()
    pd.testing.assert_frame_equal(
        staged[["ltable_id", "rtable_id"]], pairs[["ltable_id", "rtable_id"]]
    )
    np.testing.assert_allclose(
        staged.loc[rest, "probability"], pairs.loc[rest, "probability"], rtol=0, atol=1e-6
    )
    np.testing.assert_array_equal(staged.loc[rest, "decision"], pairs.loc[rest, "decision"])


def test_a_cascade_decided_pair_is_explained_by_the_cascade(cascade_run):
    from explain import read_jsonl

    pairs = _pairs(cascade_run).set_index(["ltable_id", "rtable_id"])
    explanations = read_jsonl(cascade_run / "explanations.jsonl")
    stages = {e.stage for e in explanations}
    assert stages == {"cascade", "cross_encoder"}  # the review holds both kinds
    for e in explanations:
        row = pairs.loc[(e.left_id, e.right_id)]
        assert e.stage == row["stage"]
        assert e.decision == row["same_entity"]
        if e.stage != "cascade":
            assert e.method == "occlusion" and e.cascade is None
            continue
        assert e.method == "cascade" and e.model_calls == 0
        rule = e.decision_rule
        assert "made by the cascade (first stage)" in rule or rule.startswith("no evidence")
        assert e.probability == pytest.approx(row["probability"])
        c = e.cascade
        # exact: the features, and the fields with the record-level part, add up to the logit
        assert c["intercept"] + sum(c["features"].values()) == pytest.approx(c["logit"])
        fields = sum(f.combined for f in e.fields) + c["by_attribute"]["(record)"]
        assert c["intercept"] + fields == pytest.approx(c["logit"])
        assert c["probability"] == pytest.approx(1 / (1 + np.exp(-c["logit"])))
        assert (
            (c["probability"] > c["high"]) if c["decision"] == 1 else (c["probability"] < c["low"])
        )
    html = (cascade_run / "report.html").read_text()
    decided = sum(e.stage == "cascade" for e in explanations)
    assert html.count("Decided by the cascade (first stage), not the cross-encoder") == decided


class Recording(LocalEngine):
    """The local engine, counting how often it is closed."""

    closed = 0

    def close(self) -> None:
        self.closed += 1


def test_the_pipeline_closes_the_engine_it_built_and_not_one_passed_in(
    cascade_workspace, monkeypatch
):
    _, records, model = cascade_workspace
    matcher = Matcher.from_pretrained(model)
    options = dict(key=["title"], top_k=2, explain_method=None, progress=False)
    given = Recording()
    passed = dedup(records, matcher, engine=given, cascade=False, **options)
    assert given.closed == 0 and (passed.pairs["stage"] == "cross_encoder").all()
    built = Recording()
    monkeypatch.setattr("bem.pipeline.make_engine", lambda name: built if name == "local" else None)
    again = dedup(records, matcher, cascade=False, **options)
    assert built.closed == 1
    pd.testing.assert_frame_equal(again.pairs, passed.pairs)


def test_spark_master_without_the_spark_engine_is_an_error(cascade_workspace, capsys):
    root, _, model = cascade_workspace
    code = _dedup(root, model, root / "bad", "--spark-master", "local[2]")
    assert code == 2
    err = capsys.readouterr().err
    assert "applies to the Spark engine only; add --engine spark" in err


def test_spark_engine_without_pyspark_says_what_to_install(cascade_workspace, capsys, monkeypatch):
    root, _, model = cascade_workspace
    monkeypatch.setitem(sys.modules, "pyspark", None)
    assert _dedup(root, model, root / "no-spark", "--engine", "spark") == 2
    err = capsys.readouterr().err
    assert "bem dedup: error: --engine spark:" in err and "pip install 'bem[spark]'" in err
    assert not (root / "no-spark" / "run.json").exists()
