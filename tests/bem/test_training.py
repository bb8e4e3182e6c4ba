from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bem.pipeline import tune_one_to_one_threshold
from bem.training import split_train_valid
from data import BemError, RecordPairs


def labelled(n_left: int = 40) -> RecordPairs:
    """Each left record: one match and two non-matching candidates."""
    left = pd.DataFrame(
        {"title": [f"l{i}" for i in range(n_left)]}, index=[f"a{i}" for i in range(n_left)]
    )
    right = pd.DataFrame(
        {"title": [f"r{i}" for i in range(3 * n_left)]}, index=[f"b{i}" for i in range(3 * n_left)]
    )
    rows = [(f"a{i}", f"b{3 * i + j}", int(j == 0)) for i in range(n_left) for j in range(3)]
    pairs = pd.DataFrame(rows, columns=["ltable_id", "rtable_id", "label"])
    return RecordPairs(left, right, pairs)


def test_pair_split_is_stratified_and_complete():
    pairs = labelled()
    train, valid = split_train_valid(pairs, seed=1)
    assert len(train) + len(valid) == len(pairs)
    assert valid.labels.sum() == 8 and len(valid) == 24  # 20% of 40 matches, of 80 others
    again = split_train_valid(pairs, seed=1)[1]
    assert valid.pairs.equals(again.pairs)


def test_group_split_keeps_each_record_in_one_part():
    pairs = labelled()
    train, valid = split_train_valid(pairs, seed=1, group="ltable_id")
    assert len(train) + len(valid) == len(pairs)
    assert not set(train.pairs.ltable_id) & set(valid.pairs.ltable_id)
    assert valid.pairs.groupby("ltable_id").size().eq(3).all()
    assert valid.pairs.ltable_id.nunique() == 8
    with pytest.raises(ValueError, match="group"):
        split_train_valid(pairs, group="title")


def test_group_split_that_loses_a_label_is_an_error():
    pairs = labelled(3)
    only = RecordPairs(pairs.left, pairs.right, pairs.pairs[pairs.pairs.ltable_id == "a0"])
    with pytest.raises(BemError, match="one label"):
        split_train_valid(only, group="ltable_id")


def test_one_to_one_threshold_accepts_weak_best_matches():
    """A true match at 0.3 beside a sibling at 0.2: pairwise tuning rejects both
    (the sibling forces the threshold up); one-to-one keeps the better one."""
    lids, rids, proba, labels = [], [], [], []
    for i in range(10):
        strong = i < 5
        lids += [f"a{i}", f"a{i}"]
        rids += [f"b{i}", f"s{i}"]
        proba += [0.9 if strong else 0.3, 0.6 if strong else 0.2]
        labels += [1, 0]
    t, f1 = tune_one_to_one_threshold(lids, rids, np.array(proba), np.array(labels))
    assert f1 == pytest.approx(1.0)
    assert 0.2 < t <= 0.3
    with pytest.raises(ValueError, match="no match"):
        tune_one_to_one_threshold(lids, rids, np.array(proba), np.zeros(20))
    with pytest.raises(ValueError, match="length"):
        tune_one_to_one_threshold(lids[:3], rids, np.array(proba), np.array(labels))
