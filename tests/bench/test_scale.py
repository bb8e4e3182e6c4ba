"""bench/scale.py's cascade figures with a cross-encoder and a cascade whose answers are known."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

from bench.scale import cascade_point
from data import RecordPairs
from matcher.band import Band
from matcher.cascade import CascadeRouting


class Scorer:
    """P(match) 0.9 for pairs whose two titles are equal, else 0.1; counts its pairs."""

    threshold_ = 0.5
    attributes_ = ("title",)

    def __init__(self, cascade) -> None:
        self.cascade_ = cascade
        self.scored = 0

    def predict_proba(self, pairs, batch_size=None, progress=False):
        self.scored += len(pairs)
        left = pairs.left.loc[pairs.pairs["ltable_id"], "title"].to_numpy()
        right = pairs.right.loc[pairs.pairs["rtable_id"], "title"].to_numpy()
        return np.where(left == right, 0.9, 0.1)

    def _invalidate(self) -> None:
        pass


class EveryOther:
    """Decides pairs 0, 2, 4... as no match (wrongly for the true matches among them)."""

    enabled = True
    threshold_ = 0.5
    low_, high_ = 0.2, 0.8
    band_ = Band(
        0.2,
        0.8,
        f1=0.95,
        f1_cross_encoder=0.96,
        decided_share=0.5,
        decided_match=10,
        decided_non_match=10,
        n=40,
    )

    def route(self, pairs):
        n = len(pairs)
        decided = np.arange(n) % 2 == 0
        return CascadeRouting(
            decided=decided,
            decision=np.where(decided, 0, -1).astype(np.int8),
            proba=np.full(n, 0.1),
        )


def _pairs(n: int = 40) -> RecordPairs:
    titles = [f"t{i // 2}" for i in range(n)]  # records 2k and 2k+1 share a title
    left = pd.DataFrame({"title": titles}, index=pd.Index([f"l{i}" for i in range(n)]))
    right = pd.DataFrame({"title": titles}, index=pd.Index([f"r{i}" for i in range(n)]))
    frame = pd.DataFrame(
        {
            "ltable_id": [f"l{i}" for i in range(n)],
            "rtable_id": [f"r{i}" for i in range(n)],
            "label": 1,
        }
    )
    return RecordPairs(left, right, frame)


def test_cascade_point_counts_what_each_stage_decided():
    pairs = _pairs()
    matcher = Scorer(EveryOther())
    point = cascade_point(matcher, pairs)
    assert point["transformer_share"] == pytest.approx(0.5)
    assert point["transformer_calls_ratio"] == pytest.approx(2.0)
    assert point["f1_no_cascade"] == pytest.approx(1.0)  # every pair a match, all found
    assert point["f1"] == pytest.approx(2 * 20 / (20 + 40))  # the cascade rejected half
    assert point["f1_change_points"] == pytest.approx(100 * (point["f1"] - 1.0))
    assert point["decisions_changed_on_transformer_pairs"] == 0
    assert point["band"] == [0.2, 0.8]
    assert point["valid_f1_change_points"] == pytest.approx(-1.0)  # the band's own validation
    assert point["valid_decided_share"] == 0.5


def test_a_scale_run_measures_stages_memory_recall_and_f1(monkeypatch, tiny_model_dir):
    """One ``--section runs`` point end to end on a small table with a tiny matcher."""
    from bench import scale, scale_runs
    from matcher import Matcher

    matcher = Matcher(model=tiny_model_dir, max_length=128, attributes=["title", "model"])
    matcher.threshold_ = 0.5
    monkeypatch.setattr(scale, "load", lambda name, allow_training: matcher)
    row = scale_runs.child("local", 60)
    assert row["engine"] == "local" and row["records"] == 60
    assert set(row["stages"]) >= {"generate", "load_model", "block", "score", "cluster"}
    assert row["pairs"] > 0 and 0.0 <= row["blocking_recall"] <= 1.0
    assert 0.0 <= row["f1"] <= 1.0 and row["peak_mb"] > 0
    assert row["decided_by_cascade"] + row["decided_by_cross_encoder"] == row["pairs"]


def test_scale_runs_merge_ratios_and_projection():
    from bench import scale_runs

    def run(engine, n, seconds):
        stages = {"block": seconds / 4, "score": seconds / 2, "cluster": seconds / 8}
        stages["explain"] = seconds / 8
        return {
            "engine": engine, "records": n, "seconds": seconds, "pairs": 3 * n, "stages": stages,
            "peak_mb": 100.0, "decided_by_cross_encoder": n, "pairs_per_second": 3 * n / seconds,
            "blocking_recall": 0.9, "f1": 0.8,
        }  # fmt: skip

    old = [run("local", 10, 1.0), run("spark", 10, 9.0)]
    runs = scale_runs.merge(old, [run("local", 10, 2.0), run("local", 100, 20.0)])
    assert [(r["engine"], r["records"], r["seconds"]) for r in runs] == [
        ("local", 10, 2.0), ("local", 100, 20.0), ("spark", 10, 9.0),
    ]  # fmt: skip
    runs.append({"engine": "local", "records": 1000, "timed_out": True, "seconds": 60.0})
    text = "\n".join(scale_runs.markdown(runs, {"command": "c", "date": "d"}))
    assert "| local | 1,000 | stopped after 60 s, unfinished |" in text
    assert "time x10.00" in text and "Spark over local at 10 records: 4.50x" in text
    assert "limiting stage is **score**" in text
    # 20 s for 100 records on the run's 2 cores: 0.4 core-seconds per record, so 10^8
    # records on 16 cores take 694 h
    assert "- 1 x 16-core workers: 694.4 h at the local rates" in text
    assert (scale_runs._duration(3599.0), scale_runs._duration(5400.0)) == ("60 min", "1.5 h")
    assert "Score sets the time; blocking sets what is found" in text


@pytest.mark.spark
def test_a_spark_scale_run_gives_the_local_entities_figures(monkeypatch, tiny_model_dir):
    """The ``--section runs`` child on Spark: same candidates and entities as locally."""
    import shutil

    pytest.importorskip("pyspark", reason="pyspark is not installed (pip install 'bem[spark]')")
    if shutil.which("java") is None:
        pytest.skip("java is not installed (Spark needs a JRE)")
    from bench import scale, scale_runs
    from matcher import Matcher

    matcher = Matcher(model=tiny_model_dir, max_length=128, attributes=["title", "model"])
    matcher.threshold_ = 0.5
    monkeypatch.setattr(scale, "load", lambda name, allow_training: matcher)
    spark = scale_runs.child("spark", 60)
    local = scale_runs.child("local", 60)
    assert spark["engine"] == "spark" and spark["master"] == "local[2]"
    for key in ("pairs", "blocking_recall", "f1", "decided_by_cross_encoder"):
        assert spark[key] == pytest.approx(local[key]), key
    # (that the sampled peak counts child processes, the JVM's included, is tested below;
    # here a session another test started may be running in both runs)
    assert spark["peak_mb"] > 0 and local["peak_mb"] > 0


def test_tree_memory_counts_the_children():
    import subprocess
    import sys
    import time

    from bench.scale_runs import _tree_rss_mb

    alone = _tree_rss_mb(os.getpid())
    child = subprocess.Popen(
        [sys.executable, "-c", "x = bytearray(300 * 2**20); import time; time.sleep(30)"]
    )
    try:
        deadline = time.time() + 20
        while _tree_rss_mb(os.getpid()) < alone + 250 and time.time() < deadline:
            time.sleep(0.2)
        assert _tree_rss_mb(os.getpid()) >= alone + 250
    finally:
        child.kill()
        child.wait()


def test_a_cascade_rerun_keeps_the_notes_and_the_table_shows_them(monkeypatch, tmp_path):
    import json

    from bench import scale

    row = {"pairs": 40, "band": [0.2, 0.8], "transformer_share": 0.5}
    row |= {"transformer_calls_ratio": 2.0, "f1": 0.6, "f1_no_cascade": 1.0}
    row |= {"f1_change_points": -40.0, "pairs_per_second": 10.0}
    row |= {"pairs_per_second_no_cascade": 5.0, "speedup": 2.0}
    saved = {"cascade": {}, "cascade_run": {"command": "old", "notes": ["why it falls short"]}}
    (tmp_path / "scale.json").write_text(json.dumps(saved))
    monkeypatch.setattr(scale, "RESULTS", tmp_path)
    monkeypatch.setattr(scale, "run_cascade", lambda sets, allow_training: {"synthetic": dict(row)})
    assert scale.main(["--section", "cascade", "--sets", "synthetic"]) == 0
    results = json.loads((tmp_path / "scale.json").read_text())
    assert results["cascade_run"]["notes"] == ["why it falls short"]
    assert results["cascade"]["synthetic"]["command"].endswith("--sets synthetic")
    text = (tmp_path / "scale.md").read_text()
    assert "| synthetic | 40 |" in text and "- why it falls short" in text
