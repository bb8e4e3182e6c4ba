"""Synthetic generator: determinism, ground truth, planted causes, corruption, speed."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from data import RecordPairs, make_dedup, make_linkage, validate_table
from data.catalog import ATTRIBUTES, PLANTABLE


@pytest.fixture(scope="module")
def linkage():
    return make_linkage(n_entities=600, seed=3)


@pytest.fixture(scope="module")
def dedup():
    return make_dedup(n_entities=400, seed=5)


def _differing(entities: pd.DataFrame, a: np.ndarray, b: np.ndarray) -> list[list[str]]:
    """For each entity pair, the attribute columns whose clean values differ."""
    x = entities.loc[a, list(ATTRIBUTES)].to_numpy(dtype=object)
    y = entities.loc[b, list(ATTRIBUTES)].to_numpy(dtype=object)
    same = (x == y) | (pd.isna(x) & pd.isna(y))
    return [[c for c, s in zip(ATTRIBUTES, row, strict=True) if not s] for row in same]


def _assert_table(df: pd.DataFrame) -> None:
    assert list(df.columns) == list(ATTRIBUTES)
    assert df.index.name == "id" and df.index.is_unique
    values = df.to_numpy(dtype=object).ravel()
    assert all(isinstance(v, str) or (isinstance(v, float) and np.isnan(v)) for v in values)
    assert not any(v in ("nan", "") for v in values if isinstance(v, str))
    pd.testing.assert_frame_equal(validate_table(df), df, check_flags=False)


def test_same_seed_same_output_different_seed_different_catalog():
    a, b = make_linkage(n_entities=200, seed=11), make_linkage(n_entities=200, seed=11)
    for name in ("left", "right", "matches", "pairs", "entities"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name))
    c = make_linkage(n_entities=200, seed=12)
    assert set(a.entities["model"]) != set(c.entities["model"])
    d1, d2 = make_dedup(n_entities=150, seed=4), make_dedup(n_entities=150, seed=4)
    pd.testing.assert_frame_equal(d1.records, d2.records)
    pd.testing.assert_frame_equal(d1.pairs, d2.pairs)
    assert not d1.records.equals(make_dedup(n_entities=150, seed=5).records)


def test_linkage_tables_and_truth(linkage):
    _assert_table(linkage.left)
    _assert_table(linkage.right)
    assert (
        linkage.left.index.str.startswith("a").all()
        and linkage.right.index.str.startswith("b").all()
    )
    le, re_ = linkage.left_entity, linkage.right_entity
    m = linkage.matches
    assert (le[m["ltable_id"]].to_numpy() == re_[m["rtable_id"]].to_numpy()).all()
    assert len(m) == len(set(le) & set(re_))  # every entity on both sides is one match
    assert len(le) == le.nunique() and len(re_) == re_.nunique()
    assert 0.7 < len(m) / len(linkage.entities) < 0.9  # match_rate=0.8
    assert not le.str[1:].astype(int).is_monotonic_increasing  # records are shuffled


def test_linkage_pairs_labels_and_planted(linkage):
    p = linkage.pairs
    assert list(p.columns) == ["ltable_id", "rtable_id", "label", "planted", "kind"]
    assert p["label"].dtype == np.int8
    RecordPairs.from_tables(linkage.left, linkage.right, p)  # ids exist, no duplicates
    ea = linkage.left_entity[p["ltable_id"]].to_numpy()
    eb = linkage.right_entity[p["rtable_id"]].to_numpy()
    assert ((ea == eb) == (p["label"] == 1)).all()
    assert ((p["kind"] == "match") == (p["label"] == 1)).all()
    assert ((p["planted"] != "") == (p["kind"] == "sibling")).all()
    assert set(p["planted"]) - {""} <= set(PLANTABLE)
    assert len(p[p["label"] == 1]) == len(linkage.matches)
    counts = p["kind"].value_counts()
    assert counts["sibling"] > 0 and counts["random"] > 0 and counts["similar"] > 0
    diffs = _differing(linkage.entities, ea, eb)
    for diff, planted, kind in zip(diffs, p["planted"], p["kind"], strict=True):
        if kind == "match":
            assert diff == []
        elif kind == "sibling":
            assert diff == [planted]
        else:
            assert len(diff) >= 2


def test_every_sibling_pair_is_listed(linkage):
    ent = linkage.entities
    fam_l = ent.loc[linkage.left_entity, "family"].to_numpy()
    fam_r = ent.loc[linkage.right_entity, "family"].to_numpy()
    expected = {
        (a, b)
        for a, fa, xa in zip(linkage.left.index, fam_l, linkage.left_entity, strict=True)
        for b, fb, xb in zip(linkage.right.index, fam_r, linkage.right_entity, strict=True)
        if fa == fb and xa != xb
    }
    sib = linkage.pairs[linkage.pairs["kind"] == "sibling"]
    assert set(zip(sib["ltable_id"], sib["rtable_id"], strict=True)) == expected


def test_planted_axes_all_occur():
    syn = make_linkage(n_entities=2000, seed=1)
    sib = syn.pairs[syn.pairs["kind"] == "sibling"]
    assert set(sib["planted"]) == set(PLANTABLE)


def test_dedup_truth_and_pairs(dedup):
    _assert_table(dedup.records)
    assert dedup.records.index.str.startswith("r").all()
    sizes = dedup.entity.value_counts()
    assert sizes.max() <= 4 and 2.0 < sizes.mean() < 3.0
    m = dedup.matches
    assert len(m) == int((sizes * (sizes - 1) // 2).sum())
    assert (m["ltable_id"] < m["rtable_id"]).all()
    assert (
        dedup.entity[m["ltable_id"]].to_numpy() == dedup.entity[m["rtable_id"]].to_numpy()
    ).all()
    p = dedup.pairs
    assert (p["ltable_id"] < p["rtable_id"]).all()
    RecordPairs.from_tables(dedup.records, None, p)
    ea = dedup.entity[p["ltable_id"]].to_numpy()
    eb = dedup.entity[p["rtable_id"]].to_numpy()
    assert ((ea == eb) == (p["label"] == 1)).all()
    for diff, planted, kind in zip(
        _differing(dedup.entities, ea, eb), p["planted"], p["kind"], strict=True
    ):
        if kind == "sibling":
            assert diff == [planted]
        elif kind != "match":
            assert len(diff) >= 2


def test_corruptions_are_applied(linkage):
    clean = linkage.entities.loc[linkage.left_entity.to_numpy(), list(ATTRIBUTES)]
    rec = linkage.left
    changed = {
        c: float(
            np.mean([a != b for a, b in zip(rec[c], clean[c], strict=True) if isinstance(b, str)])
        )
        for c in ATTRIBUTES
    }
    for column in ATTRIBUTES:
        assert 0.05 < changed[column] < 0.95, (column, changed[column])
    assert rec["capacity"].str.contains(r"^\d+(?:gb|GB| gb| gigabytes|-GB)$", regex=True).any()
    assert rec["colour"].isin(["blk", "wht", "slv", "gray", "blu"]).any()
    assert rec["title"].str.contains(r"\b(?:wl|kbd|ext|hd|port\.)\b", regex=True).any()
    assert rec["price"].str.startswith("$").any()
    assert rec.isna().mean().between(0.0, 0.5).all()


def test_noise_zero_gives_clean_copies():
    syn = make_linkage(n_entities=100, seed=2, noise=0.0)
    clean = syn.entities.loc[syn.left_entity.to_numpy(), list(ATTRIBUTES)].set_axis(syn.left.index)
    clean.index.name = "id"
    pd.testing.assert_frame_equal(syn.left, clean, check_flags=False)


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({"n_entities": 0}, "n_entities must be a positive integer"),
        ({"match_rate": 1.5}, "match_rate must be between 0 and 1"),
        ({"sibling_rate": 0.9}, "sibling_rate=0.9 leaves too few base products"),
        ({"negatives_per_match": -1}, "negatives_per_match must be >= 0"),
    ],
)
def test_bad_arguments(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        make_linkage(**{"n_entities": 100, **kwargs})
    with pytest.raises(ValueError, match="max_duplicates"):
        make_dedup(n_entities=10, max_duplicates=0)


def test_tiny_sets():
    one = make_linkage(n_entities=1, seed=0)
    assert len(one.entities) == 1
    dd = make_dedup(n_entities=1, seed=0, max_duplicates=1)
    assert len(dd.records) == 1 and len(dd.matches) == 0


def test_speed_1e5_records():
    t0 = time.perf_counter()
    syn = make_dedup(n_entities=40_000, seed=9)
    seconds = time.perf_counter() - t0
    assert len(syn.records) > 90_000
    assert seconds < 20, f"make_dedup for {len(syn.records)} records took {seconds:.1f}s"


def test_sibling_planted_value_is_never_missing():
    import pandas as pd

    from data import make_linkage

    syn = make_linkage(n_entities=300, seed=5, progress=False)
    sib = syn.pairs[syn.pairs["kind"] == "sibling"]
    assert len(sib) > 20
    for a, b, col in zip(sib["ltable_id"], sib["rtable_id"], sib["planted"]):
        assert not pd.isna(syn.left.at[a, col]), (a, col)
        assert not pd.isna(syn.right.at[b, col]), (b, col)
