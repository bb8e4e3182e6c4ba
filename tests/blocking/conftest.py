"""Small in-memory product tables shared by the blocking tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from blocking import FuzzyBlocker, SortedNeighbourhood, StandardBlocker, UnionBlocker

BRANDS = ["sony", "canon", "panasonic", "lg", "bose", "apple"]
WORDS = ["black", "camera", "phone", "cordless", "tv", "speaker", "ink", "red", "silver", "kit"]


def make_products(n: int, *, seed: int, prefix: str) -> pd.DataFrame:
    """``n`` products ``<brand> <words> <code>`` with ids ``<prefix><i>``; some names missing."""
    rng = np.random.default_rng(seed)
    names = []
    for _ in range(n):
        words = rng.choice(WORDS, size=rng.integers(1, 4), replace=False)
        code = f"{rng.choice(list('abcdkx'))}{rng.choice(list('xyzt'))}{rng.integers(10, 60)}"
        names.append(f"{rng.choice(BRANDS).title()} {' '.join(words)} {code.upper()}")
    table = pd.DataFrame(
        {"name": names, "brand": [n.split()[0] for n in names]},
        index=pd.Index([f"{prefix}{i}" for i in range(n)], name="id"),
        dtype=object,
    )
    if n > 3:
        table.iloc[3, 0] = np.nan  # a record with a missing key
    return table


@pytest.fixture
def left() -> pd.DataFrame:
    return make_products(40, seed=1, prefix="a")


@pytest.fixture
def right() -> pd.DataFrame:
    return make_products(35, seed=2, prefix="b")


def all_blockers() -> dict[str, object]:
    """One instance of every blocker (and blocker setting) the suite must hold for."""
    return {
        "fuzzy-qgrams": lambda: FuzzyBlocker("name", top_k=3, progress=False),
        "fuzzy-tokens": lambda: FuzzyBlocker("name", top_k=3, index="tokens", progress=False),
        "fuzzy-exact": lambda: FuzzyBlocker("name", top_k=3, prefilter=False, progress=False),
        "fuzzy-asym-cutoff": lambda: FuzzyBlocker(
            "name", top_k=2, symmetric=False, score_cutoff=50, progress=False
        ),
        "standard": lambda: StandardBlocker("brand"),
        "sorted": lambda: SortedNeighbourhood("name", window=3),
        "union": lambda: UnionBlocker(
            [FuzzyBlocker("name", top_k=1, progress=False), SortedNeighbourhood("name")]
        ),
    }


@pytest.fixture
def blocker_factories() -> dict[str, object]:
    return all_blockers()


@pytest.fixture(params=sorted(all_blockers()))
def blocker(request):
    return all_blockers()[request.param]()
