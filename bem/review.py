"""Review selection: the pairs worth a human look, and their explanations.

:func:`select_for_review` picks the lowest-confidence merges, the strongest
rejected candidates and a random sample of the rest; :func:`explain_review`
attaches the true labels when a label table is given (:mod:`bem.labels`: a pair
without one is unknown, never a non-match) and explains the chosen pairs with
:class:`explain.Explainer`, or, for a pair the cascade decided, by the
cascade's exact feature contributions (:func:`explain.explain_cascade`).

:func:`review_entities` builds the report's entity view: for each entity that
holds a reviewed merge, its records and every scored pair inside it.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from bem.decide import decision_rules
from bem.labels import attach_labels
from data import RecordPairs

if TYPE_CHECKING:
    from matcher import Matcher

__all__ = ["explain_review", "review_entities", "select_for_review"]

MAX_ENTITY_RECORDS = 50
"""An entity larger than this is shown by its first records per side only."""
MAX_ENTITY_LINKS = 200
"""The most links shown per entity (weakest first)."""


def select_for_review(
    pairs: pd.DataFrame,
    *,
    lowest_merges: int = 10,
    strongest_rejections: int = 10,
    sample: int = 10,
    seed: int = 0,
) -> pd.DataFrame:
    """The pairs most worth a human look, with a ``review_reason`` column.

    The lowest-confidence merges, the strongest rejected candidates, and a
    random sample of the rest (deterministic by ``seed``).
    """
    p = pairs["probability"].to_numpy(dtype=float)
    same = pairs["same_entity"].to_numpy()
    merged, rejected = np.flatnonzero(same == 1), np.flatnonzero(same == 0)
    low_at = merged[_first_by(p[merged], lowest_merges)]
    strong_at = rejected[_first_by(-p[rejected], strongest_rejections)]
    low = pairs.iloc[low_at].assign(review_reason="lowest-confidence merge")
    strong = pairs.iloc[strong_at].assign(review_reason="strongest rejection")
    free = np.ones(len(pairs), dtype=bool)
    free[low_at] = free[strong_at] = False
    rest = np.flatnonzero(free)
    n = min(sample, len(rest))
    rng = np.random.default_rng(seed)
    at = rest[np.sort(rng.choice(len(rest), size=n, replace=False))] if n else rest[:0]
    picked = pairs.iloc[at].assign(review_reason="random sample")
    return pd.concat([low, strong, picked])


def _first_by(key: np.ndarray, k: int) -> np.ndarray:
    """Positions of the ``k`` smallest ``key``s, in stable sorted order (NaN last).

    The same as a stable sort's first ``k``, without sorting every candidate:
    only those at or below the ``k``-th smallest value are sorted.
    """
    if k <= 0 or not len(key):
        return np.zeros(0, dtype=np.intp)
    where = np.arange(len(key))
    if len(key) > k:
        cut = np.partition(key, k - 1)[k - 1]
        if not np.isnan(cut):
            where = np.flatnonzero(key <= cut)
    return where[np.argsort(key[where], kind="stable")[:k]]


def explain_review(
    pairs: pd.DataFrame,
    matcher: Matcher,
    left: pd.DataFrame,
    right: pd.DataFrame,
    *,
    method: str,
    review: dict[str, int],
    truth: pd.DataFrame | None,
    unordered: bool,
    threshold: float,
    clustering: str,
    one_to_one: bool,
    seed: int,
    progress: bool,
) -> tuple[pd.DataFrame, list[Any]]:
    """Choose the pairs to review and explain them with ``method``.

    ``right`` is ``left`` in deduplication (``unordered``). ``truth`` (from
    :func:`bem.labels.prepare_labels`) adds ``label`` and ``outcome`` to the
    chosen pairs and sets each explanation's label; a pair it does not cover
    keeps ``label=None``. Each explanation carries the pipeline's decision
    (``same_entity``), the rule that made it (:func:`bem.decide.decision_rules`
    from ``threshold``, ``clustering`` and ``one_to_one``, when ``pairs`` has
    the ``evidence`` column), the review reason, and ``threshold``. With a
    ``stage`` column, each explanation says which stage decided its pair, and
    a pair the cascade decided (``stage == "cascade"``) is explained by the
    matcher's cascade instead of ``method``. Returns the chosen pairs (with
    ``review_reason``) and their explanations, in the same order.
    """
    chosen = select_for_review(pairs, seed=seed, **review)
    if "evidence" in chosen.columns:
        chosen["decision_rule"] = decision_rules(
            chosen, threshold=threshold, clustering=clustering, one_to_one=one_to_one
        )
    if truth is not None:
        chosen = attach_labels(chosen, truth, unordered=unordered)
    if not len(chosen):
        return chosen, []
    from explain import Explainer, explain_cascade

    columns = [c for c in ("decision_rule", "review_reason") if c in chosen.columns]
    to_explain = chosen[["ltable_id", "rtable_id", *columns]].reset_index(drop=True)
    # the report shows the pipeline's decision (the clustering's), not the score's alone
    to_explain["decision"] = chosen["same_entity"].to_numpy()
    stage = chosen["stage"].to_numpy() if "stage" in chosen.columns else None
    first = np.zeros(len(chosen), bool) if stage is None else stage == "cascade"

    def subset(mine: np.ndarray) -> tuple[np.ndarray, RecordPairs]:
        where = np.flatnonzero(mine)
        return where, RecordPairs(left, right, to_explain.iloc[where].reset_index(drop=True))

    explanations: list[Any] = [None] * len(chosen)
    rest, pairs_rest = subset(~first)
    if len(rest):
        explainer = Explainer(matcher, method=method, threshold=threshold)
        for i, e in zip(rest, explainer.explain(pairs_rest, progress=progress)):
            explanations[i] = e
    decided, pairs_decided = subset(first)
    if len(decided):  # the cascade's own exact explanation: the cross-encoder never saw them
        for i, e in zip(
            decided, explain_cascade(matcher.cascade_, pairs_decided, threshold=threshold)
        ):
            explanations[i] = e
    if stage is not None:
        explanations = [replace(e, stage=s) for e, s in zip(explanations, stage)]
    if truth is not None:
        explanations = [
            replace(e, label=None if pd.isna(y) else int(y))
            for e, y in zip(explanations, chosen["label"])
        ]
    return chosen, explanations


def _record(row: pd.Series) -> dict[str, str | None]:
    return {str(k): None if pd.isna(v) else str(v) for k, v in row.items()}


def review_entities(
    chosen: pd.DataFrame,
    pairs: pd.DataFrame,
    entities: pd.DataFrame,
    left: pd.DataFrame,
    right: pd.DataFrame | None,
    *,
    sources: tuple[str, str],
) -> list[Any]:
    """One :class:`explain.EntityView` per entity holding a reviewed merge.

    ``right=None`` is deduplication. Each view has the entity's records (the
    first :data:`MAX_ENTITY_RECORDS` per side) and the scored pairs between
    them, weakest first (at most :data:`MAX_ENTITY_LINKS`).
    """
    from explain import EntityLink, EntityView

    merged = chosen[chosen["same_entity"] == 1] if len(chosen) else chosen
    if not len(merged):
        return []
    left_source = sources[0]
    right_source = sources[0] if right is None else sources[1]
    ent = entities.assign(id=entities["id"].astype(str))
    by_left = ent[ent["source"] == left_source].set_index("id")["entity_id"]
    by_right = ent[ent["source"] == right_source].set_index("id")["entity_id"]
    wanted = list(dict.fromkeys(by_left.loc[merged["ltable_id"].astype(str)].tolist()))
    # the wanted entities' records and inner pairs, gathered once (not one scan per entity)
    members = ent[ent["entity_id"].isin(wanted)]
    member_ids = set(members["id"])
    lid, rid = pairs["ltable_id"].astype(str), pairs["rtable_id"].astype(str)
    close = (lid.isin(member_ids) & rid.isin(member_ids)).to_numpy()
    near, lid, rid = pairs[close], lid[close], rid[close]
    pair_entity = by_left.reindex(lid).to_numpy()
    inside = pair_entity == by_right.reindex(rid).to_numpy()
    near = near[inside].assign(_entity=pair_entity[inside])
    near = near.sort_values("probability", kind="stable")
    links_of = dict(tuple(near.groupby("_entity", sort=False)))
    records_of = dict(tuple(members.groupby("entity_id", sort=False)))
    views = []
    for entity_id in wanted:
        mine_records = records_of.get(entity_id, members.head(0))
        on_left = mine_records["source"] == left_source
        on_right = mine_records["source"] == right_source
        lids = mine_records.loc[on_left, "id"].tolist()[:MAX_ENTITY_RECORDS]
        rids = mine_records.loc[on_right, "id"].tolist()[:MAX_ENTITY_RECORDS]
        records = {i: _record(left.loc[i]) for i in lids}
        right_records = None if right is None else {i: _record(right.loc[i]) for i in rids}
        mine = links_of.get(entity_id, near.head(0))
        shown_right = records if right_records is None else right_records
        keep = mine["ltable_id"].astype(str).isin(list(records)) & mine["rtable_id"].astype(
            str
        ).isin(list(shown_right))
        mine = mine[keep].head(MAX_ENTITY_LINKS)
        links = [
            EntityLink(str(a), str(b), float(p))
            for a, b, p in zip(mine["ltable_id"], mine["rtable_id"], mine["probability"])
        ]
        views.append(EntityView(entity_id, records, links, right_records))
    return views
