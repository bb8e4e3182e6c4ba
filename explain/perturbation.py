"""Perturbation methods: field occlusion, field Shapley values, token LIME and KernelSHAP.

All four run through captum (``FeatureAblation``, ``ShapleyValueSampling``,
``Lime``, ``KernelShap``) on a binary "keep" vector over the pair's value
tokens: 1 keeps a token, 0 removes it (see :mod:`explain.perturb`). A captum
``feature_mask`` groups the tokens: by field ``(side, attribute)`` for
occlusion and Shapley, one group per token for LIME and KernelSHAP.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from explain.perturb import RemovalScorer

__all__ = [
    "Attribution",
    "all_coalitions",
    "kernel_shap",
    "lime",
    "occlusion",
    "semivalues",
    "shapley",
    "shapley_weights",
]


@dataclass(frozen=True)
class Attribution:
    """Raw output of one method on one pair.

    Exactly one of ``token_scores`` (per value token) and ``field_scores`` (per
    field of :class:`explain.fields.PairFields`) is set.
    """

    token_scores: np.ndarray | None = None
    field_scores: np.ndarray | None = None
    delta: float | None = None
    settings: dict[str, Any] = field(default_factory=dict)


def _captum_inputs(scorer: RemovalScorer, i: int, mask: np.ndarray) -> tuple[Any, Any]:
    import torch

    n = scorer.fields[i].n_tokens
    return torch.ones(1, n), torch.as_tensor(mask, dtype=torch.long).reshape(1, n)


def _per_field(scorer: RemovalScorer, i: int, token_attr: Any) -> np.ndarray:
    """Captum gives every token of a group the group's value; read one per field."""
    pf = scorer.fields[i]
    values = token_attr.detach().cpu().numpy().reshape(-1).astype(np.float64)
    out = np.zeros(pf.n_fields)
    out[pf.field_index] = values
    return out


def _sampled(
    method: Any, scorer: RemovalScorer, i: int, mask: np.ndarray, *, n_samples: int, seed: int
) -> Any:
    """Run a sampling captum method with its own seeded RNG (the global one is untouched)."""
    import torch

    ones, feature_mask = _captum_inputs(scorer, i, mask)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return method.attribute(
            ones,
            baselines=0.0,
            feature_mask=feature_mask,
            n_samples=n_samples,
            perturbations_per_eval=scorer.batch_size,
        )


def occlusion(scorer: RemovalScorer, i: int) -> Attribution:
    """Field occlusion: ``P(x) - P(x with the field's value removed)``, one call per field."""
    from captum.attr import FeatureAblation

    pf = scorer.fields[i]
    if pf.n_fields == 0:
        return Attribution(field_scores=np.zeros(0))
    ones, mask = _captum_inputs(scorer, i, pf.field_mask())
    attr = FeatureAblation(lambda keep: scorer.keep_proba(i, keep)).attribute(
        ones, baselines=0.0, feature_mask=mask, perturbations_per_eval=scorer.batch_size
    )
    return Attribution(field_scores=_per_field(scorer, i, attr))


def all_coalitions(n: int) -> np.ndarray:
    """Every subset of ``n`` fields as a ``[2**n, n]`` 0/1 keep mask; row ``c`` keeps
    the fields whose bit is set in ``c``."""
    codes = np.arange(2**n)
    return (codes[:, None] >> np.arange(n)[None, :]) & 1


def shapley_weights(n: int) -> np.ndarray:
    """Shapley's weight of a coalition of size ``s`` (``s < n``): ``s! (n-s-1)! / n!``."""
    return np.array(
        [math.factorial(s) * math.factorial(n - s - 1) / math.factorial(n) for s in range(n)]
    )


def semivalues(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``phi_j = sum_S weights[|S|] * (v(S + j) - v(S))`` over coalitions ``S`` without ``j``.

    ``values[c]`` is ``v`` of the coalition coded by the bits of ``c`` (see
    :func:`all_coalitions`); Shapley values with :func:`shapley_weights`, Banzhaf
    values with ``2 ** -(n - 1)`` everywhere.
    """
    n = len(weights)
    codes = np.arange(2**n)
    sizes = all_coalitions(n).sum(axis=1)
    phi = np.zeros(n)
    for j in range(n):
        without = codes[(codes >> j) & 1 == 0]
        phi[j] = np.sum(weights[sizes[without]] * (values[without | (1 << j)] - values[without]))
    return phi


def _exact_shapley(scorer: RemovalScorer, i: int) -> np.ndarray:
    """Shapley values over fields from all ``2**n`` coalitions.

    ``phi_j = sum_S |S|! (n-|S|-1)! / n! * (v(S + j) - v(S))`` with ``v(S)`` the
    probability when only the fields in ``S`` keep their values. This needs
    ``2**n`` model calls, where captum's exact ``ShapleyValues`` walks all
    ``n!`` permutations.
    """
    pf = scorer.fields[i]
    coalitions = all_coalitions(pf.n_fields)
    v = scorer.score([(i, row) for row in pf.keep_tokens(coalitions)])
    return semivalues(v, shapley_weights(pf.n_fields))


def shapley(
    scorer: RemovalScorer, i: int, *, max_exact_fields: int, n_samples: int, seed: int
) -> Attribution:
    """Shapley values over fields: exact up to ``max_exact_fields`` fields, sampled beyond.

    Sampling is captum's ``ShapleyValueSampling`` with ``n_samples`` random
    permutations (``n_samples * (n_fields + 1)`` model calls).
    """
    from captum.attr import ShapleyValueSampling

    pf = scorer.fields[i]
    if pf.n_fields == 0:
        return Attribution(field_scores=np.zeros(0), settings={"exact": True})
    if pf.n_fields <= max_exact_fields:
        return Attribution(field_scores=_exact_shapley(scorer, i), settings={"exact": True})
    method = ShapleyValueSampling(lambda keep: scorer.keep_proba(i, keep))
    attr = _sampled(method, scorer, i, pf.field_mask(), n_samples=n_samples, seed=seed)
    return Attribution(field_scores=_per_field(scorer, i, attr), settings={"exact": False})


def lime(scorer: RemovalScorer, i: int, *, n_samples: int, seed: int) -> Attribution:
    """Token-level LIME (captum ``Lime``) as in LIME's text explainer.

    Interpretable features are the value tokens; samples remove each token with
    probability 1/2; samples are weighted by an exponential kernel of width 0.25
    on the cosine distance to the full pair and fit by ridge regression
    (``alpha=1``), the defaults of the original ``LimeTextExplainer``.
    """
    from captum._utils.models.linear_model import SkLearnRidge
    from captum.attr import Lime
    from captum.attr._core.lime import get_exp_kernel_similarity_function

    pf = scorer.fields[i]
    if pf.n_tokens == 0:
        return Attribution(token_scores=np.zeros(0))
    method = Lime(
        lambda keep: scorer.keep_proba(i, keep),
        interpretable_model=SkLearnRidge(alpha=1.0),
        similarity_func=get_exp_kernel_similarity_function("cosine", kernel_width=0.25),
    )
    attr = _sampled(method, scorer, i, pf.token_mask(), n_samples=n_samples, seed=seed)
    return Attribution(token_scores=attr.detach().cpu().numpy().reshape(-1).astype(np.float64))


def kernel_shap(scorer: RemovalScorer, i: int, *, n_samples: int, seed: int) -> Attribution:
    """Token-level KernelSHAP (captum ``KernelShap``): value tokens are the players."""
    from captum.attr import KernelShap

    pf = scorer.fields[i]
    if pf.n_tokens == 0:
        return Attribution(token_scores=np.zeros(0))
    method = KernelShap(lambda keep: scorer.keep_proba(i, keep))
    attr = _sampled(method, scorer, i, pf.token_mask(), n_samples=n_samples, seed=seed)
    return Attribution(token_scores=attr.detach().cpu().numpy().reshape(-1).astype(np.float64))
