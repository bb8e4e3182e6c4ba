"""True labels of the reviewed pairs: joined on the pair, unknown when not labelled."""

from __future__ import annotations

import pandas as pd
import pytest

from bem.pipeline import dedup, link
from data import BemError


def _records(ids, names):
    return pd.DataFrame({"name": names}, index=pd.Index(ids, name="id"))


@pytest.fixture()
def records():
    # the blocker orders each dedup pair by string id: "12" < "5"
    return _records(["5", "12", "7"], ["acme phone x1", "acme phone x1 black", "acme phone x2"])


def _labels(rows):
    return pd.DataFrame(rows, columns=["ltable_id", "rtable_id", "label"])


def _by_pair(result):
    return {frozenset((e.left_id, e.right_id)): e for e in result.explanations}


def test_dedup_labels_meet_reversed_candidates_and_the_rest_stay_unknown(records, tiny_matcher):
    # "5,12" meets the candidate ("12", "5"), given twice; "7,12" is a labelled non-match;
    # ("5", "7") has no label: unknown, never 0
    labels = _labels([("5", "12", 1), ("12", "5", 1), ("7", "12", 0)])
    result = dedup(records, tiny_matcher, labels=labels, progress=False)
    assert len(result.pairs) == 3
    assert ("12", "5") in set(zip(result.pairs["ltable_id"], result.pairs["rtable_id"]))
    explained = _by_pair(result)
    assert explained[frozenset(("5", "12"))].label == 1
    assert explained[frozenset(("7", "12"))].label == 0
    unknown = explained[frozenset(("5", "7"))]
    assert unknown.label is None and unknown.outcome is None
    review = result.review.set_index(["ltable_id", "rtable_id"])
    assert review.loc[("12", "5"), "label"] == 1
    assert review.loc[("12", "7"), "label"] == 0
    assert pd.isna(review.loc[("5", "7"), "label"])
    assert review.loc[("5", "7"), "outcome"] == "unknown"
    assert review.loc[("12", "5"), "outcome"] in {"TP", "FN"}
    assert review.loc[("12", "7"), "outcome"] in {"TN", "FP"}


def test_conflicting_labels_for_one_dedup_pair_name_the_pair(records, tiny_matcher):
    labels = _labels([("5", "12", 1), ("12", "5", 0)])
    labels.attrs["source"] = "truth.csv"
    message = r"truth\.csv: conflicting labels for the pair \('12', '5'\)"
    with pytest.raises(BemError, match=message):
        dedup(records, tiny_matcher, labels=labels, progress=False)


def test_link_joins_labels_on_the_ordered_pair(tiny_matcher):
    left = _records(["a", "b"], ["acme phone x1", "acme phone x2"])
    right = _records(["b", "a"], ["acme phone x1", "acme phone x2"])
    cands = pd.DataFrame({"ltable_id": ["a", "b"], "rtable_id": ["b", "a"]})
    # (b, a) is labelled, (a, b) is not: a reversed link pair is another pair
    result = link(
        left, right, tiny_matcher, candidates=cands, labels=_labels([("b", "a", 1)]), progress=False
    )
    got = {(e.left_id, e.right_id): e.label for e in result.explanations}
    assert got == {("b", "a"): 1, ("a", "b"): None}


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([("5", "12", 2)], r"label.*must be 0 or 1.*\('5', '12'\)"),
        ([("5", "", 1)], "empty rtable_id"),
    ],
)
def test_bad_label_tables_raise(records, tiny_matcher, rows, message):
    with pytest.raises(BemError, match=message):
        dedup(records, tiny_matcher, labels=_labels(rows), progress=False)


def test_a_label_table_without_a_label_column_raises(records, tiny_matcher):
    labels = pd.DataFrame({"ltable_id": ["5"], "rtable_id": ["12"]})
    with pytest.raises(BemError, match="no 'label' column"):
        dedup(records, tiny_matcher, labels=labels, progress=False)
