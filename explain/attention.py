"""Attention rollout (Abnar & Zuidema, ACL 2020) from what the match head reads.

Per layer, the attention matrix averaged over heads is mixed with the identity
for the residual connection, ``A' = 0.5 A + 0.5 I``, and its rows renormalised;
the rollout is the product ``A'_L ... A'_1``. A token's relevance is the row of
the token the head reads: the ``[CLS]`` row for a ``[CLS]`` head, the mean of
all rows for a mean-pooled head (``Matcher(pooling="mean")``). Rollout is
unsigned (it says how much the classifier reads a token, not in which
direction), so the explainer gives it the sign of the decision: relevance to a
"no match" decision is reported as a negative score.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from explain.fields import PairFields
from explain.perturb import CallCounter, single_batch
from explain.perturbation import Attribution

__all__ = ["attention_rollout", "rollout"]


def rollout(attentions: list[np.ndarray], *, residual: float = 0.5) -> np.ndarray:
    """Rollout of per-layer attention ``[heads, T, T]`` arrays; returns ``[T, T]``."""
    if not attentions:
        raise ValueError("attention rollout needs at least one layer of attentions")
    n = attentions[0].shape[-1]
    result = np.eye(n)
    for layer in attentions:
        a = np.asarray(layer, dtype=np.float64).mean(axis=0)
        a = residual * np.eye(n) + (1.0 - residual) * a
        a = a / a.sum(axis=-1, keepdims=True)
        result = a @ result
    return result


def _attentions(model: Any, ids: Any, mask: Any, types: Any) -> Any:
    kwargs = {"input_ids": ids, "attention_mask": mask, "output_attentions": True}
    try:
        out = model(**kwargs, token_type_ids=types)
    except TypeError:  # models without token types (DistilBERT, RoBERTa variants)
        try:
            out = model(**kwargs)
        except TypeError as err:
            raise ValueError(
                f"{type(model).__name__} cannot be called like a Hugging Face transformer "
                f"with output_attentions=True ({err}); use another method"
            ) from None
    return getattr(out, "attentions", None)


def attention_rollout(
    matcher: Any, encoded: Any, pf: PairFields, counter: CallCounter, *, decision: int
) -> Attribution:
    """Rollout relevance of each value token, signed by the decision."""
    import torch

    model = getattr(matcher, "model_", None)
    if model is None:
        raise ValueError("the attention method needs a fitted matcher with a model_")
    ids, mask, types = single_batch(matcher, encoded)
    config = getattr(model, "config", None)
    previous = getattr(config, "_attn_implementation", None)
    switch = previous not in (None, "eager") and hasattr(model, "set_attn_implementation")
    if switch:  # SDPA/flash kernels do not return attention weights; eager ones do
        model.set_attn_implementation("eager")
    try:
        with torch.no_grad():
            attentions = _attentions(model, ids, mask, types)
    finally:
        if switch:
            model.set_attn_implementation(previous)
    counter.add(1)
    if not attentions:
        raise ValueError(
            f"{type(model).__name__} returned no attention weights with "
            "output_attentions=True; the attention method needs a transformer "
            "that can return them"
        )
    layers = [a[0].detach().float().cpu().numpy() for a in attentions]
    rolled = rollout(layers)
    relevance = rolled.mean(axis=0) if getattr(matcher, "pooling", "cls") == "mean" else rolled[0]
    sign = 1.0 if decision else -1.0
    return Attribution(token_scores=sign * relevance[pf.positions])
