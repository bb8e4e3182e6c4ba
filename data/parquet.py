"""Parquet record tables: read and written beside CSV, with the same rules.

A Parquet table reads into the same record table as a CSV one: every value
becomes a ``str`` (integers without a decimal point, also in float columns that
hold missing values), missing values stay ``NaN``, and the id column is
validated the same way. Errors name rows by their number from 1 (Parquet has
no lines). Parquet support needs ``pyarrow`` (a dependency of BEM).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from data.errors import BemError

__all__ = ["PARQUET_SUFFIXES", "is_parquet", "read_parquet_frame", "write_parquet"]

logger = logging.getLogger(__name__)

PARQUET_SUFFIXES = (".parquet", ".pq")


def is_parquet(path: str | Path) -> bool:
    """Whether ``path`` names a Parquet file (by its suffix)."""
    return Path(path).suffix.lower() in PARQUET_SUFFIXES


def _require_pyarrow() -> None:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise ImportError(
            "reading and writing Parquet needs pyarrow: pip install pyarrow"
        ) from None


def _column_strings(values: pd.Series) -> np.ndarray:
    """Object array of ``str`` with ``NaN`` for missing; whole floats print as integers."""
    missing = values.isna().to_numpy()
    out = np.empty(len(values), dtype=object)
    out[missing] = float("nan")
    present = values[~missing]
    if pd.api.types.is_float_dtype(values.dtype) and np.all(
        np.mod(present.to_numpy(dtype=float), 1) == 0
    ):
        out[~missing] = [str(int(v)) for v in present]
    elif pd.api.types.is_bool_dtype(values.dtype):
        out[~missing] = [str(bool(v)).lower() for v in present]
    else:
        out[~missing] = [v if isinstance(v, str) else str(v) for v in present]
    return out


def read_parquet_frame(path: str | Path) -> pd.DataFrame:
    """The Parquet file's columns as ``str``/``NaN`` object columns (no validation)."""
    _require_pyarrow()
    path = Path(path)
    if not path.is_file():
        raise BemError(f"{path}: no such file")
    try:
        frame = pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises many types for a broken file
        raise BemError(f"{path}: not a readable Parquet file ({exc})") from None
    if not isinstance(frame.index, pd.RangeIndex) and frame.index.name is not None:
        frame = frame.reset_index()
    return pd.DataFrame(
        {str(c): _column_strings(frame[c]) for c in frame.columns}, index=frame.index
    )


def write_parquet(df: pd.DataFrame, path: str | Path) -> Path:
    """Write a table as Parquet: the index as the first column (as :func:`write_table`)."""
    _require_pyarrow()
    path = Path(path)
    write_index = not (isinstance(df.index, pd.RangeIndex) and df.index.name is None)
    out = df.reset_index(names=str(df.index.name or "id")) if write_index else df
    out.to_parquet(path, index=False)
    logger.debug("wrote %d rows to %s", len(df), path)
    return path
