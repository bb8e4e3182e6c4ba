"""A trained matcher records its attributes and reads exactly those, in order."""

from __future__ import annotations

import json
import logging

import numpy as np
import pandas as pd
import pytest

from data import BemError, RecordPairs
from matcher import Matcher, check_schema, parse_renames, rename_columns
from matcher.schema import as_records

FIT = {"epochs": 1, "learning_rate": 3e-3, "batch_size": 16, "progress": False}


def with_url(rp: RecordPairs) -> RecordPairs:
    """The same pairs with a long extra column first and the columns reordered."""

    def widen(table: pd.DataFrame) -> pd.DataFrame:
        out = table[["price", "title"]].copy()
        out.insert(0, "url", [f"https://shop.example/item/{i}/a/very/long/path" for i in out.index])
        return out

    return RecordPairs(widen(rp.left), widen(rp.right), rp.pairs)


@pytest.fixture(scope="module")
def fitted(tiny_model_dir, toy_pairs):
    return Matcher(model=tiny_model_dir, max_length=24, seed=0).fit(toy_pairs(48, 0), **FIT)


def test_fit_records_the_training_columns_as_the_schema(fitted, tmp_path):
    assert fitted.attributes_ == ["title", "price"]
    assert fitted.config_.attributes == ["title", "price"]
    path = fitted.save_pretrained(tmp_path / "m")
    raw = json.loads((path / "config.json").read_text())
    assert raw["attributes"] == ["title", "price"]
    assert raw["serializer"]["attributes"] == ["title", "price"]
    assert Matcher.from_pretrained(path).attributes_ == ["title", "price"]
    assert "title, price" in (path / "README.md").read_text()


def test_configured_attributes_are_the_schema(tiny_model_dir, toy_pairs):
    m = Matcher(model=tiny_model_dir, max_length=24, attributes=["price", "title"])
    m.fit(toy_pairs(24, 0), **FIT)
    assert m.attributes_ == ["price", "title"]
    assert m.encode(toy_pairs(1, 1))[0].serialized.left.startswith("COL price")


def test_scoring_ignores_extra_columns_and_their_order(fitted, toy_pairs, tmp_path):
    valid = toy_pairs(20, 1)
    wide = with_url(valid)
    expected = fitted.predict_proba(valid)
    np.testing.assert_array_equal(fitted.predict_proba(wide), expected)
    encoded = fitted.encode(wide)[0]
    assert "url" not in encoded.serialized.left and list(encoded.left) == ["title", "price"]
    loaded = Matcher.from_pretrained(fitted.save_pretrained(tmp_path / "m"))
    np.testing.assert_array_equal(loaded.predict_proba(wide), expected)
    np.testing.assert_array_equal(loaded.predict_proba(list(wide.records())), expected)


def test_models_saved_without_a_schema_still_load(fitted, toy_pairs, tmp_path, caplog):
    path = fitted.save_pretrained(tmp_path / "old")
    raw = json.loads((path / "config.json").read_text())
    del raw["attributes"]
    raw["serializer"]["attributes"] = None
    (path / "config.json").write_text(json.dumps(raw))
    with caplog.at_level(logging.WARNING, logger="matcher"):
        old = Matcher.from_pretrained(path)
    assert old.attributes_ is None
    assert "records no attributes" in caplog.text
    valid = toy_pairs(10, 2)
    np.testing.assert_allclose(old.predict_proba(valid), fitted.predict_proba(valid), atol=1e-6)
    assert old.check_schema(valid.left) == []


def test_check_schema(fitted, caplog):
    table = pd.DataFrame({"name": ["x"], "price": ["9"]}, index=pd.Index(["1"], name="id"))
    table.attrs["source"] = "shop.csv"
    with caplog.at_level(logging.WARNING, logger="matcher"):
        assert fitted.check_schema(table, name="right") == ["title"]
    assert "shop.csv" in caplog.text and "'title'" in caplog.text and "--rename" in caplog.text
    with pytest.raises(BemError, match=r"none of the model's attributes \['title', 'price'\]"):
        fitted.check_schema(table[["name"]])
    with pytest.raises(BemError, match=r"columns are \['name'\].*--rename new=old"):
        check_schema(table[["name"]], ["title", "price"], name="records")
    assert check_schema(table, None) == []
    renamed = rename_columns(table, {"title": "name"})
    assert fitted.check_schema(renamed) == []
    with pytest.raises(BemError, match="none of the model's attributes"):
        fitted.predict_proba(RecordPairs(table[["name"]], table[["name"]], _one_pair()))


def _one_pair() -> pd.DataFrame:
    return pd.DataFrame({"ltable_id": ["1"], "rtable_id": ["1"]})


def test_rename_columns_validates_the_mapping():
    table = pd.DataFrame(
        {"name": ["x"], "maker": ["y"], "brand": ["z"]}, index=pd.Index(["1"], name="id")
    )
    table.attrs["source"] = "a.csv"
    out = rename_columns(table, {"title": "name", "make": "brand"})
    assert list(out.columns) == ["title", "maker", "make"]
    assert out.attrs["source"] == "a.csv" and out.index.name == "id"
    assert list(table.columns) == ["name", "maker", "brand"]  # not modified
    swapped = rename_columns(table, {"brand": "maker", "maker": "brand"})
    assert list(swapped.columns) == ["name", "brand", "maker"]
    assert swapped["brand"].iloc[0] == "y"
    with pytest.raises(BemError, match=r"no column 'titel' \(its columns are"):
        rename_columns(table, {"title": "titel"})
    with pytest.raises(BemError, match="already mapped"):
        rename_columns(table, {"title": "name", "label": "name"})
    with pytest.raises(BemError, match="already has a column 'brand'"):
        rename_columns(table, {"brand": "maker"})
    with pytest.raises(BemError, match="new name is empty"):
        rename_columns(table, {"": "name"})


def test_parse_renames():
    assert parse_renames(["title=name", " brand = maker "]) == {"title": "name", "brand": "maker"}
    assert parse_renames([]) == {}
    for bad in ("title", "=name", "title="):
        with pytest.raises(BemError, match="expected model_attribute=table_column"):
            parse_renames([bad])
    with pytest.raises(BemError, match="already mapped"):
        parse_renames(["title=name", "title=label"])


def test_as_records_projects_onto_the_attributes(toy_pairs):
    rp = with_url(toy_pairs(2, 0))
    (left, right), _ = as_records(rp, ["title", "colour"])
    assert list(right) == ["title", "colour"]
    assert list(left) == ["title", "colour"] and left["colour"] is None
    assert as_records([({"a": "1", "b": "2"}, {"b": "3"})], ["b", "a"]) == [
        ({"b": "2", "a": "1"}, {"b": "3", "a": None})
    ]


def test_schema_of_an_unloaded_matcher_needs_no_model():
    m = Matcher(model="/nonexistent", attributes=["title"])
    assert m.attributes_ == ["title"] and Matcher().attributes_ is None
    table = pd.DataFrame({"name": ["x"]}, index=pd.Index(["1"], name="id"))
    with pytest.raises(BemError, match="none of the model's attributes"):
        m.check_schema(table)
    assert "_ready" not in m.__dict__
