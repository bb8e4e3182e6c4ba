"""The ceiling study's table arithmetic (bench/explain_ceiling.py) against a direct count."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bench import explain_ceiling as ceiling


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
    t = ceiling.CERTA_THRESHOLDS
    f1 = [_f1(decisions(orders, x), truth) for x in t]
    certa = sum((t[i + 1] - t[i]) * (f1[i] + f1[i + 1]) / 2 for i in range(len(t) - 1))
    reverse = [o[::-1] for o in orders]
    gaps = [
        _f1(decisions(reverse, x), own) - _f1(decisions(orders, x), own)
        for x in ceiling.CREW_FRACTIONS
    ]
    return certa, float(np.mean(gaps))


def _games(rng, n_pairs=30, n_fields=4):
    fields = [(side, a) for side in ("left", "right") for a in "ab"][:n_fields]
    return [ceiling.Game(fields, rng.random(2**n_fields)) for _ in range(n_pairs)]


def test_ranking_table_counts_match_a_direct_count():
    rng = np.random.default_rng(0)
    games = _games(rng)
    truth = rng.integers(0, 2, len(games))
    orders = [rng.permutation(g.n) for g in games]
    parts = None
    for g, o, y in zip(games, orders, truth):
        table = ceiling.RankingTable(g, np.asarray([o]), 0.5, int(y))
        got = [getattr(table, k)[0] for k in ceiling.TABLE_PARTS]
        parts = got if parts is None else [a + b for a, b in zip(parts, got)]
    certa, crew = ceiling.table_metrics(*parts)
    want = _direct(games, 0.5, truth, orders)
    assert certa == pytest.approx(want[0])
    assert crew == pytest.approx(want[1])


def test_oracle_never_does_worse_than_its_start():
    rng = np.random.default_rng(1)
    games = _games(rng)
    truth = rng.integers(0, 2, len(games))
    start = [rng.permutation(g.n) for g in games]
    orders, searched = ceiling.oracle_orders(games, 0.5, truth, start)
    assert searched == len(games)
    assert all(sorted(o.tolist()) == list(range(g.n)) for o, g in zip(orders, games))
    before = _direct(games, 0.5, truth, start)
    after = _direct(games, 0.5, truth, orders)
    assert after[0] - after[1] <= before[0] - before[1] + 1e-12
    assert after[0] - after[1] < before[0] - before[1]  # random starts leave room
