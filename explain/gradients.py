"""Gradient methods at token level: integrated gradients and gradient x input.

Both attribute ``P(match)`` to the output of the model's word-embedding layer
(captum ``LayerIntegratedGradients`` / ``LayerGradientXActivation``) and sum
over the hidden dimension, giving one signed score per token.

Integrated-gradients baseline: the baseline sequence keeps ``[CLS]``, ``[SEP]``
and the structure tokens (``COL``, ``VAL``, attribute names) and replaces every
value token by ``[PAD]`` (``baseline="pad"``, the default: the token the model
reads as "nothing here", as in captum's BERT tutorial) or ``[MASK]``
(``baseline="mask"``). The sequence length, positions and token types are the
input's. Structure tokens are identical in input and baseline, so their
attribution is exactly zero and all of ``P(x) - P(baseline)`` is carried by
value tokens; the convergence delta (sum of attributions minus that difference)
measures the integral's approximation error. A caveat of any such baseline: the
two sides' values become identical runs of ``[PAD]``, which a matcher can read as
agreement, so where ``P(baseline)`` is already high (identical records) little
is left to attribute.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from explain.fields import PairFields
from explain.perturb import CallCounter, single_batch
from explain.perturbation import Attribution

__all__ = ["baseline_ids", "gradient_x_input", "integrated_gradients"]

Baseline = Literal["pad", "mask"]


def _replacement_id(matcher: Any, baseline: Baseline) -> int:
    tok = getattr(matcher, "tokenizer_", None)
    name = {"pad": "pad_token_id", "mask": "mask_token_id"}.get(baseline)
    if name is None:
        raise ValueError(f"baseline must be 'pad' or 'mask', got {baseline!r}")
    value = getattr(tok, name, None)
    if value is None:
        raise ValueError(
            f"the matcher's tokenizer has no {name}; use baseline="
            f"{'mask' if baseline == 'pad' else 'pad'!r}"
        )
    return int(value)


def baseline_ids(matcher: Any, input_ids: Any, pf: PairFields, baseline: Baseline) -> Any:
    """``input_ids`` with every value token replaced by ``[PAD]`` or ``[MASK]``."""
    out = input_ids.clone()
    out[0, pf.positions] = _replacement_id(matcher, baseline)
    return out


def _counted_forward(matcher: Any, counter: CallCounter) -> Any:
    def forward(input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
        counter.add(input_ids.shape[0])
        return matcher.forward_proba(input_ids, attention_mask, token_type_ids)

    return forward


def integrated_gradients(
    matcher: Any,
    encoded: Any,
    pf: PairFields,
    counter: CallCounter,
    *,
    baseline: Baseline,
    n_steps: int,
    internal_batch_size: int,
) -> Attribution:
    """Layer integrated gradients over the word embeddings (see the module doc)."""
    import torch
    from captum.attr import LayerIntegratedGradients

    ids, mask, types = single_batch(matcher, encoded)
    base = baseline_ids(matcher, ids, pf, baseline)
    lig = LayerIntegratedGradients(_counted_forward(matcher, counter), matcher.embedding_layer())
    with torch.enable_grad():
        attr, delta = lig.attribute(
            ids,
            baselines=base,
            additional_forward_args=(mask, types),
            n_steps=n_steps,
            internal_batch_size=internal_batch_size,
            return_convergence_delta=True,
        )
    scores = attr.sum(dim=-1)[0].detach().cpu().numpy().astype(np.float64)
    return Attribution(token_scores=scores[pf.positions], delta=float(delta.reshape(-1)[0]))


def gradient_x_input(
    matcher: Any, encoded: Any, pf: PairFields, counter: CallCounter
) -> Attribution:
    """Gradient of P(match) times the token embedding, summed over the hidden size."""
    import torch
    from captum.attr import LayerGradientXActivation

    ids, mask, types = single_batch(matcher, encoded)
    method = LayerGradientXActivation(_counted_forward(matcher, counter), matcher.embedding_layer())
    with torch.enable_grad():
        attr = method.attribute(ids, additional_forward_args=(mask, types))
    scores = attr.sum(dim=-1)[0].detach().cpu().numpy().astype(np.float64)
    return Attribution(token_scores=scores[pf.positions])
