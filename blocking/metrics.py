"""How good a set of candidate pairs is, measured against the true matches."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from data.errors import BemError

__all__ = ["BlockingMetrics", "evaluate_blocking"]


@dataclass(frozen=True)
class BlockingMetrics:
    """Blocking quality.

    Attributes:
        recall: pair completeness, the share of true matches among the candidates.
        reduction_ratio: ``1 - candidates / all possible pairs``.
        pair_quality: the share of candidates that are true matches (precision).
        candidates_per_record: candidates per record of the smaller table when
            linking (per query record), candidates per record when deduplicating.
        n_candidates: distinct candidate pairs.
        n_matches: distinct true matches.
        n_found: true matches among the candidates.
        n_left: records in the left table.
        n_right: records in the right table (``None`` when deduplicating).
        missed: the true matches that are not candidates (``ltable_id``,
            ``rtable_id``, plus the records' key text when tables were given).
    """

    recall: float
    reduction_ratio: float
    pair_quality: float
    candidates_per_record: float
    n_candidates: int
    n_matches: int
    n_found: int
    n_left: int
    n_right: int | None
    missed: pd.DataFrame = field(repr=False, compare=False)

    def to_dict(self) -> dict[str, float | int | None]:
        """The figures (without ``missed``), JSON-ready."""
        return {
            "recall": self.recall,
            "reduction_ratio": self.reduction_ratio,
            "pair_quality": self.pair_quality,
            "candidates_per_record": self.candidates_per_record,
            "n_candidates": self.n_candidates,
            "n_matches": self.n_matches,
            "n_found": self.n_found,
            "n_missed": len(self.missed),
            "n_left": self.n_left,
            "n_right": self.n_right,
        }

    def to_frame(self) -> pd.DataFrame:
        """One-row DataFrame of :meth:`to_dict`."""
        return pd.DataFrame([self.to_dict()])


def _pair_frame(pairs: pd.DataFrame, what: str, dedup: bool) -> pd.DataFrame:
    if {"ltable_id", "rtable_id"} - set(pairs.columns) and {"id1", "id2"} <= set(pairs.columns):
        pairs = pairs.rename(columns={"id1": "ltable_id", "id2": "rtable_id"})
    missing = {"ltable_id", "rtable_id"} - set(pairs.columns)
    if missing:
        raise BemError(
            f"{what}: missing column(s) {sorted(missing)}; expected ltable_id,rtable_id "
            f"(found {list(pairs.columns)})"
        )
    if "label" in pairs.columns:
        pairs = pairs[pairs["label"].astype(int) == 1]
    lid = pairs["ltable_id"].astype(str).to_numpy(dtype=object)
    rid = pairs["rtable_id"].astype(str).to_numpy(dtype=object)
    if dedup:
        swap = lid > rid
        lid, rid = np.where(swap, rid, lid), np.where(swap, lid, rid)
        keep = lid != rid
        lid, rid = lid[keep], rid[keep]
    out = pd.DataFrame({"ltable_id": lid, "rtable_id": rid})
    return out.drop_duplicates(ignore_index=True)


def evaluate_blocking(
    candidates: pd.DataFrame,
    matches: pd.DataFrame,
    *,
    n_left: int,
    n_right: int | None = None,
    left: pd.DataFrame | None = None,
    right: pd.DataFrame | None = None,
) -> BlockingMetrics:
    """Measure candidate pairs against the true matches.

    Args:
        candidates: ``ltable_id, rtable_id`` (a blocker's output).
        matches: the true pairs, ``ltable_id, rtable_id`` (or ``id1, id2``); a
            labelled pair table is accepted and its ``label == 1`` rows are used
            (recall is then measured on the known matches only).
        n_left: records in the left table (the only table when deduplicating).
        n_right: records in the right table; ``None`` means deduplication: pairs
            are unordered and there are ``n_left * (n_left - 1) / 2`` of them.
        left, right: the tables, to add the missed records' values to ``missed``.

    Raises:
        BemError: a pair table lacks its id columns.
    """
    dedup = n_right is None
    if n_left < 0 or (n_right is not None and n_right < 0):
        raise ValueError(f"table sizes must be >= 0, got n_left={n_left}, n_right={n_right}")
    cand = _pair_frame(candidates, "candidates", dedup)
    true = _pair_frame(matches, "matches", dedup)
    found = true.merge(cand, on=["ltable_id", "rtable_id"], how="left", indicator=True)
    hit = (found["_merge"] == "both").to_numpy()
    missed = true[~hit].reset_index(drop=True)
    total = n_left * (n_left - 1) // 2 if dedup else n_left * n_right
    per = n_left if dedup else min(n_left, n_right)
    if left is not None:
        rtable = left if right is None else right
        for col, table, tag in (("ltable_id", left, "l"), ("rtable_id", rtable, "r")):
            values = table.copy()
            values.index = values.index.astype(str)
            values = values.add_prefix(f"{tag}_")
            missed = missed.merge(values, left_on=col, right_index=True, how="left")
    n_found = int(hit.sum())
    return BlockingMetrics(
        recall=n_found / len(true) if len(true) else 1.0,
        reduction_ratio=1.0 - len(cand) / total if total else 0.0,
        pair_quality=n_found / len(cand) if len(cand) else 0.0,
        candidates_per_record=len(cand) / per if per else 0.0,
        n_candidates=len(cand),
        n_matches=len(true),
        n_found=n_found,
        n_left=n_left,
        n_right=n_right,
        missed=missed,
    )
