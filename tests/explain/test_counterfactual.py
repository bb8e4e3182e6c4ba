from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from explain import (
    Counterfactual,
    FieldEdit,
    FieldScore,
    TopFieldCheck,
    search_counterfactual,
    top_field_check,
)
from explain.counterfactual import candidate_edits

WEIGHTS = {"title": 0.2, "model": 0.3, "brand": 0.1}


class AgreementScore:
    """P(match) = base + sum of weight * (+1 agree, -1 differ, 0 missing); counts calls."""

    def __init__(self, weights: dict[str, float] = WEIGHTS, base: float = 0.3) -> None:
        self.weights, self.base = weights, base
        self.calls: list[int] = []
        self.seen: list[tuple[dict[str, Any], dict[str, Any]]] = []

    def one(self, left: dict[str, Any], right: dict[str, Any]) -> float:
        p = self.base
        for a, w in self.weights.items():
            lv, rv = left.get(a), right.get(a)
            if lv is not None and rv is not None:
                p += w if lv == rv else -w
        return float(np.clip(p, 0.0, 1.0))

    def __call__(self, records: list[tuple[dict[str, Any], dict[str, Any]]]) -> np.ndarray:
        self.calls.append(len(records))
        self.seen += records
        return np.array([self.one(a, b) for a, b in records])


SIBLING = (
    {"title": "sony tv", "model": "KD-55X1", "brand": "sony"},
    {"title": "sony tv", "model": "KD-55X2", "brand": "sony"},
)
SIBLING_FIELDS = (
    FieldScore("title", 0.1, 0.1),
    FieldScore("model", -0.15, -0.15),
    FieldScore("brand", 0.05, 0.05),
)


def test_a_sibling_flips_by_copying_the_differing_field_first():
    score = AgreementScore()
    left, right = SIBLING
    p = score.one(left, right)
    assert p < 0.5
    cf, calls = search_counterfactual(
        left, right, SIBLING_FIELDS, probability=p, threshold=0.5, score=score, batch_size=1
    )
    assert calls == 1 == cf.model_calls  # the attributions put the right edit first
    assert cf.decision == 1 and cf.probability == pytest.approx(0.9)
    assert len(cf.edits) == 1 and cf.edits[0].attribute == "model"
    assert cf.edits[0].action == "copy"
    assert cf.describe() == 'would be a match if the "model" values agreed'
    edited = cf.apply(left, right)
    assert edited[0]["model"] == edited[1]["model"]
    assert score.one(*edited) == cf.probability


def test_misleading_attributions_cost_more_calls():
    score = AgreementScore()
    left, right = SIBLING
    wrong = (
        FieldScore("title", 0.0, 0.0),
        FieldScore("model", 0.0, 0.0),
        FieldScore("brand", -0.3, -0.3),
    )
    cf, calls = search_counterfactual(
        left, right, wrong, probability=score.one(left, right), threshold=0.5, score=score,
        batch_size=1,
    )  # fmt: skip
    assert cf is not None and cf.edits[0].attribute == "model"
    assert calls > 1


def test_the_smallest_set_is_found_when_no_single_edit_flips():
    same = {"title": "sony tv", "model": "KD-55X1", "brand": "sony"}
    score = AgreementScore()
    fields = tuple(FieldScore(a, w / 2, w / 2) for a, w in WEIGHTS.items())
    p = score.one(same, same)
    assert p == pytest.approx(0.9)
    singles = [e for e, _ in candidate_edits(same, same, fields)]
    for edit in singles:  # no single edit flips this match ...
        a, b = dict(same), dict(same)
        edit.apply(a, b)
        assert score.one(a, b) >= 0.5
    cf, calls = search_counterfactual(same, same, fields, probability=p, threshold=0.5, score=score)
    assert cf is not None and len(cf.edits) == 2  # ... so the search finds a pair of edits
    assert {e.attribute for e in cf.edits} == {"title", "model"}
    assert cf.decision == 0 and cf.probability < 0.5
    assert calls == cf.model_calls == sum(score.calls) <= 30
    assert max(score.calls) <= 8  # batched
    assert cf.describe().startswith("would not be a match without the")


def test_the_budget_caps_the_search():
    weights = {a: 0.1 for a in "abcde"}
    rec = {a: "x" for a in weights}
    fields = tuple(FieldScore(a, 0.05, 0.05) for a in weights)
    score = AgreementScore(weights, base=0.45)  # 0.95; four blanks leave 0.55
    cf, calls = search_counterfactual(
        rec, rec, fields, probability=0.95, threshold=0.5, score=score
    )
    assert cf is None
    assert calls == sum(score.calls) == 30
    score = AgreementScore(weights, base=0.45)
    cf, calls = search_counterfactual(
        rec, rec, fields, probability=0.95, threshold=0.5, score=score, budget=7, max_edits=4
    )
    assert cf is None and calls == sum(score.calls) <= 7
    with pytest.raises(ValueError, match="budget must be >= 1, got 0"):
        search_counterfactual(
            rec, rec, fields, probability=0.9, threshold=0.5, score=score, budget=0
        )


def test_candidate_edits_cover_blanks_and_copies():
    left = {"title": "a", "model": None, "brand": "s"}
    right = {"title": "b", "model": "m", "brand": "s"}
    fields = tuple(FieldScore(a, 0.0, 0.0) for a in left)
    edits = {
        (e.attribute, e.action, e.side, e.value) for e, _ in candidate_edits(left, right, fields)
    }
    assert edits == {
        ("title", "blank", "left", None),
        ("title", "blank", "right", None),
        ("title", "blank", "both", None),
        ("title", "copy", "right", "a"),
        ("title", "copy", "left", "b"),
        ("model", "blank", "right", None),
        ("model", "copy", "left", "m"),
        ("brand", "blank", "left", None),
        ("brand", "blank", "right", None),
        ("brand", "blank", "both", None),
    }  # equal values are never copied, missing ones never blanked


def test_descriptions_and_edit_validation():
    both = Counterfactual((FieldEdit("title", "blank", "both"),), 0.1, 0, 4)
    assert both.describe() == 'would not be a match without the "title"'
    mixed = Counterfactual(
        (
            FieldEdit("model", "copy", "right", "X1"),
            FieldEdit("colour", "blank", "left"),
            FieldEdit("brand", "blank", "right"),
        ),
        0.8,
        1,
        12,
    )
    assert mixed.describe() == (
        'would be a match if the "model" values agreed and without the left record\'s '
        '"colour" and the right record\'s "brand"'
    )
    assert Counterfactual.from_dict(mixed.to_dict()) == mixed
    with pytest.raises(ValueError, match="needs side 'left' or 'right'"):
        FieldEdit("title", "copy", "both", "x")
    with pytest.raises(ValueError, match="action must be 'blank' or 'copy', got 'swap'"):
        FieldEdit("title", "swap", "left")  # type: ignore[arg-type]


def test_top_field_check_blanks_the_strongest_field_on_both_sides():
    score = AgreementScore()
    left, right = SIBLING
    check = top_field_check(left, right, SIBLING_FIELDS, score=score)
    assert check == TopFieldCheck("model", pytest.approx(0.6))
    assert score.calls == [1]
    (seen_left, seen_right), = score.seen  # fmt: skip
    assert seen_left["model"] is None and seen_right["model"] is None
    assert seen_left["title"] == left["title"]
    zero = tuple(FieldScore(f.attribute, 0.0, 0.0) for f in SIBLING_FIELDS)
    assert top_field_check(left, right, zero, score=score) is None


class SaturatedScore:
    """A saturated non-match: P(match) 0.0006, a hair higher per attribute that agrees
    (equal values, or both missing) and a hair more for the three that decide it,
    0.9 once ``title``, ``authors`` and ``year``
    all agree: the shape of a random DBLP-ACM non-match, where no single edit says
    which three to edit (bench/studies/counterfactual_bound.py)."""

    def __init__(self) -> None:
        self.seen: list[tuple[dict[str, Any], dict[str, Any]]] = []

    def __call__(self, records: list[tuple[dict[str, Any], dict[str, Any]]]) -> np.ndarray:
        self.seen += records
        out = []
        for a, b in records:
            agree = {k for k in a if a.get(k) == b.get(k)}
            flip = {"title", "authors", "year"} <= agree
            key = len(agree & {"title", "authors", "year"})
            out.append(0.9 if flip else 0.0006 * (1.0 + 0.01 * len(agree) + 0.05 * key))
        return np.array(out)


SATURATED = (
    {"title": "t1", "authors": "a1", "venue": "v1", "year": "1999", "pages": "1-9"},
    {"title": "t2", "authors": "a2", "venue": "v2", "year": "2001", "pages": "3-4"},
)


def test_a_saturated_non_match_is_flipped_by_agreeing_edits_within_the_budget():
    left, right = SATURATED
    fields = tuple(FieldScore(a, 0.0, 0.0) for a in left)  # flat: P is saturated
    score = SaturatedScore()
    cf, calls = search_counterfactual(
        left, right, fields, probability=0.0006, threshold=0.5, score=score, budget=30
    )
    assert cf is not None and calls <= 30
    assert {e.attribute for e in cf.edits} == {"title", "authors", "year"}


def test_sets_of_edits_towards_a_match_make_their_attributes_agree():
    left, right = SATURATED
    fields = tuple(FieldScore(a, 0.0, 0.0) for a in left)
    score = SaturatedScore()
    never = lambda records: np.minimum(score(records), 0.001)  # noqa: E731
    cf, calls = search_counterfactual(
        left, right, fields, probability=0.0006, threshold=0.5, score=never, budget=30
    )
    assert cf is None and calls == 30
    # every set of 3 edits tried makes each attribute it edits agree (copy or blank both)
    tried = 0
    for a, b in score.seen:
        edited = [k for k in left if (a.get(k), b.get(k)) != (left[k], right[k])]
        if len(edited) == 3:
            tried += 1
            assert all(a.get(k) == b.get(k) for k in edited), (a, b)
    assert tried
