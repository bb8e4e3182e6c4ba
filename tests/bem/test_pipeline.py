from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bem.pipeline import dedup, link, one_to_one, select_for_review
from data import BemError
from tests.bem.stand_ins import TableMatcher


def _table(entities, prefix="r"):
    ids = [f"{prefix}{i}" for i in range(len(entities))]
    return pd.DataFrame(
        {"name": [f"item {e}" for e in entities], "entity": [str(e) for e in entities]},
        index=pd.Index(ids, name="id"),
    )


def _all_pairs(table):
    ids = list(table.index)
    rows = [(a, b) for i, a in enumerate(ids) for b in ids[i + 1 :]]
    return pd.DataFrame(rows, columns=["ltable_id", "rtable_id"]).assign(score=1.0, blocker="all")


def test_dedup_outputs_every_record_once_with_its_cluster_stats():
    table = _table([0, 0, 1, 2, 2, 2])
    result = dedup(table, TableMatcher(), candidates=_all_pairs(table), explain_method=None)
    ent = result.entities
    assert list(ent["id"]) == list(table.index)
    assert ent.groupby("entity_id").size().sort_values().tolist() == [1, 2, 3]
    big = ent[ent["cluster_size"] == 3]
    assert (big["min_probability"] == 0.95).all() and (big["max_probability"] == 0.95).all()
    single = ent[ent["cluster_size"] == 1]
    assert single["min_probability"].isna().all()
    assert set(result.pairs.columns) >= {"probability", "decision", "same_entity", "blocker"}
    assert result.counts["candidates"] == 15
    assert result.pairs["decision"].sum() == 1 + 3


def test_link_one_to_one_matches_each_record_at_most_once():
    left = _table([0, 1], "a")
    right = _table([0, 0, 1], "b")
    cands = pd.DataFrame(
        [(a, b) for a in left.index for b in right.index], columns=["ltable_id", "rtable_id"]
    ).assign(score=1.0, blocker="all")
    free = link(
        left, right, TableMatcher(), candidates=cands, explain_method=None, clustering="components"
    )
    assert free.entities.groupby("entity_id").size().max() == 3
    # average linkage does not chain b0-a0-b1: b0 and b1 were never compared
    avg = link(left, right, TableMatcher(), candidates=cands, explain_method=None)
    assert avg.entities.groupby("entity_id").size().max() == 2
    strict = link(
        left, right, TableMatcher(), candidates=cands, explain_method=None, one_to_one=True
    )
    assert strict.entities.groupby("entity_id").size().max() == 2
    assert len(strict.entities) == 5


def test_greedy_one_to_one_prefers_best_scores():
    keep = one_to_one(["a", "a", "b"], ["x", "y", "x"], np.array([0.9, 0.8, 0.95]), threshold=0.5)
    assert keep.tolist() == [False, True, True]


def test_review_selection_has_the_three_groups():
    pairs = pd.DataFrame(
        {
            "ltable_id": list("abcdefgh"),
            "rtable_id": list("ABCDEFGH"),
            "probability": [0.99, 0.55, 0.7, 0.45, 0.1, 0.2, 0.3, 0.02],
            "same_entity": [1, 1, 1, 0, 0, 0, 0, 0],
        }
    )
    chosen = select_for_review(pairs, lowest_merges=1, strongest_rejections=1, sample=2, seed=1)
    reasons = chosen.set_index("ltable_id")["review_reason"]
    assert reasons["b"] == "lowest-confidence merge"
    assert reasons["d"] == "strongest rejection"
    assert (reasons == "random sample").sum() == 2
    again = select_for_review(pairs, lowest_merges=1, strongest_rejections=1, sample=2, seed=1)
    assert chosen.equals(again)


def _review_by_full_sort(pairs, k_low, k_strong, sample, seed):
    """select_for_review as it was first written: two full sorts and a copy of the rest."""
    merged = pairs[pairs["same_entity"] == 1].sort_values("probability", kind="stable")
    rejected = pairs[pairs["same_entity"] == 0].sort_values(
        "probability", ascending=False, kind="stable"
    )
    low = merged.head(k_low).assign(review_reason="lowest-confidence merge")
    strong = rejected.head(k_strong).assign(review_reason="strongest rejection")
    rest = pairs.drop(index=low.index.union(strong.index))
    n = min(sample, len(rest))
    rng = np.random.default_rng(seed)
    picked = rest.iloc[np.sort(rng.choice(len(rest), size=n, replace=False))] if n else rest.head(0)
    return pd.concat([low, strong, picked.assign(review_reason="random sample")])


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(
        st.tuples(st.sampled_from([0.1, 0.5, 0.5, 0.9, float("nan")]), st.integers(0, 1)),
        max_size=25,
    ),
    k=st.tuples(st.integers(0, 6), st.integers(0, 6), st.integers(0, 6)),
    seed=st.integers(0, 3),
)
def test_review_selection_equals_a_full_stable_sort(rows, k, seed):
    # the selection avoids sorting every pair (millions at scale): same picks, same order
    pairs = pd.DataFrame(
        {
            "ltable_id": [f"l{i}" for i in range(len(rows))],
            "rtable_id": [f"r{i}" for i in range(len(rows))],
            "probability": [p for p, _ in rows],
            "same_entity": [s for _, s in rows],
        },
        index=pd.RangeIndex(len(rows)) * 3 + 7,  # labels that are not positions
    )
    got = select_for_review(
        pairs, lowest_merges=k[0], strongest_rejections=k[1], sample=k[2], seed=seed
    )
    pd.testing.assert_frame_equal(got, _review_by_full_sort(pairs, *k, seed))


def test_bad_inputs_raise_clear_errors():
    table = _table([0, 1])
    with pytest.raises(BemError, match=r"key column\(s\) \['nope'\] not found"):
        dedup(table, TableMatcher(), key=["nope"], explain_method=None)
    with pytest.raises(BemError, match="no records"):
        dedup(table.iloc[:0], TableMatcher(), candidates=_all_pairs(table), explain_method=None)
    with pytest.raises(BemError, match="threshold must be between 0 and 1"):
        dedup(table, TableMatcher(), candidates=_all_pairs(table), threshold=2.0)


@settings(max_examples=30, deadline=None)
@given(
    entities=st.lists(st.integers(0, 6), min_size=1, max_size=15),
    method=st.sampled_from(["average", "components"]),
)
def test_invariants_every_record_once_and_deterministic(entities, method):
    table = _table(entities)
    cands = _all_pairs(table)
    a = dedup(table, TableMatcher(), candidates=cands, clustering=method, explain_method=None)
    b = dedup(table, TableMatcher(), candidates=cands, clustering=method, explain_method=None)
    assert sorted(a.entities["id"]) == sorted(table.index)
    assert a.entities["id"].is_unique
    pd.testing.assert_frame_equal(a.entities, b.entities)
    # with a perfect matcher the clusters are exactly the true entities
    got = a.entities.groupby("entity_id")["id"].apply(frozenset)
    want = [frozenset(ix) for ix in table.groupby("entity").groups.values()]
    assert set(got) == set(want)


def test_dedup_scores_each_unordered_candidate_once_and_drops_self_pairs(caplog):
    table = _table([0, 0, 1])
    cands = pd.DataFrame(
        [("r0", "r1"), ("r1", "r0"), ("r0", "r0"), ("r0", "r1"), ("r2", "r1")],
        columns=["ltable_id", "rtable_id"],
    )
    with caplog.at_level("WARNING", logger="bem"):
        result = dedup(table, TableMatcher(), candidates=cands, explain_method=None)
    pairs = list(zip(result.pairs["ltable_id"], result.pairs["rtable_id"]))
    assert pairs == [("r0", "r1"), ("r1", "r2")]  # ltable_id < rtable_id, as the blocker writes
    assert "1 self-pair(s)" in caplog.text and "2 repeated pair(s)" in caplog.text


def test_repeated_weak_candidates_do_not_add_up_to_a_merge():
    # a stand-in scoring 0.3: twice 0.3 must not count as 0.6 in average linkage
    class Weak(TableMatcher):
        def predict_proba(self, pairs, *, batch_size=None, progress=False):
            return np.full(len(pairs), 0.3)

    table = _table([0, 0])
    cands = pd.DataFrame([("r0", "r1"), ("r1", "r0")], columns=["ltable_id", "rtable_id"])
    result = dedup(table, Weak(), candidates=cands, explain_method=None)
    assert result.entities["entity_id"].nunique() == 2


def test_link_keeps_ordered_pairs_and_drops_repeats(caplog):
    left, right = _table([0, 1], "a"), _table([0, 1], "b")
    cands = pd.DataFrame(
        [("a0", "b0"), ("a0", "b0"), ("a1", "b0")], columns=["ltable_id", "rtable_id"]
    )
    with caplog.at_level("WARNING", logger="bem"):
        result = link(left, right, TableMatcher(), candidates=cands, explain_method=None)
    assert list(zip(result.pairs["ltable_id"], result.pairs["rtable_id"])) == [
        ("a0", "b0"),
        ("a1", "b0"),
    ]
    assert "1 repeated pair(s)" in caplog.text


@pytest.mark.parametrize(
    ("cands", "message"),
    [
        (pd.DataFrame({"left": ["r0"], "right": ["r1"]}), r"missing column\(s\) \['ltable_id'"),
        (
            pd.DataFrame({"ltable_id": ["r0"], "rtable_id": ["nope"]}),
            r"rtable_id 'nope'.* not in the table records",
        ),
    ],
)
def test_bad_candidates_raise_clear_errors(cands, message):
    with pytest.raises(BemError, match=message):
        dedup(_table([0, 1]), TableMatcher(), candidates=cands, explain_method=None)


def _int_indexed(entities):
    table = _table(entities)
    table.index = pd.Index(range(10, 10 + len(entities)), name="id")
    return table


def test_dedup_of_an_int_indexed_table_uses_string_ids():
    table = _int_indexed([0, 0, 1, 1])
    result = dedup(table, TableMatcher(), explain_method=None, progress=False)
    assert list(result.entities["id"]) == ["10", "11", "12", "13"]
    groups = result.entities.groupby("entity_id")["id"].apply(frozenset)
    assert set(groups) == {frozenset({"10", "11"}), frozenset({"12", "13"})}
    assert table.index.tolist() == [10, 11, 12, 13]  # the caller's table is untouched


def test_link_of_int_indexed_tables_with_int_candidates():
    left, right = _int_indexed([0, 1]), _int_indexed([1, 0])
    cands = pd.DataFrame({"ltable_id": [10, 11], "rtable_id": [11, 11]})
    result = link(left, right, TableMatcher(), candidates=cands, explain_method=None)
    assert list(zip(result.pairs["ltable_id"], result.pairs["rtable_id"])) == [
        ("10", "11"),
        ("11", "11"),
    ]
    assert result.pairs["decision"].tolist() == [1, 0]


@pytest.mark.parametrize(
    ("index", "message"),
    [
        ([1, "1", 2], r"records: ids 1 and '1' are both '1' as strings"),
        (["a", "b", "a"], r"records: duplicate id\(s\) 'a' in the index"),
        (["a", None, "c"], r"records: missing id in the index at row\(s\) 2"),
        ([1.0, np.nan, 3.0], r"records: missing id in the index at row\(s\) 2"),
        (["a", " ", "c"], r"records: missing id in the index at row\(s\) 2"),
    ],
)
def test_bad_table_indexes_raise_naming_the_id(index, message):
    table = _table([0, 1, 2])
    table.index = pd.Index(index, dtype=object, name="id")
    with pytest.raises(BemError, match=message):
        dedup(table, TableMatcher(), explain_method=None, progress=False)
