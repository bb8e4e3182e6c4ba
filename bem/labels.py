"""True labels for the pipeline's report: joined on the pair, unknown when absent.

A label table (``ltable_id, rtable_id, label``) may cover only some of the
candidate pairs. A candidate without a label is *unknown* (``label`` missing,
``outcome`` ``"unknown"``), never a non-match. In deduplication a pair is
unordered: the blocker writes each pair with ``ltable_id < rtable_id`` (string
order), so a label ``5,12,1`` is the label of the candidate ``12,5``. In
linkage the left id comes from the left table, so the order is kept.

Two labels that disagree on one pair raise :class:`data.BemError` naming the
pair; the same label given twice is kept once.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from data import BemError

__all__ = ["OUTCOMES", "attach_labels", "prepare_labels"]

logger = logging.getLogger(__name__)

OUTCOMES = {(1, 1): "TP", (1, 0): "FP", (0, 1): "FN", (0, 0): "TN"}
"""``(decision, label)`` -> outcome; a pair without a label is ``"unknown"``."""


def _pair_keys(lids: pd.Series, rids: pd.Series, *, unordered: bool) -> pd.DataFrame:
    a, b = lids.astype(str).to_numpy(dtype=object), rids.astype(str).to_numpy(dtype=object)
    if unordered:
        swap = b < a
        a, b = np.where(swap, b, a), np.where(swap, a, b)
    return pd.DataFrame({"ltable_id": a, "rtable_id": b})


def prepare_labels(labels: pd.DataFrame, *, unordered: bool) -> pd.DataFrame:
    """Check a label table and give one row per pair: ``ltable_id, rtable_id, label``.

    With ``unordered`` (deduplication) each pair is written with
    ``ltable_id <= rtable_id``. Messages name ``labels.attrs["source"]`` (the
    file) when set.

    Raises:
        BemError: a missing column, an empty id, a label other than 0 or 1, or
            two different labels for one pair.
    """
    source = labels.attrs.get("source", "labels")
    missing = [c for c in ("ltable_id", "rtable_id") if c not in labels.columns]
    if missing:
        raise BemError(
            f"{source}: missing column(s) {missing}; a label file needs the columns "
            f"ltable_id,rtable_id,label (found {list(labels.columns)})"
        )
    if "label" not in labels.columns:
        raise BemError(
            f"{source}: no 'label' column; give ltable_id,rtable_id,label "
            "(1 = match, 0 = no match) for the pairs whose truth you know"
        )
    for col in ("ltable_id", "rtable_id"):
        values = labels[col]
        empty = values.isna().to_numpy() | (values.astype(str).str.strip() == "").to_numpy()
        if empty.any():
            rows = (np.flatnonzero(empty) + 1).tolist()[:10]
            raise BemError(f"{source}: empty {col} in label row(s) {rows}; give both ids")
    lids = labels["ltable_id"].astype(str).str.strip()
    rids = labels["rtable_id"].astype(str).str.strip()
    keys = _pair_keys(lids, rids, unordered=unordered)
    value = pd.to_numeric(labels["label"], errors="coerce").to_numpy()
    bad = ~np.isin(value, [0, 1])
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise BemError(
            f"{source}: label must be 0 or 1, got {labels['label'].iloc[i]!r} for the pair "
            f"({lids.iloc[i]!r}, {rids.iloc[i]!r}) in label row {i + 1}"
            f"{f' and {int(bad.sum()) - 1} more' if bad.sum() > 1 else ''}"
        )
    keys["label"] = value.astype("int8")
    spread = keys.groupby(["ltable_id", "rtable_id"], sort=False)["label"].nunique()
    conflicts = spread[spread > 1]
    if len(conflicts):
        a, b = conflicts.index[0]
        more = f" (and {len(conflicts) - 1} more pairs)" if len(conflicts) > 1 else ""
        order = " in either order" if unordered else ""
        raise BemError(
            f"{source}: conflicting labels for the pair ({a!r}, {b!r}){more}: it is labelled "
            f"both 0 and 1{order}; keep one label per pair"
        )
    out = keys.drop_duplicates(["ltable_id", "rtable_id"]).reset_index(drop=True)
    if len(out) < len(keys):
        logger.info("labels: %d repeated pair(s) kept once", len(keys) - len(out))
    return out


def attach_labels(pairs: pd.DataFrame, truth: pd.DataFrame, *, unordered: bool) -> pd.DataFrame:
    """``pairs`` with ``label`` (nullable ``Int8``; missing = unknown) and ``outcome``.

    ``truth`` comes from :func:`prepare_labels` with the same ``unordered``;
    ``outcome`` compares the pair's ``decision`` with its label (``"TP"``,
    ``"FP"``, ``"FN"``, ``"TN"``) and is ``"unknown"`` for a pair without one.
    """
    keys = _pair_keys(pairs["ltable_id"], pairs["rtable_id"], unordered=unordered)
    joined = keys.merge(truth, on=["ltable_id", "rtable_id"], how="left", validate="many_to_one")
    label = pd.array(joined["label"].to_numpy(dtype=float), dtype="Int8")
    outcome = [
        "unknown" if pd.isna(y) else OUTCOMES[(int(d), int(y))]
        for d, y in zip(pairs["decision"].to_numpy(), label)
    ]
    return pairs.assign(label=label, outcome=outcome)
