"""The labels file: append-only rows, replay with undo, resume, training pairs."""

from __future__ import annotations

import pandas as pd
import pytest

from bem.label.store import LABEL_COLUMNS, LabelLog, labels_to_training, read_labels, replay
from data import BemError


def _table(ids):
    return pd.DataFrame({"title": [f"t{i}" for i in ids]}, index=pd.Index(ids, name="id"))


def test_every_row_is_on_disk_when_append_returns(tmp_path):
    path = tmp_path / "labels.csv"
    log = LabelLog(path)
    log.append(("a", "b"), "1", probability=0.7, threshold=0.5, reason="uncertain", model_round=0)
    lines = path.read_text().splitlines()  # read while the log is still open
    assert lines[0] == ",".join(LABEL_COLUMNS)
    assert lines[1].startswith("a,b,1,0.7,0.5,uncertain,,0,")
    log.close()


def test_undo_retracts_the_latest_answer_of_its_pair(tmp_path):
    path = tmp_path / "labels.csv"
    log = LabelLog(path)
    log.append(("a", "b"), "1")
    log.append(("a", "c"), "unsure")
    log.append(("a", "b"), "0")
    log.append(("a", "b"), "undo")  # back to the first answer of (a, b)
    log.append(("a", "d"), "0")
    log.append(("a", "d"), "undo")
    log.close()
    current = replay(LabelLog(path).answers, unordered=False)
    assert {k: a.label for k, a in current.items()} == {("a", "b"): "1", ("a", "c"): "unsure"}
    frame = read_labels(path)
    assert frame[["ltable_id", "rtable_id", "label"]].values.tolist() == [
        ["a", "b", "1"],
        ["a", "c", "unsure"],
    ]


def test_a_torn_last_line_is_dropped_and_appends_start_on_a_new_line(tmp_path, caplog):
    path = tmp_path / "labels.csv"
    log = LabelLog(path)
    log.append(("a", "b"), "1")
    log.close()
    with path.open("a") as f:
        f.write("a,c,0,0.3")  # a write cut short by a kill
    log = LabelLog(path)
    assert [a.pair for a in log.answers] == [("a", "b")]
    assert "incomplete last line" in caplog.text
    log.append(("a", "c"), "0")
    log.close()
    assert [a.label for a in LabelLog(path).answers] == ["1", "0"]


def test_two_sessions_cannot_write_one_file(tmp_path):
    path = tmp_path / "labels.csv"
    first = LabelLog(path)
    with pytest.raises(BemError, match="another bem label session"):
        LabelLog(path)
    first.close()
    LabelLog(path).close()  # free again


def test_ids_with_commas_quotes_and_formula_characters_round_trip(tmp_path):
    path = tmp_path / "labels.csv"
    log = LabelLog(path)
    log.append(('x,"1"', "=SUM(A1)"), "1")
    log.close()
    assert LabelLog(path).answers[0].pair == ('x,"1"', "=SUM(A1)")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("ltable_id,rtable_id,label\na,b,1\n", "not a bem label file"),
        (",".join(LABEL_COLUMNS) + "\na,b,maybe,,,,,,\n", "label must be 1, 0, unsure or undo"),
        (",".join(LABEL_COLUMNS) + "\na,b,1\n", "3 fields, expected 9"),
        (",".join(LABEL_COLUMNS) + "\na,,1,,,,,,\n", "empty ltable_id or rtable_id"),
        (",".join(LABEL_COLUMNS) + "\na,b,1,high,,,,,\n", "'high' is not a number"),
    ],
)
def test_a_bad_file_names_the_problem(tmp_path, text, message):
    path = tmp_path / "labels.csv"
    path.write_text(text)
    with pytest.raises(BemError, match=message):
        LabelLog(path)
    with pytest.raises(BemError, match=message):
        read_labels(path)


def test_labels_to_training_keeps_the_latest_1_or_0_of_each_pair(tmp_path):
    left, right = _table(["a", "b", "c"]), _table(["x", "y", "z", "w"])
    path = tmp_path / "labels.csv"
    log = LabelLog(path)
    log.append(("a", "x"), "1")
    log.append(("a", "y"), "0")
    log.append(("b", "x"), "unsure")  # used for neither class
    log.append(("a", "y"), "1")  # the latest answer wins
    log.append(("c", "z"), "0")
    log.append(("c", "z"), "undo")  # undone: dropped
    log.append(("c", "w"), "0")
    log.close()
    pairs = labels_to_training(path, left, right)
    got = pairs.pairs[["ltable_id", "rtable_id", "label"]].values.tolist()
    assert got == [["a", "x", 1], ["a", "y", 1], ["c", "w", 0]]
    assert pairs.left is left and pairs.right is right


def test_labels_to_training_in_dedup_treats_a_pair_as_unordered(tmp_path):
    records = _table(["a", "b"])
    path = tmp_path / "labels.csv"
    log = LabelLog(path)
    log.append(("a", "b"), "1")
    log.append(("b", "a"), "0")
    log.close()
    pairs = labels_to_training(path, records)
    assert pairs.pairs[["ltable_id", "rtable_id", "label"]].values.tolist() == [["b", "a", 0]]
    assert pairs.right is records


def test_labels_to_training_errors(tmp_path):
    path = tmp_path / "labels.csv"
    log = LabelLog(path)
    log.append(("a", "b"), "unsure")
    log.close()
    with pytest.raises(BemError, match="no pair is labelled 1 or 0"):
        labels_to_training(path, _table(["a", "b"]))
    log = LabelLog(path)
    log.append(("a", "q"), "1")
    log.close()
    with pytest.raises(BemError, match=r"rtable_id not found in the right table on line\(s\) 3"):
        labels_to_training(path, _table(["a", "b"]), _table(["b"]))
    with pytest.raises(BemError, match="no such labels file"):
        labels_to_training(tmp_path / "missing.csv", _table(["a"]))
