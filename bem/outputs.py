"""The files a pipeline run writes into its output folder.

``entities.csv``, ``pairs.csv``, ``review.csv`` (when pairs were chosen for
review), ``explanations.jsonl`` and ``report.html`` (when pairs were explained),
then ``run.json`` (:mod:`bem.run`). Before writing, every file of those names
(:data:`OUTPUT_NAMES`) left in the folder by an earlier run is removed, so that
the folder and ``run.json`` hold exactly this run's outputs; any other file or
folder there (a model, the user's notes) is never touched.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bem.pipeline import PipelineResult
    from bem.run import PipelineConfig

__all__ = ["OUTPUT_NAMES", "clear_outputs", "write_outputs"]

logger = logging.getLogger(__name__)

OUTPUT_NAMES = (
    "entities.csv",
    "pairs.csv",
    "review.csv",
    "explanations.jsonl",
    "report.html",
    "run.json",
)
"""Every file name a pipeline run writes into its output folder."""


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
    paths = {"entities": out / "entities.csv", "pairs": out / "pairs.csv"}
    result.entities.to_csv(paths["entities"], index=False)
    result.pairs.to_csv(paths["pairs"], index=False)
    if len(result.review):
        # why each explained pair was picked (same order as explanations.jsonl)
        paths["review"] = out / "review.csv"
        result.review.to_csv(paths["review"], index=False)
    paths["explanations"] = out / "explanations.jsonl"
    if result.explanations:
        from explain import write_html, write_jsonl

        write_jsonl(result.explanations, paths["explanations"])
        paths["report"] = out / "report.html"
        title = f"BEM {config.mode}: {', '.join(Path(p).name for p in config.inputs)}"
        write_html(result.explanations, paths["report"], title=title)
    else:
        paths["explanations"].write_text("", encoding="utf-8")
    return paths
