"""The Explainer: attributes every matching decision to tokens and fields."""

from __future__ import annotations

import logging
import time
from typing import Any, Literal, get_args

import numpy as np

from data import RecordPairs
from explain.explanation import Explanation
from explain.fields import scores_from_fields, scores_from_tokens
from explain.perturb import CallCounter, RemovalScorer
from explain.perturbation import Attribution

__all__ = ["DEFAULT_METHOD", "METHODS", "Explainer", "Method"]

logger = logging.getLogger(__name__)

Method = Literal[
    "occlusion",
    "shapley",
    "integrated_gradients",
    "gradient_x_input",
    "attention",
    "lime",
    "kernel_shap",
]
METHODS: tuple[str, ...] = get_args(Method)
"""Every method name :class:`Explainer` accepts."""

DEFAULT_METHOD = "occlusion"
"""Field occlusion: one model call per field, faithful and fast (see bench/results/explain.md)."""

FIELD_METHODS = ("occlusion", "shapley")


class Explainer:
    """Explains a matcher's decisions, one :class:`Explanation` per pair.

    Args:
        matcher: a fitted :class:`matcher.Matcher` (or any object with its
            ``encode``, ``collate``, ``forward_proba``, ``embedding_layer``,
            ``tokenizer_`` and ``threshold_`` members).
        method: ``"occlusion"`` (default; field level, one call per field),
            ``"shapley"`` (field level), ``"integrated_gradients"``,
            ``"gradient_x_input"``, ``"attention"`` (rollout), ``"lime"`` or
            ``"kernel_shap"`` (token level).
        baseline: integrated gradients' replacement for value tokens, ``"pad"``
            or ``"mask"`` (see :mod:`explain.gradients`).
        n_steps: integrated gradients' number of steps.
        internal_batch_size: integrated gradients' steps per forward pass (bounds memory).
        n_samples: samples of ``lime`` / ``kernel_shap``, or permutations of
            sampled ``shapley``; ``None`` picks 256 for LIME/KernelSHAP and 16
            permutations for Shapley.
        max_exact_fields: ``shapley`` is exact (``2**n`` calls) up to this many
            fields (side, attribute) and sampled beyond.
        batch_size: perturbed pairs per forward pass.
        seed: seed of every random choice (sampled methods).
    """

    def __init__(
        self,
        matcher: Any,
        *,
        method: Method = DEFAULT_METHOD,
        baseline: Literal["pad", "mask"] = "pad",
        n_steps: int = 32,
        internal_batch_size: int = 16,
        n_samples: int | None = None,
        max_exact_fields: int = 8,
        batch_size: int = 32,
        seed: int = 0,
    ) -> None:
        if method not in METHODS:
            raise ValueError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
        if baseline not in ("pad", "mask"):
            raise ValueError(f"baseline must be 'pad' or 'mask', got {baseline!r}")
        for name, value in (
            ("n_steps", n_steps),
            ("internal_batch_size", internal_batch_size),
            ("batch_size", batch_size),
        ):
            if value < 1:
                raise ValueError(f"{name} must be >= 1, got {value}")
        if n_samples is not None and n_samples < 1:
            raise ValueError(f"n_samples must be >= 1, got {n_samples}")
        self.matcher = matcher
        self.method = method
        self.baseline = baseline
        self.n_steps = n_steps
        self.internal_batch_size = internal_batch_size
        self.n_samples = n_samples
        self.max_exact_fields = max_exact_fields
        self.batch_size = batch_size
        self.seed = seed

    @property
    def settings(self) -> dict[str, Any]:
        """The settings the chosen method uses (stored in each explanation)."""
        m = self.method
        if m == "integrated_gradients":
            return {
                "baseline": self.baseline,
                "n_steps": self.n_steps,
                "internal_batch_size": self.internal_batch_size,
            }
        if m in ("lime", "kernel_shap"):
            return {"n_samples": self.n_samples or 256, "seed": self.seed}
        if m == "shapley":
            return {
                "max_exact_fields": self.max_exact_fields,
                "n_samples": self.n_samples or 16,
                "seed": self.seed,
            }
        return {}

    def _attribute(
        self, scorer: RemovalScorer, i: int, counter: CallCounter, decision: int
    ) -> Attribution:
        from explain import attention, gradients, perturbation

        enc, pf = scorer.encoded[i], scorer.fields[i]
        m, seed = self.method, self.seed  # same seed per pair: results do not depend on order
        if m == "occlusion":
            return perturbation.occlusion(scorer, i)
        if m == "shapley":
            return perturbation.shapley(
                scorer,
                i,
                max_exact_fields=self.max_exact_fields,
                n_samples=self.n_samples or 16,
                seed=seed,
            )
        if m == "lime":
            return perturbation.lime(scorer, i, n_samples=self.n_samples or 256, seed=seed)
        if m == "kernel_shap":
            return perturbation.kernel_shap(scorer, i, n_samples=self.n_samples or 256, seed=seed)
        if m == "integrated_gradients":
            return gradients.integrated_gradients(
                self.matcher,
                enc,
                pf,
                counter,
                baseline=self.baseline,
                n_steps=self.n_steps,
                internal_batch_size=self.internal_batch_size,
            )
        if m == "gradient_x_input":
            return gradients.gradient_x_input(self.matcher, enc, pf, counter)
        return attention.attention_rollout(self.matcher, enc, pf, counter, decision=decision)

    def explain(self, pairs: RecordPairs, *, progress: bool = True) -> list[Explanation]:
        """Explain the matcher's decision on every pair, in order.

        Raises:
            TypeError: ``pairs`` is not a :class:`data.RecordPairs`.
        """
        from tqdm.auto import tqdm

        if not isinstance(pairs, RecordPairs):
            raise TypeError(
                f"explain() takes a data.RecordPairs, got {type(pairs).__name__}; build one "
                "with RecordPairs.from_tables(left, right, pairs) or RecordPairs.from_records"
            )
        model = getattr(self.matcher, "model_", None)
        if model is not None and hasattr(model, "eval"):
            model.eval()
        encoded = self.matcher.encode(pairs)
        threshold = float(getattr(self.matcher, "threshold_", 0.5))
        labels = pairs.labels
        ids = pairs.pairs[["ltable_id", "rtable_id"]].astype(str).to_numpy()
        settings = self.settings
        out: list[Explanation] = []
        bar = tqdm(range(len(encoded)), desc=f"explain ({self.method})", disable=not progress)
        for i in bar:
            start = time.perf_counter()
            counter = CallCounter()
            # one pair at a time, so that seconds and model calls are per pair
            scorer = RemovalScorer(
                self.matcher, [encoded[i]], batch_size=self.batch_size, counter=counter
            )
            probability = float(scorer.score([(0, None)])[0])
            decision = int(probability >= threshold)
            attribution = self._attribute(scorer, 0, counter, decision)
            pf = scorer.fields[0]
            if attribution.field_scores is not None:
                tokens, fields = scores_from_fields(encoded[i], pf, attribution.field_scores)
            else:
                tokens, fields = scores_from_tokens(encoded[i], pf, attribution.token_scores)
            out.append(
                Explanation(
                    left_id=str(ids[i, 0]),
                    right_id=str(ids[i, 1]),
                    left=dict(encoded[i].left),
                    right=dict(encoded[i].right),
                    probability=probability,
                    threshold=threshold,
                    decision=decision,
                    tokens=tokens,
                    fields=fields,
                    method=self.method,
                    settings={**settings, **attribution.settings},
                    model_calls=counter.calls,
                    seconds=time.perf_counter() - start,
                    label=None if labels is None else int(labels[i]),
                    delta=attribution.delta,
                )
            )
        logger.info(
            "explained %d pairs with %s: %.1f model calls and %.3f s per pair",
            len(out),
            self.method,
            np.mean([e.model_calls for e in out]) if out else 0.0,
            np.mean([e.seconds for e in out]) if out else 0.0,
        )
        return out
