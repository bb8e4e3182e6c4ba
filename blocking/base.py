"""What every blocker shares: the ``candidates`` verb and its output contract.

A blocker proposes candidate pairs. ``candidates(left, right)`` links two tables;
``candidates(left)`` deduplicates one. The result is a DataFrame with the columns
``ltable_id``, ``rtable_id`` (``str``), ``score`` (``float64``, higher = more
similar, 0-100) and ``blocker`` (``str``, the name of the blocker(s) that
proposed the pair), sorted by position in the input tables. In deduplication
every unordered pair appears once with ``ltable_id < rtable_id`` (string order)
and no record is paired with itself.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np
import pandas as pd

from data.errors import BemError

__all__ = ["CANDIDATE_COLUMNS", "Blocker", "empty_candidates"]

CANDIDATE_COLUMNS = ("ltable_id", "rtable_id", "score", "blocker")


def empty_candidates() -> pd.DataFrame:
    """A candidate table with no rows and the right columns and dtypes."""
    return pd.DataFrame(
        {
            "ltable_id": pd.Series([], dtype=object),
            "rtable_id": pd.Series([], dtype=object),
            "score": pd.Series([], dtype="float64"),
            "blocker": pd.Series([], dtype=object),
        }
    )


def table_ids(table: pd.DataFrame, side: str) -> np.ndarray:
    """The record ids of ``table`` as an object array of ``str``.

    Raises:
        BemError: the table is not a DataFrame, or its ids are empty or repeated.
    """
    if not isinstance(table, pd.DataFrame):
        raise TypeError(f"the {side} table must be a pandas DataFrame, got {type(table).__name__}")
    ids = table.index.astype(str).to_numpy(dtype=object)
    name = table.attrs.get("source", f"the {side} table")
    if table.index.hasnans or any(not s.strip() for s in ids):
        raise BemError(f"{name}: empty record id(s) in the index; every record needs an id")
    dup = pd.Index(ids).duplicated()
    if dup.any():
        shown = sorted(set(ids[dup]))[:10]
        raise BemError(f"{name}: repeated record id(s) {shown}; ids must be unique")
    return ids


def finish_pairs(
    li: np.ndarray,
    ri: np.ndarray,
    score: np.ndarray,
    lids: np.ndarray,
    rids: np.ndarray,
    *,
    dedup: bool,
    name: str,
) -> pd.DataFrame:
    """Positional pairs -> the candidate table.

    Drops self pairs (dedup), orders dedup pairs by id string, merges repeated
    pairs keeping the highest score, and sorts by position.
    """
    li = np.asarray(li, dtype=np.int64)
    ri = np.asarray(ri, dtype=np.int64)
    score = np.asarray(score, dtype=np.float64)
    if dedup:
        keep = li != ri
        li, ri, score = li[keep], ri[keep], score[keep]
        rank = np.empty(len(lids), dtype=np.int64)
        rank[np.argsort(lids.astype(str), kind="stable")] = np.arange(len(lids))
        swap = rank[li] > rank[ri]
        li, ri = np.where(swap, ri, li), np.where(swap, li, ri)
    if len(li) == 0:
        return empty_candidates()
    code = li * np.int64(max(len(rids), 1)) + ri
    order = np.lexsort((-score, code))
    code, li, ri, score = code[order], li[order], ri[order], score[order]
    first = np.ones(len(code), dtype=bool)
    first[1:] = code[1:] != code[:-1]
    li, ri, score = li[first], ri[first], score[first]
    return pd.DataFrame(
        {
            "ltable_id": lids[li],
            "rtable_id": rids[ri],
            "score": score,
            "blocker": np.full(len(li), name, dtype=object),
        }
    )


class Blocker(ABC):
    """Base class: subclasses implement :meth:`_pairs` on positions."""

    name: str

    def candidates(self, left: pd.DataFrame, right: pd.DataFrame | None = None) -> pd.DataFrame:
        """Candidate pairs between ``left`` and ``right``, or within ``left`` if ``right`` is None.

        Returns:
            DataFrame ``ltable_id, rtable_id, score, blocker`` (see the module doc).

        Raises:
            BemError: a key attribute is missing from a table, or ids are empty or
                repeated.
        """
        dedup = right is None
        lids = table_ids(left, "left")
        rids = lids if dedup else table_ids(right, "right")
        self._check_columns(left, right)
        if len(lids) == 0 or len(rids) == 0:
            return empty_candidates()
        li, ri, score = self._pairs(left, None if dedup else right)
        return finish_pairs(li, ri, score, lids, rids, dedup=dedup, name=self.name)

    @property
    def keys(self) -> tuple:
        """The :class:`~blocking.normalize.Key` objects the blocker reads."""
        key = getattr(self, "key", None)
        return () if key is None else (key,)

    def _key_texts(
        self, left: pd.DataFrame, right: pd.DataFrame | None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Normalized keys of both sides (the same array twice when deduplicating)."""
        if right is None:
            (texts,) = self.key.transform(left)
            return texts, texts
        ltexts, rtexts = self.key.transform(left, right)
        return ltexts, rtexts

    def _check_columns(self, left: pd.DataFrame, right: pd.DataFrame | None) -> None:
        """Raise :class:`BemError` when a table lacks a column the blocker needs."""
        for key in self.keys:
            key.raw(left.iloc[:0], side="left")
            if right is not None:
                key.raw(right.iloc[:0], side="right")

    @abstractmethod
    def _pairs(
        self, left: pd.DataFrame, right: pd.DataFrame | None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Positional pairs ``(left_pos, right_pos, score)``; ``right=None`` = dedup.

        Self pairs and repeated pairs may be returned; :func:`finish_pairs` drops them.
        A blocker that overrides :meth:`candidates` instead sets ``_pairs = None``.
        """

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


def check_name(name: str) -> str:
    """Blocker names are joined with ``|`` in a union, so they cannot contain it."""
    if not name or "|" in name:
        raise ValueError(f"a blocker name must be non-empty and without '|', got {name!r}")
    return name
