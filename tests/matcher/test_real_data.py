"""Encoding invariants on the DeepMatcher benchmark sets (tokenizer only, no training)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest

DATASETS = Path(__file__).resolve().parents[2].parent / "shared" / "datasets"

pytestmark = pytest.mark.datasets


@cache
def first_train_pairs(name: str, n: int):
    from data import load_deepmatcher

    return load_deepmatcher(DATASETS / "magellan" / name).train[:n]


@pytest.mark.parametrize(
    ("name", "max_length"), [("abt_buy", 80), ("amazon_google", 64), ("dblp_acm", 96)]
)
def test_real_pairs_encode_within_budget_with_exact_labels(tiny_model_dir, name, max_length):
    if not (DATASETS / "magellan" / name).is_dir():
        pytest.skip(f"{DATASETS / 'magellan' / name} is absent")
    from matcher import Matcher, TfidfSummarizer

    pairs = first_train_pairs(name, 300)
    m = Matcher(model=tiny_model_dir, max_length=max_length)
    records = list(pairs.records())
    values = sorted({v for a, b in records for v in [*a.values(), *b.values()] if v})
    m.encoder_.summarizer = TfidfSummarizer().fit(m.encoder_.value_token_ids(values))
    for (left, right), e in zip(records, m.encode(pairs)):
        assert len(e) <= max_length
        for (side, attr), (kept, full) in e.kept.items():
            assert kept >= (1 if full else 0)
            value = (left if side == "left" else right)[attr]
            assert full == 0 or value
        for label in e.labels:
            if label.role == "value":
                value = (left if label.side == "left" else right)[label.attribute]
                assert 0 <= label.start < label.end <= len(value)
