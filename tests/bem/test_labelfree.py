"""The label-free first model: self-supervised pairs and a fit without labels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bem.labelfree import fit_label_free, self_supervised_pairs
from bem.labelfree.pairs import cross_table_pairs
from data import make_dedup, make_linkage, noisy_copy


@pytest.fixture(scope="module")
def dedup_records():
    return make_dedup(n_entities=60, seed=2, progress=False).records


@pytest.fixture(scope="module")
def linkage():
    return make_linkage(n_entities=50, seed=5, progress=False)


def test_noisy_copy_changes_every_record_and_keeps_evidence(dedup_records):
    copy = noisy_copy(dedup_records, seed=3)
    assert list(copy.index) == [f"{i}~copy" for i in dedup_records.index]
    for (_, a), (_, b) in zip(dedup_records.iterrows(), copy.iterrows()):
        present = a.notna()
        assert not a[present].equals(b[present])  # the copy differs somewhere
        if present.any():
            assert b.notna().any()  # never every value removed
    again = noisy_copy(dedup_records, seed=3)
    pd.testing.assert_frame_equal(copy, again)
    with pytest.raises(ValueError, match="noise"):
        noisy_copy(dedup_records, noise=-1)


def _check(pairs):
    frame = pairs.pairs
    assert set(frame["label"]) == {0, 1}
    assert frame["rtable_id"].str.endswith("~copy").all()
    assert set(frame["ltable_id"]) <= set(pairs.left.index)
    assert set(frame["rtable_id"]) <= set(pairs.right.index)
    own = frame["rtable_id"] == frame["ltable_id"] + "~copy"
    # a record against its own copy is a positive, and (without cross-table pseudo-pairs)
    # every positive is one
    assert (frame.loc[own, "label"] == 1).all() and (frame.loc[~own, "label"] == 0).all()
    assert not frame.duplicated(["ltable_id", "rtable_id"]).any()


def test_dedup_self_supervised_pairs(dedup_records):
    pairs = self_supervised_pairs(dedup_records, key=["title"], max_records=80, seed=1)
    _check(pairs)
    assert int(pairs.labels.sum()) == 80
    negatives = int((pairs.labels == 0).sum())
    assert 80 <= negatives <= 80 * 3  # 1 random + at most 2 neighbours each
    again = self_supervised_pairs(dedup_records, key=["title"], max_records=80, seed=1)
    pd.testing.assert_frame_equal(pairs.pairs, again.pairs)


def test_linkage_negatives_stay_inside_a_table_or_go_across_at_random(linkage):
    pairs = self_supervised_pairs(
        linkage.left, linkage.right, key=["title"], max_records=60, cross_pairs=False
    )
    _check(pairs)
    frame = pairs.pairs
    side_l = frame["ltable_id"].str.split(":").str[0]
    side_r = frame["rtable_id"].str.split(":").str[0]
    assert set(side_l) <= {"left", "right"}
    neg = frame["label"] == 0
    # every record gets one random negative from the other table
    assert int((neg & (side_l != side_r)).sum()) == 60


def test_cross_table_pseudo_pairs_are_unambiguous_mutual_best_matches(linkage):
    """The pseudo-positives across the tables: mostly true matches, found without a label."""
    pairs = self_supervised_pairs(linkage.left, linkage.right, key=["title"], max_records=60)
    frame = pairs.pairs
    side_l = frame["ltable_id"].str.split(":").str[0]
    side_r = frame["rtable_id"].str.split(":").str[0]
    own = frame["rtable_id"] == frame["ltable_id"] + "~copy"
    cross = (side_l == "left") & (side_r == "right") & ~own
    positives = frame[cross & (frame["label"] == 1)]
    assert 0 < len(positives) <= 30  # at most max_records // 2
    # each record has at most one pseudo-partner
    assert not positives["ltable_id"].duplicated().any()
    assert not positives["rtable_id"].duplicated().any()
    matches = linkage.matches.astype(str)
    truth = set(zip(matches["ltable_id"], matches["rtable_id"]))
    found = [
        (a.split(":", 1)[1], b.split(":", 1)[1][: -len("~copy")])
        for a, b in zip(positives["ltable_id"], positives["rtable_id"])
    ]
    precision = np.mean([p in truth for p in found])
    assert precision >= 0.8, precision
    assert set(frame["rtable_id"]) <= set(pairs.right.index)
    # the pseudo-negatives are the positives' other candidates, never a pseudo-positive
    direct = cross_table_pairs(
        linkage.left, linkage.right, key=["title"], limit=30, negatives=2,
        rng=np.random.default_rng(0),
    )  # fmt: skip
    pos = {(a, b) for a, b, y in direct if y == 1}
    neg = {(a, b) for a, b, y in direct if y == 0}
    assert pos and neg and not pos & neg
    assert {a for a, _ in neg} <= {a for a, _ in pos}
    assert len(neg) <= 2 * len(pos)


def test_fit_label_free_trains_without_labels(tiny_model_dir, dedup_records, tmp_path):
    matcher = fit_label_free(
        dedup_records,
        model=str(tiny_model_dir),
        max_length=64,
        attributes=["brand", "title", "model"],
        key=["title"],
        max_records=40,
        fit_kwargs={"epochs": 1},
        progress=False,
    )
    assert matcher.train_info_["label_free"] is True
    assert "no labels" in matcher.train_info_["data"]
    assert 0.0 <= matcher.threshold_ <= 1.0
    assert "90% of the held-out self-supervised positives" in matcher.train_info_["threshold_rule"]
    # the cascade is fitted at the label-free threshold, not the fit's best-F1 cut
    assert matcher.cascade_ is not None
    assert matcher.cascade_.threshold_ == pytest.approx(matcher.threshold_)
    # the model card's held-out metrics are those at the threshold the model uses
    assert matcher.train_info_["valid_metrics"]["threshold"] == pytest.approx(matcher.threshold_)
    matcher.save_pretrained(tmp_path / "m")
    card = (tmp_path / "m" / "README.md").read_text()
    assert "no labels" in card and "chosen without labels: label-free: 90%" in card
    from data import RecordPairs
    from matcher import Matcher

    back = Matcher.from_pretrained(tmp_path / "m")
    probe = RecordPairs(
        dedup_records,
        dedup_records,
        pd.DataFrame({"ltable_id": dedup_records.index[:4], "rtable_id": dedup_records.index[1:5]}),
    )
    np.testing.assert_allclose(back.predict_proba(probe), matcher.predict_proba(probe), atol=1e-6)


def test_the_label_free_threshold_keeps_ninety_percent_of_held_out_positives():
    from bem.labelfree import THRESHOLD_RECALL, label_free_threshold

    labels = np.r_[np.ones(10), np.zeros(10)]
    proba = np.r_[np.linspace(0.55, 1.0, 10), np.linspace(0.0, 0.45, 10)]
    t = label_free_threshold(labels, proba)
    assert THRESHOLD_RECALL == 0.9
    assert np.mean(proba[labels == 1] >= t) >= 0.9 - 1e-9
    assert t > 0.55  # above the best-F1 cut in the gap (0.5): held-out negatives are easy
    with pytest.raises(ValueError, match="no positive"):
        label_free_threshold(np.zeros(3), np.ones(3))
