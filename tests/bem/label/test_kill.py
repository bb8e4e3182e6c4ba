"""A labelling session killed mid-way (SIGKILL) resumes with nothing lost, nothing asked twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from bem.label import read_labels
from data import load_table, write_table
from tests.bem.label.helpers import label, start_session

ROOT = Path(__file__).resolve().parents[3]

CHILD = textwrap.dedent(
    """
    import sys, time
    sys.path.insert(0, sys.argv[1])
    import torch
    torch.set_num_threads(1)
    from bem.label import LabelSession
    from data import load_table
    from matcher import Matcher

    records = load_table(sys.argv[2])
    session = LabelSession(records, None, Matcher.from_pretrained(sys.argv[3]),
                           labels=sys.argv[4], top_k=3, retrain_every=0).start()
    for n in range(1, 9):
        q = session.next_question()
        session.answer("unsure" if n == 3 else n % 2)
        if n == 6:
            session.undo()
        print(",".join(q.pair), flush=True)  # after answer() returned: on disk
    session.next_question()
    print("waiting", flush=True)
    time.sleep(600)  # killed here, a question open, the session never closed
    """
)


def test_a_killed_session_resumes_with_nothing_lost_and_nothing_asked_twice(
    records, tiny_matcher, model_dir, tmp_path
):
    table = write_table(records, tmp_path / "records.csv")
    path = tmp_path / "labels.csv"
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(ROOT), str(table), str(model_dir), str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "TMPDIR": str(tmp_path)},  # what a SIGKILL leaves stays in here
    )
    try:
        lines = []
        while (line := child.stdout.readline().strip()) != "waiting":
            assert line, f"the child ended early (exit {child.poll()})"
            lines.append(tuple(line.split(",")))
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    assert child.returncode == -signal.SIGKILL and len(lines) == 8
    rows = path.read_text().splitlines()[1:]
    assert [r.split(",")[2] for r in rows] == ["1", "0", "unsure", "0", "1", "0", "undo", "1", "0"]
    answered = read_labels(path, unordered=True)
    # question 6 was undone, so question 7 asked its pair again
    assert lines[6] == lines[5] and len(answered) == 7
    assert set(zip(answered["ltable_id"], answered["rtable_id"])) == set(lines)
    with start_session(load_table(table), tiny_matcher, path, explain=False) as s:
        status = s.status()
        assert (status.answered, status.matches, status.unsure, status.undone) == (7, 3, 1, 1)
        rest = label(s, lambda q: 0, 10_000)
    assert not set(rest) & set(lines)
    assert len(read_labels(path, unordered=True)) == status.pool == 7 + len(rest)
