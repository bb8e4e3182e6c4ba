"""load_table / read_csv_strings / validate_table / write_table: contract and every bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from data import BemError, load_table, read_csv_strings, validate_table, write_table


def _write(tmp_path, text: str | bytes, name: str = "t.csv"):
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8", newline="")
    return path


def test_load_table_contract(tmp_path):
    path = _write(tmp_path, 'id,name,price\n1,"a, b",3\n2,,nan\n 3 ,"",x\n')
    df = load_table(path)
    assert df.index.name == "id"
    assert list(df.index) == ["1", "2", "3"]
    assert all(type(i) is str for i in df.index)
    assert list(df.columns) == ["name", "price"]
    assert df.attrs["source"] == str(path)
    assert df.loc["1", "name"] == "a, b"
    assert pd.isna(df.loc["2", "name"])
    assert df.loc["2", "price"] == "nan"  # the text "nan" is a value, not missing
    assert df.loc["3", "name"] == ""  # quoted empty = empty string
    assert df.loc["1", "price"] == "3"  # numbers stay strings


def test_load_table_custom_id_and_quotes(tmp_path):
    text = 'key,text\r\nk1,"line1\nline2 ""quoted"""\r\nk2,plain "inner" quote\r\n'
    df = load_table(_write(tmp_path, text), id_column="key")
    assert df.index.name == "key"
    assert df.loc["k1", "text"] == 'line1\nline2 "quoted"'
    assert df.loc["k2", "text"] == 'plain "inner" quote'


def test_blank_lines_skipped_but_one_column_missing_kept(tmp_path):
    df = load_table(_write(tmp_path, "id,a\n1,x\n\n2,y\n"))
    assert list(df.index) == ["1", "2"]
    frame = read_csv_strings(_write(tmp_path, "a\nx\n\ny\n", "one.csv"))
    assert len(frame) == 3 and pd.isna(frame["a"][1])


def test_utf8_bom_and_unicode(tmp_path):
    df = load_table(_write(tmp_path, "\ufeffid,name\n1,Müller 東京\n".encode()))
    assert df.index.name == "id" and df.loc["1", "name"] == "Müller 東京"


@pytest.mark.parametrize(
    ("content", "pattern"),
    [
        (b"", r"t\.csv: the file is empty"),
        (b"  \n\n", r"t\.csv: the file is empty"),
        (b"id,name\n", r"t\.csv: the file has a header \(id, name\) but no records"),
        (
            b"id,name\n1,ok\n2,caf\xe9\n",
            r"t\.csv: line 3: byte 0xe9 at byte offset 18 \(column 6\).*UTF-8",
        ),
        (
            b"id,name\n1,a\n2,b,extra\n3\n",
            r"t\.csv: 2 row\(s\).*line\(s\) 3 \(3 fields\), 4 \(1 fields\)",
        ),
        (b"id,name,name\n1,a,b\n", r"t\.csv: duplicate column name\(s\).*'name' at positions 2, 3"),
        (b"id,,x\n1,a,b\n", r"t\.csv: line 1: header column\(s\) 2 have no name"),
        (b"key,name\n1,a\n", r"t\.csv: no id column 'id'; columns found: \['key', 'name'\]"),
        (b"id,name\n1,a\n,b\n  ,c\n", r"t\.csv: empty value in id column 'id' on line\(s\) 3, 4"),
        (
            b"id,name\n1,a\n2,b\n1,c\n2,d\n",
            r"t\.csv: duplicate id\(s\) in column 'id': 1, 2 on line\(s\) 2 \('1'\), 3 \('2'\)",
        ),
        (
            b'id,name\n1,"never closed\n2,b\n',
            r"t\.csv: line 2: a quoted field \(column 2\) is never",
        ),
        (
            b'id,name\n1,"a"b\n',
            r"t\.csv: line 2: unexpected text after the closing quote of column 2",
        ),
    ],
)
def test_bad_files_raise_bem_error(tmp_path, content, pattern):
    with pytest.raises(BemError, match=pattern):
        load_table(_write(tmp_path, content))


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(BemError, match=r"nope\.csv: file not found"):
        load_table(tmp_path / "nope.csv")
    with pytest.raises(BemError, match="not a file"):
        load_table(tmp_path)


def test_bem_error_is_value_error(tmp_path):
    with pytest.raises(ValueError):
        load_table(_write(tmp_path, b""))


def test_validate_table_column_and_index(tmp_path):
    raw = pd.DataFrame({"id": [1, 2], "name": ["a", None], "price": [1.5, np.nan]})
    df = validate_table(raw, id_column="id")
    assert list(df.index) == ["1", "2"] and df.index.name == "id"
    assert df.loc["1", "price"] == "1.5" and pd.isna(df.loc["2", "price"])
    assert pd.isna(df.loc["2", "name"])
    again = validate_table(df)
    pd.testing.assert_frame_equal(again, df)
    named = validate_table(df, id_column="id")
    pd.testing.assert_frame_equal(named, df)
    plain = validate_table(pd.DataFrame({"a": ["x", "y"]}))
    assert list(plain.index) == ["0", "1"] and plain.index.name == "id"


@pytest.mark.parametrize(
    ("frame", "kwargs", "pattern"),
    [
        (
            pd.DataFrame({"a": [1]}),
            {"id_column": "id"},
            r"<table>: no id column 'id'; columns found: \['a'\]",
        ),
        (pd.DataFrame({"id": [], "a": []}), {"id_column": "id"}, "has no records"),
        (
            pd.DataFrame({"id": ["x", None], "a": [1, 2]}),
            {"id_column": "id"},
            r"empty value in id column 'id' on row\(s\) 2",
        ),
        (
            pd.DataFrame({"id": ["x", "x"], "a": [1, 2]}),
            {"id_column": "id"},
            r"duplicate id\(s\).*row\(s\) 1 \('x'\), 2 \('x'\)",
        ),
        (pd.DataFrame([[1, 2]], columns=["a", "a"]), {}, r"duplicate column name\(s\) \['a'\]"),
    ],
)
def test_validate_table_errors(frame, kwargs, pattern):
    with pytest.raises(BemError, match=pattern):
        validate_table(frame, **kwargs)


def test_validate_table_uses_source_attr():
    frame = pd.DataFrame({"id": ["x", "x"]})
    frame.attrs["source"] = "mine.csv"
    with pytest.raises(BemError, match=r"^mine\.csv: duplicate"):
        validate_table(frame, id_column="id")
    with pytest.raises(TypeError, match="DataFrame"):
        validate_table([1, 2])  # type: ignore[arg-type]


def test_write_table_round_trip(tmp_path):
    df = pd.DataFrame(
        {"name": ["", np.nan, 'a "q", b\nc', "nan"], "x": ["1", "2", np.nan, '"']},
        index=pd.Index(["a", "b", "c", "d"], name="rid"),
    )
    out = load_table(write_table(df, tmp_path / "w.csv"), id_column="rid")
    pd.testing.assert_frame_equal(out, df, check_like=False, check_index_type=True)
