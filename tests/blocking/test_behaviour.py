"""One behavioural suite that every blocker must pass (as recordlinkage does for indexers)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from data.errors import BemError

COLUMNS = ["ltable_id", "rtable_id", "score", "blocker"]


def check_frame(cands: pd.DataFrame) -> None:
    assert list(cands.columns) == COLUMNS
    assert cands["ltable_id"].dtype == object and cands["rtable_id"].dtype == object
    assert cands["score"].dtype == np.float64
    assert cands["blocker"].dtype == object
    for col in ("ltable_id", "rtable_id", "blocker"):
        assert all(isinstance(v, str) for v in cands[col])
    assert ((cands["score"] >= 0) & (cands["score"] <= 100)).all()


def test_dedup_no_self_pairs_no_repeats(blocker, left):
    cands = blocker.candidates(left)
    check_frame(cands)
    assert len(cands) > 0
    assert (cands["ltable_id"] != cands["rtable_id"]).all()
    assert (cands["ltable_id"] < cands["rtable_id"]).all()
    unordered = {frozenset(p) for p in zip(cands["ltable_id"], cands["rtable_id"])}
    assert len(unordered) == len(cands)
    assert set(cands["ltable_id"]) | set(cands["rtable_id"]) <= set(left.index)


def test_link_ids_come_from_their_own_table(blocker, left, right):
    cands = blocker.candidates(left, right)
    check_frame(cands)
    assert len(cands) > 0
    assert cands["ltable_id"].isin(left.index).all()
    assert cands["rtable_id"].isin(right.index).all()
    assert not cands.duplicated(["ltable_id", "rtable_id"]).any()


def test_record_with_missing_key_gets_no_candidates(blocker, left, right):
    missing = left.index[left["name"].isna()]
    if "standard" in blocker.name:  # keyed on brand, which is filled in
        left = left.assign(brand=left["brand"].where(left["name"].notna()))
    for cands in (blocker.candidates(left), blocker.candidates(left, right)):
        assert not cands["ltable_id"].isin(missing).any()
        assert not cands["rtable_id"].isin(missing).any()


@pytest.mark.parametrize("sizes", [(0, 0), (0, 5), (5, 0), (1, 1), (1, 0)])
def test_empty_and_one_row_link(blocker, left, right, sizes):
    cands = blocker.candidates(left.iloc[: sizes[0]], right.iloc[: sizes[1]])
    check_frame(cands)
    assert len(cands) <= sizes[0] * sizes[1]


@pytest.mark.parametrize("n", [0, 1])
def test_empty_and_one_row_dedup(blocker, left, n):
    cands = blocker.candidates(left.iloc[:n])
    check_frame(cands)
    assert len(cands) == 0


def test_deterministic(blocker, left, right):
    pd.testing.assert_frame_equal(blocker.candidates(left, right), blocker.candidates(left, right))


def test_integer_ids_become_strings(blocker, left):
    table = left.reset_index(drop=True)
    cands = blocker.candidates(table, table.copy())
    check_frame(cands)
    assert set(cands["ltable_id"]) <= {str(i) for i in range(len(table))}


def test_missing_key_attribute_is_a_bem_error(blocker, left, right):
    bad = right.drop(columns=["name", "brand"])
    with pytest.raises(BemError, match=r"not found; available columns are \[\]"):
        blocker.candidates(left, bad)
    with pytest.raises(BemError, match="not found"):
        blocker.candidates(bad.iloc[:0])


def test_repeated_ids_are_a_bem_error(blocker, left):
    twice = pd.concat([left.iloc[:3], left.iloc[:2]])
    with pytest.raises(BemError, match="repeated record id"):
        blocker.candidates(twice)


texts = st.lists(
    st.one_of(st.none(), st.text(alphabet="ab c1-", max_size=8)), min_size=0, max_size=12
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(left_texts=texts, right_texts=texts)
def test_invariants_hold_on_arbitrary_small_tables(blocker_factories, left_texts, right_texts):
    def table(values, prefix):
        ids = [f"{prefix}{i}" for i in range(len(values))]
        return pd.DataFrame({"name": values, "brand": values}, index=ids, dtype=object)

    left, right = table(left_texts, "a"), table(right_texts, "b")
    for make in blocker_factories.values():
        blocker = make()
        dedup = blocker.candidates(left)
        check_frame(dedup)
        assert (dedup["ltable_id"] < dedup["rtable_id"]).all()
        assert not dedup.duplicated(["ltable_id", "rtable_id"]).any()
        link = blocker.candidates(left, right)
        check_frame(link)
        assert link["ltable_id"].str.startswith("a").all()
        assert link["rtable_id"].str.startswith("b").all()
        assert not link.duplicated(["ltable_id", "rtable_id"]).any()
        empty = {f"a{i}" for i, v in enumerate(left_texts) if v is None or not v.strip(" -")}
        assert not link["ltable_id"].isin(empty).any()
