"""The coalition table of the ceiling study, and field values read off it.

``bench/explain_ceiling.py`` scores each pair with every subset of its non-empty
fields removed (:func:`score_games`); a :class:`Game` holds one pair's table, and
the functions below compute field scores from it, each with the model calls the
method would need on its own: occlusion, exact Shapley and Banzhaf values, the
greedy deletion path and the occlusion-ordered deletion path.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

from explain.perturb import RemovalScorer
from explain.perturbation import all_coalitions, semivalues, shapley_weights

__all__ = [
    "Game",
    "banzhaf",
    "deletion_path",
    "greedy",
    "occlusion",
    "score_games",
    "shapley",
]

logger = logging.getLogger("bench.coalitions")


class Game:
    """P(match) of one pair for every subset of its fields kept (bit j set: field j kept)."""

    def __init__(self, fields: Sequence[tuple[str, str]], values: np.ndarray):
        self.fields = list(fields)
        self.n = len(fields)
        self.v = values
        self.full = (1 << self.n) - 1

    def without(self, removed: Sequence[int]) -> int:
        code = self.full
        for j in removed:
            code &= ~(1 << j)
        return code


def score_games(scorer: RemovalScorer) -> list[Game]:
    """Score every field coalition of every pair of ``scorer`` (one batched pass)."""
    items, spans = [], []
    for i, pf in enumerate(scorer.fields):
        coalitions = all_coalitions(pf.n_fields)
        spans.append((len(items), len(coalitions)))
        items += [(i, keep) for keep in pf.keep_tokens(coalitions)]
    logger.info("scoring %d coalitions of %d pairs", len(items), len(scorer.fields))
    values = np.empty(0)
    chunk = 4096
    from tqdm.auto import tqdm

    parts = []
    for s in tqdm(range(0, len(items), chunk), desc="coalitions", unit="chunk"):
        parts.append(scorer.score(items[s : s + chunk]))
    values = np.concatenate(parts) if parts else values
    return [
        Game(pf.fields, values[start : start + count])
        for pf, (start, count) in zip(scorer.fields, spans)
    ]


# -- field values from the table ----------------------------------------------------
def occlusion(g: Game, v: np.ndarray) -> tuple[np.ndarray, int]:
    return np.array([v[g.full] - v[g.without([j])] for j in range(g.n)]), g.n + 1


def shapley(g: Game, v: np.ndarray) -> tuple[np.ndarray, int]:
    return semivalues(v, shapley_weights(g.n)), 2**g.n


def banzhaf(g: Game, v: np.ndarray) -> tuple[np.ndarray, int]:
    return semivalues(v, np.full(g.n, 0.5 ** (g.n - 1))), 2**g.n


def greedy(g: Game, v: np.ndarray, decision: int) -> tuple[np.ndarray, int]:
    """Greedy deletion: repeatedly remove the field that most lowers the predicted class's
    probability; fields score by how early they go (first = most relevant)."""
    sign = 1.0 if decision else -1.0
    removed: list[int] = []
    rest = list(range(g.n))
    seen = {g.full}
    while len(rest) > 1:
        codes = {j: g.without([*removed, j]) for j in rest}
        seen.update(codes.values())
        best = min(rest, key=lambda j: sign * v[codes[j]])
        removed.append(best)
        rest.remove(best)
    removed += rest
    scores = np.zeros(g.n)
    for rank, j in enumerate(removed):
        scores[j] = sign * (g.n - rank)
    return scores, len(seen)


def deletion_path(g: Game, v: np.ndarray, decision: int) -> tuple[np.ndarray, int]:
    """Occlusion's first step, then every field removed in occlusion's order; a field
    scores its marginal effect at the point the path removes it (the scores sum to
    ``P(x) - P(empty pair)``, like one permutation of Shapley sampling)."""
    first, _ = occlusion(g, v)
    support = (1.0 if decision else -1.0) * first
    seen = {g.full} | {g.without([j]) for j in range(g.n)}
    removed: list[int] = []
    scores = np.zeros(g.n)
    previous = v[g.full]
    for j in np.argsort(-support, kind="stable"):
        removed.append(int(j))
        code = g.without(removed)
        seen.add(code)
        scores[j] = previous - v[code]
        previous = v[code]
    return scores, len(seen)
