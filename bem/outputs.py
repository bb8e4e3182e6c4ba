"""The files a pipeline run writes into its output folder.

``entities.csv``, ``pairs.csv``, ``review.csv`` (when pairs were chosen for
review; ``.parquet`` instead with ``output_format="parquet"``),
``explanations.jsonl`` and ``report.html`` (when pairs were explained), then
``run.json`` (:mod:`bem.run`). Before writing, every file of those names
(:data:`OUTPUT_NAMES`) left in the folder by an earlier run is removed, so that
the folder and ``run.json`` hold exactly this run's outputs; any other file or
folder there (a model, the user's notes) is never touched.

Spreadsheet formula injection: a spreadsheet runs a cell that starts with
``=``, ``+``, ``-`` or ``@`` as a formula, so a record id such as
``=HYPERLINK("...")`` in a CSV would run when the file is opened. Following
OWASP's rule, every string cell of the CSV files written here that starts with
one of those characters, a tab or a carriage return gets a leading single quote
(``'=HYPERLINK(...)``, ``'+1``, ``'@a``), except cells that are plain numbers
(``-5``, ``-0.3``, ``-1e-3`` stay as they are). Numeric columns are never
changed. Read such ids back by dropping the leading ``'`` from a cell whose
next character is one of ``= + - @``, tab or carriage return.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from data import write_table

if TYPE_CHECKING:
    from bem.pipeline import PipelineResult
    from bem.run import PipelineConfig

__all__ = ["OUTPUT_NAMES", "clear_outputs", "escape_cell", "write_csv", "write_outputs"]

logger = logging.getLogger(__name__)

TABLE_OUTPUTS = ("entities", "pairs", "review")
"""The tables a run writes, as ``<name>.csv`` or ``<name>.parquet`` (``output_format``)."""
OUTPUT_NAMES = (
    *(f"{name}.{ext}" for name in TABLE_OUTPUTS for ext in ("csv", "parquet")),
    "explanations.jsonl",
    "report.html",
    "run.json",
)
"""Every file name a pipeline run writes into its output folder."""

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


def escape_cell(value: str) -> str:
    """``value`` with a leading ``'`` when a spreadsheet would read it as a formula.

    A string starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return is
    escaped unless it is a plain number such as ``-5`` or ``-0.3``.
    """
    if value.startswith(FORMULA_STARTS) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def write_csv(frame: pd.DataFrame, path: Path) -> Path:
    """Write ``frame`` (no index) as CSV by :func:`data.write_table`'s rules, every
    string cell and column name passed through :func:`escape_cell` first."""
    escaped = frame.map(lambda v: escape_cell(v) if isinstance(v, str) else v)
    escaped.columns = [escape_cell(str(c)) for c in frame.columns]
    return write_table(escaped.reset_index(drop=True), path)


def clear_outputs(out: Path) -> list[str]:
    """Remove the files named in :data:`OUTPUT_NAMES` from ``out``; return their names."""
    removed = []
    for name in OUTPUT_NAMES:
        path = out / name
        if path.is_file() or path.is_symlink():
            path.unlink()
            removed.append(name)
    if removed:
        logger.info("%s: removed the outputs of an earlier run: %s", out, ", ".join(removed))
    return removed


def write_outputs(result: PipelineResult, config: PipelineConfig, out: Path) -> dict[str, Path]:
    """Write the outputs of ``result`` into ``out`` (see module docstring).

    Returns the files written, by role (``entities``, ``pairs``, ``review``,
    ``explanations``, ``report``).
    """
    out.mkdir(parents=True, exist_ok=True)
    clear_outputs(out)
    ext = getattr(config, "output_format", "csv")
    tables = {"entities": result.entities, "pairs": result.pairs}
    if len(result.review):  # why each explained pair was picked (order of explanations.jsonl)
        tables["review"] = result.review
    paths = {}
    for name, frame in tables.items():
        paths[name] = out / f"{name}.{ext}"
        if ext == "parquet":  # typed columns, no spreadsheet to protect
            write_table(frame.reset_index(drop=True), paths[name])
        else:
            write_csv(frame, paths[name])
    paths["explanations"] = out / "explanations.jsonl"
    if result.explanations:
        from explain import write_html, write_jsonl

        write_jsonl(result.explanations, paths["explanations"])
        paths["report"] = out / "report.html"
        title = f"BEM {config.mode}: {', '.join(Path(p).name for p in config.inputs)}"
        write_html(result.explanations, paths["report"], title=title, entities=result.entity_views)
    else:
        paths["explanations"].write_text("", encoding="utf-8")
    return paths
