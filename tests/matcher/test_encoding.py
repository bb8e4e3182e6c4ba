from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matcher import PairEncoder, PairSerializer, TfidfSummarizer
from matcher.encoding import allocate_budget


@pytest.fixture(scope="module")
def tokenizer(tiny_model_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_model_dir)


def encoder(tokenizer, max_length=128, summarizer=None, attributes=None):
    ser = PairSerializer(attributes=attributes)
    return PairEncoder(tokenizer, ser, max_length=max_length, summarizer=summarizer)


values = st.one_of(
    st.none(),
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=25),
    st.sampled_from(["COL", "VAL", "col val", "Café ünïcode 北京", "sony-x100 $49.99", ""]),
)
records = st.fixed_dictionaries({"name": values, "COL": values, "price": values})


@settings(max_examples=100, deadline=None)
@given(left=records, right=records, max_length=st.sampled_from([28, 40, 512]))
def test_every_token_labelled_once_and_value_offsets_point_into_the_value(
    tokenizer, left, right, max_length
):
    enc = encoder(tokenizer, max_length)
    e = enc.encode([(left, right)])[0]
    assert len(e.labels) == len(e.input_ids) == len(e.tokens) == len(e.token_type_ids)
    assert len(e.input_ids) <= max_length
    assert e.input_ids[0] == tokenizer.cls_token_id
    specials = [i for i, lab in enumerate(e.labels) if lab.role == "special"]
    assert [e.input_ids[i] for i in specials] == [
        tokenizer.cls_token_id,
        tokenizer.sep_token_id,
        tokenizer.sep_token_id,
    ]
    sep = specials[1]
    for i, lab in enumerate(e.labels):
        if lab.role == "special":
            assert lab.side is None and lab.attribute is None
            continue
        assert lab.side == ("left" if i < sep else "right")
        assert e.token_type_ids[i] == (0 if i < sep else 1)
        if lab.role == "value":
            value = (left if lab.side == "left" else right)[lab.attribute]
            assert value is not None
            assert 0 <= lab.start < lab.end <= len(value)
            assert value[lab.start : lab.end].strip()
        else:
            assert lab.start == lab.end == -1
    # each (side, attribute) keeps at least one token of a non-empty value
    for (side, attr), (kept, full) in e.kept.items():
        n = sum(
            1
            for lab in e.labels
            if lab.role == "value" and (lab.side, lab.attribute) == (side, attr)
        )
        assert n == kept <= full
        if full:
            assert kept >= 1


def test_value_tokens_of_marker_words_are_values(tokenizer):
    e = encoder(tokenizer).encode([({"t": "COL VAL"}, {"t": "VAL"})])[0]
    roles = [(tok, lab.role, lab.attribute) for tok, lab in zip(e.tokens, e.labels)]
    assert roles[1:5] == [
        ("col", "structure", None),
        ("t", "structure", "t"),
        ("val", "structure", None),
        ("col", "value", "t"),
    ]
    assert roles[5] == ("val", "value", "t")


def test_truncation_keeps_every_attribute_and_records_it(tokenizer):
    long = " ".join(f"word{i}" for i in range(200))
    left = {"name": "sony tv", "description": long, "price": "10"}
    right = {"name": "sony television", "description": long, "price": None}
    e = encoder(tokenizer, max_length=64).encode([(left, right)])[0]
    assert len(e) == 64
    assert e.truncated
    assert e.kept[("left", "name")] == (2, 2)
    assert e.kept[("left", "price")] == (1, 1)
    assert e.kept[("right", "price")] == (0, 0)
    kept, full = e.kept[("left", "description")]
    assert 1 <= kept < full
    # the first tokens are kept by default
    first = [lab for lab in e.labels if lab.role == "value" and lab.attribute == "description"]
    assert first[0].start == 0


def test_tfidf_summarizer_keeps_rare_tokens(tokenizer):
    common = "the the the and and of of"
    enc = encoder(tokenizer, max_length=20)
    docs = enc.value_token_ids([common] * 50 + ["zebra"])
    enc.summarizer = TfidfSummarizer().fit(docs)
    left = {"d": common + " zebra " + common}
    e = enc.encode([(left, {"d": "x"})])[0]
    kept_tokens = [
        t for t, lab in zip(e.tokens, e.labels) if lab.role == "value" and lab.side == "left"
    ]
    assert "zebra" in kept_tokens
    assert e.kept[("left", "d")][0] < e.kept[("left", "d")][1]
    again = TfidfSummarizer.from_dict(enc.summarizer.to_dict())
    assert again.idf_ == enc.summarizer.idf_


def test_too_short_max_length_is_an_error(tokenizer):
    attrs = {f"a{i}": "v" for i in range(10)}
    with pytest.raises(ValueError, match="raise max_length"):
        encoder(tokenizer, max_length=30).encode([(attrs, attrs)])


@given(st.lists(st.integers(0, 50), max_size=8), st.integers(0, 200))
def test_allocate_budget(lengths, available):
    budget = allocate_budget(lengths, available)
    assert all(0 <= b <= n for b, n in zip(budget, lengths))
    assert sum(budget) == min(sum(lengths), max(available, 0))
    if available >= sum(1 for n in lengths if n):
        assert all(b >= 1 for b, n in zip(budget, lengths) if n)
