"""The labelling session: picks, answers, undo, unsure, resume, review, errors."""

from __future__ import annotations

import itertools
import json

import pandas as pd
import pytest

from bem.label import LabelSession, labels_to_training, read_labels
from bem.label.engine import parse_answer
from data import BemError
from tests.bem.label.helpers import label, oracle, start_session


def test_parse_answer():
    assert [parse_answer(v) for v in (1, "y", "Match", 0, "n", "u", "unsure")] == [
        "1",
        "1",
        "1",
        "0",
        "0",
        "unsure",
        "unsure",
    ]
    for bad in ("maybe", 2, True, None):
        with pytest.raises(ValueError, match="an answer is 1"):
            parse_answer(bad)


def test_a_question_carries_the_pair_its_explanation_and_probability(
    records, tiny_matcher, tmp_path
):
    with start_session(records, tiny_matcher, tmp_path / "l.csv") as s:
        q = s.next_question()
        assert s.next_question() is q  # the same question until it is answered
        assert q.number == 1 and q.reason == "uncertain" and q.model_round == 0
        assert q.left == records.loc[q.left_id].to_dict()
        assert {f.attribute for f in q.explanation.fields} == set(records.columns)
        assert q.explanation.probability == pytest.approx(q.probability, abs=1e-4)
        rows = q.fields()
        assert [r.attribute for r in rows] == list(records.columns)
        assert all(r.left_score is not None for r in rows)
        # the first pick is the pool's pair closest to the threshold
        distance = abs(s.probabilities_ - s.threshold_)
        assert distance[s._index[q.pair]] == pytest.approx(distance.min(), abs=1e-6)


def test_picks_keep_both_classes_coming_and_spread_over_records(records, tiny_matcher, tmp_path):
    with start_session(records, tiny_matcher, tmp_path / "l.csv", audit_every=0) as s:
        qs = []
        for _ in range(8):
            q = s.next_question()
            qs.append(q)
            s.answer(0)
    predicted = [q.predicted for q in qs]
    assert predicted == [predicted[0], 1 - predicted[0]] * 4  # alternating classes
    for a, b in itertools.pairwise(qs):  # consecutive questions share no record
        assert not set(a.pair) & set(b.pair)


def test_every_fifth_question_is_an_audit_pair_held_out_of_training(
    records, tiny_matcher, truth, tmp_path
):
    with start_session(records, tiny_matcher, tmp_path / "l.csv", explain=False) as s:
        label(s, oracle(truth), 10)
        answers = read_labels(tmp_path / "l.csv", unordered=True)
        assert answers["reason"].tolist()[4] == "audit" and answers["reason"].tolist()[9] == "audit"
        assert answers["weight"].notna().sum() == 2
        held_out = set(
            zip(*answers[answers["reason"] == "audit"][["ltable_id", "rtable_id"]].T.values)
        )
        training = set(zip(s.training_labels()["ltable_id"], s.training_labels()["rtable_id"]))
        assert len(training) == 8 and not training & held_out
        e = s.status().estimate
        assert e.n == 2


def test_unsure_is_kept_as_unsure_and_used_for_neither_class(records, tiny_matcher, tmp_path):
    path = tmp_path / "l.csv"
    with start_session(records, tiny_matcher, path, explain=False) as s:
        s.next_question()
        s.answer(1)
        unsure = s.next_question()
        s.answer("unsure")
        s.next_question()
        s.answer(0)
        status = s.status()
        assert (status.matches, status.non_matches, status.unsure) == (1, 1, 1)
        assert len(s.training_labels()) == 2
    rows = read_labels(path, unordered=True)
    assert rows["label"].tolist() == ["1", "unsure", "0"]
    training = labels_to_training(path, records)
    assert len(training) == 2 and unsure.pair not in set(
        zip(training.pairs["ltable_id"], training.pairs["rtable_id"])
    )


def test_undo_appends_a_retraction_and_asks_the_pair_again(records, tiny_matcher, tmp_path):
    path = tmp_path / "l.csv"
    with start_session(records, tiny_matcher, path, explain=False) as s:
        first = s.next_question()
        s.answer(1)
        second = s.next_question()
        s.answer(0)
        undone = s.undo()
        assert undone.pair == second.pair and undone.label == "0"
        again = s.next_question()
        assert again.pair == second.pair and again.reason == second.reason
        s.answer(1)  # corrected
        assert s.undo().pair == second.pair
        assert s.undo().pair == first.pair
        assert s.next_question().pair == first.pair
        s.answer(0)
        assert s.status().answered == 1 and s.status().undone == 3
    labels = path.read_text().splitlines()[1:]
    assert [line.split(",")[2] for line in labels] == ["1", "0", "undo", "1", "undo", "undo", "0"]
    assert read_labels(path, unordered=True)[["ltable_id", "label"]].values.tolist() == [
        [first.left_id, "0"]
    ]
    with start_session(records, tiny_matcher, tmp_path / "other.csv", explain=False) as s:
        assert s.undo() is None


def test_reopening_resumes_and_never_asks_an_answered_pair(records, tiny_matcher, truth, tmp_path):
    path = tmp_path / "l.csv"
    s = start_session(records, tiny_matcher, path, explain=False)
    asked = label(s, oracle(truth), 12)
    s.next_question()  # shown, never answered
    s.log_.close()  # the process dies: no close(), only its file is gone
    del s
    with start_session(records, tiny_matcher, path, explain=False) as s:
        status = s.status()
        assert status.answered == 12
        rest = label(s, oracle(truth), 10_000)
    assert not set(asked) & set(rest)
    assert len(asked) + len(rest) == status.pool
    assert len(read_labels(path, unordered=True)) == status.pool
    with start_session(records, tiny_matcher, path, explain=False) as s:
        assert s.next_question() is None


def test_a_session_killed_after_an_undo_asks_the_undone_pair_first(records, tiny_matcher, tmp_path):
    path = tmp_path / "l.csv"
    s = start_session(records, tiny_matcher, path, explain=False)
    label(s, lambda q: 0, 3)
    undone = s.undo()
    s.log_.close()
    with start_session(records, tiny_matcher, path, explain=False) as s:
        assert s.next_question().pair == undone.pair


def test_a_labels_file_of_other_tables_is_refused(records, tiny_matcher, tmp_path):
    path = tmp_path / "l.csv"
    path.write_text(
        "ltable_id,rtable_id,label,probability,threshold,reason,weight,model_round,timestamp\n"
        "r0,zz9,1,0.5,0.5,uncertain,,0,2026-01-01T00:00:00+00:00\n"
    )
    with pytest.raises(BemError, match=r"line 2: id 'zz9' is not in"):
        start_session(records, tiny_matcher, path)


def test_answers_need_the_open_question(records, tiny_matcher, tmp_path):
    with start_session(records, tiny_matcher, tmp_path / "l.csv", explain=False) as s:
        with pytest.raises(ValueError, match="no question is open"):
            s.answer(1)
        q = s.next_question()
        with pytest.raises(ValueError, match="the open question is the pair"):
            s.answer(1, pair=("r0", "nope"))
        s.answer(1, pair=q.pair)
    with pytest.raises(RuntimeError, match="closed"):
        s.next_question()


def test_linkage_keeps_the_pair_order(link_data, tiny_matcher, tmp_path):
    left, right = link_data
    path = tmp_path / "l.csv"
    with LabelSession(
        left, right, tiny_matcher, labels=path, top_k=2, retrain_every=0, explain=False
    ).start() as s:
        asked = label(s, lambda q: 1, 3)
    assert all(a in left.index and b in right.index for a, b in asked)
    pairs = labels_to_training(path, left, right)
    assert list(zip(pairs.pairs["ltable_id"], pairs.pairs["rtable_id"])) == asked


def _review_run(tmp_path, records) -> object:
    out = tmp_path / "run"
    out.mkdir()
    ids = records.index[:6]
    review = pd.DataFrame(
        {
            "ltable_id": [ids[0], ids[2], ids[4]],
            "rtable_id": [ids[1], ids[3], ids[5]],
            "probability": [0.41, 0.38, 0.2],
            "decision": [1, 0, 0],
            "same_entity": [1, 0, 0],
            "review_reason": ["lowest-confidence merge", "strongest rejection", "random sample"],
        }
    )
    review.to_csv(out / "review.csv", index=False)
    config = {"mode": "dedup", "inputs": ["records.csv"], "model": "m", "output": str(out)}
    (out / "run.json").write_text(json.dumps({"config": config}))
    return out


def test_review_mode_asks_the_runs_review_pairs_in_order(records, tiny_matcher, tmp_path):
    from bem.label import read_review

    run = read_review(_review_run(tmp_path, records))
    assert run.mode == "dedup" and run.model == "m"
    path = tmp_path / "l.csv"
    with start_session(records, tiny_matcher, path, review=run.pairs, retrain_every=5) as s:
        q = s.next_question()
        assert q.reason == "review: lowest-confidence merge" and q.run_decision == 1
        s.answer(0)
        assert s.next_question().reason == "review: strongest rejection"
        s.answer(1)
        assert s.status().mode == "review" and s.retrain_every == 0
    with start_session(records, tiny_matcher, path, review=run.pairs) as s:
        q = s.next_question()
        assert q.reason == "review: random sample" and q.run_decision == 0
        s.answer(0)
        assert s.next_question() is None
    assert len(read_labels(path)) == 3


def test_review_ids_escaped_for_spreadsheets_are_read_back(records, tmp_path):
    from bem.label import read_review

    out = _review_run(tmp_path, records)
    text = (out / "review.csv").read_text().replace(records.index[0], "'=HYPERLINK(x)", 1)
    (out / "review.csv").write_text(text)
    assert read_review(out).pairs["ltable_id"][0] == "=HYPERLINK(x)"
    with pytest.raises(BemError, match=r"no review\.csv"):
        read_review(tmp_path)
