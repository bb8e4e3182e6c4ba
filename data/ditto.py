"""Ditto's serialized pair format: ``COL a VAL v ... <TAB> COL a VAL v ... <TAB> label``.

Parsing rule (documented because values may contain the words COL and VAL):

1. A line has exactly two tabs: left text, right text, label (``0`` or ``1``).
2. In a side's text, a *header* is the text ``COL <name> VAL`` where ``COL`` is
   at the start or after whitespace, ``<name>`` has no whitespace, and ``VAL``
   is followed by whitespace or the end. Every side must start with a header.
3. The *attribute sequence* of a side (left, right) is the most common
   sequence of header names over the file's lines (ties: the first seen).
   A side whose headers spell exactly that sequence is split at its headers.
   Otherwise its headers are matched to the sequence in order, leftmost
   first, and every header that is not the next expected attribute is kept
   as value text: a title such as
   ``"VAL 500 COL red VAL edition"`` survives intact. Only a value that itself
   contains ``COL <next attribute> VAL`` is ambiguous; it is split there.
   When a side cannot be matched to the sequence (different attributes), its
   own headers are used as they appear.
4. A value is the text between its header and the next one, stripped of
   surrounding whitespace; an empty value is missing (``NaN``), because Ditto
   writes missing values as empty text.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

from data.errors import BemError
from data.pairs import RecordPairs

__all__ = ["load_ditto", "parse_ditto_side"]

_HEADER = re.compile(r"(?:(?<=\s)|^)COL (\S+) VAL(?=\s|$)")
_NAN = float("nan")


def _headers(text: str) -> list[re.Match[str]]:
    return list(_HEADER.finditer(text))


def _split(text: str, headers: list[re.Match[str]]) -> dict[str, object]:
    record: dict[str, object] = {}
    for i, m in enumerate(headers):
        end = headers[i + 1].start() if i + 1 < len(headers) else len(text)
        value = text[m.end() : end].strip()
        record[m.group(1)] = value if value else _NAN
    return record


def _align(headers: list[re.Match[str]], schema: tuple[str, ...]) -> list[re.Match[str]] | None:
    """Pick the headers that spell ``schema`` in order (leftmost first)."""
    if not headers or headers[0].group(1) != schema[0]:
        return None
    chosen: list[re.Match[str]] = []
    for m in headers:
        if len(chosen) < len(schema) and m.group(1) == schema[len(chosen)]:
            chosen.append(m)
    return chosen if len(chosen) == len(schema) else None


def parse_ditto_side(
    text: str, schema: tuple[str, ...] | None = None, *, where: str = "<ditto>"
) -> dict[str, object]:
    """Parse one side (``COL a VAL v COL b VAL w``) into a record (missing = ``NaN``).

    ``schema`` is the expected attribute sequence (see the module rules);
    ``where`` names the file and line in errors.
    """
    headers = _headers(text)
    if not headers or text[: headers[0].start()].strip():
        raise BemError(
            f"{where}: text does not start with 'COL <attribute> VAL'; "
            "each side must read 'COL a VAL v COL b VAL w ...'"
        )
    names = [m.group(1) for m in headers]
    if schema is not None and tuple(names) != schema:
        chosen = _align(headers, schema)
        if chosen is not None:
            return _split(text, chosen)
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise BemError(
            f"{where}: attribute(s) {repeated} appear more than once; "
            "write each attribute once per side"
        )
    return _split(text, headers)


def _read_lines(path: Path) -> list[str]:
    source = str(path)
    if not path.is_file():
        raise BemError(f"{source}: file not found; check the path")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw.count(b"\n", 0, err.start) + 1
        raise BemError(
            f"{source}: line {line}: byte offset {err.start} is not valid UTF-8; "
            "re-encode the file as UTF-8"
        ) from None
    lines = text.split("\n")
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines:
        raise BemError(
            f"{source}: the file is empty; Ditto files hold one pair a line: "
            "'COL a VAL v ...<TAB>COL a VAL v ...<TAB>label'"
        )
    return [ln[:-1] if ln.endswith("\r") else ln for ln in lines]


def _schema(sides: list[str]) -> tuple[str, ...] | None:
    """The most common header sequence of one side (ties: the first seen)."""
    sequences: Counter[tuple[str, ...]] = Counter(
        tuple(m.group(1) for m in _headers(side)) for side in sides
    )
    best = max(sequences.items(), key=lambda kv: kv[1])[0] if sequences else ()
    return best or None


def load_ditto(path: str | Path) -> RecordPairs:
    """Read a Ditto pair file into :class:`RecordPairs`.

    The left and right tables get ids ``"0"``..``"n-1"`` (line order) and one
    column per attribute in order of first appearance; pair ``i`` joins left
    ``i`` with right ``i`` and carries the line's label.

    Raises:
        BemError: naming the line for a wrong number of tabs, a label other than
            0/1, a side that does not start with ``COL``, a repeated attribute.
    """
    path = Path(path)
    source = str(path)
    lines = _read_lines(path)
    split: list[list[str]] = []
    bad_tabs = []
    for no, line in enumerate(lines, start=1):
        parts = line.split("\t")
        if len(parts) != 3:
            bad_tabs.append(f"{no} ({len(parts) - 1} tabs)")
        split.append(parts)
    if bad_tabs:
        raise BemError(
            f"{source}: line(s) {', '.join(bad_tabs[:10])} do not have exactly 2 tabs; "
            "each line must be '<left>\\t<right>\\t<label>'"
        )
    bad_labels = [
        f"{no} ({p[2].strip()!r})"
        for no, p in enumerate(split, 1)
        if p[2].strip() not in {"0", "1"}
    ]
    if bad_labels:
        raise BemError(f"{source}: label must be 0 or 1 on line(s) {', '.join(bad_labels[:10])}")
    schemas = [_schema([parts[k] for parts in split]) for k in (0, 1)]
    lefts, rights = [], []
    for no, parts in enumerate(split, start=1):
        lefts.append(parse_ditto_side(parts[0], schemas[0], where=f"{source}: line {no} (left)"))
        rights.append(parse_ditto_side(parts[1], schemas[1], where=f"{source}: line {no} (right)"))
    ids = [str(i) for i in range(len(split))]
    left = _table(lefts, ids, f"{source} (left)")
    right = _table(rights, ids, f"{source} (right)")
    pairs = pd.DataFrame(
        {
            "ltable_id": ids,
            "rtable_id": ids,
            "label": np.array([int(p[2].strip()) for p in split], dtype="int8"),
        }
    )
    return RecordPairs(left, right, pairs)


def _table(records: list[dict[str, object]], ids: list[str], source: str) -> pd.DataFrame:
    columns: dict[str, None] = {}
    for rec in records:
        columns.update(dict.fromkeys(rec))
    data = {c: np.array([rec.get(c, _NAN) for rec in records], dtype=object) for c in columns}
    frame = pd.DataFrame(data, index=pd.Index(ids, name="id", dtype=object), columns=list(columns))
    frame.attrs["source"] = source
    return frame
