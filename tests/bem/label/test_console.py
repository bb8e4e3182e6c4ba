"""``bem label --console``: the session through an input and an output stream."""

from __future__ import annotations

import io

from bem.label import read_labels, run_console
from bem.label.console import format_question
from bem.label.question import signed
from tests.bem.label.helpers import start_session


def test_the_console_labels_undoes_and_quits_through_its_streams(records, tiny_matcher, tmp_path):
    path = tmp_path / "labels.csv"
    stdin = io.StringIO("y\nn\nwhat\nu\nz\nn\ns\nq\n")
    stdout = io.StringIO()
    with start_session(records, tiny_matcher, path) as s:
        given = run_console(s, stdin=stdin, stdout=stdout, width=90)
    text = stdout.getvalue()
    assert given == 4
    assert text.count("── question 1:") == 1 and "── question 3:" in text
    assert "unknown answer 'what'" in text
    assert "undone: " in text and "(unsure)" in text
    assert "P(match) " in text and "why asked: the model is least sure" in text
    assert "3 answered (1 match, 2 no match, 0 unsure)" in text
    rows = path.read_text().splitlines()[1:]
    assert [r.split(",")[2] for r in rows] == ["1", "0", "unsure", "undo", "0"]
    assert read_labels(path, unordered=True)["label"].tolist() == ["1", "0", "0"]


def test_end_of_input_quits_and_resuming_goes_on(records, tiny_matcher, tmp_path):
    path = tmp_path / "labels.csv"
    for answers, expected in (("y\n", 1), ("n\nn\n", 3)):
        with start_session(records, tiny_matcher, path, explain=False) as s:
            assert run_console(s, stdin=io.StringIO(answers), stdout=io.StringIO()) == len(
                answers.split()
            )
        assert len(read_labels(path, unordered=True)) == expected


def test_a_question_shows_both_values_and_their_scores_side_by_side(
    records, tiny_matcher, tmp_path
):
    with start_session(records, tiny_matcher, tmp_path / "l.csv") as s:
        q = s.next_question()
    text = format_question(q, width=100)
    for row in q.fields():
        line = next(t for t in text.splitlines() if t.startswith(row.attribute))
        assert signed(row.left_score) in line and signed(row.right_score) in line
        assert (row.left or "-")[:10] in line
