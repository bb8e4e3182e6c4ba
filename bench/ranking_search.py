"""Field rankings found by search on a table of every field coalition (for the ceiling study).

``bench/explain_ceiling.py`` scores each pair with every subset of its fields
removed. Given that table, CERTA and CREW of *any* field ranking can be read off
without calling the model, so rankings can be searched for:

- :func:`search_orders`: per pair, an ordering of its fields, improved by
  coordinate descent over pairs (each step tries every ordering of one pair's
  fields with the others fixed) to lower CERTA minus CREW over all pairs. It
  stops at a local optimum: a point the metrics allow, not their best.
- :func:`template_search`: fixed rules over occlusion's ``1 + n`` calls: the
  fields go into slots (attribute rank by combined occlusion support, higher or
  lower side) and one ordering of the slots is applied to every pair.

A "game" is a :class:`bench.coalitions.Game`: ``n`` fields, ``fields``
(``(side, attribute)``), ``v`` (P(match) per coalition; bit ``j`` set: field
``j`` kept) and ``full`` (the code with every field kept).
CERTA and CREW follow ``explain/faithfulness.py`` (``_certa``, ``_crew``).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from bench.coalitions import occlusion
from explain.faithfulness import CERTA_THRESHOLDS, CREW_FRACTIONS

__all__ = [
    "MAX_SEARCH_FIELDS",
    "TABLE_PARTS",
    "RankingTable",
    "occlusion_order",
    "order_metrics",
    "search_orders",
    "simple_rules",
    "table_metrics",
    "template_search",
]

MAX_SEARCH_FIELDS = 8  # 8! = 40,320 orderings per pair
TABLE_PARTS = ("certa", "least", "most")


def _f1_counts(c: np.ndarray) -> np.ndarray:
    """F1 from (..., 3) arrays of (tp, fp, fn) counts, 0 when tp is 0 (as the library's)."""
    tp, fp, fn = c[..., 0], c[..., 1], c[..., 2]
    return np.where(tp > 0, 2 * tp / np.maximum(2 * tp + fp + fn, 1), 0.0)


class RankingTable:
    """For one pair and each ordering in ``orders`` (rows of field indices, most
    supporting first): its (tp, fp, fn) contribution at every CERTA threshold and
    at every CREW fraction (least and most supporting removed), read off the game."""

    def __init__(self, g: Any, orders: np.ndarray, thr: float, truth: int) -> None:
        n = g.n
        decision = (g.v >= thr).astype(int)
        own = int(decision[g.full])
        top = np.full((len(orders), n + 1), g.full)
        bottom = top.copy()
        for k in range(1, n + 1):
            top[:, k] = top[:, k - 1] & ~(1 << orders[:, k - 1])
            bottom[:, k] = bottom[:, k - 1] & ~(1 << orders[:, n - k])
        ck = [math.floor(t * n) for t in CERTA_THRESHOLDS]
        wk = [math.floor(f * n) for f in CREW_FRACTIONS]
        self.certa = self._counts(decision[top[:, ck]], truth)
        self.most = self._counts(decision[top[:, wk]], own)
        self.least = self._counts(decision[bottom[:, wk]], own)

    @staticmethod
    def _counts(pred: np.ndarray, truth: int) -> np.ndarray:
        return np.stack([pred * truth, pred * (1 - truth), (1 - pred) * truth], -1).astype(float)


def table_metrics(certa: np.ndarray, least: np.ndarray, most: np.ndarray) -> tuple[Any, Any]:
    """CERTA and CREW from summed counts (leading axes broadcast)."""
    f1 = _f1_counts(certa)
    t = np.asarray(CERTA_THRESHOLDS)
    area = ((t[1:] - t[:-1]) * (f1[..., 1:] + f1[..., :-1]) / 2).sum(-1)
    return area, (_f1_counts(least) - _f1_counts(most)).mean(-1)


def _summed(tables: Sequence[RankingTable]) -> list[np.ndarray]:
    """The tables' counts summed over pairs, per part and ordering row."""
    return [sum(getattr(t, part) for t in tables) for part in TABLE_PARTS]


def order_metrics(
    games: Sequence[Any], orders: Sequence[np.ndarray], thr: float, truth: np.ndarray
) -> tuple[float, float]:
    """CERTA and CREW of one ordering per pair, from the table."""
    tables = [
        RankingTable(g, np.asarray([o]), thr, int(y)) for g, o, y in zip(games, orders, truth)
    ]
    certa, crew = table_metrics(*(part[0] for part in _summed(tables)))
    return float(certa), float(crew)


def search_orders(
    games: Sequence[Any],
    thr: float,
    truth: np.ndarray,
    start: Sequence[np.ndarray],
    *,
    max_sweeps: int = 10,
) -> tuple[list[np.ndarray], dict[str, Any]]:
    """Orderings that lower CERTA - CREW over all pairs, by coordinate descent from
    ``start``. Pairs with more than MAX_SEARCH_FIELDS fields keep their start.

    Returns the orderings and ``{"pairs_searched", "sweeps", "converged"}``
    (converged: the last sweep changed no pair, so no single pair's ordering can
    lower the objective)."""
    tables, perms, choice = [], [], []
    for g, o, y in zip(games, start, truth):
        if g.n > MAX_SEARCH_FIELDS:
            p = np.asarray([o])
        else:
            p = np.asarray(list(itertools.permutations(range(g.n))))
        perms.append(p)
        tables.append(RankingTable(g, p, thr, int(y)))
        choice.append(int(np.flatnonzero((p == np.asarray(o)).all(1))[0]))
    total = [sum(getattr(t, k)[c] for t, c in zip(tables, choice)) for k in TABLE_PARTS]
    sweeps, converged = 0, False
    while sweeps < max_sweeps and not converged:
        sweeps += 1
        changed = 0
        for i, t in enumerate(tables):
            rest = [total[k] - getattr(t, part)[choice[i]] for k, part in enumerate(TABLE_PARTS)]
            trial = (r[None] + getattr(t, part) for r, part in zip(rest, TABLE_PARTS))
            certa, crew = table_metrics(*trial)
            objective = certa - crew
            best = int(np.argmin(objective))
            if objective[best] < objective[choice[i]] - 1e-12:
                changed += 1
                choice[i] = best
            total = [r + getattr(t, part)[choice[i]] for r, part in zip(rest, TABLE_PARTS)]
        converged = changed == 0
    info = {
        "pairs_searched": sum(1 for g in games if g.n <= MAX_SEARCH_FIELDS),
        "sweeps": sweeps,
        "converged": converged,
    }
    return [p[c] for p, c in zip(perms, choice)], info


def _occlusion_support(g: Any, thr: float) -> np.ndarray:
    """Occlusion's field scores towards the predicted class, from the table."""
    drops, _ = occlusion(g, g.v)
    return (1.0 if g.v[g.full] >= thr else -1.0) * drops


def occlusion_order(g: Any, thr: float) -> np.ndarray:
    """The pair's fields by occlusion's support, most supporting first (stable ties)."""
    return np.argsort(-_occlusion_support(g, thr), kind="stable")


def _slots(g: Any, thr: float) -> np.ndarray:
    """The pair's fields in slot order: attribute ranked r by combined occlusion
    support at 2r (its higher-support side) and 2r + 1 (its other side)."""
    support = _occlusion_support(g, thr)
    by_attr: dict[str, list[int]] = {}
    for j, (_, a) in enumerate(g.fields):
        by_attr.setdefault(a, []).append(j)
    ranked = sorted(by_attr.values(), key=lambda js: -support[js].sum())
    return np.asarray([j for js in ranked for j in sorted(js, key=lambda j: -support[j])])


def simple_rules(n_attributes: int) -> dict[str, tuple[int, ...]]:
    """Slot orderings with a meaning one can state (slot 2r: the higher side of the
    attribute ranked r, 2r + 1: its lower side)."""
    hi = [2 * r for r in range(n_attributes)]
    lo = [2 * r + 1 for r in range(n_attributes)]
    interleaved: list[int] = []
    for r in range(0, n_attributes, 2):
        if r + 1 < n_attributes:
            interleaved += [2 * r, 2 * r + 3, 2 * r + 1, 2 * r + 2]
        else:
            interleaved += [2 * r, 2 * r + 1]
    return {
        "sides grouped": tuple(j for pair in zip(hi, lo) for j in pair),
        "one side of every attribute first": tuple(hi + lo),
        "one side of every attribute, then the others in reverse": tuple(hi + lo[::-1]),
        "sides interleaved in pairs of attributes": tuple(interleaved),
    }


def slot_names(n: int) -> list[str]:
    """``a1h a1l a2h ...``: the names of ``n`` slots."""
    return [f"a{r + 1}{'hl'[s]}" for r in range(n // 2) for s in range(2)]


def template_search(
    games: Sequence[Any], thr: float, truth: np.ndarray, baseline: tuple[float, float]
) -> dict[str, Any] | None:
    """Every ordering of the slots, applied to every pair: how many beat ``baseline``
    (CERTA, CREW) on both, the best of those, and the :func:`simple_rules`. ``None``
    unless every pair has both sides of the same number of attributes."""
    sizes = {g.n for g in games}
    if len(sizes) != 1 or any(len({a for _, a in g.fields}) * 2 != g.n for g in games):
        return None
    n = sizes.pop()
    perms = np.asarray(list(itertools.permutations(range(n))))
    index = {tuple(p): i for i, p in enumerate(perms.tolist())}
    tables = [RankingTable(g, _slots(g, thr)[perms], thr, int(y)) for g, y in zip(games, truth)]
    certa, crew = table_metrics(*_summed(tables))
    beats = (certa < baseline[0]) & (crew > baseline[1])
    names = slot_names(n)
    best = int(np.argmin(np.where(beats, certa - crew, np.inf))) if beats.any() else None
    return {
        "templates": len(perms),
        "beating_baseline": int(beats.sum()),
        "best": None
        if best is None
        else {
            "slots": " ".join(names[j] for j in perms[best]),
            "order": perms[best].tolist(),
            "field_removal_auc": float(certa[best]),
            "field_removal_degradation": float(crew[best]),
        },
        "simple_rules": {
            rule: {
                "slots": " ".join(names[j] for j in slots),
                "field_removal_auc": float(certa[index[slots]]),
                "field_removal_degradation": float(crew[index[slots]]),
            }
            for rule, slots in simple_rules(n // 2).items()
        },
    }


def template_orders(games: Sequence[Any], thr: float, slots: Sequence[int]) -> list[np.ndarray]:
    """Every pair's fields ordered by one slot ordering (to re-score it with the library)."""
    return [_slots(g, thr)[np.asarray(slots)] for g in games]
