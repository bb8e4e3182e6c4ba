"""Record pairs: two record tables and the pairs of ids to compare.

Every role that looks at pairs of records (the matcher, the explainer, the
pipeline) takes a :class:`RecordPairs`. Tables are pandas DataFrames indexed by
their record id (strings), one column per attribute; missing values are missing
(``NaN``/``None``), never the string ``"nan"``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from data.errors import BemError

__all__ = ["Record", "RecordPairs", "load_pairs", "validate_pairs"]

Record = Mapping[str, "str | None"]
"""One record: attribute name -> value (``None`` when missing)."""

PAIR_COLUMNS = ("ltable_id", "rtable_id")


def _row_list(rows: Sequence[int], limit: int = 10) -> str:
    shown = ", ".join(str(r) for r in rows[:limit])
    more = f" and {len(rows) - limit} more" if len(rows) > limit else ""
    return shown + more


def validate_pairs(
    pairs: pd.DataFrame,
    left: pd.DataFrame | None = None,
    right: pd.DataFrame | None = None,
    *,
    labelled: bool | None = None,
    source: str = "<pairs>",
    header_rows: int = 1,
    lines: Sequence[int] | np.ndarray | None = None,
) -> pd.DataFrame:
    """Check a pair table and return it normalised.

    The result has string ``ltable_id`` and ``rtable_id`` columns and, when
    labelled, an ``int8`` ``label`` column; any other columns are kept. Row
    numbers in errors are file line numbers: ``lines`` (the line of each row)
    when given, else counted from 1 after ``header_rows`` header lines.

    Raises:
        BemError: missing columns, ids not in their table, labels outside {0, 1}
            or duplicated pairs; the message names the rows and the fix.
    """
    missing = [c for c in PAIR_COLUMNS if c not in pairs.columns]
    if missing:
        raise BemError(
            f"{source}: missing column(s) {missing}; a pair file needs the columns "
            f"ltable_id,rtable_id[,label] (found {list(pairs.columns)})"
        )
    if labelled is None:
        labelled = "label" in pairs.columns
    if labelled and "label" not in pairs.columns:
        raise BemError(f"{source}: missing column 'label' (1 = match, 0 = no match)")
    out = pairs.copy()
    if lines is not None and len(lines) == len(out):
        line = np.asarray(lines)
    else:
        line = np.arange(len(out)) + header_rows + 1
    for col in PAIR_COLUMNS:
        values = out[col]
        empty = values.isna().to_numpy() | (values.astype(str).str.strip() == "").to_numpy()
        if empty.any():
            raise BemError(
                f"{source}: empty {col} on line(s) {_row_list(line[empty].tolist())}; "
                "every pair needs both ids"
            )
        out[col] = values.astype(str).str.strip().astype(object)
    if labelled:
        raw = out["label"]
        as_num = pd.to_numeric(raw, errors="coerce")
        bad = ~as_num.isin([0, 1]).to_numpy()
        if bad.any():
            shown = [f"{n} ({raw.iloc[i]!r})" for n, i in zip(line[bad], np.flatnonzero(bad))]
            raise BemError(
                f"{source}: column 'label' must be 0 or 1; bad value on line(s) {_row_list(shown)}"
            )
        out["label"] = as_num.astype("int8")
    dup = out.duplicated(list(PAIR_COLUMNS), keep="first").to_numpy()
    if dup.any():
        raise BemError(
            f"{source}: duplicated pair(s) on line(s) {_row_list(line[dup].tolist())}; "
            "list each (ltable_id, rtable_id) once"
        )
    for col, table, side in (("ltable_id", left, "left"), ("rtable_id", right, "right")):
        if table is None:
            continue
        known = out[col].isin(table.index.astype(str)).to_numpy()
        if not known.all():
            shown = [
                f"{n} ({out[col].iloc[i]!r})" for n, i in zip(line[~known], np.flatnonzero(~known))
            ]
            name = table.attrs.get("source", f"the {side} table")
            raise BemError(
                f"{source}: {col} not found in {name} on line(s) {_row_list(shown)}; "
                f"check that the pairs belong to this table"
            )
    return out.reset_index(drop=True)


def load_pairs(
    path: str | Path,
    left: pd.DataFrame | None = None,
    right: pd.DataFrame | None = None,
    *,
    labelled: bool | None = None,
) -> pd.DataFrame:
    """Read a pair CSV (``ltable_id,rtable_id[,label]``) and validate it.

    ``left``/``right``, when given, are the tables the ids must exist in.
    """
    from data.csvfile import _read  # local: keeps module import cheap

    frame, lines = _read(path)
    return validate_pairs(frame, left, right, labelled=labelled, source=str(path), lines=lines)


def _record(row: pd.Series) -> dict[str, str | None]:
    return {k: (None if pd.isna(v) else str(v)) for k, v in row.items()}


@dataclass(frozen=True)
class RecordPairs:
    """Pairs of records to compare: two tables and a pair table.

    Attributes:
        left: left table, indexed by record id.
        right: right table, indexed by record id (the same object as ``left``
            when deduplicating one table).
        pairs: ``ltable_id``, ``rtable_id`` and optionally ``label`` (0/1) and
            any other per-pair columns (e.g. ``planted``, ``score``).
    """

    left: pd.DataFrame
    right: pd.DataFrame
    pairs: pd.DataFrame

    @classmethod
    def from_tables(
        cls,
        left: pd.DataFrame,
        right: pd.DataFrame | None,
        pairs: pd.DataFrame,
        *,
        source: str = "<pairs>",
    ) -> RecordPairs:
        """Validate ``pairs`` against the tables and build the object."""
        right = left if right is None else right
        return cls(left, right, validate_pairs(pairs, left, right, source=source))

    @classmethod
    def from_records(
        cls,
        records: Sequence[tuple[Record, Record]],
        labels: Sequence[int] | None = None,
    ) -> RecordPairs:
        """Build from in-memory ``(left_record, right_record)`` tuples.

        Ids are generated as ``"0"``, ``"1"``, ... on each side.
        """
        lefts = [dict(a) for a, _ in records]
        rights = [dict(b) for _, b in records]
        ids = [str(i) for i in range(len(records))]
        left = pd.DataFrame(lefts, index=pd.Index(ids, name="id"), dtype=object)
        right = pd.DataFrame(rights, index=pd.Index(ids, name="id"), dtype=object)
        pairs = pd.DataFrame({"ltable_id": ids, "rtable_id": ids})
        if labels is not None:
            if len(labels) != len(records):
                raise ValueError(f"got {len(labels)} labels for {len(records)} pairs")
            pairs["label"] = np.asarray(labels, dtype="int8")
        return cls(left, right, pairs)

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, index: slice | Sequence[int] | np.ndarray) -> RecordPairs:
        """The subset of pairs at ``index`` (positions), sharing the tables."""
        if isinstance(index, slice):
            sub = self.pairs.iloc[index]
        else:
            sub = self.pairs.iloc[np.asarray(index)]
        return RecordPairs(self.left, self.right, sub.reset_index(drop=True))

    @property
    def labels(self) -> np.ndarray | None:
        """The 0/1 labels as an ``int`` array, or ``None`` when unlabelled."""
        if "label" not in self.pairs.columns:
            return None
        return self.pairs["label"].to_numpy(dtype=int)

    @property
    def attributes(self) -> list[str]:
        """Attributes of the left table followed by right-only attributes."""
        cols = list(self.left.columns)
        return cols + [c for c in self.right.columns if c not in cols]

    def record_pair(self, i: int) -> tuple[dict[str, str | None], dict[str, str | None]]:
        """The ``i``-th pair as two records (attribute -> value or ``None``)."""
        row = self.pairs.iloc[i]
        return (
            _record(self.left.loc[row["ltable_id"]]),
            _record(self.right.loc[row["rtable_id"]]),
        )

    def records(self) -> Iterator[tuple[dict[str, str | None], dict[str, str | None]]]:
        """Iterate over all pairs as ``(left_record, right_record)``."""
        left = self.left.loc[self.pairs["ltable_id"]]
        right = self.right.loc[self.pairs["rtable_id"]]
        lcols, rcols = list(left.columns), list(right.columns)
        for a, b in zip(left.itertuples(index=False), right.itertuples(index=False)):
            yield (
                {k: (None if pd.isna(v) else str(v)) for k, v in zip(lcols, a)},
                {k: (None if pd.isna(v) else str(v)) for k, v in zip(rcols, b)},
            )
