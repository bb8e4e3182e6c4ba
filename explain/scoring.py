"""Scoring for explanations by the pipeline's own path.

A :class:`matcher.Matcher` built with ``quantize=True`` scores pairs with an
int8 copy of its model (:meth:`matcher.Matcher.scoring_model`), so
``pairs.csv`` holds int8 probabilities. Explanations score with the same model:
:func:`score_batch` runs a padded batch the way :meth:`matcher.Matcher.predict_proba`
does (the scoring model, CPU tensors for the int8 copy, inference mode), so an
explanation's probability and decision are the pipeline's, and the perturbation
calls of model-agnostic methods (occlusion, Shapley, LIME, KernelSHAP), the
counterfactual search and the top-field check see the model the pipeline used.

Gradient methods and attention rollout need the fp32 weights (int8 layers have
no gradients or attention weights to read); they still report the pipeline's
probability and decision, and say so in their settings (:func:`fp32_note`).

Dynamic int8 quantization picks its activation scale per batch, so an int8
probability can move in the third decimal with the pairs batched next to it;
a pair scored alone (as :meth:`explain.Explainer.explain` scores it) gets
exactly ``matcher.predict_proba`` of that pair alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

__all__ = ["fp32_note", "is_quantized", "score_batch", "score_records"]

Record = Mapping[str, "str | None"]


def _scoring_model(matcher: Any) -> Any:
    """The matcher's scoring module, or ``None`` when it has no ``scoring_model``/``logits``."""
    pick = getattr(matcher, "scoring_model", None)
    if pick is None or not hasattr(matcher, "logits"):
        return None
    return pick()


def is_quantized(matcher: Any) -> bool:
    """Whether the matcher scores with another module than its fp32 ``model_`` (int8)."""
    model = _scoring_model(matcher)
    return model is not None and model is not getattr(matcher, "model_", None)


def fp32_note(matcher: Any) -> dict[str, str]:
    """Settings entry for methods that read the fp32 weights of an int8-scoring matcher."""
    if not is_quantized(matcher):
        return {}
    return {
        "attribution_weights": "fp32 (the matcher scores with int8; probability and "
        "decision are the int8 model's)"
    }


def score_batch(matcher: Any, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
    """P(match) ``[B]`` (float tensor on the CPU) of a padded batch, by the pipeline's path.

    A :class:`matcher.Matcher` scores with :meth:`~matcher.Matcher.scoring_model`
    through :meth:`~matcher.Matcher.logits`, as ``predict_proba`` does; any
    other matcher-like object with ``forward_proba`` is called directly.
    """
    import torch

    model = _scoring_model(matcher)
    with torch.inference_mode():
        if model is None:
            proba = matcher.forward_proba(input_ids, attention_mask, token_type_ids)
        else:
            batch = {
                "input_ids": input_ids,
                "attention_mask": attention_mask,
                "token_type_ids": token_type_ids,
            }
            device = "cpu" if model is not matcher.model_ else getattr(matcher, "device", "cpu")
            batch = {k: v.to(device) for k, v in batch.items()}
            proba = torch.sigmoid(matcher.logits(batch, model=model).float())
    return proba.detach().float().cpu().reshape(-1)


def score_records(
    matcher: Any,
    records: Sequence[tuple[Record, Record]],
    *,
    batch_size: int,
    counter: Any,
) -> np.ndarray:
    """P(match) of whole ``(left, right)`` record pairs (edited ones included).

    The pairs are encoded by the matcher (so an edited value is tokenized and
    truncated as any value would be) and scored by :func:`score_batch` in
    length-sorted batches; ``counter`` (a :class:`explain.perturb.CallCounter`)
    receives one call per pair.
    """
    from data import RecordPairs
    from explain.perturb import RemovalScorer

    if not records:
        return np.zeros(0)
    encoded = matcher.encode(RecordPairs.from_records([(dict(a), dict(b)) for a, b in records]))
    scorer = RemovalScorer(matcher, encoded, batch_size=batch_size, counter=counter)
    return scorer.score([(j, None) for j in range(len(encoded))])
