"""Training pairs without a single label: records against noisy copies of themselves.

:func:`self_supervised_pairs` builds what the label-free matcher trains on:

- **positives**: a record against a noisy copy of itself (:func:`data.noisy_copy`:
  typos, dropped tokens, abbreviations, punctuation, missing values);
- **hard negatives**: a record against a noisy copy of one of its blocked
  neighbours in its own table (the fuzzy blocker's top-k on the key). Two
  records of one duplicate-free source are different entities, so in linkage
  every neighbour is used; in deduplication a neighbour may be a duplicate, so
  neighbours whose key is as alike as the easiest third of the self-pairs
  (rapidfuzz token-set ratio at or above the positives' 33rd percentile) are
  left out;
- **random negatives**: a record against a noisy copy of a random other record
  (in linkage, one of the other table).

Both sides of every pair are built the same way (an original on the left, a
noisy copy on the right), so a copy's noise is no clue to the label.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd

from data import BemError, RecordPairs
from data.noisy_copy import noisy_copy

__all__ = ["self_supervised_pairs"]

logger = logging.getLogger(__name__)

COPY = "~copy"


def _key_text(table: pd.DataFrame, key: Sequence[str], ids: Sequence[str]) -> list[str]:
    rows = table.loc[list(ids), list(key)]
    return [" ".join(v for v in r if isinstance(v, str)).lower() for r in rows.itertuples(False)]


def _pool(left: pd.DataFrame, right: pd.DataFrame | None) -> tuple[pd.DataFrame, np.ndarray]:
    """All records in one table (linkage: ids prefixed by side) and each one's side."""
    if right is None:
        return left.set_axis(left.index.astype(str), axis=0), np.zeros(len(left), dtype=int)
    parts = [
        t.set_axis(pd.Index([f"{side}:{i}" for i in t.index.astype(str)]), axis=0)
        for side, t in (("left", left), ("right", right))
    ]
    pool = pd.concat(parts)
    return pool, np.repeat([0, 1], [len(left), len(right)])


def self_supervised_pairs(
    left: pd.DataFrame,
    right: pd.DataFrame | None = None,
    *,
    key: Sequence[str] | None = None,
    max_records: int = 1000,
    hard_negatives: int = 2,
    random_negatives: int = 1,
    noise: float = 1.0,
    seed: int = 0,
) -> RecordPairs:
    """Labelled pairs built from the tables alone (see the module docstring).

    Args:
        left, right: the table to deduplicate, or the two tables to link.
        key: the blocking key for hard negatives (default: the pipeline's).
        max_records: records sampled (``seed``) to make self-pairs of.
        hard_negatives: blocked neighbours per sampled record (at most).
        random_negatives: random other records per sampled record.
        noise: scales the copies' corruption rates.
    """
    from bem.pipeline import default_key
    from blocking import FuzzyBlocker

    if max_records < 2:
        raise ValueError(f"max_records must be at least 2, got {max_records}")
    pool, side = _pool(left, right)
    if len(pool) < 2:
        raise BemError("self-supervised training needs at least two records")
    key = list(key) if key else default_key(left)
    rng = np.random.default_rng(seed)
    chosen = np.sort(rng.choice(len(pool), size=min(max_records, len(pool)), replace=False))
    ids = pool.index.to_numpy()
    sample = ids[chosen]
    pairs: list[tuple[str, str, int]] = [(i, i + COPY, 1) for i in sample]

    # the positives' copies, made once: they are the right side of every self-pair
    sample_copies = noisy_copy(pool.loc[sample], seed=seed, noise=noise, suffix=COPY)

    # hard negatives: neighbours inside each record's own table
    positive_sim = None
    if right is None:
        from rapidfuzz import fuzz

        text = _key_text(pool, key, sample)
        copies_text = _key_text(sample_copies, key, [i + COPY for i in sample])
        positive_sim = np.percentile(
            [fuzz.token_set_ratio(a, b) / 100 for a, b in zip(text, copies_text)], 33
        )
    wanted = set(sample.tolist())
    for s in np.unique(side):
        table = pool[side == s]
        if len(table) < 2:
            continue
        blocker = FuzzyBlocker(key=key, top_k=hard_negatives, progress=False)
        cands = blocker.candidates(table, None)
        kept = 0
        per_record: dict[str, int] = {}
        for a, b, score in zip(cands["ltable_id"], cands["rtable_id"], cands["score"]):
            if positive_sim is not None and score / 100 >= positive_sim:
                continue
            for x, y in ((a, b), (b, a)):
                if x in wanted and per_record.get(x, 0) < hard_negatives:
                    per_record[x] = per_record.get(x, 0) + 1
                    pairs.append((x, y + COPY, 0))
                    kept += 1
        logger.info("self-supervised: %d hard negatives from table %d", kept, s)

    # random negatives (linkage: across the tables)
    for i, s in zip(chosen, side[chosen]):
        others = np.flatnonzero(side != s) if right is not None else None
        for _ in range(random_negatives):
            if others is not None and len(others):
                j = int(others[rng.integers(len(others))])
            else:
                j = int(rng.integers(len(pool) - 1))
                j += j >= i
            pairs.append((ids[i], ids[j] + COPY, 0))

    frame = pd.DataFrame(pairs, columns=["ltable_id", "rtable_id", "label"]).drop_duplicates(
        subset=["ltable_id", "rtable_id"]
    )
    frame["label"] = frame["label"].astype("int8")
    others = sorted({r[: -len(COPY)] for r in frame["rtable_id"]} - wanted)
    copies = pd.concat(
        [sample_copies, noisy_copy(pool.loc[others], seed=seed + 1, noise=noise, suffix=COPY)]
    )
    used_left = sorted(set(frame["ltable_id"]))
    logger.info(
        "self-supervised pairs: %d positives, %d negatives over %d records",
        int(frame["label"].sum()),
        int((frame["label"] == 0).sum()),
        len(pool),
    )
    return RecordPairs(pool.loc[used_left], copies, frame.reset_index(drop=True))
