"""Per-field similarity features: exact, numeric, missing, names, speed-safe shapes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from data import RecordPairs
from matcher import SimilarityFeatures
from matcher.similarity import ATTRIBUTE_KINDS, RECORD, RECORD_KINDS, normalise_value


def features(records, attributes=("title", "price")) -> pd.DataFrame:
    return SimilarityFeatures(list(attributes)).to_frame(RecordPairs.from_records(records))


def test_names_are_stable_and_grouped():
    f = SimilarityFeatures(["title", "price"])
    assert f.names[:10] == [f"title:{k}" for k in ATTRIBUTE_KINDS]
    assert f.names[10:20] == [f"price:{k}" for k in ATTRIBUTE_KINDS]
    assert (
        f.names[20:]
        == [f"{RECORD}:{k}" for k in RECORD_KINDS]
        == [
            "(record):token_set",
            "(record):num_shared",
        ]
    )
    assert f.groups == ["title"] * 10 + ["price"] * 10 + [RECORD] * 2
    assert ATTRIBUTE_KINDS == (
        "token_set",
        "ratio",
        "partial",
        "exact",
        "num_shared",
        "num_conflict",
        "code_shared",
        "code_conflict",
        "left_missing",
        "right_missing",
    )
    back = SimilarityFeatures.from_dict(f.to_dict())
    assert back.names == f.names and back.max_chars == f.max_chars
    stale = {**f.to_dict(), "names": f.names[:-1]}
    with pytest.raises(ValueError, match="refit the cascade"):
        SimilarityFeatures.from_dict(stale)


def test_normalise_value():
    assert normalise_value("  Sony,  WH-1000XM4!  ") == "sony wh 1000xm4"
    assert normalise_value("$2.50.") == "2.50"
    assert normalise_value(None) == normalise_value(float("nan")) == normalise_value(" ") == ""


def test_exact_agreement_after_normalisation():
    row = features([({"title": "Sony WH-1000XM4", "price": "10"}, {"title": "sony wh 1000xm4 "})])
    r = row.iloc[0]
    assert r["title:exact"] == 1.0
    assert r["title:token_set"] == r["title:ratio"] == r["title:partial"] == 1.0
    assert r["title:code_shared"] == 1.0 and r["title:code_conflict"] == 0.0
    other = features([({"title": "Sony WH-1000XM4"}, {"title": "Sony WH-1000XM3"})]).iloc[0]
    assert other["title:exact"] == 0.0 and 0.8 < other["title:ratio"] < 1.0
    assert other["title:code_shared"] == 0.0 and other["title:code_conflict"] == 1.0


def test_numeric_agreement():
    rows = features(
        [
            (
                {"title": "iPhone 12 64GB", "price": "$2.50"},
                {"title": "iphone 12 128GB", "price": "2.5"},
            ),
            ({"title": "cable 2 m", "price": "3"}, {"title": "cable 5 m", "price": "4"}),
            ({"title": "red cable", "price": "3"}, {"title": "red cable 5 m", "price": "3.00"}),
        ]
    )
    first, second, third = rows.iloc[0], rows.iloc[1], rows.iloc[2]
    assert first["title:num_shared"] == pytest.approx(1 / 3)  # {12, 64} vs {12, 128}
    assert first["title:num_conflict"] == 0.0
    assert first["title:code_shared"] == 0.0 and first["title:code_conflict"] == 1.0  # 64gb/128gb
    assert first["price:num_shared"] == 1.0  # 2.50 is 2.5
    assert second["title:num_shared"] == 0.0 and second["title:num_conflict"] == 1.0
    assert second["price:num_conflict"] == 1.0
    assert third["title:num_shared"] == 0.0 and third["title:num_conflict"] == 0.0  # one side only
    assert third["price:num_shared"] == 1.0 and third["price:exact"] == 0.0
    assert first["(record):num_shared"] == pytest.approx(2 / 4)  # {12, 64, 2.5} vs {12, 128, 2.5}


def test_missing_flags_zero_the_similarities():
    rows = features(
        [
            ({"title": "a b", "price": None}, {"title": "a b", "price": "5"}),
            ({"title": " ", "price": "5"}, {"title": None, "price": "5"}),
        ]
    )
    first, second = rows.iloc[0], rows.iloc[1]
    assert first["price:left_missing"] == 1.0 and first["price:right_missing"] == 0.0
    assert first["title:left_missing"] == first["title:right_missing"] == 0.0
    blank = ["token_set", "ratio", "partial", "exact", "num_shared", "num_conflict"]
    assert all(first[f"price:{k}"] == 0.0 for k in blank)
    assert second["title:left_missing"] == second["title:right_missing"] == 1.0
    assert all(second[f"title:{k}"] == 0.0 for k in blank)  # two blanks are not "equal"
    assert second["price:exact"] == 1.0


def test_attribute_absent_from_a_table_is_missing_there():
    left = pd.DataFrame({"title": ["x 1"], "brand": ["acme"]}, index=pd.Index(["l"]), dtype=object)
    right = pd.DataFrame({"title": ["x 1"]}, index=pd.Index(["r"]), dtype=object)
    pairs = RecordPairs(left, right, pd.DataFrame({"ltable_id": ["l"], "rtable_id": ["r"]}))
    row = SimilarityFeatures(["title", "brand"]).to_frame(pairs).iloc[0]
    assert row["brand:left_missing"] == 0.0 and row["brand:right_missing"] == 1.0
    assert row["title:exact"] == 1.0


def test_shapes_and_errors():
    f = SimilarityFeatures(["title"])
    empty = RecordPairs.from_records([({"title": "a"}, {"title": "a"})])[[]]
    assert f.transform(empty).shape == (0, len(f.names))
    x = f.transform(RecordPairs.from_records([({"title": "a"}, {"title": "b"})] * 3))
    assert x.shape == (3, 12) and x.dtype == np.float32
    with pytest.raises(ValueError, match="empty"):
        SimilarityFeatures([])
    with pytest.raises(ValueError, match="duplicates"):
        SimilarityFeatures(["a", "a"])
    with pytest.raises(ValueError, match="reserved"):
        SimilarityFeatures([RECORD])
    with pytest.raises(ValueError, match="max_chars"):
        SimilarityFeatures(["a"], max_chars=0)
    with pytest.raises(TypeError, match="RecordPairs"):
        f.transform([({"title": "a"}, {"title": "b"})])


def test_long_values_are_cut_for_the_ratios():
    long = "word " * 400
    x = features([({"title": long + "x"}, {"title": long + "y"})], ["title"]).iloc[0]
    assert x["title:ratio"] == x["title:partial"] == 1.0  # both cut inside the shared prefix
    assert x["title:exact"] == 0.0


VALUES = st.sampled_from([None, "", "Sony TV 40", "sony tv", "40 in", "KDL-40 black", "2.5", "x"])


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(VALUES, VALUES, VALUES, VALUES), min_size=1, max_size=8))
def test_features_are_bounded_and_symmetric(rows):
    records = [({"a": r[0], "b": r[1]}, {"a": r[2], "b": r[3]}) for r in rows]
    swapped = [(b, a) for a, b in records]
    f = SimilarityFeatures(["a", "b"])
    x = f.to_frame(RecordPairs.from_records(records))
    y = f.to_frame(RecordPairs.from_records(swapped))
    assert ((x >= 0) & (x <= 1)).all().all()
    for attribute in ("a", "b"):
        for kind in ("token_set", "ratio", "exact", "num_shared", "num_conflict", "code_shared"):
            np.testing.assert_allclose(x[f"{attribute}:{kind}"], y[f"{attribute}:{kind}"])
        np.testing.assert_array_equal(
            x[f"{attribute}:left_missing"], y[f"{attribute}:right_missing"]
        )
