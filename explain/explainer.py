"""The Explainer: attributes every matching decision to tokens and fields."""

from __future__ import annotations

import logging
import time
from typing import Any, Literal, get_args

import numpy as np
import pandas as pd

from data import RecordPairs
from explain.counterfactual import search_counterfactual, top_field_check
from explain.explanation import Explanation
from explain.fields import scores_from_fields, scores_from_tokens
from explain.perturb import CallCounter, RemovalScorer
from explain.perturbation import Attribution
from explain.scoring import fp32_note, score_records

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
FP32_METHODS = ("integrated_gradients", "gradient_x_input", "attention")
"""Methods that read the fp32 weights even when the matcher scores with int8."""
COUNTERFACTUAL_BATCH = 8
"""Candidate edits per forward pass of the counterfactual search."""


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
        threshold: the decision threshold; ``None`` is the matcher's
            ``threshold_`` (pass the pipeline's, e.g. its linkage threshold).
        counterfactuals: search every pair for the fewest field edits that
            flip its decision (:mod:`explain.counterfactual`).
        counterfactual_budget: the most pairs the search scores per pair.
        max_edits: the most edits in a counterfactual.

    Every explanation also carries a top-field check: P(match) with its
    highest-``|score|`` attribute blanked on both sides (one model call).
    Probabilities, perturbations, the check and the counterfactual search all
    score by the pipeline's path (the int8 model of a ``quantize=True``
    matcher, :mod:`explain.scoring`); gradient methods and attention read the
    fp32 weights and say so in their settings.
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
        threshold: float | None = None,
        counterfactuals: bool = True,
        counterfactual_budget: int = 30,
        max_edits: int = 3,
    ) -> None:
        if method not in METHODS:
            raise ValueError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
        if baseline not in ("pad", "mask"):
            raise ValueError(f"baseline must be 'pad' or 'mask', got {baseline!r}")
        for name, value in (
            ("n_steps", n_steps),
            ("internal_batch_size", internal_batch_size),
            ("batch_size", batch_size),
            ("counterfactual_budget", counterfactual_budget),
            ("max_edits", max_edits),
        ):
            if value < 1:
                raise ValueError(f"{name} must be >= 1, got {value}")
        if n_samples is not None and n_samples < 1:
            raise ValueError(f"n_samples must be >= 1, got {n_samples}")
        if threshold is not None and not 0.0 <= threshold <= 1.0:
            raise ValueError(
                f"threshold must be in [0, 1], got {threshold}; pass None for the matcher's"
            )
        self.matcher = matcher
        self.method = method
        self.baseline = baseline
        self.n_steps = n_steps
        self.internal_batch_size = internal_batch_size
        self.n_samples = n_samples
        self.max_exact_fields = max_exact_fields
        self.batch_size = batch_size
        self.seed = seed
        self.threshold = threshold
        self.counterfactuals = counterfactuals
        self.counterfactual_budget = counterfactual_budget
        self.max_edits = max_edits

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

        Optional columns of ``pairs.pairs`` are taken over per pair:

        - ``decision`` (0/1): the decision made for the pair, when it is not
          ``probability >= threshold`` (a pipeline merges by one-to-one
          linkage or clustering); a missing value keeps the score's decision.
        - ``decision_rule`` (text): how it was made, e.g. ``"one-to-one linkage
          at threshold 0.032"``. Without it the rule is ``"single pair at
          threshold T"``, or ``"set by the caller"`` for a given decision.
        - ``review_reason`` (text): why the pair was chosen for review.
        - ``label`` (0/1): the true label, as before.

        The counterfactual flips the pair's score across the threshold, so it
        is searched only where the decision is the score's.

        Raises:
            TypeError: ``pairs`` is not a :class:`data.RecordPairs`.
            ValueError: a ``decision`` value is not 0 or 1 (names the rows).
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
        threshold = (
            float(getattr(self.matcher, "threshold_", 0.5))
            if self.threshold is None
            else float(self.threshold)
        )
        labels = pairs.labels
        ids = pairs.pairs[["ltable_id", "rtable_id"]].astype(str).to_numpy()
        given = _given_decisions(pairs.pairs)
        rules = _texts(pairs.pairs, "decision_rule")
        reasons = _texts(pairs.pairs, "review_reason")
        settings = {
            **self.settings,
            **(fp32_note(self.matcher) if self.method in FP32_METHODS else {}),
        }
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
            score_decision = int(probability >= threshold)
            decision = score_decision if given[i] is None else given[i]
            rule = rules[i] or (
                f"single pair at threshold {threshold:.3f}"
                if given[i] is None
                else "set by the caller"
            )
            attribution = self._attribute(scorer, 0, counter, decision)
            pf = scorer.fields[0]
            if attribution.field_scores is not None:
                tokens, fields = scores_from_fields(encoded[i], pf, attribution.field_scores)
            else:
                tokens, fields = scores_from_tokens(encoded[i], pf, attribution.token_scores)
            seconds = time.perf_counter() - start
            check = self._check(
                encoded[i], fields, probability, threshold, searched=decision == score_decision
            )
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
                    seconds=seconds,
                    label=None if labels is None else int(labels[i]),
                    delta=attribution.delta,
                    decision_rule=rule,
                    review_reason=reasons[i],
                    **check,
                )
            )
        _log(out, self.method)
        return out

    def _check(
        self, encoded: Any, fields: Any, probability: float, threshold: float, *, searched: bool
    ) -> dict[str, Any]:
        """The top-field check and the counterfactual of one pair (Explanation keywords)."""
        start = time.perf_counter()
        left, right = dict(encoded.left), dict(encoded.right)
        check_counter, search_counter = CallCounter(), CallCounter()

        def score(counter: CallCounter) -> Any:
            batch = min(self.batch_size, COUNTERFACTUAL_BATCH)
            return lambda records: score_records(
                self.matcher, records, batch_size=batch, counter=counter
            )

        check = top_field_check(left, right, fields, score=score(check_counter))
        counterfactual = None
        if self.counterfactuals and searched:
            counterfactual, _ = search_counterfactual(
                left,
                right,
                fields,
                probability=probability,
                threshold=threshold,
                score=score(search_counter),
                max_edits=self.max_edits,
                budget=self.counterfactual_budget,
                batch_size=min(self.batch_size, COUNTERFACTUAL_BATCH),
            )
        return {
            "counterfactual": counterfactual,
            "counterfactual_calls": search_counter.calls,
            "top_field_check": check,
            "check_seconds": time.perf_counter() - start,
        }


def _given_decisions(table: pd.DataFrame) -> list[int | None]:
    """The ``decision`` column as 0/1 per pair (``None`` where absent or missing)."""
    if "decision" not in table.columns:
        return [None] * len(table)
    out: list[int | None] = []
    bad: list[str] = []
    for n, value in enumerate(table["decision"].tolist()):
        if value is None or (isinstance(value, float) and np.isnan(value)):
            out.append(None)
        elif str(value).strip().lower() in ("0", "1", "0.0", "1.0", "true", "false"):
            out.append(int(str(value).strip().lower() in ("1", "1.0", "true")))
        else:
            bad.append(f"{n} ({value!r})")
            out.append(None)
    if bad:
        raise ValueError(
            f"column 'decision' of the pairs must be 0 or 1 (or missing to keep the "
            f"score's decision); bad value in row(s) {', '.join(bad[:10])}"
        )
    return out


def _texts(table: pd.DataFrame, column: str) -> list[str | None]:
    """A text column per pair (``None`` where absent, missing or blank)."""
    if column not in table.columns:
        return [None] * len(table)
    return [
        None
        if v is None or (isinstance(v, float) and np.isnan(v)) or not str(v).strip()
        else str(v)
        for v in table[column].tolist()
    ]


def _log(out: list[Explanation], method: str) -> None:
    if not out:
        return
    found = [e.counterfactual for e in out if e.counterfactual is not None]
    logger.info(
        "explained %d pairs with %s: %.1f model calls and %.3f s per pair; counterfactuals "
        "for %d (%.1f search calls per pair)",
        len(out),
        method,
        np.mean([e.model_calls for e in out]),
        np.mean([e.seconds for e in out]),
        len(found),
        np.mean([e.counterfactual_calls for e in out]),
    )
