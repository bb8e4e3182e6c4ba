"""The union of several blockers, keeping the provenance of every pair."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from blocking.base import Blocker, check_name, empty_candidates, table_ids

__all__ = ["UnionBlocker", "union_candidates"]


class UnionBlocker(Blocker):
    """Every pair proposed by any of ``blockers``.

    The ``blocker`` column lists every blocker that proposed the pair, joined
    with ``|`` in the order the blockers were given (``"fuzzy[name]|standard[model]"``);
    ``score`` is the highest score any of them gave.

    Args:
        blockers: the blockers, with distinct names.
        name: a name for the union (used when it is itself part of a union).
    """

    def __init__(self, blockers: Sequence[Blocker], *, name: str | None = None) -> None:
        blockers = list(blockers)
        if not blockers or not all(isinstance(b, Blocker) for b in blockers):
            raise ValueError(f"UnionBlocker needs one or more blockers, got {blockers!r}")
        names = [b.name for b in blockers]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(
                f"blocker names must be distinct to keep provenance; {repeated} repeat: "
                "pass name=... to the blockers"
            )
        self.blockers = blockers
        self.name = check_name(name or "union")

    @property
    def keys(self) -> tuple:
        return tuple(k for b in self.blockers for k in getattr(b, "keys", ()))

    def candidates(self, left: pd.DataFrame, right: pd.DataFrame | None = None) -> pd.DataFrame:
        table_ids(left, "left")
        if right is not None:
            table_ids(right, "right")
        self._check_columns(left, right)
        return union_candidates([b.candidates(left, right) for b in self.blockers], left, right)

    _pairs = None  # candidates() combines the members' own candidate tables


def union_candidates(
    frames: Sequence[pd.DataFrame], left: pd.DataFrame, right: pd.DataFrame | None
) -> pd.DataFrame:
    """Candidate tables of several blockers as one, as :class:`UnionBlocker` gives them.

    Each pair once, in table order; ``score`` is the highest any blocker gave,
    ``blocker`` the blockers that proposed it, joined with ``|`` in the order of
    ``frames``. Any engine's blockers can be combined with it.
    """
    frames = [f.assign(_order=i) for i, f in enumerate(frames) if len(f)]
    if not frames:
        return empty_candidates()
    everything = pd.concat(frames, ignore_index=True)
    lpos = pd.Index(left.index.astype(str)).get_indexer(everything["ltable_id"])
    rtable = left if right is None else right
    rpos = pd.Index(rtable.index.astype(str)).get_indexer(everything["rtable_id"])
    order = np.lexsort((everything["_order"].to_numpy(), rpos, lpos))
    everything = everything.iloc[order]
    grouped = everything.groupby(["ltable_id", "rtable_id"], sort=False)
    out = grouped.agg(score=("score", "max"), blocker=("blocker", "|".join)).reset_index()
    out["score"] = out["score"].astype("float64")
    out["blocker"] = out["blocker"].astype(object)
    return out[["ltable_id", "rtable_id", "score", "blocker"]]
