"""tune_blocker: the cheapest configuration that meets the target, and what it says."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest

from blocking import FuzzyBlocker, Key, TuningResult, UnionBlocker, evaluate_blocking, tune_blocker
from data.errors import BemError


def noisy_copies(n: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Left products; right = the same products with typos, dropped words and noise columns."""
    rng = np.random.default_rng(seed)
    words = [f"{c}{v}{c2}" for c in "bdfgklmnprst" for v in "aeiou" for c2 in "nrst"]
    names, titles = [], []
    for _ in range(n):
        ws = list(rng.choice(words, size=4, replace=False))
        names.append(" ".join(ws))
        drop = ws[: rng.integers(2, 4)]
        typo = [w[:-1] + "x" if rng.random() < 0.3 else w for w in drop]
        titles.append(" ".join(typo))
    noise = [" ".join(rng.choice(words, size=3)) for _ in range(n)]
    left = pd.DataFrame({"name": names, "noise": noise}, index=[f"l{i}" for i in range(n)])
    right = pd.DataFrame(
        {"name": titles, "noise": list(rng.permutation(noise))}, index=[f"r{i}" for i in range(n)]
    )
    matches = pd.DataFrame({"ltable_id": left.index, "rtable_id": right.index})
    return left, right, matches


def test_tuning_picks_a_cheaper_config_that_meets_the_target(caplog):
    left, right, matches = noisy_copies(120, 0)
    ks = (1, 2, 3, 5, 10)
    with caplog.at_level(logging.INFO, logger="blocking.tuning"):
        result = tune_blocker(left, right, matches, target_recall=0.95, ks=ks, progress=False)
    assert isinstance(result, TuningResult)
    assert result.met and result.metrics.recall >= 0.95
    assert "name" in result.summary() and "reaches the target" in result.summary()
    assert "tune_blocker: chose" in caplog.text
    # the chosen blocker is really run: its metrics are what evaluate_blocking says
    cands = result.blocker.candidates(left, right)
    again = evaluate_blocking(cands, matches, n_left=len(left), n_right=len(right))
    assert again.n_candidates == result.metrics.n_candidates
    # the trial table predicted the same figures for the chosen configuration
    chosen = result.trials[result.trials["chosen"]].iloc[0]
    assert result.trials["chosen"].sum() == 1
    cheaper = result.trials[result.trials["n_candidates"] < chosen["n_candidates"]]
    assert (cheaper["recall"] < 0.95).all()
    assert chosen["n_candidates"] == result.metrics.n_candidates
    assert chosen["recall"] == pytest.approx(result.metrics.recall)
    # cheaper than the obvious default (top-10 on every attribute) and than the noise key
    default = FuzzyBlocker(["name", "noise"], top_k=10, progress=False).candidates(left, right)
    assert result.metrics.n_candidates < len(default)
    keys = result.blocker.blockers if isinstance(result.blocker, UnionBlocker) else [result.blocker]
    assert all(b.key.attributes == ("name",) for b in keys)
    assert (result.trials["n_candidates"].diff().dropna() >= 0).all()
    assert result.to_dict()["met"] is True


def test_tuning_on_dedup_and_with_labelled_pairs():
    left, right, matches = noisy_copies(60, 1)
    both = pd.concat([left, right])
    labelled = matches.assign(label=1)
    negatives = pd.DataFrame(
        {"ltable_id": left.index[:5], "rtable_id": right.index[5:10], "label": 0}
    )
    result = tune_blocker(
        both,
        None,
        pd.concat([labelled, negatives]),
        target_recall=0.9,
        attributes=["name"],
        scorers=("token_set_ratio",),
        ks=(1, 3, 5),
        unions=False,
        progress=False,
    )
    assert result.met
    assert result.metrics.n_right is None and result.metrics.n_matches == 60
    assert len(result.trials) == 3


def test_unreachable_target_says_so(caplog):
    left, right, matches = noisy_copies(40, 2)
    with caplog.at_level(logging.WARNING, logger="blocking.tuning"):
        result = tune_blocker(
            left, right, matches, target_recall=1.0, attributes=["noise"], ks=(1,), progress=False
        )
    assert not result.met
    assert "does NOT reach" in result.summary()
    assert "does NOT reach" in caplog.text


def test_tuning_errors():
    left, right, matches = noisy_copies(10, 3)
    with pytest.raises(BemError, match="no true match"):
        tune_blocker(left, right, matches.assign(ltable_id="zz"), progress=False)
    with pytest.raises(BemError, match="not found"):
        tune_blocker(left, right, matches, attributes=["title"], progress=False)
    with pytest.raises(ValueError, match="target_recall"):
        tune_blocker(left, right, matches, target_recall=1.5)
    assert Key("name").attributes == ("name",)
