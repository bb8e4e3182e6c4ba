"""The ceiling study's ranking search (bench/ranking_search.py) against direct counts."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from bench import ranking_search as search
from bench.coalitions import Game
from explain.faithfulness import CERTA_THRESHOLDS, CREW_FRACTIONS


def _f1(pred: np.ndarray, truth: np.ndarray) -> float:
    tp = int(((pred == 1) & (truth == 1)).sum())
    fp = int(((pred == 1) & (truth == 0)).sum())
    fn = int(((pred == 0) & (truth == 1)).sum())
    return 0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn)


def _direct(games, thr, truth, orders) -> tuple[float, float]:
    """CERTA and CREW as explain/faithfulness.py defines them, one removal at a time."""

    def decisions(order_of, fraction):
        out = []
        for g, o in zip(games, order_of):
            removed = list(o[: math.floor(fraction * g.n)])
            out.append(int(g.v[g.without(removed)] >= thr))
        return np.array(out)

    own = np.array([int(g.v[g.full] >= thr) for g in games])
    t = CERTA_THRESHOLDS
    f1 = [_f1(decisions(orders, x), truth) for x in t]
    certa = sum((t[i + 1] - t[i]) * (f1[i] + f1[i + 1]) / 2 for i in range(len(t) - 1))
    reverse = [o[::-1] for o in orders]
    gaps = [
        _f1(decisions(reverse, x), own) - _f1(decisions(orders, x), own) for x in CREW_FRACTIONS
    ]
    return certa, float(np.mean(gaps))


def _games(rng, n_pairs=30, n_fields=4):
    fields = [(side, a) for side in ("left", "right") for a in "ab"][:n_fields]
    return [Game(fields, rng.random(2**n_fields)) for _ in range(n_pairs)]


def test_ranking_table_counts_match_a_direct_count():
    rng = np.random.default_rng(0)
    games = _games(rng)
    truth = rng.integers(0, 2, len(games))
    orders = [rng.permutation(g.n) for g in games]
    certa, crew = search.order_metrics(games, orders, 0.5, truth)
    want = _direct(games, 0.5, truth, orders)
    assert certa == pytest.approx(want[0])
    assert crew == pytest.approx(want[1])


def _objective(games, truth, orders) -> float:
    certa, crew = _direct(games, 0.5, truth, orders)
    return certa - crew


@pytest.mark.parametrize("n_fields", [4, 5])
def test_search_ends_at_a_local_optimum_below_its_start(n_fields):
    rng = np.random.default_rng(n_fields)
    games = _games(rng, n_pairs=20, n_fields=n_fields)
    truth = rng.integers(0, 2, len(games))
    start = [rng.permutation(g.n) for g in games]
    orders, info = search.search_orders(games, 0.5, truth, start)
    assert info["pairs_searched"] == len(games) and info["converged"]
    assert all(sorted(o.tolist()) == list(range(g.n)) for o, g in zip(orders, games))
    found = _objective(games, truth, orders)
    assert found < _objective(games, truth, start)  # random starts leave room
    # no single pair's ordering can improve on it
    for i in range(0, len(games), 4):
        for p in itertools.permutations(range(games[i].n)):
            trial = [*orders[:i], np.asarray(p), *orders[i + 1 :]]
            assert _objective(games, truth, trial) >= found - 1e-12


def test_search_without_room_keeps_the_start():
    rng = np.random.default_rng(3)
    games = _games(rng, n_pairs=6)
    truth = rng.integers(0, 2, len(games))
    first, _ = search.search_orders(games, 0.5, truth, [rng.permutation(4) for _ in games])
    again, info = search.search_orders(games, 0.5, truth, first)
    assert info["sweeps"] == 1 and info["converged"]
    assert all((a == b).all() for a, b in zip(first, again))


def test_pairs_with_too_many_fields_keep_their_start():
    rng = np.random.default_rng(4)
    fields = [(side, f"a{i}") for side in ("left", "right") for i in range(5)]  # 10 fields
    games = [Game(fields, rng.random(2**10)) for _ in range(2)]
    start = [rng.permutation(10) for _ in games]
    orders, info = search.search_orders(games, 0.5, np.array([1, 0]), start)
    assert info["pairs_searched"] == 0
    assert all((a == b).all() for a, b in zip(orders, start))


def test_slots_follow_combined_occlusion_and_sides():
    # two attributes, a (weak) and b (strong); P(match) drops most without the right b
    fields = [("left", "a"), ("left", "b"), ("right", "a"), ("right", "b")]
    drop = {0: 0.05, 1: 0.3, 2: 0.1, 3: 0.4}  # per removed field
    v = np.array(
        [0.95 - sum(d for j, d in drop.items() if not code >> j & 1) for code in range(16)]
    )
    game = Game(fields, v)
    # slot 0: the stronger attribute's stronger side (right b), 1: left b, 2: right a, 3: left a
    assert search.template_orders([game], 0.5, [0, 1, 2, 3])[0].tolist() == [3, 1, 2, 0]
    result = search.template_search([game], 0.5, np.array([1]), (1.0, -1.0))
    rules = result["simple_rules"]
    assert rules["sides grouped"]["slots"] == "a1h a1l a2h a2l"
    assert rules["one side of every attribute first"]["slots"] == "a1h a2h a1l a2l"
    assert rules["one side of every attribute, then the others in reverse"]["slots"] == (
        "a1h a2h a2l a1l"
    )
    assert rules["sides interleaved in pairs of attributes"]["slots"] == "a1h a2l a1l a2h"
    assert result["templates"] == 24 and result["beating_baseline"] == 24
    best = result["best"]
    order = search.template_orders([game], 0.5, best["order"])
    want = _direct([game], 0.5, np.array([1]), order)
    assert (best["field_removal_auc"], best["field_removal_degradation"]) == pytest.approx(want)


def test_template_search_needs_the_same_attributes_on_both_sides():
    rng = np.random.default_rng(5)
    odd = Game([("left", "a"), ("left", "b"), ("right", "a")], rng.random(8))
    assert search.template_search([odd], 0.5, np.array([1]), (1.0, -1.0)) is None
