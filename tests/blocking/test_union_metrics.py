"""Union provenance and evaluate_blocking on hand-made examples."""

from __future__ import annotations

import pandas as pd
import pytest

from blocking import BlockingMetrics, StandardBlocker, UnionBlocker, evaluate_blocking
from data.errors import BemError


def test_union_keeps_provenance_and_best_score():
    left = pd.DataFrame(
        {"brand": ["sony", "lg", "bose"], "title": ["tv", "fridge", "tv"]}, index=["a", "b", "c"]
    )
    right = pd.DataFrame({"brand": ["sony", "bose"], "title": ["tv", "speaker"]}, index=["x", "y"])
    union = UnionBlocker([StandardBlocker("brand"), StandardBlocker("title")])
    cands = union.candidates(left, right)
    got = {(r.ltable_id, r.rtable_id): r.blocker for r in cands.itertuples()}
    assert got == {
        ("a", "x"): "standard[brand]|standard[title]",
        ("c", "x"): "standard[title]",
        ("c", "y"): "standard[brand]",
    }
    assert (cands["score"] == 100.0).all()
    dedup = UnionBlocker([StandardBlocker("brand"), StandardBlocker("title")]).candidates(left)
    assert list(zip(dedup.ltable_id, dedup.rtable_id, dedup.blocker)) == [
        ("a", "c", "standard[title]")
    ]


def test_union_rejects_repeated_names():
    with pytest.raises(ValueError, match="distinct"):
        UnionBlocker([StandardBlocker("brand"), StandardBlocker("brand")])
    with pytest.raises(ValueError, match="one or more"):
        UnionBlocker([])


def test_evaluate_blocking_link_numbers():
    cands = pd.DataFrame(
        {"ltable_id": ["1", "1", "2", "3", "4", "4"], "rtable_id": ["a", "b", "b", "c", "d", "e"]}
    )
    matches = pd.DataFrame({"ltable_id": ["1", "2", "3"], "rtable_id": ["a", "b", "e"]})
    m = evaluate_blocking(cands, matches, n_left=4, n_right=5)
    assert isinstance(m, BlockingMetrics)
    assert m.recall == pytest.approx(2 / 3)
    assert m.reduction_ratio == pytest.approx(1 - 6 / 20)
    assert m.pair_quality == pytest.approx(2 / 6)
    assert m.candidates_per_record == pytest.approx(6 / 4)
    assert (m.n_candidates, m.n_matches, m.n_found) == (6, 3, 2)
    assert list(zip(m.missed.ltable_id, m.missed.rtable_id)) == [("3", "e")]
    d = m.to_dict()
    assert d["n_missed"] == 1 and "missed" not in d
    assert m.to_frame().shape == (1, len(d))


def test_evaluate_blocking_dedup_unordered_and_labelled():
    cands = pd.DataFrame({"ltable_id": ["1", "2"], "rtable_id": ["2", "3"]})
    matches = pd.DataFrame({"id1": ["2", "4", "3"], "id2": ["1", "1", "2"]})
    m = evaluate_blocking(cands, matches, n_left=5)
    assert m.recall == pytest.approx(2 / 3)
    assert m.reduction_ratio == pytest.approx(1 - 2 / 10)
    assert list(zip(m.missed.ltable_id, m.missed.rtable_id)) == [("1", "4")]
    labelled = pd.DataFrame({"ltable_id": ["1", "1"], "rtable_id": ["2", "4"], "label": [1, 0]})
    assert evaluate_blocking(cands, labelled, n_left=5).recall == 1.0


def test_evaluate_blocking_missed_shows_records():
    left = pd.DataFrame({"name": ["sony tv", "lg"]}, index=["1", "2"])
    right = pd.DataFrame({"name": ["sony television"]}, index=["a"])
    cands = pd.DataFrame({"ltable_id": ["2"], "rtable_id": ["a"]})
    matches = pd.DataFrame({"ltable_id": ["1"], "rtable_id": ["a"]})
    m = evaluate_blocking(cands, matches, n_left=2, n_right=1, left=left, right=right)
    assert m.missed.iloc[0]["l_name"] == "sony tv"
    assert m.missed.iloc[0]["r_name"] == "sony television"


def test_evaluate_blocking_errors():
    with pytest.raises(BemError, match="missing column"):
        evaluate_blocking(
            pd.DataFrame({"a": []}), pd.DataFrame({"ltable_id": [], "rtable_id": []}), n_left=1
        )
