"""Helpers of the ``bem label`` tests: an oracle and a labelling loop."""

from __future__ import annotations

from collections.abc import Callable


def oracle(truth: set[tuple[str, str]]) -> Callable:
    """An answer function: 1 when the question's pair is a true duplicate, else 0."""
    return lambda q: int(tuple(sorted(q.pair)) in truth)


def label(session, answer: Callable, n: int) -> list[tuple[str, str]]:
    """Answer ``n`` questions with ``answer``; return the pairs asked, in order."""
    asked = []
    for _ in range(n):
        q = session.next_question()
        if q is None:
            break
        asked.append(q.pair)
        session.answer(answer(q))
    return asked


def start_session(records, matcher, path, right=None, **kwargs):
    """A started :class:`bem.label.LabelSession` on ``records`` (a small pool: top 3
    candidates per record, no retraining unless asked)."""
    from bem.label import LabelSession

    kwargs = {"top_k": 3, "retrain_every": 0, **kwargs}
    return LabelSession(records, right, matcher, labels=path, **kwargs).start()
