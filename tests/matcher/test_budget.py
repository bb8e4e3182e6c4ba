"""fit(max_minutes=...): the epochs are cut to the budget at the first epoch's pace."""

from __future__ import annotations

import types

import pytest

from matcher import Matcher
from matcher import budget as budget_module
from matcher import training as training_module
from matcher.budget import epochs_within


def test_epochs_within_counts_the_epochs_that_end_in_time():
    assert epochs_within(35.0, 10.0, 10.0, 6) == 3  # 10 s spent, two more fit in 25 s
    assert epochs_within(35.0, 12.0, 10.0, 2) == 2  # never more than planned
    assert epochs_within(5.0, 10.0, 10.0, 6) == 1  # over already: the epoch run stays
    assert epochs_within(100.0, 10.0, 0.0, 4) == 4  # a zero pace does not divide by zero


class Clock:
    """A fake ``time`` module: each validation pass costs the next of ``epochs`` seconds."""

    def __init__(self, epochs: list[float]) -> None:
        self.now, self.epochs = 0.0, list(epochs)

    def perf_counter(self) -> float:
        return self.now

    def tick(self) -> None:
        self.now += self.epochs.pop(0)


def _fit(monkeypatch, tiny_model_dir, toy_pairs, seconds, max_minutes, epochs=6):
    clock = Clock(seconds)
    fake = types.SimpleNamespace(perf_counter=clock.perf_counter)
    monkeypatch.setattr(training_module, "time", fake)
    monkeypatch.setattr(budget_module, "time", fake)
    m = Matcher(model=tiny_model_dir, max_length=32, seed=0)
    real = m.predict_proba

    def validate(*args, **kwargs):
        clock.tick()
        return real(*args, **kwargs)

    monkeypatch.setattr(m, "predict_proba", validate)
    m.fit(
        toy_pairs(96, 0),
        toy_pairs(40, 1),
        epochs=epochs,
        learning_rate=3e-3,
        batch_size=16,
        early_stopping=None,
        max_minutes=max_minutes,
        cascade=False,
        progress=False,
    )
    return m


def test_the_first_epoch_sets_how_many_epochs_fit(monkeypatch, tiny_model_dir, toy_pairs):
    m = _fit(monkeypatch, tiny_model_dir, toy_pairs, [10.0] * 6, max_minutes=35 / 60)
    assert len(m.history_) == 3  # 10 s an epoch: three end within 35 s
    assert m.train_info_["stopped_by"] == "time_budget"
    assert m.train_info_["hyperparameters"]["max_minutes"] == pytest.approx(35 / 60)
    assert m.threshold_ is not None


def test_a_slower_epoch_stops_training_before_it_overruns(monkeypatch, tiny_model_dir, toy_pairs):
    # planned to 3 at 10 s; the second epoch takes 30 s, so a third would end past 35 s
    m = _fit(monkeypatch, tiny_model_dir, toy_pairs, [10.0, 30.0, 10.0], max_minutes=35 / 60)
    assert len(m.history_) == 2
    assert m.train_info_["stopped_by"] == "time_budget"


def test_a_budget_that_does_not_bind_changes_nothing(monkeypatch, tiny_model_dir, toy_pairs):
    free = _fit(monkeypatch, tiny_model_dir, toy_pairs, [1.0] * 3, max_minutes=None, epochs=3)
    roomy = _fit(monkeypatch, tiny_model_dir, toy_pairs, [1.0] * 3, max_minutes=10.0, epochs=3)
    assert [h["loss"] for h in roomy.history_] == [h["loss"] for h in free.history_]
    assert roomy.train_info_["stopped_by"] is None and len(roomy.history_) == 3


@pytest.mark.parametrize("bad", [0, -1.0])
def test_a_budget_must_be_positive(tiny_model_dir, toy_pairs, bad):
    m = Matcher(model=tiny_model_dir, max_length=32, seed=0)
    with pytest.raises(ValueError, match="max_minutes"):
        m.fit(toy_pairs(32, 0), toy_pairs(16, 1), epochs=1, max_minutes=bad, progress=False)
