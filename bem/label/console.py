"""``bem label --console``: the labelling session in a terminal (a user on SSH).

:func:`run_console` shows each question as a table (attribute, the two values,
the explanation's score of each side), the model's P(match) and why the pair is
asked, then reads one answer per line from ``stdin``::

    y / 1   match          n / 0   no match       u / ?   unsure
    z       undo           s       progress       q       quit (end of input too)

Any stream pair works (tests use :class:`io.StringIO`).
"""

from __future__ import annotations

import sys
import textwrap
from itertools import zip_longest
from typing import TYPE_CHECKING, TextIO

from bem.label.question import signed

if TYPE_CHECKING:
    from bem.label.engine import LabelSession
    from bem.label.question import Question, Status

__all__ = ["format_question", "format_status", "run_console"]

HELP = "[y] match  [n] no match  [u] unsure  [z] undo  [s] progress  [q] quit"
_COMMANDS = {"y": "1", "yes": "1", "1": "1", "n": "0", "no": "0", "0": "0"}
_COMMANDS |= {"u": "unsure", "unsure": "unsure", "?": "unsure", "z": "undo", "undo": "undo"}
_COMMANDS |= {"s": "stats", "q": "quit", "quit": "quit", "exit": "quit"}


def _interval(name: str, value: float | None, ci: tuple[float, float] | None) -> str:
    if value is None:
        return f"{name} -"
    return f"{name} {value:.2f}" + (f" [{ci[0]:.2f}, {ci[1]:.2f}]" if ci else "")


def format_status(p: Status) -> str:
    """One line: answers by class, what is left, the model round and the estimate."""
    e = p.estimate
    retrain = ", retraining" if p.retraining else ""
    line = (
        f"{p.answered} answered ({p.matches} match, {p.non_matches} no match, "
        f"{p.unsure} unsure), {p.remaining} of {p.pool} left; model round {p.model_round}"
        f"{retrain}" + (f" ({p.model_note})" if p.model_note else "")
    )
    if p.mode == "review":
        return line
    if e.n == 0:
        return line + "; estimate: none yet (needs audit answers)"
    figures = ", ".join(
        _interval(n, v, c)
        for n, v, c in (
            ("P", e.precision, e.precision_ci),
            ("R", e.recall, e.recall_ci),
            ("F1", e.f1, e.f1_ci),
        )
    )
    return f"{line}\nestimate from {e.n} audit pairs ({e.matches} matches): {figures}"


def format_question(q: Question, *, width: int = 100) -> str:
    """The question as text: a header, P(match), then one block per attribute."""
    verdict = "match" if q.predicted else "no match"
    lines = [
        f"── question {q.number}: {q.left_id} vs {q.right_id} " + "─" * 20,
        f"P(match) {q.probability:.3f} (threshold {q.threshold:.3f}): the model says {verdict}",
        f"why asked: {q.reason_text}",
    ]
    if q.run_decision is not None:
        lines.append(f"the run {'merged them' if q.run_decision else 'kept them apart'}")
    rows = q.fields()
    name_w = min(max((len(r.attribute) for r in rows), default=8), 16)
    value_w = max(12, (width - name_w - 2 * 7 - 4) // 2)
    lines.append(f"{'':{name_w}}  {'left':{value_w}} score  {'right':{value_w}} score")
    for r in rows:
        left = textwrap.wrap(r.left or "-", value_w) or ["-"]
        right = textwrap.wrap(r.right or "-", value_w) or ["-"]
        for n, (a, b) in enumerate(zip_longest(left, right, fillvalue="")):
            name = r.attribute[:name_w] if n == 0 else ""
            ls = signed(r.left_score) if n == 0 else ""
            rs = signed(r.right_score) if n == 0 else ""
            lines.append(f"{name:{name_w}}  {a:{value_w}} {ls:>5}  {b:{value_w}} {rs:>5}")
    lines.append("scores: + pushes towards match, - towards no match")
    return "\n".join(lines)


def run_console(
    session: LabelSession,
    *,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    width: int = 100,
) -> int:
    """Ask ``session``'s questions on ``stdout`` and read answers from ``stdin``
    until ``q``, the end of input or the last pair; returns the answers given.

    The session is left open (the caller closes it).
    """
    stdin = sys.stdin if stdin is None else stdin
    stdout = sys.stdout if stdout is None else stdout

    def say(text: str) -> None:
        stdout.write(text + "\n")
        stdout.flush()

    given = 0
    say(format_status(session.status()))
    while True:
        q = session.next_question()
        if q is None:
            say("no pair left to ask: every pair of the pool is answered")
            break
        say("")
        say(format_question(q, width=width))
        command = None
        while command is None:
            stdout.write(f"{HELP} > ")
            stdout.flush()
            line = stdin.readline()
            if line == "":
                command = "quit"
                say("")
                break
            command = _COMMANDS.get(line.strip().lower())
            if command is None:
                say(f"unknown answer {line.strip()!r}; type one of: {HELP}")
            elif command == "stats":
                say(format_status(session.status()))
                command = None
        if command == "quit":
            break
        if command == "undo":
            undone = session.undo()
            say("nothing to undo" if undone is None else f"undone: {undone.pair} ({undone.label})")
            continue
        session.answer(command)
        given += 1
    say(format_status(session.status()))
    return given
