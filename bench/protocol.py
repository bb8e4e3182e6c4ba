"""The out-of-sample protocol of the end-to-end benchmarks.

Every end-to-end row (``bench/pipeline.py``) is scored on records the matcher
never saw:

1. The complete ground truth is grouped into entities: the connected
   components of the true pairs, every record without a true pair its own
   entity.
2. The entities are split at random (``seed``) into a training part and an
   evaluation part (``train_fraction`` of the entities, not of the records);
   every record goes with its entity, so no true pair crosses the cut.
3. Labelled pairs are built inside the training part only: the candidates of a
   blocker over the training records, labelled by the ground truth, plus every
   true pair of the training part the blocker missed. The matcher trains and
   validates (early stopping, threshold) on them; the baseline's threshold is
   tuned on the same pairs; blocking settings are chosen on the training part.
4. The pipeline runs on the evaluation part's records alone and is scored
   against the true pairs among them.

:func:`overlap` counts what the protocol must keep at zero: true pairs of the
evaluation that were training or validation positives, and evaluation records
that appear in any training or validation pair.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bem.cluster import connected_components
from data import RecordPairs

__all__ = ["EntitySplit", "entity_split", "labelled_pairs", "overlap"]


@dataclass(frozen=True)
class EntitySplit:
    """Records and true pairs of the training and evaluation parts.

    ``train_right``/``eval_right`` are ``None`` for deduplication (one table);
    the match frames hold ``ltable_id, rtable_id`` (string ids; for dedup
    ordered ``ltable_id < rtable_id``).
    """

    train_left: pd.DataFrame
    train_right: pd.DataFrame | None
    eval_left: pd.DataFrame
    eval_right: pd.DataFrame | None
    train_matches: pd.DataFrame
    eval_matches: pd.DataFrame
    n_entities: int
    n_train_entities: int


def entity_split(
    left: pd.DataFrame,
    right: pd.DataFrame | None,
    matches: pd.DataFrame,
    *,
    train_fraction: float = 0.5,
    seed: int = 0,
) -> EntitySplit:
    """Split records by entity into a training and an evaluation part."""
    if not 0.0 < train_fraction < 1.0:
        raise ValueError(f"train_fraction must be in (0, 1), got {train_fraction}")
    lids = left.index.astype(str)
    rids = lids if right is None else right.index.astype(str)
    offset = 0 if right is None else len(lids)
    lpos = pd.Series(np.arange(len(lids)), index=lids)
    rpos = pd.Series(np.arange(len(rids)) + offset, index=rids)
    m_l = matches["ltable_id"].astype(str).to_numpy()
    m_r = matches["rtable_id"].astype(str).to_numpy()
    n = len(lids) + (0 if right is None else len(rids))
    entity = connected_components(n, lpos.loc[m_l].to_numpy(), rpos.loc[m_r].to_numpy())
    uniq = np.unique(entity)
    rng = np.random.default_rng(seed)
    chosen = rng.choice(uniq, size=round(train_fraction * len(uniq)), replace=False)
    in_train = np.isin(entity, chosen)
    l_train = in_train[: len(lids)]
    r_train = in_train[offset : offset + len(rids)] if right is not None else l_train
    pair_train = l_train[lpos.loc[m_l].to_numpy()]
    frame = pd.DataFrame({"ltable_id": m_l, "rtable_id": m_r})
    return EntitySplit(
        train_left=left.loc[left.index[l_train]],
        train_right=None if right is None else right.loc[right.index[r_train]],
        eval_left=left.loc[left.index[~l_train]],
        eval_right=None if right is None else right.loc[right.index[~r_train]],
        train_matches=frame[pair_train].reset_index(drop=True),
        eval_matches=frame[~pair_train].reset_index(drop=True),
        n_entities=len(uniq),
        n_train_entities=len(chosen),
    )


def _pair_keys(lids: Sequence[str], rids: Sequence[str], *, unordered: bool) -> list[tuple]:
    if unordered:
        return [(a, b) if a <= b else (b, a) for a, b in zip(lids, rids)]
    return list(zip(lids, rids))


def labelled_pairs(
    split: EntitySplit,
    *,
    key: Sequence[str],
    top_k: int = 10,
    max_pairs: int | None = None,
    seed: int = 0,
) -> RecordPairs:
    """Labelled pairs over the training part: blocked candidates plus missed true pairs.

    With ``max_pairs``, the pairs are sampled down (``seed``) to at most
    ``max_pairs``: every true pair is kept while they fill at most half of it
    (else half of it is true pairs, sampled), and non-matches fill the rest.
    """
    from bem.pipeline import block

    left, right = split.train_left, split.train_right
    dedup = right is None
    cands = block(left, right, key=key, top_k=top_k, progress=False)
    truth = set(
        _pair_keys(
            split.train_matches["ltable_id"], split.train_matches["rtable_id"], unordered=dedup
        )
    )
    keys = _pair_keys(
        cands["ltable_id"].astype(str), cands["rtable_id"].astype(str), unordered=dedup
    )
    label = np.array([k in truth for k in keys], dtype="int8")
    found = set(k for k, y in zip(keys, label) if y)
    missed = sorted(truth - found)
    pairs = pd.concat(
        [
            pd.DataFrame(
                {
                    "ltable_id": [k[0] for k in keys],
                    "rtable_id": [k[1] for k in keys],
                    "label": label,
                }
            ),
            pd.DataFrame(
                {
                    "ltable_id": [k[0] for k in missed],
                    "rtable_id": [k[1] for k in missed],
                    "label": np.ones(len(missed), dtype="int8"),
                }
            ),
        ],
        ignore_index=True,
    )
    if max_pairs is not None and len(pairs) > max_pairs:
        pos = np.flatnonzero(pairs["label"].to_numpy() == 1)
        neg = np.flatnonzero(pairs["label"].to_numpy() == 0)
        rng = np.random.default_rng(seed)
        if len(pos) > max_pairs // 2:
            pos = rng.choice(pos, size=max_pairs // 2, replace=False)
        keep_neg = rng.choice(neg, size=min(max_pairs - len(pos), len(neg)), replace=False)
        pairs = pairs.iloc[np.sort(np.concatenate([pos, keep_neg]))]
    return RecordPairs(left, left if dedup else right, pairs.reset_index(drop=True))


def overlap(split: EntitySplit, seen: Sequence[RecordPairs]) -> dict[str, int]:
    """What the evaluation shares with the pairs a model trained or validated on.

    ``train_overlap_pairs``: true pairs of the evaluation that are positives of
    ``seen``; ``train_overlap_records``: evaluation records (per side) that
    appear in any pair of ``seen``. The protocol keeps both at 0.
    """
    dedup = split.eval_right is None
    positives: set[tuple] = set()
    seen_left: set[str] = set()
    seen_right: set[str] = set()
    for p in seen:
        lids = p.pairs["ltable_id"].astype(str)
        rids = p.pairs["rtable_id"].astype(str)
        labels = p.labels
        keys = _pair_keys(lids, rids, unordered=dedup)
        positives.update(k for k, y in zip(keys, labels) if y == 1)
        seen_left.update(lids)
        seen_right.update(rids)
    eval_keys = _pair_keys(
        split.eval_matches["ltable_id"], split.eval_matches["rtable_id"], unordered=dedup
    )
    if dedup:
        seen_any = seen_left | seen_right
        records = sum(i in seen_any for i in split.eval_left.index.astype(str))
    else:
        records = sum(i in seen_left for i in split.eval_left.index.astype(str)) + sum(
            i in seen_right for i in split.eval_right.index.astype(str)
        )
    return {
        "train_overlap_pairs": int(sum(k in positives for k in eval_keys)),
        "train_overlap_records": int(records),
    }
