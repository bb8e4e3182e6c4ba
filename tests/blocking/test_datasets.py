"""Recall on the real benchmark (needs ../shared/datasets)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from blocking import FuzzyBlocker, evaluate_blocking

DATASETS = Path(__file__).resolve().parents[2].parent / "shared" / "datasets"

pytestmark = pytest.mark.datasets


@pytest.fixture(scope="module")
def abt_buy():
    directory = DATASETS / "ccer" / "abt_buy"
    if not directory.is_dir():
        pytest.skip(f"{directory} is absent")
    from data import load_linkage

    return load_linkage(directory)


def test_default_symmetric_fuzzy_blocker_recall_on_abt_buy(abt_buy):
    start = time.perf_counter()
    cands = FuzzyBlocker(key=["name"], top_k=10, progress=False).candidates(
        abt_buy.left, abt_buy.right
    )
    seconds = time.perf_counter() - start
    m = evaluate_blocking(
        cands, abt_buy.matches, n_left=len(abt_buy.left), n_right=len(abt_buy.right)
    )
    assert m.recall >= 0.98, m
    assert m.candidates_per_record <= 15, m
    assert seconds < 20
