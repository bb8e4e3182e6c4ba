"""The label-free first model: a matcher trained on a user's tables without labels.

:func:`fit_label_free` builds self-supervised pairs
(:func:`bem.labelfree.self_supervised_pairs`), holds out a fifth of them, and
fine-tunes a :class:`matcher.Matcher` on the rest. The threshold is chosen
without a label: it is the one with the best F1 on the held-out self-supervised
pairs (noisy copies against neighbours), the same rule a labelled fit applies to
its validation pairs. The model records that it was trained without labels
(``train_info_["label_free"]``, stated in its model card).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

import pandas as pd

__all__ = ["LABEL_FREE_FIT", "fit_label_free"]

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
    from bem.labelfree.pairs import self_supervised_pairs
    from bem.training import split_train_valid
    from matcher import Matcher

    start = time.perf_counter()
    pairs = self_supervised_pairs(left, right, key=key, max_records=max_records, seed=seed)
    train, valid = split_train_valid(pairs, seed=seed)
    settings = {**LABEL_FREE_FIT, **(fit_kwargs or {})}
    settings["augment"] = list(settings.get("augment", ()))
    kwargs = {"model": model, "max_length": max_length, "attributes": attributes, "seed": seed}
    matcher = Matcher(**{**kwargs, **(matcher_kwargs or {})})
    matcher.fit(train, valid, progress=progress, **settings)
    matcher.train_info_["label_free"] = True
    matcher.train_info_["data"] = (
        f"self-supervised pairs from {len(left)}"
        + (f" + {len(right)}" if right is not None else "")
        + f" records ({int(pairs.labels.sum())} noisy self-pairs, "
        f"{int((pairs.labels == 0).sum())} neighbour and random non-matches); no labels"
    )
    logger.info(
        "label-free model trained in %.0f s; threshold %.3f chosen on held-out self-pairs",
        time.perf_counter() - start,
        matcher.threshold_,
    )
    return matcher
