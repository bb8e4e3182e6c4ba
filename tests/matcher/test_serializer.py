from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matcher import PairSerializer

values = st.one_of(
    st.none(),
    st.text(max_size=30),
    st.sampled_from(
        ["COL", "VAL", "COL x VAL y", " lead", "trail ", "", "Café ünïcode 北京", "a\tb\nc"]
    ),
)
records = st.dictionaries(
    st.sampled_from(["name", "price", "VAL", "COL", "désc"]), values, max_size=5
)


@settings(max_examples=200, deadline=None)
@given(left=records, right=records)
def test_span_map_covers_every_value_character_exactly_once(left, right):
    ser = PairSerializer().serialize(left, right)
    attrs = list(left) + [a for a in right if a not in left]
    for side, record, text in (("left", left, ser.left), ("right", right, ser.right)):
        covered = [0] * len(text)
        for attr in attrs:
            span = ser.value_span(side, attr)
            value = record.get(attr) or ""
            assert text[span.start : span.end] == value
            for i in range(span.start, span.end):
                covered[i] += 1
        names = [s for s in ser.spans if s.side == side and s.kind == "name"]
        assert [text[s.start : s.end] for s in names] == attrs
        for s in names:
            for i in range(s.start, s.end):
                covered[i] += 1
        # name and value spans never overlap
        assert max(covered, default=0) <= 1
        value_chars = sum(len(record.get(a) or "") for a in attrs)
        assert sum(covered) == value_chars + sum(len(a) for a in attrs)


def test_ditto_text_and_order():
    ser = PairSerializer(attributes=["title", "price"]).serialize(
        {"price": "3", "title": "ipod"}, {"title": "apple ipod", "price": None}
    )
    assert ser.left == "COL title VAL ipod COL price VAL 3"
    assert ser.right == "COL title VAL apple ipod COL price VAL "
    empty = ser.value_span("right", "price")
    assert empty.start == empty.end == len(ser.right)


def test_custom_markers_and_order_override():
    s = PairSerializer(col_token="[COL]", val_token="[VAL]")
    ser = s.serialize({"a": "1", "b": "2"}, {"a": "1", "b": "2"}, order=["b", "a"])
    assert ser.left == "[COL] b [VAL] 2 [COL] a [VAL] 1"


def test_value_containing_markers_is_one_value_span():
    ser = PairSerializer().serialize({"t": "COL VAL"}, {"t": "x"})
    span = ser.value_span("left", "t")
    assert ser.left[span.start : span.end] == "COL VAL"
    with pytest.raises(KeyError, match="no value span"):
        ser.value_span("left", "missing")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"attributes": []}, "attributes is empty"),
        ({"attributes": ["a", "a"]}, "duplicates"),
        ({"col_token": " "}, "non-blank"),
    ],
)
def test_bad_options(kwargs, message):
    with pytest.raises(ValueError, match=message):
        PairSerializer(**kwargs)
