"""The review pairs of a finished pipeline run, for ``bem label --review OUT_DIR``.

``bem dedup`` and ``bem link`` write ``review.csv`` (:mod:`bem.outputs`): the
lowest-confidence merges, the strongest rejected candidates and a random sample,
in that order, each with its ``review_reason``, ``probability`` and whether the
run put the two records in one entity (``same_entity``). :func:`read_review`
reads it back (undoing the spreadsheet escaping of :func:`bem.outputs.escape_cell`)
together with the run's ``run.json``, which names the model and the mode.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from data import BemError

__all__ = ["ReviewRun", "read_review", "unescape_cell"]

_ESCAPED = ("'=", "'+", "'-", "'@", "'\t", "'\r")


def unescape_cell(value: object) -> object:
    """``value`` without the leading ``'`` that :func:`bem.outputs.escape_cell` added."""
    if isinstance(value, str) and value.startswith(_ESCAPED):
        return value[1:]
    return value


@dataclass(frozen=True)
class ReviewRun:
    """What a pipeline run left for review.

    Attributes:
        pairs: ``ltable_id, rtable_id, review_reason, probability, same_entity``
            (and the other columns of ``review.csv``), in the run's order.
        mode: ``"dedup"`` or ``"link"``.
        model: the model the run used (as ``run.json`` names it).
        inputs: the run's input tables.
    """

    pairs: pd.DataFrame
    mode: str
    model: str | None
    inputs: tuple[str, ...]


def read_review(out_dir: str | Path) -> ReviewRun:
    """Read ``review.csv`` and ``run.json`` from a pipeline run's output folder.

    Raises:
        BemError: the folder has no ``review.csv`` or ``run.json``, or they are malformed.
    """
    from bem.run import load_run
    from data import read_csv_strings

    out = Path(out_dir)
    if not out.is_dir():
        raise BemError(f"{out}: no such folder; give the -o folder of a bem dedup/link run")
    review = out / "review.csv"
    if not review.is_file():
        raise BemError(
            f"{out}: no review.csv; the run chose no pair for review (run bem dedup/link "
            "without --no-explain, with --review N > 0)"
        )
    config = load_run(out / "run.json")
    pairs = read_csv_strings(review).map(unescape_cell)
    pairs.columns = [str(unescape_cell(c)) for c in pairs.columns]
    missing = [c for c in ("ltable_id", "rtable_id", "review_reason") if c not in pairs.columns]
    if missing:
        raise BemError(f"{review}: missing column(s) {missing}; is it a review.csv bem wrote?")
    for col in ("probability", "same_entity"):
        if col in pairs.columns:
            pairs[col] = pd.to_numeric(pairs[col], errors="coerce")
    return ReviewRun(
        pairs=pairs.reset_index(drop=True),
        mode=config.mode,
        model=config.model,
        inputs=tuple(config.inputs),
    )
