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
