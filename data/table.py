"""Record tables: loading, validating and writing tables of records.

A record table is a DataFrame indexed by record id (``str``, ``index.name`` is
the id column), one ``object`` column per attribute holding ``str`` values or
``NaN`` for missing ones (never the string ``"nan"``). CSV files are read and
written by :mod:`data.csvfile` (its rules: an unquoted empty field is missing,
``""`` is the empty string), Parquet by :mod:`data.parquet`.

Every problem raises :class:`~data.errors.BemError` naming the file, the line
(physical line number, header = line 1) or row, the column and the fix.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from data.csvfile import _NAN, _list, _read, csv_text
from data.errors import BemError

__all__ = ["load_table", "validate_table", "write_table"]

logger = logging.getLogger(__name__)


def _where(lines: np.ndarray | None, positions: np.ndarray, ids: list | None = None) -> str:
    if lines is not None:
        items = [str(x) for x in lines[positions]]
        label = "line(s)"
    else:
        items = [str(x + 1) for x in positions]
        label = "row(s)"
    if ids is not None:
        items = [f"{i} ({v!r})" for i, v in zip(items, ids)]
    return f"{label} {_list(items)}"


def _as_strings(values: pd.Series) -> np.ndarray:
    """Object array of ``str`` values with ``NaN`` for missing ones."""
    missing = values.isna().to_numpy()
    out = values.to_numpy(dtype=object, copy=True)
    if not all(type(v) is str for v in out[~missing]):
        out = values.astype(str).to_numpy(dtype=object)
    out[missing] = _NAN
    return out


LINE_ID = "line"


def _validate(
    frame: pd.DataFrame,
    id_column: str | None,
    source: str,
    lines: np.ndarray | None,
    *,
    line_ids: bool = False,
    id_option: str = "id_column=NAME",
) -> pd.DataFrame:
    names = [str(c) for c in frame.columns]
    dup_names = sorted({c for c in names if names.count(c) > 1})
    if dup_names:
        raise BemError(f"{source}: duplicate column name(s) {dup_names}; make every name unique")
    if line_ids and id_column is not None and id_column not in names and len(frame):
        numbers = lines if lines is not None else np.arange(1, len(frame) + 1)
        logger.warning(
            "%s: no id column %r: each record's id is its %s (column %r in the outputs); "
            "pass %s to use a column of yours",
            source,
            id_column,
            "line number in the file" if lines is not None else "row number from 1",
            LINE_ID,
            id_option,
        )
        frame = frame.set_axis(pd.Index([str(n) for n in numbers], name=LINE_ID), axis=0)
        id_column = None
    if id_column is None or (id_column not in names and frame.index.name == id_column):
        id_name = frame.index.name if frame.index.name is not None else "id"
        raw_ids = pd.Series(frame.index, dtype=object)
        body = frame
    elif id_column in names:
        id_name = id_column
        raw_ids = frame[id_column].reset_index(drop=True)
        body = frame.drop(columns=[id_column])
    else:
        numbering = (
            "omit --id-column to number the records by line"
            if id_option.startswith("--")
            else "pass line_ids=True to number the records by line"
        )
        raise BemError(
            f"{source}: no id column {id_column!r}; columns found: {names}. "
            f"Add a column {id_column!r} with a unique id per record, name your id "
            f"column with {id_option}, or {numbering}"
        )
    if len(frame) == 0:
        raise BemError(f"{source}: the table has no records; add at least one record")
    ids = _as_strings(raw_ids)
    empty = np.array([not isinstance(v, str) or not v.strip() for v in ids], dtype=bool)
    if empty.any():
        raise BemError(
            f"{source}: empty value in id column {id_name!r} on "
            f"{_where(lines, np.flatnonzero(empty))}; give every record a non-empty id"
        )
    ids = np.array([v.strip() for v in ids], dtype=object)
    dup = pd.Series(ids).duplicated(keep=False).to_numpy()
    if dup.any():
        pos = np.flatnonzero(dup)
        raise BemError(
            f"{source}: duplicate id(s) in column {id_name!r}: "
            f"{_list(sorted(set(ids[pos].tolist())))} on {_where(lines, pos, ids[pos].tolist())}"
            "; make the ids unique (or drop the repeated records)"
        )
    if lines is None:  # in-memory frame: any value types
        data = {str(c): _as_strings(body[c]) for c in body.columns}
    else:  # parsed from CSV: already str or NaN
        data = {str(c): body[c].to_numpy(dtype=object) for c in body.columns}
    out = pd.DataFrame(data, index=pd.Index(ids, name=str(id_name), dtype=object))
    out.attrs["source"] = source
    return out


def validate_table(
    df: pd.DataFrame, *, id_column: str | None = None, source: str | None = None
) -> pd.DataFrame:
    """Check an in-memory record table and return it in the standard form.

    Args:
        df: the table. Either it has a column ``id_column`` holding the ids, or
            it is already indexed by id (``id_column=None`` or equal to
            ``df.index.name``).
        id_column: the id column's name; ``None`` uses the index.
        source: name used in error messages; defaults to ``df.attrs["source"]``
            or ``"<table>"``. Rows are numbered from 1 in messages.

    Returns:
        A new DataFrame indexed by ``str`` ids (stripped) whose values are
        ``str`` or ``NaN``; non-string values are converted with ``str``.

    Raises:
        BemError: missing id column, no records, empty or duplicate ids,
            duplicate column names.
    """
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"validate_table expects a pandas DataFrame, got {type(df).__name__}")
    source = source or df.attrs.get("source", "<table>")
    return _validate(df, id_column, source, None)


def load_table(
    path: str | Path,
    *,
    id_column: str = "id",
    line_ids: bool = False,
    id_option: str = "id_column=NAME",
) -> pd.DataFrame:
    """Read a CSV (or Parquet: ``.parquet``, ``.pq``) record table indexed by its id column.

    Values are strings, missing values stay missing (``NaN``). The index is
    ``str``, named ``id_column``; ``attrs["source"]`` is ``str(path)``.

    With ``line_ids=True``, a table without the column ``id_column`` (most
    exports) is not an error: each record's id is its line number in the file
    (the physical line its record starts on, header = line 1; a Parquet row's
    number from 1), the index is named ``"line"``, and a warning says so.
    ``id_option`` is how messages name the id option (the CLI passes
    ``"--id-column NAME"``).

    Raises:
        BemError: everything :func:`read_csv_strings` rejects, plus a missing id
            column (the message lists the columns found), empty ids (their line
            numbers) and duplicate ids (the ids and their line numbers).
    """
    from data.parquet import is_parquet, read_parquet_frame

    if is_parquet(path):
        frame, lines = read_parquet_frame(path), None
    else:
        frame, lines = _read(path)
    return _validate(frame, id_column, str(path), lines, line_ids=line_ids, id_option=id_option)


def write_table(df: pd.DataFrame, path: str | Path) -> Path:
    """Write a record table (or any DataFrame of strings) as CSV, or as Parquet
    when ``path`` ends in ``.parquet`` or ``.pq``.

    The index is written as the first column (named ``df.index.name`` or
    ``"id"``) unless it is a plain ``RangeIndex`` without a name. Missing values
    are written as empty fields and empty strings as ``""``, so
    :func:`load_table` reads back exactly the same table.
    """
    from data.parquet import is_parquet, write_parquet

    if is_parquet(path):
        return write_parquet(df, path)
    path = Path(path)
    write_index = not (isinstance(df.index, pd.RangeIndex) and df.index.name is None)
    names = ([str(df.index.name or "id")] if write_index else []) + [str(c) for c in df.columns]
    cols = [df.index.to_numpy(dtype=object)] if write_index else []
    cols += [df[c].to_numpy(dtype=object) for c in df.columns]
    path.write_text(csv_text(names, cols), encoding="utf-8", newline="")
    logger.debug("wrote %d records to %s", len(df), path)
    return path
