"""matcher.codes: model-number-like codes written one way (Matcher(join_codes=True))."""

from __future__ import annotations

import pytest

from matcher import Matcher, PairSerializer
from matcher.codes import is_code, join_codes


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Sony KDL-40V5100 40in LCD", "Sony KDL40V5100 40in LCD"),
        ("WH-1000XM4/B black", "WH1000XM4B black"),
        ("SD-16GB card", "SD16GB card"),
        ("15.6 inch, 1-800 line", "15.6 inch, 1-800 line"),  # numbers: no letter
        ("3.5mm jack, 2.4GHz", "3.5mm jack, 2.4GHz"),  # a point is no separator
        ("HL-2.4G/B", "HL2.4GB"),
        ("e-mail and up-to-date", "e-mail and up-to-date"),  # words: no digit
        ("no digits at all", "no digits at all"),
        ("a-1", "a-1"),  # two characters: too short for a code
        ("", ""),
    ],
)
def test_join_codes_drops_separators_inside_codes_only(text, expected):
    assert join_codes(text) == expected


def test_is_code_needs_letters_and_digits_mixed():
    assert is_code("kdl40") and is_code("a1b")
    assert not is_code("a1") and not is_code("1234") and not is_code("abcd")


def test_the_serializer_writes_joined_codes_with_exact_spans():
    left, right = {"model": "KDL-40V5100", "title": "x"}, {"model": "KDL40V5100", "title": None}
    plain = PairSerializer().serialize(left, right)
    joined = PairSerializer(join_codes=True).serialize(left, right)
    assert "KDL-40V5100" in plain.left and "KDL-40V5100" not in joined.left
    span = joined.value_span("left", "model")
    assert (
        joined.left[span.start : span.end]
        == joined.right[
            joined.value_span("right", "model").start : joined.value_span("right", "model").end
        ]
    )
    assert PairSerializer(join_codes=True).to_dict()["join_codes"] is True


def test_join_codes_makes_two_spellings_tokenize_alike_and_is_saved(tiny_model_dir, tmp_path):
    pairs = [({"model": "KDL-40V5100"}, {"model": "KDL40V5100"})]
    plain = Matcher(model=tiny_model_dir, max_length=32, attributes=["model"])
    joined = Matcher(model=tiny_model_dir, max_length=32, attributes=["model"], join_codes=True)

    def sides(m):
        e = m.encode(pairs)[0]
        sep = e.tokens.index("[SEP]")
        return e.tokens[1:sep], e.tokens[sep + 1 : -1]

    a, b = sides(plain)
    assert a != b  # "-" and "40" against "##40": the tokenizer reads two codes
    a, b = sides(joined)
    assert a == b
    joined.save_pretrained(tmp_path / "m")
    loaded = Matcher.from_pretrained(tmp_path / "m")
    assert loaded.join_codes and loaded.serializer_.join_codes
    assert sides(loaded) == sides(joined)
