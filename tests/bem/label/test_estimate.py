"""The precision/recall/F1 estimate from stratified audit answers."""

from __future__ import annotations

import numpy as np
import pytest

from bem.label.estimate import estimate_quality


def test_no_audit_answer_estimates_nothing():
    e = estimate_quality([], [], [], [])
    assert (e.precision, e.recall, e.f1, e.n) == (None, None, None, 0)


def test_a_perfect_model_scores_one():
    e = estimate_quality([1, 1, 0, 0], [1, 1, 0, 0], [1, 1, 0, 0], [10, 10, 90, 90])
    assert e.precision == e.recall == e.f1 == 1.0 and (e.n, e.matches) == (4, 2)
    # four answers cannot tell a perfect model from a good one: the interval stays wide
    low, high = e.f1_ci
    assert low < 0.8 and high > 0.99


def test_strata_are_weighted_by_their_size():
    # predicted matches: 10 pairs, half true; predicted non-matches: 90 pairs, 1 in 3 true
    labels = [1, 0, 1, 0, 0]
    decisions = [1, 1, 0, 0, 0]
    strata = [1, 1, 0, 0, 0]
    weights = [10, 10, 90, 90, 90]
    e = estimate_quality(labels, decisions, strata, weights)
    tp, fp, fn = 10 * 0.5, 10 * 0.5, 90 / 3
    assert e.precision == pytest.approx(tp / (tp + fp))
    assert e.recall == pytest.approx(tp / (tp + fn))
    assert e.f1 == pytest.approx(2 * tp / (2 * tp + fp + fn))
    for value, (low, high) in ((e.precision, e.precision_ci), (e.recall, e.recall_ci)):
        assert 0.0 <= low <= value <= high <= 1.0


def test_the_interval_narrows_with_more_audit_answers():
    rng = np.random.default_rng(0)

    def width(n):
        y = rng.random(n) < 0.5
        c = np.where(rng.random(n) < 0.8, y, ~y)
        e = estimate_quality(y.astype(int), c.astype(int), np.ones(n, int), np.full(n, 100))
        return e.f1_ci[1] - e.f1_ci[0]

    assert width(400) < width(20)


def test_many_right_answers_narrow_the_interval_towards_one():
    n = 400
    y = np.r_[np.ones(n // 2, int), np.zeros(n // 2, int)]
    e = estimate_quality(y, y, y, np.full(n, 100))
    assert e.f1 == 1.0 and e.f1_ci[0] > 0.97


def test_mismatched_lengths_are_refused():
    with pytest.raises(ValueError, match="same length"):
        estimate_quality([1], [1, 0], [1], [1])
