"""Fixtures of the ``bem label`` tests: small product tables and the tiny matcher."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

COLUMNS = ["brand", "title", "price"]  # few attributes: the tiny matcher reads 48 tokens


@pytest.fixture(autouse=True)
def one_torch_thread():
    """One torch thread per test: two threads on a busy 2-core machine spin against
    each other (explanations 100x slower), and the label session runs next to a
    retraining child process anyway."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def dedup_data():
    from data import make_dedup

    return make_dedup(n_entities=20, seed=0, progress=False)


@pytest.fixture(scope="session")
def records(dedup_data) -> pd.DataFrame:
    """About 50 product records with duplicates (ids ``r0``..)."""
    return dedup_data.records[COLUMNS]


@pytest.fixture(scope="session")
def truth(dedup_data) -> set[tuple[str, str]]:
    """The true duplicate pairs of ``records``, smaller id first."""
    m = dedup_data.matches
    return {tuple(sorted(p)) for p in zip(m["ltable_id"], m["rtable_id"])}


@pytest.fixture(scope="session")
def link_data():
    from data import make_linkage

    data = make_linkage(n_entities=15, seed=1, progress=False)
    return data.left[COLUMNS], data.right[COLUMNS]


@pytest.fixture(scope="session")
def model_dir(tiny_matcher, tmp_path_factory) -> Path:
    """The tiny matcher saved as a BEM model directory."""
    path = tmp_path_factory.mktemp("label-model") / "model"
    tiny_matcher.save_pretrained(path)
    return path
