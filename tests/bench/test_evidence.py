"""bench/evidence.py's probes against a matcher whose answer is known."""

from __future__ import annotations

import numpy as np
import pandas as pd

from bench.evidence import blanking, p_all_empty
from data import RecordPairs


class EmptyLover:
    """P(match) = the share of attributes empty on both sides (trusts missing evidence)."""

    threshold_ = 0.5

    def predict_proba(self, pairs: RecordPairs) -> np.ndarray:
        out = []
        for a, b in zip(pairs.pairs["ltable_id"], pairs.pairs["rtable_id"]):
            left, right = pairs.left.loc[a], pairs.right.loc[b]
            out.append(float(np.mean([pd.isna(left[c]) and pd.isna(right[c]) for c in left.index])))
        return np.array(out)


def _pairs() -> RecordPairs:
    left = pd.DataFrame(
        {"title": ["a", "b"], "brand": ["x", np.nan]}, index=pd.Index(["l1", "l2"]), dtype=object
    )
    right = pd.DataFrame(
        {"title": ["a", "c"], "brand": ["x", np.nan]}, index=pd.Index(["r1", "r2"]), dtype=object
    )
    frame = pd.DataFrame({"ltable_id": ["l1", "l2"], "rtable_id": ["r1", "r2"]})
    return RecordPairs(left, right, frame)


def test_all_empty_probe():
    assert p_all_empty(EmptyLover(), _pairs()) == 1.0


def test_blanking_probe_counts_rises_and_flips():
    out = blanking(EmptyLover(), _pairs())
    # pair 1: 0 -> 0.5 by blanking either attribute (a rise and a flip to match);
    # pair 2: 0.5 already (brand empty on both) -> 1.0 by blanking the title: a rise
    assert out["share_rises"] == 1.0
    assert out["share_flips_to_match"] == 1.0
    assert out["pairs"] == 2 and out["model_calls"] == 3
