"""No evidence, no merge: which pairs share an attribute non-empty on both sides."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from data import RecordPairs
from matcher import shared_evidence, shared_evidence_mask
from matcher.evidence import is_empty


@pytest.mark.parametrize(
    ("value", "empty"),
    [(None, True), (math.nan, True), ("", True), ("  \t", True), ("0", False), ("a", False)],
)
def test_is_empty(value, empty):
    assert is_empty(value) is empty


def test_shared_evidence():
    title_only = {"title": "sony tv", "price": None}
    price_only = {"title": "  ", "price": "499"}
    both = {"title": "sony", "price": "499"}
    blank = {"title": None, "price": None}
    assert not shared_evidence(blank, blank, ["title", "price"])
    assert not shared_evidence(title_only, price_only, ["title", "price"])
    assert shared_evidence(title_only, both, ["title", "price"])
    assert shared_evidence(price_only, both)  # every attribute of either record
    assert not shared_evidence(title_only, both, ["price"])
    assert not shared_evidence({"url": "x"}, {"url": "y"}, ["title"])  # only the model's
    assert not shared_evidence({}, {}, [])


def test_mask_over_record_pairs_matches_the_record_function():
    left = pd.DataFrame(
        {"title": ["a", None, "c", ""], "price": [None, "1", None, None]},
        index=pd.Index(["l0", "l1", "l2", "l3"], name="id"),
        dtype=object,
    )
    right = pd.DataFrame(
        {"title": [None, "b", "c"], "colour": ["red", "red", None]},
        index=pd.Index(["r0", "r1", "r2"], name="id"),
        dtype=object,
    )
    ids = [(a, b) for a in left.index for b in right.index]
    pairs = RecordPairs(left, right, pd.DataFrame(ids, columns=["ltable_id", "rtable_id"]))
    mask = shared_evidence_mask(pairs)
    expected = [shared_evidence(a, b) for a, b in pairs.records()]
    np.testing.assert_array_equal(mask, expected)
    assert mask.dtype == bool and mask.sum() == 4
    assert mask.tolist() == [a in ("l0", "l2") and b in ("r1", "r2") for a, b in ids]
    only_colour = shared_evidence_mask(pairs, ["colour"])
    assert not only_colour.any()  # the left table has no colour column
    assert shared_evidence_mask(pairs[[]]).shape == (0,)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from([None, "", " ", "x", "y z"]),
            st.sampled_from([None, "", "x"]),
            st.sampled_from([None, " ", "x"]),
            st.sampled_from([None, "", "x"]),
        ),
        min_size=1,
        max_size=12,
    )
)
def test_mask_agrees_with_the_record_function(rows):
    ids = [str(i) for i in range(len(rows))]
    left = pd.DataFrame(
        [{"a": r[0], "b": r[1]} for r in rows], index=pd.Index(ids, name="id"), dtype=object
    )
    right = pd.DataFrame(
        [{"a": r[2], "b": r[3]} for r in rows], index=pd.Index(ids, name="id"), dtype=object
    )
    pairs = RecordPairs(left, right, pd.DataFrame({"ltable_id": ids, "rtable_id": ids}))
    expected = [shared_evidence(a, b, ["a", "b"]) for a, b in pairs.records()]
    np.testing.assert_array_equal(shared_evidence_mask(pairs, ["a", "b"]), expected)


class _Unprintable:
    def __str__(self) -> str:
        raise AssertionError("a record no pair names was read")


def test_mask_reads_only_the_records_the_pairs_name():
    # one pair against a large table costs that pair's rows, not the table's
    # (the report's cascade explanations call this once per pair)
    table = pd.DataFrame(
        {"title": ["a", "b", _Unprintable()], "price": ["1", None, _Unprintable()]},
        index=pd.Index(["r0", "r1", "r2"], name="id"),
        dtype=object,
    )
    pairs = RecordPairs(
        table,
        table,
        pd.DataFrame({"ltable_id": ["r0", "r1", "r0"], "rtable_id": ["r1", "r1", "r0"]}),
    )
    np.testing.assert_array_equal(shared_evidence_mask(pairs), [True, True, True])
    np.testing.assert_array_equal(shared_evidence_mask(pairs, ["price"]), [False, False, True])


def test_mask_refuses_a_table_with_repeated_ids():
    table = pd.DataFrame({"title": ["a", "b"]}, index=pd.Index(["r0", "r0"], name="id"))
    pairs = RecordPairs(table, table, pd.DataFrame({"ltable_id": ["r0"], "rtable_id": ["r0"]}))
    with pytest.raises(ValueError, match=r"record ids \['r0'\] appear more than once"):
        shared_evidence_mask(pairs)
