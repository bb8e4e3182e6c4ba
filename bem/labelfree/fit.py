"""The label-free first model: a matcher trained on a user's tables without labels.

:func:`fit_label_free` builds self-supervised pairs
(:func:`bem.labelfree.self_supervised_pairs`), holds out a fifth of them, and
fine-tunes a :class:`matcher.Matcher` on the rest. The threshold is chosen
without a label by :func:`label_free_threshold`: the P(match) that
:data:`THRESHOLD_RECALL` of the held-out positives (noisy copies, cross-table
pseudo-matches) reach. The best-F1 cut on the held-out pairs, which a labelled
fit uses, sits too low here: the held-out negatives (noisy copies of neighbours,
random records) are easier than a table's real near-duplicates, so the cut lands
in a wide gap just above them (on DBLP-ACM's validation split it gave precision
0.88 at recall 1.0). The cascade is fitted after, at that threshold. The model
records that it was trained without labels (``train_info_["label_free"]``,
stated in its model card).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["LABEL_FREE_FIT", "THRESHOLD_RECALL", "fit_label_free", "label_free_threshold"]

logger = logging.getLogger(__name__)

# The label-free recipe: a few epochs over every self-pair and its negatives
# (no negative sampling: they are already 3 per positive), the benchmark
# recipe's learning rate, warm-up and swap augmentation.
LABEL_FREE_FIT: dict[str, Any] = {
    "epochs": 3,
    "learning_rate": 1e-4,
    "batch_size": 32,
    "warmup_ratio": 0.1,
    "class_weight": "sqrt",
    "augment": ("swap",),
    "augment_prob": 0.5,
    "early_stopping": 1,
}


THRESHOLD_RECALL = 0.9
"""The share of held-out positives the label-free threshold keeps. Chosen on the
DeepMatcher validation splits (the test splits never looked at) among the best-F1
cut, percentiles 5/10/25/50 of the positives and logit midpoints: validation F1
0.975 / 0.599 / 0.743 on dblp_acm / amazon_google / abt_buy against the best-F1
cut's 0.934 / 0.582 / 0.706, the only rule better on all three."""


def label_free_threshold(labels: np.ndarray, proba: np.ndarray) -> float:
    """The threshold that :data:`THRESHOLD_RECALL` of the positives among held-out
    self-supervised pairs reach (their ``1 - THRESHOLD_RECALL`` quantile of P(match)).

    Raises:
        ValueError: no positive among ``labels``.
    """
    positives = np.asarray(proba, dtype=float)[np.asarray(labels) == 1]
    if not len(positives):
        raise ValueError("no positive pair to place a label-free threshold on")
    return float(np.quantile(positives, 1.0 - THRESHOLD_RECALL))


def fit_label_free(
    left: pd.DataFrame,
    right: pd.DataFrame | None = None,
    *,
    model: str | None = None,
    max_length: int = 128,
    attributes: Sequence[str] | None = None,
    matcher_kwargs: dict[str, Any] | None = None,
    key: Sequence[str] | None = None,
    max_records: int = 1000,
    seed: int = 0,
    fit_kwargs: dict[str, Any] | None = None,
    progress: bool = True,
):
    """A matcher fitted on ``left`` (and ``right``) without labels.

    Args:
        left, right: the table to deduplicate, or the two tables to link.
        model: the encoder to start from (default: the packaged MiniLM).
        max_length, attributes: passed to :class:`matcher.Matcher`.
        matcher_kwargs: more :class:`matcher.Matcher` settings (they win over the above).
        key: the blocking key the hard negatives come from.
        max_records: records sampled to make self-pairs of.
        fit_kwargs: overrides of :data:`LABEL_FREE_FIT`.
    """
    from bem.labelfree.pairs import COPY, self_supervised_pairs
    from bem.training import split_train_valid
    from matcher import Matcher, match_metrics

    start = time.perf_counter()
    pairs = self_supervised_pairs(left, right, key=key, max_records=max_records, seed=seed)
    train, valid = split_train_valid(pairs, seed=seed)
    settings = {**LABEL_FREE_FIT, **(fit_kwargs or {})}
    settings["augment"] = list(settings.get("augment", ()))
    kwargs = {"model": model, "max_length": max_length, "attributes": attributes, "seed": seed}
    matcher = Matcher(**{**kwargs, **(matcher_kwargs or {})})
    cascade = settings.pop("cascade", True)
    tolerance = settings.pop("cascade_tolerance", 0.005)
    matcher.fit(train, valid, progress=progress, cascade=False, **settings)
    proba = matcher.predict_proba(valid)
    matcher.threshold_ = label_free_threshold(valid.labels, proba)
    # the held-out metrics the model card shows, at the threshold the model uses
    held_out = match_metrics(valid.labels, proba, matcher.threshold_).to_dict()
    matcher.train_info_["valid_metrics"] = held_out
    matcher.config_.metrics = held_out
    matcher.train_info_["threshold_rule"] = (
        f"label-free: {THRESHOLD_RECALL:.0%} of the held-out self-supervised positives "
        f"reach it ({int(valid.labels.sum())} positives)"
    )
    if cascade:
        from matcher import fit_cascade

        matcher.cascade_ = fit_cascade(
            matcher, train, valid, tolerance=tolerance, valid_proba=proba
        )
        matcher.train_info_["cascade"] = matcher.cascade_.summary()
    matcher.train_info_["label_free"] = True
    frame = pairs.pairs
    own = (frame["rtable_id"] == frame["ltable_id"] + COPY).to_numpy()
    positive = np.asarray(pairs.labels) == 1
    cross = int((positive & ~own).sum())
    matcher.train_info_["data"] = (
        f"self-supervised pairs from {len(left)}"
        + (f" + {len(right)}" if right is not None else "")
        + f" records ({int((positive & own).sum())} noisy self-pairs, "
        + (f"{cross} cross-table pseudo-matches, " if cross else "")
        + f"{int((~positive).sum())} neighbour, random and pseudo non-matches); no labels"
    )
    logger.info(
        "label-free model trained in %.0f s; threshold %.3f: %.0f%% of the held-out "
        "self-supervised positives reach it",
        time.perf_counter() - start,
        matcher.threshold_,
        100 * THRESHOLD_RECALL,
    )
    return matcher
