"""bench/label_latency.py: waits measured around a real background retrain."""

from __future__ import annotations

from types import SimpleNamespace

from bench import label_efficiency, label_latency
from data import RecordPairs, make_linkage
from matcher import Matcher


def test_waits_are_split_by_retrain_and_every_retrain_is_timed(monkeypatch, tiny_model_dir):
    syn = make_linkage(n_entities=30, seed=4)
    cols = ["title", "brand", "model", "price"]
    train = RecordPairs(syn.left[cols], syn.right[cols], syn.pairs.reset_index(drop=True))
    ds = SimpleNamespace(left=train.left, right=train.right, train=train)
    matcher = Matcher(model=tiny_model_dir, max_length=48, batch_size=16)
    monkeypatch.setattr("bench.common.load_magellan", lambda name: ds)
    monkeypatch.setattr(label_efficiency, "label_free", lambda name, ds: (matcher, {}))
    monkeypatch.setattr(label_latency, "RETRAIN_EVERY", 8)
    result = label_latency.measure("amazon_google", answers=20, think=0.0)
    assert result["answers"] == 20 and result["pool"] == len(train)
    n = result["during_retrain"]["questions"] + result["no_retrain"]["questions"]
    assert n == result["all"]["questions"] == 20
    assert result["rounds_swapped_in"] >= 1  # waited for at the end
    assert len(result["retrain_seconds"]) == result["rounds_swapped_in"]
    assert all(s > 0 for s in result["retrain_seconds"])
    assert result["all"]["p50_s"] <= result["all"]["p90_s"] <= result["all"]["max_s"]
    result.update(command="c", date="d", machine="m")
    text = label_latency.markdown(result)
    assert "p90 under 1 s while a retrain runs" in text
