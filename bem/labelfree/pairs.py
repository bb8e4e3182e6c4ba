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
  (in linkage, one of the other table);
- in linkage, **cross-table pseudo-pairs** (:func:`cross_table_pairs`): the
  two tables' unambiguous mutual best matches on the key as positives, each
  against a noisy copy of its partner, so that the model also sees how the two
  sources write one entity differently (a self-pair never shows that); and the
  positive's other blocked candidates in the other table as negatives (each
  table is free of duplicates, so a record has at most one partner). No label
  is read: the pairs come from the blocker's scores alone.

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
    cross_pairs: bool = True,
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
        cross_pairs: in linkage, add the cross-table pseudo-pairs (at most
            ``max_records // 2`` positives).
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

    if right is not None and cross_pairs:
        cross = cross_table_pairs(
            left, right, key=key, limit=max_records // 2, negatives=hard_negatives, rng=rng
        )
        pairs += cross
        logger.info(
            "self-supervised: %d cross-table pseudo-positives, %d pseudo-negatives",
            sum(y for *_, y in cross),
            sum(1 - y for *_, y in cross),
        )

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

    frame = pd.DataFrame(pairs, columns=["ltable_id", "rtable_id", "label"])
    # a pair drawn twice keeps its first label (a pseudo-positive is never also a negative)
    frame = frame.drop_duplicates(subset=["ltable_id", "rtable_id"])
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


CROSS_MIN_SCORE = 80.0
"""A cross-table pseudo-positive's key similarity (rapidfuzz token-set ratio, 0-100), at least."""
CROSS_MIN_MARGIN = 10.0
"""...and its lead over either record's next-best candidate: an unambiguous best match."""


def cross_table_pairs(
    left: pd.DataFrame,
    right: pd.DataFrame,
    *,
    key: Sequence[str],
    limit: int,
    negatives: int,
    rng: np.random.Generator,
) -> list[tuple[str, str, int]]:
    """Pseudo-labelled pairs across two duplicate-free tables, from blocking scores alone.

    A pair is a pseudo-positive when each record is the other's best candidate
    (the fuzzy blocker's, top ``negatives + 1`` per record both ways), its score
    is at least :data:`CROSS_MIN_SCORE` and it leads both records' next-best
    candidates by :data:`CROSS_MIN_MARGIN`. At most ``limit`` of them (a random
    sample), each with up to ``negatives`` of its left record's other candidates
    as pseudo-negatives. Ids are the pool's (``left:<id>``, ``right:<id>~copy``).
    """
    from blocking import FuzzyBlocker

    if limit < 1 or len(left) == 0 or len(right) == 0:
        return []
    # at least the two best per record, so that the margin has a runner-up to look at
    blocker = FuzzyBlocker(key=key, top_k=max(negatives, 1) + 1, progress=False)
    cands = blocker.candidates(left, right)[["ltable_id", "rtable_id", "score"]]
    if cands.empty:
        return []
    cands = cands.astype({"ltable_id": str, "rtable_id": str})
    ranked = {}
    for side, other in (("ltable_id", "rtable_id"), ("rtable_id", "ltable_id")):
        top = cands.sort_values([side, "score"], ascending=[True, False], kind="stable")
        first = top.groupby(side, sort=False).head(1).set_index(side)
        second = top.groupby(side, sort=False).nth(1).set_index(side)["score"]
        ranked[side] = (first[other], first["score"], second)
    best_r, best_score, second_l = ranked["ltable_id"]
    best_l, _, second_r = ranked["rtable_id"]
    chosen = []
    for lid, rid in best_r.items():
        score = float(best_score[lid])
        if best_l.get(rid) != lid or score < CROSS_MIN_SCORE:
            continue
        runner_up = max(float(second_l.get(lid, 0.0)), float(second_r.get(rid, 0.0)))
        if score - runner_up >= CROSS_MIN_MARGIN:
            chosen.append((lid, rid))
    if len(chosen) > limit:
        chosen = [chosen[i] for i in np.sort(rng.choice(len(chosen), size=limit, replace=False))]
    others = cands.groupby("ltable_id", sort=False)["rtable_id"].apply(list)
    out: list[tuple[str, str, int]] = []
    for lid, rid in chosen:
        out.append((f"left:{lid}", f"right:{rid}{COPY}", 1))
        for other in [r for r in others.get(lid, []) if r != rid][:negatives]:
            out.append((f"left:{lid}", f"right:{other}{COPY}", 0))
    return out
