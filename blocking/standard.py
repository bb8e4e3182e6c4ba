"""Exact-key blocking: equal keys (:class:`StandardBlocker`) and a window over
sorted keys (:class:`SortedNeighbourhood`).

Both take a :class:`~blocking.normalize.Key`; records with an empty key (all key
attributes missing) get no candidates. Scores are the rapidfuzz ``ratio`` of the
two keys (0-100), so every blocker's ``score`` reads the same way.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd
from rapidfuzz import process

from blocking.base import Blocker, check_name
from blocking.fuzzy import resolve_scorer
from blocking.normalize import Key

__all__ = ["SortedNeighbourhood", "StandardBlocker"]

logger = logging.getLogger(__name__)


def _score(lkeys: np.ndarray, rkeys: np.ndarray, li: np.ndarray, ri: np.ndarray, scorer: str):
    if len(li) == 0:
        return np.zeros(0)
    return process.cpdist(
        lkeys[li].tolist(), rkeys[ri].tolist(), scorer=resolve_scorer(scorer), workers=-1
    ).astype(np.float64)


def _join(lcode: np.ndarray, rcode: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """All (i, j) with ``lcode[i] == rcode[j]`` (codes < 0 never join)."""
    left = pd.DataFrame({"code": lcode, "li": np.arange(len(lcode))})
    right = pd.DataFrame({"code": rcode, "ri": np.arange(len(rcode))})
    joined = left[left.code >= 0].merge(right[right.code >= 0], on="code")
    return joined.li.to_numpy(np.int64), joined.ri.to_numpy(np.int64)


class StandardBlocker(Blocker):
    """Pairs of records whose normalized keys are equal.

    Args:
        key: a :class:`~blocking.normalize.Key` or attribute name(s).
        max_block_size: skip (with a warning) key values shared by more records
            than this, which would produce a quadratic number of pairs.
        name: the name in the ``blocker`` column; default ``standard[<attributes>]``.
    """

    def __init__(
        self,
        key: Key | str | Sequence[str],
        *,
        max_block_size: int | None = 1000,
        name: str | None = None,
    ) -> None:
        self.key = Key.coerce(key)
        self.max_block_size = max_block_size
        self.name = check_name(name or f"standard[{self.key.label}]")

    def _pairs(
        self, left: pd.DataFrame, right: pd.DataFrame | None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        lkeys, rkeys = self._key_texts(left, right)
        everything = np.concatenate([lkeys, rkeys]) if right is not None else lkeys
        codes, uniques = pd.factorize(everything)
        codes[everything == ""] = -1
        if self.max_block_size is not None:
            sizes = np.bincount(codes[codes >= 0], minlength=len(uniques))
            big = np.flatnonzero(sizes > self.max_block_size)
            if len(big):
                logger.warning(
                    "%s: skipped %d key value(s) shared by more than %d records, e.g. %r; "
                    "raise max_block_size or use a more specific key",
                    self.name,
                    len(big),
                    self.max_block_size,
                    uniques[big[0]],
                )
                codes[np.isin(codes, big)] = -1
        lcode, rcode = codes[: len(lkeys)], codes[len(codes) - len(rkeys) :]
        li, ri = _join(lcode, rcode)
        return li, ri, np.full(len(li), 100.0)


class SortedNeighbourhood(Blocker):
    """Pairs of records whose keys are within a window in sorted order.

    As in recordlinkage: the distinct non-empty keys of both tables are sorted;
    a record gets the rank of its key, and two records are paired when their
    ranks differ by at most ``window // 2`` (records with equal keys are always
    paired).

    Args:
        key: a :class:`~blocking.normalize.Key` or attribute name(s); add
            ``"sort"`` to its normalizers to sort on token-sorted text.
        window: odd window size over the sorted distinct keys.
        scorer: rapidfuzz scorer for the ``score`` column.
        name: the name in the ``blocker`` column; default ``sorted[<attributes>]``.
    """

    def __init__(
        self,
        key: Key | str | Sequence[str],
        *,
        window: int = 3,
        scorer: str = "ratio",
        name: str | None = None,
    ) -> None:
        if not isinstance(window, (int, np.integer)) or window < 1 or window % 2 == 0:
            raise ValueError(f"window must be a positive odd integer, got {window!r}")
        resolve_scorer(scorer)
        self.key = Key.coerce(key)
        self.window = int(window)
        self.scorer = scorer
        self.name = check_name(name or f"sorted[{self.key.label}]")

    def _pairs(
        self, left: pd.DataFrame, right: pd.DataFrame | None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        lkeys, rkeys = self._key_texts(left, right)
        distinct = np.unique(np.concatenate([lkeys, rkeys]).astype(str))
        distinct = distinct[distinct != ""]
        lrank = np.searchsorted(distinct, lkeys.astype(str))
        rrank = np.searchsorted(distinct, rkeys.astype(str))
        lrank[lkeys == ""], rrank[rkeys == ""] = -(10**9), -(10**9)
        half = self.window // 2
        offsets = range(0, half + 1) if right is None else range(-half, half + 1)
        found = [_join(np.where(lrank >= 0, lrank + d, -1), rrank) for d in offsets]
        li = np.concatenate([f[0] for f in found])
        ri = np.concatenate([f[1] for f in found])
        return li, ri, _score(lkeys, rkeys, li, ri, self.scorer)
