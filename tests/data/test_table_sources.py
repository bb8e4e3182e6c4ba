"""Tables as users export them: no id column (line numbers as ids) and Parquet files."""

from __future__ import annotations

import logging
import sys

import numpy as np
import pandas as pd
import pytest

from data import BemError, load_table, write_table


def test_no_id_column_numbers_records_by_line(tmp_path, caplog):
    path = tmp_path / "export.csv"
    path.write_text('name,city\nJohn Smith,Boston\n"Jon\nSmith",Boston\n\nMary Jones,NYC\n')
    with caplog.at_level(logging.WARNING, logger="data.table"):
        table = load_table(path, line_ids=True)
    # the quoted record spans lines 3-4; the blank line 5 is skipped
    assert list(table.index) == ["2", "3", "6"]
    assert table.index.name == "line"
    assert table.loc["6", "name"] == "Mary Jones"
    assert "line number" in caplog.text and "id_column=NAME" in caplog.text


def test_no_id_column_without_line_ids_names_the_option(tmp_path):
    path = tmp_path / "export.csv"
    path.write_text("name,city\nJohn,Boston\n")
    with pytest.raises(BemError, match="id_column=NAME, or pass line_ids=True") as err:
        load_table(path)
    assert "export.csv" in str(err.value) and "['name', 'city']" in str(err.value)
    # the CLI names its flags, not API keywords
    with pytest.raises(BemError) as err:
        load_table(path, id_option="--id-column NAME")
    message = str(err.value)
    assert "--id-column NAME" in message and "omit --id-column" in message
    assert "id_column=" not in message and "line_ids" not in message


def test_an_existing_id_column_wins_over_line_numbers(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("id,name\na1,x\na2,y\n")
    assert list(load_table(path, line_ids=True).index) == ["a1", "a2"]


def test_parquet_round_trip(tmp_path):
    table = pd.DataFrame(
        {"name": ["a, b", np.nan, ""], "city": ["x", "y", np.nan]},
        index=pd.Index(["r1", "r2", "r3"], name="id"),
    )
    path = write_table(table, tmp_path / "t.parquet")
    back = load_table(path)
    pd.testing.assert_frame_equal(
        back,
        load_table(write_table(table, tmp_path / "t.csv")),
        check_like=False,
        check_index_type=False,
    )
    assert back.loc["r1", "name"] == "a, b" and back.loc["r3", "name"] == ""
    assert pd.isna(back.loc["r2", "name"])


def test_parquet_values_become_strings(tmp_path):
    raw = pd.DataFrame(
        {"id": [5, 6, 7], "year": [1999.0, np.nan, 2001.0], "price": [1.5, 2.0, np.nan]}
    )
    raw.to_parquet(tmp_path / "raw.parquet", index=False)
    table = load_table(tmp_path / "raw.parquet")
    assert list(table.index) == ["5", "6", "7"]
    assert table.loc["5", "year"] == "1999" and pd.isna(table.loc["6", "year"])
    assert table.loc["5", "price"] == "1.5"


def test_parquet_without_id_column_numbers_rows(tmp_path):
    pd.DataFrame({"name": ["a", "b"]}).to_parquet(tmp_path / "n.parquet", index=False)
    assert list(load_table(tmp_path / "n.parquet", line_ids=True).index) == ["1", "2"]


def test_broken_parquet_is_a_clear_error(tmp_path):
    path = tmp_path / "bad.parquet"
    path.write_bytes(b"not parquet at all")
    with pytest.raises(BemError, match=r"bad\.parquet: not a readable Parquet file"):
        load_table(path)


def test_parquet_without_pyarrow_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    with pytest.raises(ImportError, match="pip install pyarrow"):
        load_table(tmp_path / "x.parquet")
