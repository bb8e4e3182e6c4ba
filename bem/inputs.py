"""Checks at the pipeline's boundary: tables, thresholds, blocking keys.

Every problem raises :class:`data.BemError` naming the table (its file when read
from disk), the column or ids concerned and the fix.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from data import BemError

__all__ = ["check_table", "check_threshold", "default_key"]


def check_threshold(threshold: float | None) -> None:
    """Raise :class:`BemError` unless ``threshold`` is ``None`` or in [0, 1]."""
    if threshold is not None and not (0.0 <= float(threshold) <= 1.0):
        raise BemError(f"threshold must be between 0 and 1, got {threshold}")


def check_table(table: pd.DataFrame, name: str, key: Sequence[str] | None) -> None:
    """Raise :class:`BemError` when ``table`` is empty or lacks a ``key`` column."""
    if len(table) == 0:
        raise BemError(f"{name}: the table has no records; give a table with at least one row")
    if key:
        missing = [k for k in key if k not in table.columns]
        if missing:
            raise BemError(
                f"{name}: key column(s) {missing} not found; available columns: "
                f"{list(table.columns)} (set --key to one of them)"
            )


def default_key(table: pd.DataFrame) -> list[str]:
    """The blocking key when none is given: a name-like column, else the first."""
    for name in ("title", "name", "product", "full_name"):
        if name in table.columns:
            return [name]
    return [str(table.columns[0])]
