"""Key normalizers and keys."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from blocking import (
    Key,
    StopTokens,
    alphanumeric_codes,
    fold_accents,
    fold_case,
    join_units,
    sort_tokens,
    strip_punctuation,
)
from data.errors import BemError


@pytest.mark.parametrize(
    ("fn", "text", "expected"),
    [
        (fold_case, "Sony TV", "sony tv"),
        (fold_accents, "Café Crème ½", "cafe creme 1⁄2"),
        (strip_punctuation, "PS-LX350H, 2.5 (black)/new.", "PS LX350H 2.5 black new"),
        (join_units, "8 GB card 2.5-inch 3.5 ghz", "8gb card 2.5inch 3.5ghz"),
        (join_units, "model x200 8 pack", "model x200 8pack"),
        (sort_tokens, "c a b", "a b c"),
        (alphanumeric_codes, "sony turntable pslx350h 33 rpm", "pslx350h"),
    ],
)
def test_normalizers(fn, text, expected):
    assert fn(text) == expected


def test_chain_order_matters_and_defaults():
    table = pd.DataFrame({"t": ["Sony  8 GB-Card, BLACK", "Éclair 2.5 inch"]}, index=["a", "b"])
    (keys,) = Key("t").transform(table)
    assert list(keys) == ["sony 8gb card black", "eclair 2.5inch"]
    (keys,) = Key("t", normalizers=("case", "punct", "units", "sort")).transform(table)
    assert list(keys) == ["8gb black card sony", "2.5inch éclair"]
    (raw,) = Key("t", normalizers=()).transform(table)
    assert raw[0] == "Sony 8 GB-Card, BLACK"


def test_stop_tokens_are_learned_from_frequency():
    texts = [f"the item{i} black" for i in range(20)] + ["the"]
    fitted = StopTokens(max_df=0.5).fit(texts)
    assert fitted.stop_tokens_ == {"the", "black"}
    assert fitted("the item3 black") == "item3"
    assert fitted("the") == "the"  # never empties a key
    with pytest.raises(ValueError, match="fitted"):
        StopTokens()("x")
    with pytest.raises(ValueError, match="max_df"):
        StopTokens(max_df=0)


def test_stop_tokens_fitted_on_both_tables_in_a_key():
    left = pd.DataFrame(
        {"t": [f"acme a{i}" for i in range(10)]}, index=[f"l{i}" for i in range(10)]
    )
    right = pd.DataFrame(
        {"t": [f"acme b{i}" for i in range(10)]}, index=[f"r{i}" for i in range(10)]
    )
    lk, rk = Key("t", normalizers=("fold", StopTokens(max_df=0.5))).transform(left, right)
    assert lk[0] == "a0" and rk[0] == "b0"


def test_key_joins_attributes_and_skips_missing():
    table = pd.DataFrame(
        {"brand": ["Sony", None, None], "title": ["TV", "Radio", np.nan]}, index=list("xyz")
    )
    (keys,) = Key(["brand", "title"]).transform(table)
    assert list(keys) == ["sony tv", "radio", ""]
    assert Key(["brand", "title"]).label == "brand,title"


def test_key_errors():
    table = pd.DataFrame({"name": ["a"]}, index=["x"])
    table.attrs["source"] = "left.csv"
    with pytest.raises(
        BemError, match=r"left.csv: key attribute\(s\) \['title'\] not found.*\['name'\]"
    ):
        Key("title").transform(table)
    with pytest.raises(ValueError, match="unknown normalizer 'nope'"):
        Key("name", normalizers=("nope",))
    with pytest.raises(ValueError, match="attribute names"):
        Key([])
    with pytest.raises(TypeError, match="normalizer"):
        Key("name", normalizers=(3,))


def test_key_repr_names_the_steps():
    key = Key(["a", "b"], normalizers=("fold", "punct", StopTokens(max_df=0.2)))
    assert (
        repr(key)
        == "Key(['a', 'b'], normalizers=[fold_accents, strip_punctuation, StopTokens(max_df=0.2)])"
    )
