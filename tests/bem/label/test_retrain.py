"""Retraining: in the background, without holding up the questions, then swapped in."""

from __future__ import annotations

import json
import os
import time

import numpy as np

from bem.label import retrain_fit
from tests.bem.label.helpers import label, oracle, start_session


def test_retrain_fit_presents_about_3200_pairs():
    assert retrain_fit(20)["epochs"] == 20
    assert retrain_fit(400)["epochs"] == 8
    assert retrain_fit(5000)["epochs"] == 4


def test_inline_retrain_swaps_in_a_new_model_every_n_labels(records, tiny_matcher, tmp_path):
    with start_session(
        records,
        tiny_matcher,
        tmp_path / "l.csv",
        retrain_every=4,
        background=False,
        explain=False,
        fit_kwargs={"epochs": 2},
    ) as s:
        before = s.probabilities_.copy()
        label(s, lambda q: q.number % 2, 4)  # both classes
        assert s.round_ == 0  # inline: it trains when the next question is asked
        assert s.next_question().model_round == 1
        assert s.round_ == 1 and s.retrain_seconds_
        assert not np.allclose(before, s.probabilities_)


def test_an_inline_session_closed_after_its_last_answer_trains_nothing_more(
    records, tiny_matcher, tmp_path
):
    options = dict(retrain_every=4, background=False, explain=False, fit_kwargs={"epochs": 1})
    with start_session(records, tiny_matcher, tmp_path / "l.csv", **options) as s:
        label(s, lambda q: q.number % 2, 4)
        status = s.status()
    assert status.answered == 4 and status.model_round == 0 and not s.retrain_seconds_
    assert s._retrainer is None  # no retrain was ever submitted


def _wait_until_fitting(session) -> None:
    """Until the child process has loaded everything and fine-tunes (its start-up, the
    imports, is not what the latency test measures)."""
    assert session.retraining, "no retrain started"
    deadline = time.monotonic() + 600
    while not (session._retrainer.out_dir / "fitting").exists():
        assert session.retraining, f"the retrain ended: {session._retrainer.out_dir}"
        assert time.monotonic() < deadline, "the child never started fitting"
        time.sleep(0.2)


def test_a_background_retrain_is_swapped_in(records, tiny_matcher, tmp_path):
    with start_session(
        records,
        tiny_matcher,
        tmp_path / "l.csv",
        retrain_every=4,
        explain=False,
        fit_kwargs={"epochs": 1},
    ) as s:
        label(s, lambda q: q.number % 2, 4)
        assert s.retraining
        assert s.wait_for_retrain(timeout=900)
        assert s.round_ == 1 and len(s.retrain_seconds_) == 1
        assert s.next_question().model_round == 1
        assert s.status().model_round == 1 and not s.status().retraining


def test_questions_keep_coming_within_a_second_while_a_retrain_runs(
    records, tiny_matcher, truth, tmp_path
):
    """The wait for the next question while the child process fine-tunes (tiny model):
    answered at once (the explanation is computed while the user waits), and after one
    second of reading (the next pair was explained meanwhile). Printed: run with -s."""
    answer = oracle(truth)
    with start_session(
        records,
        tiny_matcher,
        tmp_path / "l.csv",
        top_k=6,
        retrain_every=6,
        threads=1,
        retrain_threads=1,
        fit_kwargs={"epochs": 3000},
    ) as s:
        label(s, lambda q: q.number % 2, 7)  # both classes; question 5 is an audit
        _wait_until_fitting(s)
        waits: dict[float, list[float]] = {0.0: [], 1.0: []}
        for reading, n in ((0.0, 10), (1.0, 15)):
            for _ in range(n):
                start = time.perf_counter()
                q = s.next_question()
                waits[reading].append(time.perf_counter() - start)
                assert q is not None, "pool exhausted during the retrain"
                time.sleep(reading)
                s.answer(answer(q))
        assert s.retraining, "the retrain ended before the measurement did"
        report = {
            f"reading {reading:.0f} s": {
                "questions": len(w),
                "p50_s": round(float(np.percentile(w, 50)), 3),
                "p90_s": round(float(np.percentile(w, 90)), 3),
            }
            for reading, w in waits.items()
        }
        report["machine"] = f"{os.cpu_count()} cores; tiny random BERT (tests/conftest.py)"
        print(f"\nnext-question wait during a retrain: {json.dumps(report)}")
        assert report["reading 1 s"]["p90_s"] < 1.0, report


def test_no_new_round_starts_between_a_retrain_ending_and_its_swap(
    records, tiny_matcher, tmp_path, monkeypatch
):
    """The watcher marks the child done before the model is swapped in; a round started in
    that window reused the finished round's number and deleted its folder (seen by
    bench/label_latency.py: 'round-2/model/model.safetensors' missing)."""
    from bem.label.retrain import Retrainer

    submitted: list[int] = []
    real_submit = Retrainer.submit

    def counting(self, labels, round_, done):
        submitted.append(round_)
        return real_submit(self, labels, round_, done)

    monkeypatch.setattr(Retrainer, "submit", counting)
    with start_session(
        records,
        tiny_matcher,
        tmp_path / "l.csv",
        retrain_every=2,
        explain=False,
        fit_kwargs={"epochs": 1},
    ) as s:
        label(s, lambda q: q.number % 2, 2)
        assert submitted == [1] and s.retraining
        s._retrainer.wait()  # the child ended and round 1 was swapped in...
        s._retraining = True  # ...replay the window: the child is done, the swap is not
        s._retrainer._busy = False
        label(s, lambda q: q.number % 2, 3)
        assert submitted == [1], "a new round started before the swap"
        s._retraining = False
        label(s, lambda q: q.number % 2, 1)
        assert submitted == [1, 2]
        assert s.wait_for_retrain(timeout=900) and s.round_ == 2


def _trained_start(records, dedup_data, tiny_model_dir):
    """A tiny matcher fitted one epoch on the records' own pairs: a trained start."""
    from data import RecordPairs
    from matcher import Matcher

    pairs = dedup_data.pairs[["ltable_id", "rtable_id", "label"]]
    matcher = Matcher(model=tiny_model_dir, max_length=48, batch_size=16)
    matcher.fit(RecordPairs(records, records, pairs), epochs=1, progress=False)
    return matcher


def test_a_trained_start_is_not_retrained_before_25_labels_of_each_class(
    records, dedup_data, tiny_model_dir, tmp_path
):
    """The few-label rule would keep it: no retrain runs, and the status says why."""
    from bem.label.console import format_status

    start = _trained_start(records, dedup_data, tiny_model_dir)
    options = dict(retrain_every=4, background=False, explain=False, fit_kwargs={"epochs": 1})
    with start_session(records, start, tmp_path / "a.csv", **options) as s:
        label(s, lambda q: q.number % 2, 8)
        assert s.round_ == 0 and not s.retrain_seconds_
        assert "needs 25 match and 25 no-match labels" in format_status(s.status())
    with start_session(records, start, tmp_path / "b.csv", retrain_guard=False, **options) as s:
        before = s.probabilities_.copy()
        label(s, lambda q: q.number % 2, 4)
        assert s.next_question().model_round == 1
        assert not np.allclose(before, s.probabilities_)
        assert "--always-fine-tune: not compared" in s.status().model_note
