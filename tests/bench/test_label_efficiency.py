"""bench/label_efficiency.py's active learner: an oracle answering bem label's engine."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from bench.label_efficiency import active_labels
from data import RecordPairs, make_linkage
from matcher import Matcher


def test_the_oracle_answers_each_asked_pair_once_with_its_train_label(tiny_model_dir):
    syn = make_linkage(n_entities=30, seed=4)
    cols = ["title", "brand", "model", "price"]
    train = RecordPairs(syn.left[cols], syn.right[cols], syn.pairs.reset_index(drop=True))
    ds = SimpleNamespace(left=train.left, right=train.right, train=train)
    matcher = Matcher(model=tiny_model_dir, max_length=48, batch_size=16)
    picked = active_labels(ds, matcher, [10, 25])
    assert sorted(picked) == [10, 25]
    small, large = picked[10], picked[25]
    assert (len(small), len(large)) == (10, 25)
    keys = lambda p: set(zip(p.pairs["ltable_id"], p.pairs["rtable_id"]))  # noqa: E731
    assert keys(small) <= keys(large)  # the budgets are prefixes of one session
    truth = dict(zip(zip(train.pairs["ltable_id"], train.pairs["rtable_id"]), train.labels))
    asked = zip(large.pairs["ltable_id"], large.pairs["rtable_id"], large.labels)
    assert all(truth[(a, b)] == y for a, b, y in asked)
    assert np.isin(large.labels, [0, 1]).all()


def _random_draw_results(ds, budgets, *, start_seconds: float) -> dict:
    from bench.common import data_hash
    from bench.label_efficiency import sample_labels

    block = {"0": {"random_f1": 0.5, "train_seconds": start_seconds, "date": "d0"}}
    for n in budgets:
        block[str(n)] = {
            "random_f1": 0.6,
            "positives": 3,
            "train_seconds": start_seconds + 10.0,
            "kept": "fine-tuned",
            "labels_hash": data_hash(sample_labels(ds, n))[:16],
            "date": f"d{n}",
            "command": f"c{n}",
        }
    return {"syn": block}


def test_no_random_keeps_the_figures_measured_on_the_same_labels_only():
    import pytest

    from bench.label_efficiency import _kept_random

    syn = make_linkage(n_entities=30, seed=4)
    cols = ["title", "brand", "model", "price"]
    train = RecordPairs(syn.left[cols], syn.right[cols], syn.pairs.reset_index(drop=True))
    ds = SimpleNamespace(train=train)
    saved = _random_draw_results(ds, [10], start_seconds=100.0)
    kept = _kept_random("syn", ds, [0, 10], saved)
    assert list(kept) == [10]
    # the fine-tune's own seconds; the caller adds today's label-free model's
    assert kept[10]["train_seconds"] == 10.0
    assert (kept[10]["random_f1"], kept[10]["random_date"]) == (0.6, "d10")
    assert kept[10]["random_command"] == "c10"
    assert kept[10]["random_start_f1"] == 0.5
    saved["syn"]["10"]["labels_hash"] = "another draw"
    with pytest.raises(SystemExit, match="no random-draw figure on today's 10 labels"):
        _kept_random("syn", ds, [10], saved)
    with pytest.raises(SystemExit, match="20 labels of syn"):
        _kept_random("syn", ds, [20], _random_draw_results(ds, [10], start_seconds=1.0))
