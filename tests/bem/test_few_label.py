"""The few-label rule: a fine-tune replaces a trained start only where held-out labels say so."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import bem.training as training
from bem.training import MIN_PER_CLASS_FOR_VALID, fine_tune_on_labels
from data import RecordPairs


def pairs_with(n_match: int) -> RecordPairs:
    """``n_match`` left records, each with its match (the same title) and two others."""
    left = pd.DataFrame(
        {"title": [f"item {i} blue" for i in range(n_match)]},
        index=[f"a{i}" for i in range(n_match)],
    )
    titles = [
        f"item {i} blue" if j == 0 else f"other {i} {j}" for i in range(n_match) for j in range(3)
    ]
    right = pd.DataFrame({"title": titles}, index=[f"b{k}" for k in range(3 * n_match)])
    rows = [(f"a{i}", f"b{3 * i + j}", int(j == 0)) for i in range(n_match) for j in range(3)]
    return RecordPairs(left, right, pd.DataFrame(rows, columns=["ltable_id", "rtable_id", "label"]))


@pytest.fixture
def untrained(tiny_model_dir):
    """A fresh tiny matcher (the session's ``tiny_matcher`` is shared: never fit it)."""
    from matcher import Matcher

    return Matcher(model=tiny_model_dir, max_length=32, batch_size=16)


@pytest.fixture
def trained(untrained):
    """A tiny matcher after one epoch of training with validation pairs, so with a tuned
    threshold and a cascade (a trained start, as the label-free model is)."""
    untrained.fit(pairs_with(12), pairs_with(8), epochs=1, progress=False)
    assert untrained.cascade_ is not None
    return untrained


def test_too_few_labels_keep_a_trained_start_untouched(trained, monkeypatch):
    labels = pairs_with(MIN_PER_CLASS_FOR_VALID - 1)
    before = trained.predict_proba(labels)
    threshold = trained.threshold_

    def no_fit(*args, **kwargs):
        raise AssertionError("a start with too few labels to check a fine-tune was fine-tuned")

    monkeypatch.setattr(trained, "fit", no_fit)
    fit = fine_tune_on_labels(trained, labels, progress=False)
    assert fit.kept == "start" and fit.valid is None and fit.matcher is trained
    assert f"needs {MIN_PER_CLASS_FOR_VALID} of each" in fit.reason
    np.testing.assert_allclose(fit.matcher.predict_proba(labels), before)
    assert fit.matcher.threshold_ == threshold
    assert fit.matcher.train_info_["few_label"]["kept"] == "start"


def test_an_untrained_start_is_fine_tuned_on_every_label(untrained):
    labels = pairs_with(4)
    before = untrained.predict_proba(labels)
    fit = fine_tune_on_labels(untrained, labels, progress=False, fit_kwargs={"epochs": 2})
    assert fit.kept == "fine-tuned" and fit.valid is None and len(fit.train) == len(labels)
    assert "untrained start" in fit.reason
    assert not np.allclose(fit.matcher.predict_proba(labels), before)


def test_a_fine_tune_that_ties_the_start_on_held_out_labels_keeps_the_start(trained):
    """A learning rate of 0 changes nothing: the two tie, and the start comes back as it
    was (the copy taken before the fine-tune: weights, threshold and cascade)."""
    labels = pairs_with(MIN_PER_CLASS_FOR_VALID + 5)
    before = trained.predict_proba(labels)
    threshold, band = trained.threshold_, trained.cascade_.band_
    fit = fine_tune_on_labels(
        trained, labels, progress=False, fit_kwargs={"epochs": 1, "learning_rate": 0.0}
    )
    assert fit.kept == "start" and fit.valid is not None
    assert fit.matcher is not trained, "the fine-tuned matcher came back as the start"
    assert fit.start_f1 == pytest.approx(fit.tuned_f1)
    np.testing.assert_allclose(fit.matcher.predict_proba(labels), before, atol=1e-6)
    assert fit.matcher.threshold_ == threshold
    assert fit.matcher.cascade_.band_ == band
    assert fit.matcher.cascade_.threshold_ == threshold
    assert fit.matcher.train_info_["few_label"]["n_valid"] == len(fit.valid)
    assert "--always-fine-tune" in fit.reason


def test_a_fine_tune_better_on_held_out_labels_replaces_the_start(trained, monkeypatch):
    scores = iter([(0.5, 0.6), (0.5, 0.9)])  # the start's, then the fine-tune's
    monkeypatch.setattr(training, "best_threshold", lambda labels, proba: next(scores))
    fit = fine_tune_on_labels(
        trained, pairs_with(MIN_PER_CLASS_FOR_VALID + 5), progress=False, fit_kwargs={"epochs": 1}
    )
    assert fit.kept == "fine-tuned" and fit.matcher is trained
    assert (fit.start_f1, fit.tuned_f1) == (0.6, 0.9)
    assert "0.900 fine-tuned, 0.600 the start" in fit.reason


def test_a_start_that_beats_the_fine_tune_is_kept_and_saved_as_it_was(
    trained, monkeypatch, tmp_path
):
    from matcher import Matcher

    scores = iter([(0.5, 0.9), (0.4, 0.6)])  # the start's, then the fine-tune's
    monkeypatch.setattr(training, "best_threshold", lambda labels, proba: next(scores))
    threshold = trained.threshold_
    fit = fine_tune_on_labels(
        trained, pairs_with(MIN_PER_CLASS_FOR_VALID + 5), progress=False, fit_kwargs={"epochs": 1}
    )
    assert fit.kept == "start" and fit.matcher is not trained
    fit.matcher.save_pretrained(tmp_path / "kept")
    loaded = Matcher.from_pretrained(tmp_path / "kept")
    assert loaded.threshold_ == threshold and loaded.cascade_.threshold_ == threshold
    assert loaded.train_info_["few_label"]["start_valid_f1"] == 0.9


def test_guard_off_fine_tunes_a_trained_start_on_few_labels(trained):
    labels = pairs_with(4)
    before = trained.predict_proba(labels)
    fit = fine_tune_on_labels(
        trained, labels, progress=False, guard=False, fit_kwargs={"epochs": 2}
    )
    assert fit.kept == "fine-tuned" and "--always-fine-tune" in fit.reason
    assert not np.allclose(fit.matcher.predict_proba(labels), before)


def test_the_decision_is_saved_with_the_model(trained, tmp_path):
    from matcher import Matcher

    fit = fine_tune_on_labels(trained, pairs_with(4), progress=False)
    fit.matcher.save_pretrained(tmp_path / "m")
    loaded = Matcher.from_pretrained(tmp_path / "m")
    assert loaded.train_info_["few_label"]["kept"] == "start"
