"""Checks at the pipeline's boundary: tables, candidates, thresholds, blocking keys.

Every problem raises :class:`data.BemError` naming the table (its file when read
from disk), the column or ids concerned and the fix.

Record ids are strings everywhere (:func:`data.load_table` reads them so): a
table indexed by ints or other values gets a copy indexed by their ``str``, and
an index with missing or duplicate ids, or with two ids that become the same
string (``1`` and ``"1"``), raises.

Candidate pairs a caller supplies are normalised the way the blocker writes
them: in deduplication a pair is unordered, so it is written with
``ltable_id < rtable_id`` (string order), self-pairs are dropped and each pair
is kept once; in linkage a pair is ordered (left id, right id) and each is kept
once. The number dropped is logged.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from data import BemError

__all__ = [
    "apply_schema",
    "check_table",
    "check_threshold",
    "default_key",
    "prepare_candidates",
    "prepare_table",
    "stored_blocker",
]

logger = logging.getLogger(__name__)


def _shown(values: Sequence[str], limit: int = 5) -> str:
    head = ", ".join(repr(v) for v in values[:limit])
    return head + (f" and {len(values) - limit} more" if len(values) > limit else "")


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


def prepare_table(table: pd.DataFrame, name: str, key: Sequence[str] | None) -> pd.DataFrame:
    """``table`` checked (:func:`check_table`) and indexed by ``str`` ids.

    Returns ``table`` itself when its ids already are non-empty unique strings,
    else a copy with the index converted; ``name`` (or ``attrs["source"]``)
    names the table in errors.

    Raises:
        BemError: an empty table, a missing key column, a missing or blank id,
            a duplicate id, or two ids equal as strings.
    """
    where = table.attrs.get("source", name)
    check_table(table, where, key)
    raw = table.index.to_numpy(dtype=object)
    missing = np.array([v is None or (not isinstance(v, str) and pd.isna(v)) for v in raw])
    blank = np.array([isinstance(v, str) and not v.strip() for v in raw])
    if (missing | blank).any():
        rows = (np.flatnonzero(missing | blank) + 1).tolist()
        raise BemError(
            f"{where}: missing id in the index at row(s) {_shown(rows)}; give every record "
            "a non-empty id"
        )
    repeated = pd.Index(raw).duplicated()
    if repeated.any():
        raise BemError(
            f"{where}: duplicate id(s) {_shown(list(pd.unique(raw[repeated])))} in the index; "
            "make the ids unique (or drop the repeated records)"
        )
    if all(type(v) is str for v in raw):
        return table
    ids = np.array([str(v) for v in raw], dtype=object)
    clash = pd.Index(ids).duplicated(keep=False)
    if clash.any():
        first = ids[clash][0]
        a, b = raw[clash & (ids == first)][:2]
        raise BemError(
            f"{where}: ids {a!r} and {b!r} are both {first!r} as strings (ids are strings "
            "everywhere); make the ids unique"
        )
    out = table.copy()
    out.index = pd.Index(ids, name=table.index.name, dtype=object)
    logger.info("%s: index of %s converted to string ids", where, table.index.dtype)
    return out


def apply_schema(
    matcher: Any,
    left: pd.DataFrame,
    right: pd.DataFrame | None,
    *,
    rename: Mapping[str, str] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """The tables renamed by ``rename`` and checked against the model's attributes.

    ``rename`` maps model attribute -> table column (``--rename title=name``)
    and applies to both tables (a column it names must exist in each). A model
    that records its attributes (:attr:`matcher.Matcher.attributes_`) then
    checks each table (:func:`matcher.schema.check_schema`): none of its
    attributes is an error naming them and the fix, some missing a warning.
    ``right=None`` is deduplication.

    Raises:
        BemError: a rename names a missing column, or a table has none of the
            model's attributes.
    """
    from matcher.schema import check_schema, rename_columns

    dedup = right is None
    tables = {"records" if dedup else "left": left, **({} if dedup else {"right": right})}
    if rename:
        tables = {name: rename_columns(t, rename, name=name) for name, t in tables.items()}
    attributes = getattr(matcher, "attributes_", None)
    for name, table in tables.items():
        check_schema(table, attributes, name=name)
    out = list(tables.values())
    return out[0], None if dedup else out[1]


def default_key(table: pd.DataFrame) -> list[str]:
    """The blocking key when none is given: a name-like column, else the first."""
    for name in ("title", "name", "product", "full_name"):
        if name in table.columns:
            return [name]
    return [str(table.columns[0])]


def prepare_candidates(
    candidates: pd.DataFrame,
    left: pd.DataFrame,
    right: pd.DataFrame | None,
    *,
    sources: tuple[str, str] = ("left", "right"),
) -> pd.DataFrame:
    """Caller-supplied candidates with string ids, each pair once (see module docstring).

    ``right=None`` means deduplication of ``left``. Other columns (``score``,
    ``blocker``...) are kept, from a pair's first row.

    Raises:
        BemError: a missing id column or ids that are not in their table.
    """
    missing = [c for c in ("ltable_id", "rtable_id") if c not in candidates.columns]
    if missing:
        raise BemError(
            f"candidates: missing column(s) {missing}; candidate pairs need the columns "
            f"ltable_id,rtable_id (found {list(candidates.columns)})"
        )
    out = candidates.reset_index(drop=True)
    lids = out["ltable_id"].astype(str).to_numpy(dtype=object)
    rids = out["rtable_id"].astype(str).to_numpy(dtype=object)
    tables = (left, left if right is None else right)
    names = (sources[0], sources[0] if right is None else sources[1])
    for col, ids, table, name in zip(("ltable_id", "rtable_id"), (lids, rids), tables, names):
        unknown = pd.unique(ids[~pd.Index(ids).isin(table.index)])
        if len(unknown):
            where = table.attrs.get("source", name)
            raise BemError(
                f"candidates: {col} {_shown(list(unknown))} not in the table {where}; "
                "give candidate pairs of ids from the table(s) passed in"
            )
    dropped_self = 0
    if right is None:
        self_pair = lids == rids
        dropped_self = int(self_pair.sum())
        swap = rids < lids
        lids, rids = np.where(swap, rids, lids), np.where(swap, lids, rids)
        keep = ~self_pair
        out, lids, rids = out[keep], lids[keep], rids[keep]
    out = out.assign(ltable_id=lids, rtable_id=rids)
    repeated = out.duplicated(["ltable_id", "rtable_id"]).to_numpy()
    out = out[~repeated].reset_index(drop=True)
    if dropped_self or repeated.any():
        order = "in either order" if right is None else "(left id, right id)"
        logger.warning(
            "candidates: dropped %d self-pair(s) and %d repeated pair(s) %s; each pair is "
            "scored once",
            dropped_self,
            int(repeated.sum()),
            order,
        )
    return out


def stored_blocker(
    matcher: Any, key: Sequence[str] | None, *, given: bool = False
) -> tuple[dict[str, Any] | None, str]:
    """The blocker the pipeline blocks with, and a note saying what made the candidates.

    The blocker stored in the model (``bem train --labels`` tunes one) is used
    unless the user named a ``key`` (the key wins) or gave the candidates
    (``given``); ``None`` means the fuzzy blocker on ``key``.
    """
    from blocking import describe_config

    stored = getattr(matcher, "blocking_", None)
    if given:
        return None, "candidates given"
    if key:
        if stored:
            logger.info("blocking on --key %s, not the model's tuned blocker", list(key))
        return None, f"fuzzy key {list(key)}"
    if not stored:
        return None, "fuzzy key: a name-like column"
    note = f"the model's tuned blocker: {describe_config(stored)}"
    logger.info("blocking with %s", note)
    return dict(stored), note
