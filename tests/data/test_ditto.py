"""Ditto parser: values with COL/VAL words, empty values, malformed lines."""

from __future__ import annotations

import pandas as pd
import pytest

from data import BemError, load_ditto, parse_ditto_side


def _write(tmp_path, lines: list[str]):
    path = tmp_path / "d.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_load_ditto_basic(tmp_path):
    path = _write(
        tmp_path,
        [
            "COL name VAL sony tv COL price VAL 12 \t"
            "COL name VAL sony  television COL price VAL  \t1",
            "COL name VAL lg COL price VAL 3\tCOL name VAL lg dw COL price VAL 4\t0",
        ],
    )
    rp = load_ditto(path)
    assert len(rp) == 2
    assert list(rp.left.index) == ["0", "1"] and list(rp.right.index) == ["0", "1"]
    assert list(rp.left.columns) == ["name", "price"]
    assert rp.labels.tolist() == [1, 0]
    assert rp.left.loc["0", "name"] == "sony tv"
    assert rp.right.loc["0", "name"] == "sony  television"
    assert pd.isna(rp.right.loc["0", "price"])
    assert rp.record_pair(1) == ({"name": "lg", "price": "3"}, {"name": "lg dw", "price": "4"})


def test_values_containing_col_and_val(tmp_path):
    sides = [
        "COL title VAL VAL 500 COL red VAL edition COL year VAL 2001",
        "COL title VAL COL COL year VAL 1999",
        "COL title VAL the VAL of COL year VAL COL",
        "COL title VAL a COLLECTION VALUE COL year VAL 2",
    ]
    path = _write(tmp_path, [f"{s}\t{s}\t0" for s in sides])
    rp = load_ditto(path)
    assert list(rp.left.columns) == ["title", "year"]
    assert rp.left["title"].tolist() == [
        "VAL 500 COL red VAL edition",
        "COL",
        "the VAL of",
        "a COLLECTION VALUE",
    ]
    assert rp.left["year"].tolist() == ["2001", "1999", "COL", "2"]


def test_side_with_other_attributes_keeps_its_own():
    rec = parse_ditto_side("COL a VAL 1 COL b VAL", ("x", "y"))
    assert rec["a"] == "1" and pd.isna(rec["b"])


def test_attributes_in_order_of_first_appearance(tmp_path):
    path = _write(
        tmp_path, ["COL a VAL 1\tCOL a VAL 2 COL b VAL 3\t0", "COL a VAL 1\tCOL a VAL 2\t1"]
    )
    rp = load_ditto(path)
    assert list(rp.right.columns) == ["a", "b"]
    assert pd.isna(rp.right.loc["1", "b"])


@pytest.mark.parametrize(
    ("lines", "pattern"),
    [
        (
            ["COL a VAL 1\tCOL a VAL 2\t1", "COL a VAL 1 COL a VAL 2\t1"],
            r"d\.txt: line\(s\) 2 \(1 tabs\) do not have exactly 2 tabs",
        ),
        (["COL a VAL 1\tCOL a VAL 2\t1\t"], r"line\(s\) 1 \(3 tabs\)"),
        (
            ["COL a VAL 1\tCOL a VAL 2\t1", "COL a VAL 1\tCOL a VAL 2\tyes"],
            r"d\.txt: label must be 0 or 1 on line\(s\) 2 \('yes'\)",
        ),
        (["COL a VAL 1\tCOL a VAL 2\t2"], r"label must be 0 or 1 on line\(s\) 1 \('2'\)"),
        (
            ["COL a VAL 1\tCOL a VAL 2\t0", "a 1\tCOL a VAL 2\t0"],
            r"d\.txt: line 2 \(left\): text does not start with 'COL <attribute> VAL'",
        ),
        (
            ["COL a VAL 1\tCOL a VAL 2\t0", "COL a VAL 1\t\t0"],
            r"line 2 \(right\): text does not start",
        ),
        (
            ["COL a VAL 1 COL a VAL 2\tCOL a VAL 2\t0"],
            r"line 1 \(left\): attribute\(s\) \['a'\] appear more than once",
        ),
        ([""], r"d\.txt: the file is empty"),
    ],
)
def test_malformed_lines(tmp_path, lines, pattern):
    with pytest.raises(BemError, match=pattern):
        load_ditto(_write(tmp_path, lines))


def test_bad_bytes_and_missing_file(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_bytes(b"COL a VAL 1\tCOL a VAL 2\t0\nCOL a VAL \xff\tCOL a VAL 2\t0\n")
    with pytest.raises(BemError, match=r"bad\.txt: line 2: byte offset 36 is not valid UTF-8"):
        load_ditto(path)
    with pytest.raises(BemError, match="file not found"):
        load_ditto(tmp_path / "none.txt")
