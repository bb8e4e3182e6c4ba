"""Fixtures of the ``bem`` tests: an untrained tiny matcher that can score and explain."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def tiny_matcher(tiny_model_dir):
    """A :class:`matcher.Matcher` on the tiny random BERT (threshold 0.5, untrained)."""
    from matcher import Matcher

    return Matcher(model=tiny_model_dir, max_length=48, batch_size=16)


@pytest.fixture(scope="session")
def cascade_workspace(tmp_path_factory, tiny_model_dir):
    """A dedup table on disk and a saved tiny model whose cascade decides part of
    its candidates (``key=title, top_k=4``): no match below the 30th percentile
    of their cheap P(match), match above the 75th; the rest go to the cross-encoder.

    Returns ``(root, records, model_dir)``; ``root/records.csv`` holds the table.
    """
    import numpy as np

    from bem.engines import LocalEngine
    from data import RecordPairs, make_dedup
    from matcher import Band, Matcher, fit_cascade

    root = tmp_path_factory.mktemp("cascade")
    ds = make_dedup(n_entities=40, seed=5, progress=False)
    records = ds.records[["title", "brand", "model"]].copy()
    records.to_csv(root / "records.csv", index_label="id")
    matcher = Matcher(model=tiny_model_dir, max_length=48, attributes=list(records.columns))
    labelled = RecordPairs(records, records, ds.pairs[["ltable_id", "rtable_id", "label"]])
    cascade = fit_cascade(matcher, labelled[0::2], labelled[1::2])
    cands = LocalEngine().block(records, None, key=["title"], top_k=4, progress=False)
    cheap = cascade.predict_proba(RecordPairs(records, records, cands))
    low, high = np.quantile(cheap, [0.3, 0.75])
    cascade.band_ = Band(float(low), float(high), 0.0, 0.0, 0.0, 0, 0, len(cands))
    matcher.cascade_ = cascade
    matcher.save_pretrained(root / "model")
    return root, records, root / "model"
