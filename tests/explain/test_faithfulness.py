from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from data import RecordPairs
from explain import (
    Explainer,
    Explanation,
    FieldScore,
    TokenScore,
    eraser,
    evaluate_faithfulness,
    field_removal_auc,
    field_removal_degradation,
    planted_cause_accuracy,
    planted_token_accuracy,
)
from explain.faithfulness import planted_tokens

# the toy matcher scores sigmoid(10 cos - 5) of the two titles only
P_SAME = 1 / (1 + math.exp(-5))  # identical titles
P_EMPTY = 1 / (1 + math.exp(5))  # a title removed


@pytest.fixture()
def pairs() -> RecordPairs:
    """Two matches (same title) and two non-matches; four non-empty fields each."""
    return RecordPairs.from_records(
        [
            (
                {"title": "sony tv", "brand": "sony corp"},
                {"title": "sony tv", "brand": "sony corp"},
            ),
            (
                {"title": "apple ipod", "brand": "apple"},
                {"title": "apple ipod", "brand": "apple inc"},
            ),
            (
                {"title": "canon eos", "brand": "canon"},
                {"title": "garmin nuvi gps", "brand": "canon"},
            ),
            ({"title": "logitech mouse", "brand": "hp"}, {"title": "samsung case", "brand": "hp"}),
        ],
        labels=[1, 1, 0, 0],
    )


def with_scores(e: Explanation, scores: dict[tuple[str, str], float]) -> Explanation:
    """``e`` with the given field scores, split evenly over each field's tokens."""
    counts: dict[tuple[str, str], int] = {}
    for t in e.tokens:
        counts[(t.side, t.attribute)] = counts.get((t.side, t.attribute), 0) + 1
    tokens = tuple(
        dataclasses.replace(t, score=scores[(t.side, t.attribute)] / counts[(t.side, t.attribute)])
        for t in e.tokens
    )
    fields = tuple(
        FieldScore(f.attribute, scores[("left", f.attribute)], scores[("right", f.attribute)])
        for f in e.fields
    )
    return dataclasses.replace(e, tokens=tokens, fields=fields)


def oracle_and_anti(explanations: list[Explanation]) -> tuple[list, list]:
    """The true ranking (titles support the decision) and its reverse."""
    oracle, anti = [], []
    for e in explanations:
        s = 1.0 if e.decision else -1.0
        title = {("left", "title"): s, ("right", "title"): s}
        brand = {("left", "brand"): 0.0, ("right", "brand"): 0.0}
        oracle.append(with_scores(e, {**title, **brand}))
        anti.append(with_scores(e, {**{k: -v for k, v in title.items()}, **brand}))
    return oracle, anti


@pytest.fixture()
def explained(toy_matcher, pairs):
    explanations = Explainer(toy_matcher).explain(pairs, progress=False)
    assert [e.decision for e in explanations] == [1, 1, 0, 0]
    return explanations


def test_certa_by_hand(toy_matcher, pairs, explained):
    oracle, anti = oracle_and_anti(explained)
    # 4 fields: t = .1 .2 .33 .5 .7 .9 removes 0 0 1 2 2 3 fields. Removing the
    # top field (a title) turns both matches into false negatives: F1 1 1 0 0 0 0.
    expected_oracle = 0.1 * 1 + 0.13 * 0.5
    assert field_removal_auc(toy_matcher, pairs, oracle) == pytest.approx(expected_oracle)
    # the reverse ranking removes the brands first: a title goes at 3 fields only
    expected_anti = 0.1 + 0.13 + 0.17 + 0.2 + 0.2 * 0.5
    assert field_removal_auc(toy_matcher, pairs, anti) == pytest.approx(expected_anti)
    # field occlusion finds the true ranking
    assert field_removal_auc(toy_matcher, pairs, explained) == pytest.approx(expected_oracle)


def test_crew_by_hand(toy_matcher, pairs, explained):
    oracle, anti = oracle_and_anti(explained)
    # fractions .1 .3 .5 .7 .9 remove 0 1 2 2 3 of 4 fields; F1 against the
    # model's own decisions: least-first keeps the matches until 3 fields go,
    # most-first loses them at once -> gaps 0 1 1 1 0
    assert field_removal_degradation(toy_matcher, pairs, oracle) == pytest.approx(3 / 5)
    assert field_removal_degradation(toy_matcher, pairs, anti) == pytest.approx(-3 / 5)
    assert field_removal_degradation(toy_matcher, pairs, explained) == pytest.approx(3 / 5)


def test_eraser_by_hand(toy_matcher, pairs, explained):
    oracle, anti = oracle_and_anti(explained)
    first = pairs[:1]  # 8 value tokens: 4 title, 4 brand; the top 50% are the titles
    comp, suff = eraser(toy_matcher, first, oracle[:1], bins=(0.5,))
    assert comp == pytest.approx(P_SAME - P_EMPTY, abs=1e-4)
    assert suff == pytest.approx(0.0, abs=1e-4)
    comp, suff = eraser(toy_matcher, first, anti[:1], bins=(0.5,))
    assert comp == pytest.approx(0.0, abs=1e-4)
    assert suff == pytest.approx(P_SAME - P_EMPTY, abs=1e-4)
    # with the default bins the true ranking is better on both measures
    good = eraser(toy_matcher, pairs, oracle)
    bad = eraser(toy_matcher, pairs, anti)
    assert good[0] > bad[0] + 0.2
    assert good[1] < bad[1]


def test_evaluate_faithfulness_collects_everything(toy_matcher, pairs, explained):
    result = evaluate_faithfulness(
        toy_matcher, pairs, explained, planted=["", "", "title", "title"]
    )
    doc = result.to_dict()
    assert doc["field_removal_auc"] == pytest.approx(0.165)
    assert doc["field_removal_degradation"] == pytest.approx(3 / 5)
    assert doc["comprehensiveness"] == pytest.approx(eraser(toy_matcher, pairs, explained)[0])
    assert doc["model_calls_per_pair"] == pytest.approx(np.mean([e.model_calls for e in explained]))
    assert doc["n_pairs"] == 4
    assert 0 <= doc["planted_cause_accuracy"] <= 1
    unplanted = evaluate_faithfulness(toy_matcher, pairs, explained)
    assert unplanted.planted_cause_accuracy is None and unplanted.planted_token_accuracy is None


def hard_negative(title_left: float, title_right: float, brand: float) -> Explanation:
    left = {"title": "sony tv black", "brand": "sony"}
    right = {"title": "sony tv white", "brand": "sony"}
    toks = []
    for side, rec, title_score in (("left", left, title_left), ("right", right, title_right)):
        # "black"/"white" are the planted tokens; "sony"/"tv" are shared
        toks += [
            TokenScore("sony", side, "title", 0, 4, 0.05),
            TokenScore("tv", side, "title", 5, 7, 0.05),
            TokenScore(rec["title"][8:], side, "title", 8, 13, title_score - 0.1),
            TokenScore("sony", side, "brand", 0, 4, brand / 2),
        ]
    fields = (
        FieldScore("title", title_left, title_right),
        FieldScore("brand", brand / 2, brand / 2),
    )
    return Explanation(
        "1", "2", left, right, 0.1, 0.5, 0, tuple(toks), fields, "occlusion", label=0
    )


def test_planted_cause_accuracy():
    hit = hard_negative(-0.3, -0.2, 0.1)
    miss = hard_negative(0.1, 0.0, -0.4)
    tie = hard_negative(-0.1, 0.0, -0.1)
    assert planted_cause_accuracy([hit, miss, hit], ["title", "title", ""]) == 0.5
    assert planted_cause_accuracy([hit, miss], ["brand", "brand"]) == 0.5
    assert planted_cause_accuracy([tie], ["title"]) == 0.0  # ties are not a hit
    assert math.isnan(planted_cause_accuracy([hit], [""]))
    with pytest.raises(ValueError, match="1 planted attributes for 2 pairs"):
        planted_cause_accuracy([hit, hit], ["title"])


def test_planted_tokens_are_the_differing_ones():
    e = hard_negative(-0.3, -0.2, 0.1)
    assert {e.tokens[j].text for j in planted_tokens(e, "title")} == {"black", "white"}
    # black/white are the most negative tokens
    assert planted_token_accuracy([e], ["title"]) == 1.0
    # brand tokens are shared: every brand token counts as planted, but none is negative
    assert planted_token_accuracy([e], ["brand"]) == 0.0
    assert planted_token_accuracy([hard_negative(0.2, 0.2, -0.4)], ["title"]) == 0.0


def test_metrics_check_their_inputs(toy_matcher, pairs, explained):
    with pytest.raises(ValueError, match="got 3 explanations for 4 pairs"):
        eraser(toy_matcher, pairs, explained[:3])
    shuffled = [explained[1], explained[0], *explained[2:]]
    with pytest.raises(ValueError, match="does not match this matcher's encoding of pair 0"):
        field_removal_degradation(toy_matcher, pairs, shuffled)
    unlabelled = RecordPairs(pairs.left, pairs.right, pairs.pairs.drop(columns="label"))
    with pytest.raises(ValueError, match="needs labelled pairs"):
        field_removal_auc(toy_matcher, unlabelled, explained)
