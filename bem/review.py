"""Review selection: the pairs worth a human look, and their explanations.

:func:`select_for_review` picks the lowest-confidence merges, the strongest
rejected candidates and a random sample of the rest; :func:`explain_review`
attaches the true labels when a label table is given (:mod:`bem.labels`: a pair
without one is unknown, never a non-match) and explains the chosen pairs with
:class:`explain.Explainer`.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from bem.labels import attach_labels
from data import RecordPairs

if TYPE_CHECKING:
    from matcher import Matcher

__all__ = ["explain_review", "select_for_review"]


def select_for_review(
    pairs: pd.DataFrame,
    *,
    lowest_merges: int = 10,
    strongest_rejections: int = 10,
    sample: int = 10,
    seed: int = 0,
) -> pd.DataFrame:
    """The pairs most worth a human look, with a ``review_reason`` column.

    The lowest-confidence merges, the strongest rejected candidates, and a
    random sample of the rest (deterministic by ``seed``).
    """
    merged = pairs[pairs["same_entity"] == 1].sort_values("probability", kind="stable")
    rejected = pairs[pairs["same_entity"] == 0].sort_values(
        "probability", ascending=False, kind="stable"
    )
    low = merged.head(lowest_merges).assign(review_reason="lowest-confidence merge")
    strong = rejected.head(strongest_rejections).assign(review_reason="strongest rejection")
    rest = pairs.drop(index=low.index.union(strong.index))
    n = min(sample, len(rest))
    rng = np.random.default_rng(seed)
    picked = rest.iloc[np.sort(rng.choice(len(rest), size=n, replace=False))] if n else rest.head(0)
    picked = picked.assign(review_reason="random sample")
    return pd.concat([low, strong, picked])


def explain_review(
    pairs: pd.DataFrame,
    matcher: Matcher,
    left: pd.DataFrame,
    right: pd.DataFrame,
    *,
    method: str,
    review: dict[str, int],
    truth: pd.DataFrame | None,
    unordered: bool,
    seed: int,
    progress: bool,
) -> tuple[pd.DataFrame, list[Any]]:
    """Choose the pairs to review and explain them with ``method``.

    ``right`` is ``left`` in deduplication (``unordered``). ``truth`` (from
    :func:`bem.labels.prepare_labels`) adds ``label`` and ``outcome`` to the
    chosen pairs and sets each explanation's label; a pair it does not cover
    keeps ``label=None``. Returns the chosen pairs (with ``review_reason``) and
    their explanations, in the same order.
    """
    chosen = select_for_review(pairs, seed=seed, **review)
    if truth is not None:
        chosen = attach_labels(chosen, truth, unordered=unordered)
    if not len(chosen):
        return chosen, []
    from explain import Explainer

    to_explain = chosen[["ltable_id", "rtable_id"]].reset_index(drop=True)
    explainer = Explainer(matcher, method=method)
    explanations = explainer.explain(RecordPairs(left, right, to_explain), progress=progress)
    if truth is not None:
        explanations = [
            replace(e, label=None if pd.isna(y) else int(y))
            for e, y in zip(explanations, chosen["label"])
        ]
    return chosen, explanations
