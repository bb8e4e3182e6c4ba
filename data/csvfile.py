"""Reading and writing CSV files of strings, with errors that name the line.

CSV rules (RFC 4180 with two deliberate choices):

- An unquoted empty field is *missing* (``NaN``); a quoted empty field ``""`` is
  the empty string. :func:`csv_text` writes them that way, so a table survives
  a write/read round trip value for value.
- Only a field that *starts* with ``"`` is quoted; a quote elsewhere in an
  unquoted field is kept literally. Quoted fields may contain commas, quotes
  (doubled) and line breaks. Blank lines between records are skipped.

Every problem raises :class:`~data.errors.BemError` naming the file, the line
(physical line number, header = line 1), the column and the fix.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd

from data.errors import BemError

__all__ = ["csv_text", "read_csv_strings"]

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


def _csv_field(value: object) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return ""
    text = str(value)
    if text == "" or _NEEDS_QUOTES.search(text) or text.startswith('"'):
        return '"' + text.replace('"', '""') + '"'
    return text


def csv_text(names: list[str], columns: list[np.ndarray]) -> str:
    """The CSV text of a header ``names`` and its ``columns`` (one array per name)."""
    out = [",".join(_csv_field(n) for n in names)]
    out.extend(",".join(_csv_field(v) for v in row) for row in zip(*columns))
    return "\n".join(out) + "\n"
