"""Record tables: reading, writing and validating CSV tables of records.

A record table is a DataFrame indexed by record id (``str``, ``index.name`` is
the id column), one ``object`` column per attribute holding ``str`` values or
``NaN`` for missing ones (never the string ``"nan"``).

CSV rules (RFC 4180 with two deliberate choices):

- An unquoted empty field is *missing* (``NaN``); a quoted empty field ``""`` is
  the empty string. :func:`write_table` writes them that way, so a table
  survives a write/read round trip value for value.
- Only a field that *starts* with ``"`` is quoted; a quote elsewhere in an
  unquoted field is kept literally. Quoted fields may contain commas, quotes
  (doubled) and line breaks. Blank lines between records are skipped.

Every problem raises :class:`~data.errors.BemError` naming the file, the line
(physical line number, header = line 1), the column and the fix.
"""

from __future__ import annotations

import csv
import io
import logging
import re
from pathlib import Path

import numpy as np
import pandas as pd

from data.errors import BemError

__all__ = ["load_table", "read_csv_strings", "validate_table", "write_table"]

logger = logging.getLogger(__name__)

_NAN = float("nan")
_QUOTED = re.compile(r'"((?:[^"]|"")*)"', re.DOTALL)
_UNQUOTED = re.compile(r"[^,\r\n]*")
_NEEDS_QUOTES = re.compile(r'[,"\r\n]')
_BLANK: list[object] = []


def _list(items: list, limit: int = 10) -> str:
    shown = ", ".join(str(x) for x in items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def _decode(path: Path) -> str:
    source = str(path)
    if not path.exists():
        raise BemError(f"{source}: file not found; check the path (working dir: {Path.cwd()})")
    if not path.is_file():
        raise BemError(f"{source}: not a file; pass the path of a CSV file")
    raw = path.read_bytes()
    if not raw.strip():
        raise BemError(
            f"{source}: the file is empty; a table needs a header line naming its columns "
            "and one line per record"
        )
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw.count(b"\n", 0, err.start) + 1
        column = err.start - (raw.rfind(b"\n", 0, err.start) + 1) + 1
        raise BemError(
            f"{source}: line {line}: byte 0x{raw[err.start]:02x} at byte offset {err.start} "
            f"(column {column}) is not valid UTF-8; re-encode the file as UTF-8, e.g. "
            f"`iconv -f latin1 -t utf-8 {path.name} > fixed.csv`"
        ) from None


def _parse_quoted_row(text: str, pos: int, line: int, source: str) -> tuple[list[object], int, int]:
    """Parse one record that contains quotes; return (fields, new pos, new line)."""
    n = len(text)
    fields: list[object] = []
    start_line = line
    while True:
        if pos < n and text[pos] == '"':
            m = _QUOTED.match(text, pos)
            if m is None:
                raise BemError(
                    f"{source}: line {start_line}: a quoted field (column {len(fields) + 1}) "
                    'is never closed; end it with " and write a quote inside a value as ""'
                )
            value = m.group(1).replace('""', '"')
            line += value.count("\n")
            fields.append(value)
            pos = m.end()
            if pos < n and text[pos] not in ",\r\n":
                raise BemError(
                    f"{source}: line {line}: unexpected text after the closing quote of "
                    f"column {len(fields)}; quote the whole value and double inner quotes"
                )
        else:
            m = _UNQUOTED.match(text, pos)
            fields.append(m.group(0) or _NAN)
            pos = m.end()
        if pos >= n:
            return fields, pos, line + 1
        char = text[pos]
        if char == ",":
            pos += 1
            continue
        if char == "\r":
            pos += 2 if text.startswith("\r\n", pos) else 1
        else:
            pos += 1
        return fields, pos, line + 1


def _parse(text: str, source: str) -> tuple[list[list[object]], list[int]]:
    """Split CSV text into rows of fields and the line each row starts on.

    Blank lines come back as the ``_BLANK`` row (resolved by the caller: a
    missing value in a one-column table, skipped otherwise). The C ``csv``
    reader does the splitting; the few records where it cannot tell ``""``
    from a missing field, and any file it rejects, go through
    :func:`_parse_reference`, which raises the precise error.
    """
    raw: list[str] = []

    def tracked(handle: io.StringIO):
        for physical in handle:
            raw.append(physical)
            yield physical

    rows: list[list[object]] = []
    lines: list[int] = []
    reader = csv.reader(tracked(io.StringIO(text, newline="")), strict=True)
    start = 1
    try:
        for row in reader:
            if not row:
                rows.append(_BLANK)
            elif "" in row and any('""' in r for r in raw):
                rows.append(_parse_quoted_row("".join(raw), 0, start, source)[0])
            else:
                rows.append([v or _NAN for v in row])
            lines.append(start)
            start = reader.line_num + 1
            raw.clear()
    except csv.Error:
        return _parse_reference(text, source)
    return rows, lines


def _parse_reference(text: str, source: str) -> tuple[list[list[object]], list[int]]:
    """The pure-Python parser behind :func:`_parse`: slow, exact error messages."""
    rows: list[list[object]] = []
    lines: list[int] = []
    n = len(text)
    pos, line = 0, 1
    while pos < n:
        end = text.find("\n", pos)
        if end == -1:
            end = n
        raw = text[pos:end]
        if '"' not in raw:
            if raw.endswith("\r"):
                raw = raw[:-1]
            rows.append([v or _NAN for v in raw.split(",")] if raw else _BLANK)
            lines.append(line)
            pos, line = end + 1, line + 1
            continue
        lines.append(line)
        fields, pos, line = _parse_quoted_row(text, pos, line, source)
        rows.append(fields)
    return rows, lines


def _read(path: str | Path) -> tuple[pd.DataFrame, np.ndarray]:
    path = Path(path)
    source = str(path)
    rows, lines = _parse(_decode(path), source)
    keep = [i for i, r in enumerate(rows) if r is not _BLANK]
    if rows and keep and len(rows[keep[0]]) == 1:
        rows = [r if r is not _BLANK else [_NAN] for r in rows[keep[0] :]]
        lines = lines[keep[0] :]
    else:
        rows, lines = [rows[i] for i in keep], [lines[i] for i in keep]
    if not rows:
        raise BemError(f"{source}: the file has no header line; add one naming the columns")
    header = rows[0]
    unnamed = [i + 1 for i, h in enumerate(header) if not isinstance(h, str) or not h.strip()]
    if unnamed:
        raise BemError(
            f"{source}: line {lines[0]}: header column(s) {_list(unnamed)} have no name; "
            "give every column a name (write tables with index=False)"
        )
    names = [str(h).strip() for h in header]
    seen: dict[str, list[int]] = {}
    for i, name in enumerate(names):
        seen.setdefault(name, []).append(i + 1)
    dups = {k: v for k, v in seen.items() if len(v) > 1}
    if dups:
        detail = "; ".join(f"{k!r} at positions {_list(v)}" for k, v in dups.items())
        raise BemError(
            f"{source}: duplicate column name(s) in the header: {detail}; "
            "rename them so every column name is unique"
        )
    body = rows[1:]
    if not body:
        raise BemError(
            f"{source}: the file has a header ({', '.join(names)}) but no records; "
            "add one line per record"
        )
    width = len(names)
    ragged = [(lines[i + 1], len(r)) for i, r in enumerate(body) if len(r) != width]
    if ragged:
        shown = [f"{ln} ({k} fields)" for ln, k in ragged]
        raise BemError(
            f"{source}: {len(ragged)} row(s) do not have the header's {width} fields "
            f"({', '.join(names)}): line(s) {_list(shown)}; quote values that contain "
            "commas or line breaks, and give every row one field per column"
        )
    columns = list(zip(*body))
    frame = pd.DataFrame(
        {name: np.array(col, dtype=object) for name, col in zip(names, columns)},
        columns=names,
    )
    frame.attrs["source"] = source
    return frame, np.asarray(lines[1:], dtype=np.int64)


def read_csv_strings(path: str | Path) -> pd.DataFrame:
    """Read a comma-separated file with every value as ``str`` (missing = ``NaN``).

    The first line is the header. The result has a ``RangeIndex`` and
    ``attrs["source"] = str(path)``. Records are never dropped or invented: any
    malformed line raises.

    Raises:
        BemError: missing or empty file, header without records, bytes that are
            not UTF-8, rows with too many or too few fields, unnamed or
            duplicate columns, unclosed quotes.
    """
    return _read(path)[0]


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


def _csv_field(value: object) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return ""
    text = str(value)
    if text == "" or _NEEDS_QUOTES.search(text) or text.startswith('"'):
        return '"' + text.replace('"', '""') + '"'
    return text


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
    out = [",".join(_csv_field(n) for n in names)]
    out.extend(",".join(_csv_field(v) for v in row) for row in zip(*cols))
    path.write_text("\n".join(out) + "\n", encoding="utf-8", newline="")
    logger.debug("wrote %d records to %s", len(df), path)
    return path
