"""Folder loaders: synthetic folders for errors, and the shared benchmark data."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from data import (
    BemError,
    DedupDataset,
    LinkageDataset,
    MatchingDataset,
    load_dedup,
    load_deepmatcher,
    load_ditto_dir,
    load_linkage,
)

DATASETS = Path(__file__).resolve().parents[2].parent / "shared" / "datasets"
needs_datasets = pytest.mark.skipif(not DATASETS.is_dir(), reason=f"{DATASETS} is absent")


def _folder(tmp_path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    return tmp_path


TABLES = {"tableA.csv": "id,name\na1,x\na2,y\n", "tableB.csv": "id,name\nb1,x\nb2,z\n"}


def test_deepmatcher_small(tmp_path):
    split = "ltable_id,rtable_id,label\na1,b1,1\na2,b2,0\n"
    ds = load_deepmatcher(
        _folder(tmp_path, {**TABLES, "train.csv": split, "valid.csv": split, "test.csv": split})
    )
    assert isinstance(ds, MatchingDataset)
    assert ds.train.left is ds.left and ds.test.right is ds.right
    assert ds.summary()["train_positives"] == 1
    assert "train=2 (1+)" in repr(ds)


def test_deepmatcher_errors(tmp_path):
    with pytest.raises(BemError, match=r"missing file\(s\) \['valid\.csv', 'test\.csv'\]"):
        load_deepmatcher(_folder(tmp_path, {**TABLES, "train.csv": "ltable_id,rtable_id,label\n"}))
    bad = "ltable_id,rtable_id,label\na1,b1,1\na9,b2,0\n"
    _folder(tmp_path, {"train.csv": bad, "valid.csv": bad, "test.csv": bad})
    with pytest.raises(
        BemError, match=r"train\.csv: ltable_id not found in .*tableA\.csv on line\(s\) 3 \('a9'\)"
    ):
        load_deepmatcher(tmp_path)
    with pytest.raises(BemError, match="not a directory"):
        load_deepmatcher(tmp_path / "nothing")


def test_linkage_small_and_unknown_ids(tmp_path):
    ds = load_linkage(_folder(tmp_path, {**TABLES, "matches.csv": "ltable_id,rtable_id\na1,b1\n"}))
    assert isinstance(ds, LinkageDataset) and len(ds.matches) == 1
    assert repr(ds) == f"LinkageDataset({tmp_path.name!r}, left=2, right=2, matches=1)"
    _folder(tmp_path, {"matches.csv": "ltable_id,rtable_id\na1,b1\na1,b7\n"})
    with pytest.raises(
        BemError,
        match=r"matches\.csv: rtable_id not found in .*tableB\.csv on line\(s\) 3 \('b7'\)",
    ):
        load_linkage(tmp_path)


def test_dedup_normalises_and_reports(tmp_path, caplog):
    records = "id,name\n1,a\n2,b\n10,c\n"
    ds = load_dedup(
        _folder(tmp_path, {"records.csv": records, "matches.csv": "id1,id2\n2,1\n1,2\n2,10\n"})
    )
    assert isinstance(ds, DedupDataset)
    assert ds.matches[["ltable_id", "rtable_id"]].values.tolist() == [["1", "2"], ["10", "2"]]
    assert "dropped 1 repeated pair(s)" in caplog.text and "line(s) 3" in caplog.text


@pytest.mark.parametrize(
    ("matches", "pattern"),
    [
        (
            "id1,id2\n1,2\n2,2\n",
            r"matches\.csv: a record paired with itself on line\(s\) 3 \('2'\)",
        ),
        (
            "id1,id2\n1,2\n1,99\n",
            r"matches\.csv: second id not found in .*records\.csv on line\(s\) 3 \('99'\)",
        ),
        ("id1,id2\n1,\n", r"matches\.csv: empty id on line\(s\) 2"),
        ("a,b\n1,2\n", r"matches\.csv: needs the columns id1,id2"),
    ],
)
def test_dedup_errors(tmp_path, matches, pattern):
    with pytest.raises(BemError, match=pattern):
        load_dedup(
            _folder(tmp_path, {"records.csv": "id,name\n1,a\n2,b\n", "matches.csv": matches})
        )


def test_ditto_dir_small(tmp_path):
    line = "COL a VAL x\tCOL a VAL y\t1\n"
    ds = load_ditto_dir(
        _folder(tmp_path, {"train.txt": line * 2, "valid.txt": line, "test.txt": line})
    )
    assert list(ds.left.index) == ["train-0", "train-1", "valid-0", "test-0"]
    assert ds.valid.record_pair(0) == ({"a": "x"}, {"a": "y"})


MAGELLAN = {
    "abt_buy": (1081, 1092, (5743, 1916, 1916), (616, 206, 206)),
    "amazon_google": (1363, 3226, (6874, 2293, 2293), (699, 234, 234)),
    "dblp_acm": (2616, 2294, (7417, 2473, 2473), (1332, 444, 444)),
}
DITTO = {
    "Textual/Abt-Buy": "abt_buy",
    "Structured/Amazon-Google": "amazon_google",
    "Structured/DBLP-ACM": "dblp_acm",
}


@pytest.mark.datasets
@needs_datasets
@pytest.mark.parametrize("name", sorted(MAGELLAN))
def test_magellan_counts(name):
    ds = load_deepmatcher(DATASETS / "magellan" / name)
    n_a, n_b, sizes, positives = MAGELLAN[name]
    s = ds.summary()
    assert (s["left"], s["right"]) == (n_a, n_b)
    assert (s["train"], s["valid"], s["test"]) == sizes
    assert (s["train_positives"], s["valid_positives"], s["test_positives"]) == positives


@pytest.mark.datasets
@needs_datasets
@pytest.mark.parametrize("folder", sorted(DITTO))
def test_ditto_counts_match_magellan(folder):
    ds = load_ditto_dir(DATASETS / "ditto" / folder)
    _, _, sizes, positives = MAGELLAN[DITTO[folder]]
    s = ds.summary()
    assert (s["train"], s["valid"], s["test"]) == sizes
    assert (s["train_positives"], s["valid_positives"], s["test_positives"]) == positives
    assert len(ds.left) == sum(sizes) == len(ds.right)
    assert ds.left.notna().any(axis=1).all()


@pytest.mark.datasets
@needs_datasets
@pytest.mark.parametrize(
    ("name", "counts"), [("abt_buy", (1076, 1076, 1076)), ("dblp_acm", (2616, 2294, 2224))]
)
def test_ccer_counts(name, counts):
    ds = load_linkage(DATASETS / "ccer" / name)
    assert (len(ds.left), len(ds.right), len(ds.matches)) == counts


@pytest.mark.datasets
@needs_datasets
def test_cora_counts(caplog):
    with caplog.at_level(logging.WARNING):
        ds = load_dedup(DATASETS / "dedup" / "cora")
    assert (len(ds.records), len(ds.matches)) == (1295, 17184)
    assert (ds.matches["ltable_id"] < ds.matches["rtable_id"]).all()


def test_load_pairs_reports_file_lines(tmp_path):
    from data import load_pairs, load_table

    left = load_table(_folder(tmp_path, TABLES) / "tableA.csv")
    path = tmp_path / "p.csv"
    path.write_text('ltable_id,rtable_id,label\n\na1,"b\n1",1\na2,b2,7\n', encoding="utf-8")
    with pytest.raises(
        BemError, match=r"p\.csv: column 'label' must be 0 or 1; .*line\(s\) 5 \('7'\)"
    ):
        load_pairs(path, left)
