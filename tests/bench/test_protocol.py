"""The out-of-sample protocol (bench/protocol.py): nothing evaluated was seen in training."""

from __future__ import annotations

import pandas as pd
import pytest

from bem.training import split_train_valid
from bench.protocol import entity_split, labelled_pairs, overlap
from data import RecordPairs, make_dedup, make_linkage


@pytest.fixture(scope="module")
def linkage():
    return make_linkage(n_entities=120, seed=3, progress=False)


@pytest.fixture(scope="module")
def dedup_set():
    return make_dedup(n_entities=80, seed=4, progress=False)


def _ids(frame: pd.DataFrame | None) -> set[str]:
    return set() if frame is None else set(frame.index.astype(str))


def test_linkage_split_sees_no_evaluated_pair_or_record(linkage):
    split = entity_split(linkage.left, linkage.right, linkage.matches, seed=1)
    # every record lands in exactly one part
    assert _ids(split.train_left) | _ids(split.eval_left) == _ids(linkage.left)
    assert not _ids(split.train_left) & _ids(split.eval_left)
    assert _ids(split.train_right) | _ids(split.eval_right) == _ids(linkage.right)
    # no true pair crosses the cut: each lies wholly in one part
    assert len(split.train_matches) + len(split.eval_matches) == len(linkage.matches)
    assert set(split.eval_matches["ltable_id"]) <= _ids(split.eval_left)
    assert set(split.eval_matches["rtable_id"]) <= _ids(split.eval_right)
    assert len(split.eval_matches) > 0 and len(split.train_matches) > 0

    labelled = labelled_pairs(split, key=["title"], top_k=5, seed=0)
    train, valid = split_train_valid(labelled, seed=0)
    seen = set(labelled.pairs["ltable_id"]) | set(labelled.pairs["rtable_id"])
    assert not seen & (_ids(split.eval_left) | _ids(split.eval_right))
    # every true pair of the training part is a positive, blocked or not
    positives = labelled.pairs[labelled.pairs["label"] == 1]
    assert set(zip(positives["ltable_id"], positives["rtable_id"])) == set(
        zip(split.train_matches["ltable_id"], split.train_matches["rtable_id"])
    )
    assert overlap(split, [train, valid]) == {"train_overlap_pairs": 0, "train_overlap_records": 0}


def test_overlap_counts_what_leaks(linkage):
    split = entity_split(linkage.left, linkage.right, linkage.matches, seed=1)
    leaked = split.eval_matches.head(3).assign(label=1)
    seen = RecordPairs(linkage.left, linkage.right, leaked)
    counts = overlap(split, [seen])
    assert counts["train_overlap_pairs"] == 3
    assert counts["train_overlap_records"] == len(set(leaked["ltable_id"])) + len(
        set(leaked["rtable_id"])
    )


def test_dedup_split_keeps_entities_whole(dedup_set):
    split = entity_split(dedup_set.records, None, dedup_set.matches, seed=2)
    assert split.train_right is None and split.eval_right is None
    train_ids, eval_ids = _ids(split.train_left), _ids(split.eval_left)
    assert train_ids | eval_ids == _ids(dedup_set.records) and not train_ids & eval_ids
    for a, b in zip(dedup_set.matches["ltable_id"], dedup_set.matches["rtable_id"]):
        assert (a in train_ids) == (b in train_ids)
    labelled = labelled_pairs(split, key=["title"], top_k=5, max_pairs=60, seed=0)
    assert len(labelled) <= 60
    assert 0 < int(labelled.labels.sum()) <= 30
    assert overlap(split, [labelled]) == {"train_overlap_pairs": 0, "train_overlap_records": 0}
    # reversed pairs count as the same pair in deduplication
    rev = split.eval_matches.head(2).rename(
        columns={"ltable_id": "rtable_id", "rtable_id": "ltable_id"}
    )
    seen = RecordPairs(dedup_set.records, dedup_set.records, rev.assign(label=1))
    assert overlap(split, [seen])["train_overlap_pairs"] == 2


def test_split_is_deterministic_and_by_entity(linkage):
    a = entity_split(linkage.left, linkage.right, linkage.matches, seed=5)
    b = entity_split(linkage.left, linkage.right, linkage.matches, seed=5)
    c = entity_split(linkage.left, linkage.right, linkage.matches, seed=6)
    assert _ids(a.train_left) == _ids(b.train_left)
    assert _ids(a.train_left) != _ids(c.train_left)
    assert a.n_train_entities == round(0.5 * a.n_entities)
    with pytest.raises(ValueError, match="train_fraction"):
        entity_split(linkage.left, linkage.right, linkage.matches, train_fraction=1.0)
