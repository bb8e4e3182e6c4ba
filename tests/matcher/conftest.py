"""Fixtures of the matcher tests: a small learnable matching task."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from data import RecordPairs

WORDS = ["apple", "banana", "cherry", "delta", "echo", "forest", "golf", "hotel", "india", "juliet"]


def make_toy_pairs(n: int, seed: int) -> RecordPairs:
    """A learnable task: the right title says 'same' for matches, 'other' for non-matches.

    Columns ``title`` and ``price``; the right records have no price.
    """
    rng = np.random.default_rng(seed)
    records, labels = [], []
    for i in range(n):
        title = " ".join(rng.choice(WORDS, 2))
        y = int(i % 3 == 0)
        right = title + (" same" if y else " other")
        records.append(({"title": title, "price": str(i % 5)}, {"title": right, "price": None}))
        labels.append(y)
    return RecordPairs.from_records(records, labels)


@pytest.fixture(scope="session")
def toy_pairs() -> Callable[[int, int], RecordPairs]:
    """:func:`make_toy_pairs`: ``toy_pairs(n, seed)``."""
    return make_toy_pairs
