"""The ``bem label`` command: its parser (:func:`add_label_parser`) and :func:`cmd_label`.

Like the commands of :mod:`bem.commands`, :func:`cmd_label` prints a short
summary (this is the command line) and raises :class:`data.BemError` on bad
input, which :func:`bem.cli.main` turns into one line and exit code 2.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from pathlib import Path
from typing import Any

from data import BemError

__all__ = ["add_label_parser", "cmd_label"]

logger = logging.getLogger("bem")

EPILOG = (
    "Every answer is appended to the --labels file and flushed at once: a session "
    "started again on the same file resumes, and never asks an answered pair twice. "
    "Keys: y match, n no match, u unsure (kept as unsure, used for neither class), "
    "z undo (appends a row retracting the last answer), q quit. "
    "`bem train --labels FILE` trains on the answers."
)


def add_label_parser(subparsers: Any) -> None:
    """Add the ``label`` command and its options to ``subparsers``."""
    p = subparsers.add_parser(
        "label",
        help="label pairs with the model's explanation beside each (browser or terminal)",
        description="Active-learning labelling: the pairs the model is least sure of, "
        "both classes in turn, a retrain in the background every few answers, and an "
        "estimate of precision/recall/F1 to tell when to stop. With --review, the "
        "review pairs of a finished bem dedup/link run instead.",
        epilog=EPILOG,
    )
    p.add_argument("tables", nargs="+", metavar="TABLE", help="one table (dedup) or two (link)")
    p.add_argument("--labels", required=True, help="labels CSV: created, or resumed if it exists")
    mode = p.add_mutually_exclusive_group(required=True)
    mode.add_argument("--serve", action="store_true", help="label in a local web page")
    mode.add_argument("--console", action="store_true", help="label in this terminal")
    p.add_argument("--host", default="127.0.0.1", help="--serve: address (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=0, help="--serve: port (default: a free one)")
    p.add_argument(
        "--model",
        help="starting model directory (default: the run's model with --review, else a "
        "label-free model trained on the tables first)",
    )
    p.add_argument(
        "--review",
        metavar="OUT_DIR",
        help="ask the review pairs of this bem dedup/link output folder (no retraining)",
    )
    from bem.cli import _add_key_options  # here: bem.cli imports this module

    _add_key_options(p)  # --key (repeatable), --top-k, --id-column, as the other commands
    p.add_argument(
        "--retrain-every",
        type=int,
        default=20,
        help="retrain in the background after this many new labels (default 20; 0: never)",
    )
    p.add_argument(
        "--always-fine-tune",
        action="store_true",
        help="retrain a trained start on any number of labels and swap the fine-tune in "
        "unchecked (by default a retrain waits for 25 labels of each class and keeps the "
        "start unless held-out labels prefer the fine-tune)",
    )
    p.add_argument("--seed", type=int, default=0)


def _start_model(args: argparse.Namespace, left, right, review_model: str | None, quiet: bool):
    from bem.run import _load_matcher

    if args.model:
        return _load_matcher(args.model)
    if review_model:
        print(f"model: the run's, {review_model}")
        return _load_matcher(review_model)
    from bem.labelfree import fit_label_free

    print(
        "no --model: training the label-free first model on the table(s), without labels "
        "(minutes on 2 cores)"
    )
    matcher = fit_label_free(left, right, key=args.key, seed=args.seed, progress=not quiet)
    saved = Path(f"{args.labels}.start-model")
    if not saved.exists():
        matcher.save_pretrained(saved)
        print(f"label-free model saved to {saved}; pass --model {saved} to start from it again")
    return matcher


def cmd_label(args: argparse.Namespace) -> int:
    """Run ``bem label`` (see :func:`add_label_parser`)."""
    from bem.label.engine import LabelSession
    from bem.run import load_inputs

    quiet = bool(getattr(args, "quiet", False))
    if len(args.tables) > 2:
        raise BemError(f"label takes one table (dedup) or two (link), got {len(args.tables)}")
    for name, value in (("--retrain-every", args.retrain_every), ("--port", args.port)):
        if value < 0:
            raise BemError(f"{name} must be >= 0, got {value}")
    if args.top_k < 1:
        raise BemError(f"--top-k must be at least 1, got {args.top_k}")
    left, right, key = load_inputs(args.tables, args.id_column, args.key)
    review = None
    review_model = None
    if args.review:
        from bem.label.review import read_review

        run = read_review(args.review)
        if (run.mode == "dedup") != (right is None):
            raise BemError(
                f"{args.review}: a {run.mode} run; give its {1 if run.mode == 'dedup' else 2} "
                f"input table(s) ({', '.join(run.inputs)})"
            )
        review, review_model = run.pairs, run.model
        print(f"review: {len(review)} pairs of the run in {args.review}")
    matcher = _start_model(args, left, right, review_model, quiet)
    # the explainer logs one line per question: not in the middle of a console session
    logging.getLogger("explain.explainer").setLevel(logging.WARNING)
    retrain_threads = 1
    session = LabelSession(
        left,
        right,
        matcher,
        labels=args.labels,
        review=review,
        key=key,
        top_k=args.top_k,
        retrain_every=args.retrain_every,
        retrain_guard=not args.always_fine_tune,
        retrain_threads=retrain_threads,
        threads=max(1, (os.cpu_count() or 2) - retrain_threads),
        seed=args.seed,
        progress=not quiet,
    ).start()
    status = session.status()
    print(
        f"{status.pool} pairs to ask; {status.answered} answers already in {args.labels}"
        + (f" ({status.undone} undone)" if status.undone else "")
    )
    try:
        if args.console:
            from bem.label.console import run_console

            # retrains are shown in the progress line, not as log lines inside a prompt
            logging.getLogger("bem.label.engine").setLevel(logging.WARNING)
            # a `kill` ends the session as Ctrl-C does: closed, its temporary models removed
            before = signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
            try:
                run_console(session)
            finally:
                signal.signal(signal.SIGTERM, before)
        else:
            from bem.label.web import serve

            def ready(url: str) -> None:
                print(f"open {url} in a browser (the token in it is this session's key)")
                print("y match, n no match, u unsure, z undo, q quit (or Ctrl-C here)")

            serve(session, host=args.host, port=args.port, ready=ready)
        status = session.status()
    finally:
        session.close()
    print(
        f"{args.labels}: {status.matches} match, {status.non_matches} no match, "
        f"{status.unsure} unsure"
    )
    if status.matches and status.non_matches:
        tables = " ".join(
            f"--{side} {t}" for side, t in zip(("left", "right"), args.tables, strict=False)
        )
        print(f"`bem train --labels {args.labels} {tables} -o MODEL_DIR` trains a matcher on them")
    return 0
