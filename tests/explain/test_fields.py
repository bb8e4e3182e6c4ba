from __future__ import annotations

import unicodedata

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from explain import pair_fields
from explain.fields import scores_from_fields, scores_from_tokens

WORDS = st.sampled_from(
    ["sony", "tv", "40in", "Bravia", "ipod", "8GB", "£5", "x-100", "über", "<b>"]
)
VALUES = st.one_of(st.none(), st.lists(WORDS, min_size=0, max_size=6).map(" ".join))
RECORDS = st.fixed_dictionaries({"title": VALUES, "brand": VALUES, "price": VALUES})


def _plain(text: str) -> str:
    """Lower case without accents, as the uncased tokenizer normalises."""
    decomposed = unicodedata.normalize("NFD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@pytest.fixture(scope="module")
def encoder():
    from transformers import AutoTokenizer

    from matcher import PairEncoder, PairSerializer, default_model_path

    tokenizer = AutoTokenizer.from_pretrained(default_model_path())
    return PairEncoder(tokenizer, PairSerializer(), max_length=40)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(left=RECORDS, right=RECORDS, scores=st.lists(st.floats(-1, 1), min_size=80, max_size=80))
def test_every_value_token_maps_to_exactly_one_field(encoder, left, right, scores):
    enc = encoder.encode([(left, right)])[0]
    pf = pair_fields(enc)
    value_positions = [p for p, lab in enumerate(enc.labels) if lab.role == "value"]
    assert pf.positions.tolist() == value_positions
    assert len(pf.field_index) == pf.n_tokens
    assert set(pf.field_index.tolist()) == set(range(pf.n_fields))
    for pos, f in zip(pf.positions, pf.field_index):
        label = enc.labels[pos]
        assert pf.fields[f] == (label.side, label.attribute)
        record = left if label.side == "left" else right
        text = record[label.attribute][label.start : label.end]
        assert _plain(enc.tokens[pos].removeprefix("##")) in (_plain(text), "[unk]")
    # fields are grouped exactly: sums per field, even split back
    token_scores = np.asarray(scores[: pf.n_tokens])
    tokens, fields = scores_from_tokens(enc, pf, token_scores)
    assert [f.attribute for f in fields] == list(left) + [a for a in right if a not in left]
    for f in fields:
        for side, value in (("left", f.left), ("right", f.right)):
            expected = sum(t.score for t in tokens if (t.side, t.attribute) == (side, f.attribute))
            assert value == pytest.approx(expected)
    per_field = np.arange(pf.n_fields, dtype=float) + 1
    tokens2, fields2 = scores_from_fields(enc, pf, per_field)
    for i, (side, attribute) in enumerate(pf.fields):
        mine = [t.score for t in tokens2 if (t.side, t.attribute) == (side, attribute)]
        assert sum(mine) == pytest.approx(per_field[i])
        assert max(mine) == pytest.approx(min(mine))
        f = next(f for f in fields2 if f.attribute == attribute)
        assert (f.left if side == "left" else f.right) == per_field[i]


def test_structure_and_special_tokens_belong_to_no_field(encoder):
    enc = encoder.encode([({"title": "sony tv", "brand": None}, {"title": "sony", "brand": "x"})])[
        0
    ]
    pf = pair_fields(enc)
    outside = set(range(len(enc.tokens))) - set(pf.positions.tolist())
    assert {enc.tokens[p] for p in outside} >= {"[CLS]", "[SEP]", "col", "val", "title", "brand"}
    assert pf.fields == (("left", "title"), ("right", "title"), ("right", "brand"))
    assert pf.attributes == ("title", "brand")
    keep = pf.keep_tokens(np.array([[1, 0, 1]]))
    assert keep.tolist() == [[1, 1, 0, 1]]


def test_score_shapes_are_checked(encoder):
    enc = encoder.encode([({"title": "sony tv"}, {"title": "sony"})])[0]
    pf = pair_fields(enc)
    with pytest.raises(ValueError, match="expected 3 token scores"):
        scores_from_tokens(enc, pf, [1.0])
    with pytest.raises(ValueError, match="expected 2 field scores"):
        scores_from_fields(enc, pf, [1.0, 2.0, 3.0])
