"""Helpers for training on a user's own labelled pairs."""

from __future__ import annotations

import numpy as np

from data import BemError, RecordPairs

__all__ = ["split_train_valid"]


def split_train_valid(
    pairs: RecordPairs, *, valid_fraction: float = 0.2, seed: int = 0
) -> tuple[RecordPairs, RecordPairs]:
    """Split labelled pairs into train and validation parts, stratified by label.

    Deterministic given ``seed``; every pair lands in exactly one part.
    """
    if not 0.0 < valid_fraction < 1.0:
        raise ValueError(f"valid_fraction must be in (0, 1), got {valid_fraction}")
    labels = pairs.labels
    if labels is None:
        raise BemError("training pairs need a 'label' column (1 = match, 0 = no match)")
    rng = np.random.default_rng(seed)
    valid_idx: list[int] = []
    for value in (0, 1):
        idx = np.flatnonzero(labels == value)
        if len(idx) == 0:
            name = "matching" if value else "non-matching"
            raise BemError(f"training pairs hold no {name} pair; a matcher needs both labels")
        rng.shuffle(idx)
        n = max(1, round(len(idx) * valid_fraction)) if len(idx) > 1 else 0
        valid_idx.extend(idx[:n].tolist())
    mask = np.zeros(len(pairs), dtype=bool)
    mask[valid_idx] = True
    return pairs[np.flatnonzero(~mask)], pairs[np.flatnonzero(mask)]
