"""Synthetic product data with known ground truth: a linkage set and a dedup set.

Records have the columns ``brand, title, model, category, capacity, colour,
price, description`` (see :mod:`data.catalog`): the title is brand + product
line + product type ("Samsung Orver Max Portable Charger"), the model number
looks like ``"WD-4821BK"``, capacity like ``"128 GB"``; the description is free
text about features. Each record is a corrupted copy of its entity (see
:mod:`data.corrupt`).

Hard negatives are *siblings*: distinct products of one family whose clean
values differ in exactly one column, ``model``, ``capacity`` or ``colour``.
Every labelled pair carries ``planted``: that column for a hard negative, ``""``
for a match or an easy negative, so an explanation of a hard negative has one
unambiguous right answer. ``kind`` says how the pair was drawn: ``"match"``,
``"sibling"``, ``"similar"`` (same brand and category, other family) or
``"random"``.

Everything is deterministic given ``seed``; a million records take seconds.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from data.catalog import ATTRIBUTES, Catalog, make_catalog
from data.corrupt import render_records

__all__ = ["ATTRIBUTES", "SyntheticDedup", "SyntheticLinkage", "make_dedup", "make_linkage"]

logger = logging.getLogger(__name__)

KINDS = ("match", "sibling", "similar", "random")
"""How a labelled pair was drawn (``"match"`` is the only positive kind)."""


@dataclass(frozen=True, eq=False, repr=False)
class SyntheticLinkage:
    """Two noisy product tables and their ground truth.

    Attributes:
        left, right: record tables (ids ``"a0"``.. and ``"b0"``.., shuffled).
        matches: every true pair (``ltable_id`` from left, ``rtable_id`` from right).
        pairs: labelled training pairs: ``ltable_id, rtable_id, label, planted, kind``.
        left_entity, right_entity: record id -> entity id (``"e12"``).
        entities: the clean entities (indexed by entity id) with ``family`` and
            ``planted_axis``.
    """

    left: pd.DataFrame
    right: pd.DataFrame
    matches: pd.DataFrame
    pairs: pd.DataFrame
    left_entity: pd.Series
    right_entity: pd.Series
    entities: pd.DataFrame

    def __repr__(self) -> str:
        return (
            f"SyntheticLinkage(left={len(self.left)}, right={len(self.right)}, "
            f"matches={len(self.matches)}, pairs={len(self.pairs)} "
            f"({_count(self.pairs, 'sibling')} sibling))"
        )


@dataclass(frozen=True, eq=False, repr=False)
class SyntheticDedup:
    """One noisy product table with duplicates and its ground truth.

    Attributes:
        records: the table (ids ``"r0"``.., shuffled).
        matches: every true duplicate pair, ``ltable_id < rtable_id``.
        pairs: labelled pairs (``ltable_id < rtable_id``) with ``planted`` and ``kind``.
        entity: record id -> entity id.
        entities: the clean entities with ``family`` and ``planted_axis``.
    """

    records: pd.DataFrame
    matches: pd.DataFrame
    pairs: pd.DataFrame
    entity: pd.Series
    entities: pd.DataFrame

    def __repr__(self) -> str:
        return (
            f"SyntheticDedup(records={len(self.records)}, matches={len(self.matches)}, "
            f"pairs={len(self.pairs)} ({_count(self.pairs, 'sibling')} sibling))"
        )


def _count(pairs: pd.DataFrame, kind: str) -> int:
    return int((pairs["kind"] == kind).sum())


def _check(n_entities: int, rates: dict[str, float], negatives_per_match: float) -> None:
    if not isinstance(n_entities, (int, np.integer)) or n_entities < 1:
        raise ValueError(f"n_entities must be a positive integer, got {n_entities!r}")
    for name, value in rates.items():
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"{name} must be between 0 and 1, got {value!r}")
    if negatives_per_match < 0:
        raise ValueError(f"negatives_per_match must be >= 0, got {negatives_per_match!r}")


def _bar(desc: str, total: int, progress: bool) -> tqdm:
    return tqdm(total=total, desc=desc, unit="step", disable=not progress, delay=1.0)


def _step(bar: tqdm) -> Callable[[str], object]:
    return lambda _column: bar.update()


def _ids(prefix: str, n: int) -> np.ndarray:
    return np.array([f"{prefix}{i}" for i in range(n)], dtype=object)


def _part(
    a: np.ndarray, b: np.ndarray, kind: str, planted: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, str, np.ndarray]:
    """One block of labelled pairs as positions into the left and right tables."""
    if planted is None:
        planted = np.full(len(a), "", dtype=object)
    return a, b, kind, planted


def _family_pairs(
    lpos: np.ndarray, rpos: np.ndarray, l_ent: np.ndarray, r_ent: np.ndarray, catalog: Catalog
) -> tuple[np.ndarray, np.ndarray]:
    """All (left, right) positions whose entities are distinct members of one family."""
    fam = catalog.family
    sizes = np.bincount(fam)
    lkeep = sizes[fam[l_ent]] > 1
    rkeep = sizes[fam[r_ent]] > 1
    left = pd.DataFrame({"l": lpos[lkeep], "f": fam[l_ent[lkeep]], "le": l_ent[lkeep]})
    right = pd.DataFrame({"r": rpos[rkeep], "f": fam[r_ent[rkeep]], "re": r_ent[rkeep]})
    joined = left.merge(right, on="f")
    joined = joined[joined["le"] != joined["re"]]
    return joined["l"].to_numpy(), joined["r"].to_numpy()


def _easy_negatives(
    n: int,
    l_ent: np.ndarray,
    r_ent: np.ndarray,
    catalog: Catalog,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``n`` (left pos, right pos, is_similar) pairs of records of different families.

    Half are random, half "similar": the right record shares brand and category.
    """
    if n == 0 or len(l_ent) == 0 or len(r_ent) == 0:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty, np.empty(0, dtype=bool)
    n_sim = n // 2
    la = rng.integers(0, len(l_ent), size=n)
    ra = rng.integers(0, len(r_ent), size=n)
    # similar: a right record with the same (brand, category) key as the left one
    rkey = catalog.brand_category[r_ent]
    order = np.argsort(rkey, kind="stable")
    sorted_keys = rkey[order]
    lkey = catalog.brand_category[l_ent[la[:n_sim]]]
    start = np.searchsorted(sorted_keys, lkey, side="left")
    stop = np.searchsorted(sorted_keys, lkey, side="right")
    has = stop > start
    pick = start + (rng.random(n_sim) * (stop - start)).astype(np.int64)
    ra[:n_sim] = np.where(has, order[np.minimum(pick, len(order) - 1)], ra[:n_sim])
    similar = np.zeros(n, dtype=bool)
    similar[:n_sim] = has
    keep = catalog.family[l_ent[la]] != catalog.family[r_ent[ra]]
    return la[keep], ra[keep], similar[keep]


def _assemble(
    parts: list[tuple[np.ndarray, np.ndarray, str, np.ndarray]],
    left_ids: np.ndarray,
    right_ids: np.ndarray,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Concatenate the blocks, keep each pair's first occurrence, shuffle."""
    a = np.concatenate([p[0] for p in parts]).astype(np.int64)
    b = np.concatenate([p[1] for p in parts]).astype(np.int64)
    kind = np.concatenate([np.full(len(p[0]), KINDS.index(p[2]), dtype=np.int8) for p in parts])
    planted = np.concatenate([p[3] for p in parts])
    _, first = np.unique(a * len(right_ids) + b, return_index=True)
    keep = np.sort(first)[rng.permutation(len(first))]
    return pd.DataFrame(
        {
            "ltable_id": left_ids[a[keep]],
            "rtable_id": right_ids[b[keep]],
            "label": (kind[keep] == 0).astype("int8"),
            "planted": planted[keep],
            "kind": np.array(KINDS, dtype=object)[kind[keep]],
        }
    )


def make_linkage(
    *,
    n_entities: int = 1000,
    seed: int = 0,
    match_rate: float = 0.8,
    sibling_rate: float = 0.3,
    negatives_per_match: float = 3.0,
    noise: float = 1.0,
    progress: bool = True,
) -> SyntheticLinkage:
    """Two product tables (say, two shops) listing overlapping products.

    Args:
        n_entities: distinct products (siblings included).
        seed: seed of every random choice; the same seed gives identical output.
        match_rate: share of products listed in both tables; the others are
            listed in one table only (left or right at random).
        sibling_rate: share of products that are siblings of another product
            (at most 0.75).
        negatives_per_match: easy negatives (half random, half same brand and
            category) per true match in ``pairs``.
        noise: scales every corruption rate (0 = clean copies).
        progress: show a progress bar (only for runs that take over a second).
    """
    _check(
        n_entities, {"match_rate": match_rate, "sibling_rate": sibling_rate}, negatives_per_match
    )
    rng = np.random.default_rng(seed)
    bar = _bar("make_linkage", 2 + 2 * len(ATTRIBUTES), progress)
    catalog = make_catalog(n_entities, rng, sibling_rate=sibling_rate)
    bar.update()
    both = rng.random(n_entities) < match_rate
    to_left = both | (rng.random(n_entities) < 0.5)
    to_right = both | ~to_left
    l_ent = rng.permutation(np.flatnonzero(to_left))
    r_ent = rng.permutation(np.flatnonzero(to_right))
    left_ids, right_ids = _ids("a", len(l_ent)), _ids("b", len(r_ent))
    left = render_records(catalog, l_ent, left_ids, rng, noise=noise, on_column=_step(bar))
    right = render_records(catalog, r_ent, right_ids, rng, noise=noise, on_column=_step(bar))
    left.attrs["source"] = f"make_linkage(seed={seed}) left"
    right.attrs["source"] = f"make_linkage(seed={seed}) right"

    r_of_entity = np.full(n_entities, -1, dtype=np.int64)
    r_of_entity[r_ent] = np.arange(len(r_ent))
    lpos = np.flatnonzero(r_of_entity[l_ent] >= 0)
    rpos = r_of_entity[l_ent[lpos]]
    matches = pd.DataFrame({"ltable_id": left_ids[lpos], "rtable_id": right_ids[rpos]})

    fl, fr = _family_pairs(np.arange(len(l_ent)), np.arange(len(r_ent)), l_ent, r_ent, catalog)
    n_easy = round(negatives_per_match * len(matches))
    el, er, sim = _easy_negatives(n_easy, l_ent, r_ent, catalog, rng)
    parts = [
        _part(lpos, rpos, "match"),
        _part(fl, fr, "sibling", catalog.axis[l_ent[fl]]),
        _part(el[sim], er[sim], "similar"),
        _part(el[~sim], er[~sim], "random"),
    ]
    pairs = _assemble(parts, left_ids, right_ids, rng)
    bar.update()
    bar.close()
    entity_ids = _ids("e", n_entities)
    result = SyntheticLinkage(
        left=left,
        right=right,
        matches=matches,
        pairs=pairs,
        left_entity=pd.Series(entity_ids[l_ent], index=left.index, name="entity"),
        right_entity=pd.Series(entity_ids[r_ent], index=right.index, name="entity"),
        entities=catalog.to_frame(entity_ids),
    )
    logger.info("generated %r", result)
    return result


def _ordered(a: np.ndarray, b: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions swapped where needed so that ``ids[a] < ids[b]`` (string order)."""
    swap = ids[b] < ids[a]
    return np.where(swap, b, a), np.where(swap, a, b)


def make_dedup(
    *,
    n_entities: int = 1000,
    seed: int = 0,
    max_duplicates: int = 4,
    sibling_rate: float = 0.3,
    negatives_per_match: float = 1.0,
    noise: float = 1.0,
    progress: bool = True,
) -> SyntheticDedup:
    """One product table in which many products are listed several times.

    Args:
        n_entities: distinct products (siblings included).
        seed: seed of every random choice.
        max_duplicates: each product has between 1 and ``max_duplicates``
            records (uniformly, so ``(1 + max_duplicates) / 2`` on average).
        sibling_rate: share of products that are siblings of another product.
        negatives_per_match: easy negatives per true duplicate pair in ``pairs``.
        noise: scales every corruption rate (0 = clean copies).
        progress: show a progress bar (only for runs that take over a second).
    """
    _check(n_entities, {"sibling_rate": sibling_rate}, negatives_per_match)
    if not isinstance(max_duplicates, (int, np.integer)) or max_duplicates < 1:
        raise ValueError(f"max_duplicates must be a positive integer, got {max_duplicates!r}")
    rng = np.random.default_rng(seed)
    bar = _bar("make_dedup", 2 + len(ATTRIBUTES), progress)
    catalog = make_catalog(n_entities, rng, sibling_rate=sibling_rate)
    bar.update()
    counts = rng.integers(1, max_duplicates + 1, size=n_entities)
    ent = rng.permutation(np.repeat(np.arange(n_entities), counts))
    ids = _ids("r", len(ent))
    records = render_records(catalog, ent, ids, rng, noise=noise, on_column=_step(bar))
    records.attrs["source"] = f"make_dedup(seed={seed})"

    # true pairs: every pair of records of one entity
    order = np.argsort(ent, kind="stable")
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    ma, mb = [], []
    for i in range(max_duplicates):
        for j in range(i + 1, max_duplicates):
            grp = np.flatnonzero(counts > j)
            ma.append(order[starts[grp] + i])
            mb.append(order[starts[grp] + j])
    ma_all = np.concatenate(ma) if ma else np.empty(0, dtype=np.int64)
    mb_all = np.concatenate(mb) if mb else np.empty(0, dtype=np.int64)
    lo, hi = _ordered(ma_all, mb_all, ids)
    matches = pd.DataFrame({"ltable_id": ids[lo], "rtable_id": ids[hi]})

    pos = np.arange(len(ent))
    fa, fb = _family_pairs(pos, pos, ent, ent, catalog)
    keep = ids[fa] < ids[fb]  # each unordered sibling pair once
    fa, fb = fa[keep], fb[keep]
    n_easy = round(negatives_per_match * len(matches))
    ea, eb, sim = _easy_negatives(n_easy, ent, ent, catalog, rng)
    ea, eb = _ordered(ea, eb, ids)
    parts = [
        _part(lo, hi, "match"),
        _part(fa, fb, "sibling", catalog.axis[ent[fa]]),
        _part(ea[sim], eb[sim], "similar"),
        _part(ea[~sim], eb[~sim], "random"),
    ]
    pairs = _assemble(parts, ids, ids, rng)
    bar.update()
    bar.close()
    entity_ids = _ids("e", n_entities)
    result = SyntheticDedup(
        records=records,
        matches=matches,
        pairs=pairs,
        entity=pd.Series(entity_ids[ent], index=records.index, name="entity"),
        entities=catalog.to_frame(entity_ids),
    )
    logger.info("generated %r", result)
    return result
