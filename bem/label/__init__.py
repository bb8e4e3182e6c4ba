"""``bem label``: label pairs with the model's explanation beside each, actively.

The engine (:class:`LabelSession`) picks the pairs, stores every answer at once
in an append-only labels file and retrains in the background; the console
(:func:`run_console`) and the local web page (:func:`serve`) are two faces of
it. :func:`labels_to_training` turns a session's file into training pairs.

Nothing is imported until a name is used (the web page's libraries only by
:mod:`bem.label.web`, from the ``web`` extra).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

__all__ = [
    "LABEL_COLUMNS",
    "Answer",
    "Estimate",
    "FieldRow",
    "LabelLog",
    "LabelServer",
    "LabelSession",
    "Question",
    "ReviewRun",
    "Status",
    "create_app",
    "estimate_quality",
    "labels_to_training",
    "parse_answer",
    "read_labels",
    "read_review",
    "retrain_fit",
    "run_console",
    "serve",
]

if TYPE_CHECKING:
    from bem.label.console import run_console
    from bem.label.engine import LabelSession, parse_answer
    from bem.label.estimate import Estimate, estimate_quality
    from bem.label.question import FieldRow, Question, Status
    from bem.label.retrain import retrain_fit
    from bem.label.review import ReviewRun, read_review
    from bem.label.store import LABEL_COLUMNS, Answer, LabelLog, labels_to_training, read_labels
    from bem.label.web import LabelServer, create_app, serve

_LAZY = {
    "run_console": "bem.label.console",
    "LabelSession": "bem.label.engine",
    "parse_answer": "bem.label.engine",
    "Estimate": "bem.label.estimate",
    "estimate_quality": "bem.label.estimate",
    "FieldRow": "bem.label.question",
    "Status": "bem.label.question",
    "Question": "bem.label.question",
    "retrain_fit": "bem.label.retrain",
    "ReviewRun": "bem.label.review",
    "read_review": "bem.label.review",
    "LABEL_COLUMNS": "bem.label.store",
    "Answer": "bem.label.store",
    "LabelLog": "bem.label.store",
    "labels_to_training": "bem.label.store",
    "read_labels": "bem.label.store",
    "LabelServer": "bem.label.web",
    "create_app": "bem.label.web",
    "serve": "bem.label.web",
}


def __getattr__(name: str):
    """Import the public names on first use (``bem --version`` stays instant)."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'bem.label' has no attribute {name!r}")
