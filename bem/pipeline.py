"""The dedup and linkage pipeline: block, score, cluster, explain.

The Python entry points are :func:`dedup` and :func:`link`, which take tables
and a fitted matcher and return a :class:`PipelineResult`; :func:`run_pipeline`
does the same from a :class:`PipelineConfig` (what the CLI and ``run.json``
hold) and writes the outputs.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from bem.cluster import ClusterMethod, cluster, connected_components
from data import BemError, RecordPairs

if TYPE_CHECKING:
    from matcher import Matcher

__all__ = [
    "PipelineResult",
    "block",
    "dedup",
    "link",
    "one_to_one",
    "resolve_entities",
    "score_pairs",
    "select_for_review",
    "tune_one_to_one_threshold",
]

logger = logging.getLogger(__name__)

PAIR_OUTPUT_COLUMNS = [
    "ltable_id",
    "rtable_id",
    "probability",
    "decision",
    "same_entity",
    "blocker",
    "block_score",
]


@dataclass
class PipelineResult:
    """What a pipeline run produced.

    Attributes:
        entities: one row per input record: ``source``, ``id``, ``entity_id``,
            ``cluster_size``, ``min_probability``, ``max_probability`` (the
            weakest and strongest scored pair inside its cluster; empty for
            singletons).
        pairs: every scored candidate pair: ids, ``probability``, ``decision``
            (probability >= threshold), ``same_entity`` (the final clusters put
            the two records together), ``blocker`` and ``block_score``.
        explanations: explanations of the pairs chosen for review.
        review: the reviewed pairs with the reason each was chosen.
        timings: seconds per stage.
        counts: records, candidates, matches, entities.
    """

    entities: pd.DataFrame
    pairs: pd.DataFrame
    threshold: float
    explanations: list[Any] = field(default_factory=list)
    review: pd.DataFrame = field(default_factory=pd.DataFrame)
    timings: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)


def _check_threshold(threshold: float | None) -> None:
    if threshold is not None and not (0.0 <= float(threshold) <= 1.0):
        raise BemError(f"threshold must be between 0 and 1, got {threshold}")


def _check_table(table: pd.DataFrame, name: str, key: Sequence[str] | None) -> None:
    if len(table) == 0:
        raise BemError(f"{name}: the table has no records; give a table with at least one row")
    if key:
        missing = [k for k in key if k not in table.columns]
        if missing:
            raise BemError(
                f"{name}: key column(s) {missing} not found; available columns: "
                f"{list(table.columns)} (set --key to one of them)"
            )


def default_key(table: pd.DataFrame) -> list[str]:
    """The blocking key when none is given: a name-like column, else the first."""
    for name in ("title", "name", "product", "full_name"):
        if name in table.columns:
            return [name]
    return [str(table.columns[0])]


def block(
    left: pd.DataFrame,
    right: pd.DataFrame | None,
    *,
    key: Sequence[str] | None = None,
    top_k: int = 10,
    progress: bool = True,
) -> pd.DataFrame:
    """Candidate pairs from the fuzzy blocker on ``key`` (symmetric top-k)."""
    from blocking import FuzzyBlocker

    key = list(key) if key else default_key(left)
    blocker = FuzzyBlocker(key=key, top_k=top_k, progress=progress)
    return blocker.candidates(left, right)


def score_pairs(
    matcher: Matcher,
    left: pd.DataFrame,
    right: pd.DataFrame,
    candidates: pd.DataFrame,
    *,
    chunk_size: int = 4096,
    batch_size: int | None = None,
    progress: bool = True,
) -> np.ndarray:
    """Match probabilities of the candidate pairs, scored chunk by chunk.

    Only one chunk of encoded pairs is alive at a time, so memory stays bounded
    however many candidates there are.
    """
    from tqdm.auto import tqdm

    probs = np.empty(len(candidates), dtype=float)
    ids = candidates[["ltable_id", "rtable_id"]].reset_index(drop=True)
    with tqdm(total=len(ids), unit="pair", desc="score", disable=not progress) as bar:
        for start in range(0, len(ids), chunk_size):
            chunk = RecordPairs(left, right, ids.iloc[start : start + chunk_size])
            probs[start : start + len(chunk)] = matcher.predict_proba(
                chunk, batch_size=batch_size, progress=False
            )
            bar.update(len(chunk))
    return probs


def one_to_one(
    lids: Sequence[str], rids: Sequence[str], probability: np.ndarray, *, threshold: float
) -> np.ndarray:
    """Greedy one-to-one assignment: best-scoring pairs first, each record used once.

    Returns a boolean mask of the pairs kept.
    """
    order = np.argsort(-np.asarray(probability), kind="stable")
    used_l: set[str] = set()
    used_r: set[str] = set()
    keep = np.zeros(len(order), dtype=bool)
    for i in order:
        if probability[i] < threshold:
            break
        a, b = lids[i], rids[i]
        if a in used_l or b in used_r:
            continue
        used_l.add(a)
        used_r.add(b)
        keep[i] = True
    return keep


def tune_one_to_one_threshold(
    lids: Sequence[str],
    rids: Sequence[str],
    probability: np.ndarray,
    labels: np.ndarray,
    *,
    candidates: int = 200,
) -> tuple[float, float]:
    """The threshold that maximises F1 of :func:`one_to_one` on labelled pairs.

    A matcher's own threshold is tuned for independent pair decisions, where a
    near-duplicate (a sibling product one digit apart) must be rejected on its
    own. One-to-one linkage already rejects it when the true partner scores
    higher, so it pays to accept weaker best matches: this picks the threshold
    for that decision from labelled validation pairs. Ties go to the higher
    threshold. Returns ``(threshold, f1)``.

    Raises:
        ValueError: the inputs differ in length or ``labels`` holds no match.
    """
    probability = np.asarray(probability, dtype=np.float64)
    labels = np.asarray(labels).astype(int)
    if not len(lids) == len(rids) == len(probability) == len(labels):
        raise ValueError(
            f"lids, rids, probability and labels differ in length: {len(lids)}, "
            f"{len(rids)}, {len(probability)}, {len(labels)}"
        )
    positives = int(labels.sum())
    if positives == 0:
        raise ValueError("the labelled pairs hold no match (label 1); cannot tune a threshold")
    grid = np.unique(np.quantile(probability, np.linspace(0.0, 1.0, candidates)))
    # the greedy walk is the same at every threshold up to where it stops, so the
    # pairs kept at threshold t are those of one full walk that score >= t
    chosen = one_to_one(lids, rids, probability, threshold=-np.inf)
    chosen_proba = probability[chosen]
    chosen_match = labels[chosen] == 1
    best = (0.0, -1.0)
    for t in grid[::-1]:  # from the highest, so that ties keep the higher threshold
        above = chosen_proba >= t
        tp = int((above & chosen_match).sum())
        kept = int(above.sum())
        f1 = 0.0 if tp == 0 else 2 * tp / (kept + positives)
        if f1 > best[1]:
            best = (float(t), f1)
    return best


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
    merged = pairs[pairs["same_entity"] == 1].sort_values("probability", kind="stable")
    rejected = pairs[pairs["same_entity"] == 0].sort_values(
        "probability", ascending=False, kind="stable"
    )
    low = merged.head(lowest_merges).assign(review_reason="lowest-confidence merge")
    strong = rejected.head(strongest_rejections).assign(review_reason="strongest rejection")
    rest = pairs.drop(index=low.index.union(strong.index))
    n = min(sample, len(rest))
    rng = np.random.default_rng(seed)
    picked = rest.iloc[np.sort(rng.choice(len(rest), size=n, replace=False))] if n else rest.head(0)
    picked = picked.assign(review_reason="random sample")
    return pd.concat([low, strong, picked])


def resolve_entities(
    left: pd.DataFrame,
    right: pd.DataFrame | None,
    lids: np.ndarray,
    rids: np.ndarray,
    probability: np.ndarray,
    *,
    threshold: float,
    method: ClusterMethod = "average",
    one_to_one_links: bool = False,
    sources: tuple[str, str] = ("left", "right"),
) -> tuple[pd.DataFrame, np.ndarray]:
    """Cluster scored pairs into the entity table.

    ``right=None`` means deduplication of ``left``. Returns the entity table
    (one row per record, see :class:`PipelineResult`) and, per pair, whether
    its two records ended in the same entity.
    """
    if right is None:
        nodes = pd.DataFrame({"source": sources[0], "id": left.index.astype(str)})
        pos = pd.Series(np.arange(len(left)), index=left.index.astype(str))
        u, v = pos.loc[lids].to_numpy(), pos.loc[rids].to_numpy()
    else:
        nodes = pd.DataFrame(
            {
                "source": [sources[0]] * len(left) + [sources[1]] * len(right),
                "id": list(left.index.astype(str)) + list(right.index.astype(str)),
            }
        )
        lpos = pd.Series(np.arange(len(left)), index=left.index.astype(str))
        rpos = pd.Series(np.arange(len(right)) + len(left), index=right.index.astype(str))
        u, v = lpos.loc[lids].to_numpy(), rpos.loc[rids].to_numpy()
    probability = np.asarray(probability, dtype=float)
    if right is not None and one_to_one_links:
        keep = one_to_one(lids, rids, probability, threshold=threshold)
        labels = connected_components(len(nodes), u[keep], v[keep])
    else:
        labels = cluster(len(nodes), u, v, probability, threshold=threshold, method=method)
    same = (labels[u] == labels[v]).astype(int) if len(u) else np.zeros(0, dtype=int)
    return _entities(nodes, labels, u, v, probability), same


def _entities(
    nodes: pd.DataFrame,
    labels: np.ndarray,
    u: np.ndarray,
    v: np.ndarray,
    probability: np.ndarray,
) -> pd.DataFrame:
    """The entity table: one row per node with cluster size and weakest/strongest pair."""
    n = len(nodes)
    sizes = np.bincount(labels, minlength=labels.max() + 1 if n else 0)
    inside = labels[u] == labels[v] if len(u) else np.zeros(0, dtype=bool)
    k = sizes.shape[0]
    lo = np.full(k, np.nan)
    hi = np.full(k, np.nan)
    if inside.any():
        lab = labels[u[inside]]
        p = probability[inside]
        frame = pd.DataFrame({"lab": lab, "p": p}).groupby("lab")["p"].agg(["min", "max"])
        lo[frame.index.to_numpy()] = frame["min"].to_numpy()
        hi[frame.index.to_numpy()] = frame["max"].to_numpy()
    width = max(len(str(k)), 1)
    return pd.DataFrame(
        {
            "source": nodes["source"].to_numpy(),
            "id": nodes["id"].to_numpy(),
            "entity_id": [f"e{lab:0{width}d}" for lab in labels],
            "cluster_size": sizes[labels],
            "min_probability": lo[labels],
            "max_probability": hi[labels],
        }
    )


def _run(
    left: pd.DataFrame,
    right: pd.DataFrame | None,
    matcher: Matcher,
    *,
    sources: tuple[str, str],
    candidates: pd.DataFrame | None,
    key: Sequence[str] | None,
    top_k: int,
    threshold: float | None,
    clustering: ClusterMethod,
    one_to_one_links: bool,
    explain_method: str | None,
    review: dict[str, int],
    labels: pd.DataFrame | None,
    chunk_size: int,
    batch_size: int | None,
    seed: int,
    progress: bool,
) -> PipelineResult:
    _check_threshold(threshold)
    dedup_mode = right is None
    _check_table(left, sources[0], key)
    if not dedup_mode:
        _check_table(right, sources[1], key)
    link_threshold = getattr(matcher, "link_threshold_", None) if one_to_one_links else None
    if threshold is None and link_threshold is not None:
        thr = float(link_threshold)
        logger.info("one-to-one linkage: using the model's linkage threshold %.4f", thr)
    else:
        thr = float(matcher.threshold_ if threshold is None else threshold)
    timings: dict[str, float] = {}

    t0 = time.perf_counter()
    if candidates is None:
        candidates = block(left, right, key=key, top_k=top_k, progress=progress)
    timings["block"] = time.perf_counter() - t0
    logger.info("blocking proposed %d candidate pairs", len(candidates))

    right_table = left if right is None else right
    t0 = time.perf_counter()
    prob = score_pairs(
        matcher,
        left,
        right_table,
        candidates,
        chunk_size=chunk_size,
        batch_size=batch_size,
        progress=progress,
    )
    timings["score"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    lids = candidates["ltable_id"].astype(str).to_numpy()
    rids = candidates["rtable_id"].astype(str).to_numpy()
    entities, same = resolve_entities(
        left,
        right,
        lids,
        rids,
        prob,
        threshold=thr,
        method=clustering,
        one_to_one_links=one_to_one_links,
        sources=sources,
    )
    decision = (prob >= thr).astype(int)
    pairs = pd.DataFrame(
        {
            "ltable_id": lids,
            "rtable_id": rids,
            "probability": prob,
            "decision": decision,
            "same_entity": same,
            "blocker": candidates["blocker"].to_numpy() if "blocker" in candidates else "",
            "block_score": candidates["score"].to_numpy() if "score" in candidates else np.nan,
        }
    )
    timings["cluster"] = time.perf_counter() - t0

    explanations: list[Any] = []
    chosen = pd.DataFrame()
    t0 = time.perf_counter()
    if explain_method and len(pairs):
        chosen = select_for_review(pairs, seed=seed, **review)
        if len(chosen):
            to_explain = chosen[["ltable_id", "rtable_id", "review_reason"]].reset_index(drop=True)
            if labels is not None:
                truth = labels.assign(
                    ltable_id=labels["ltable_id"].astype(str),
                    rtable_id=labels["rtable_id"].astype(str),
                )[["ltable_id", "rtable_id", "label"]]
                to_explain = to_explain.merge(truth, on=["ltable_id", "rtable_id"], how="left")
                to_explain["label"] = to_explain["label"].fillna(0).astype("int8")
            from explain import Explainer

            explainer = Explainer(matcher, method=explain_method)
            explanations = explainer.explain(
                RecordPairs(left, right_table, to_explain), progress=progress
            )
    timings["explain"] = time.perf_counter() - t0

    counts = {
        "records": len(entities),
        "candidates": len(pairs),
        "match_decisions": int(decision.sum()),
        "pairs_in_same_entity": int(pairs["same_entity"].sum()) if len(pairs) else 0,
        "entities": int(entities["entity_id"].nunique()),
        "explained": len(explanations),
    }
    return PipelineResult(
        entities=entities,
        pairs=pairs,
        threshold=thr,
        explanations=explanations,
        review=chosen,
        timings=timings,
        counts=counts,
    )


def dedup(
    records: pd.DataFrame,
    matcher: Matcher,
    *,
    candidates: pd.DataFrame | None = None,
    key: Sequence[str] | None = None,
    top_k: int = 10,
    threshold: float | None = None,
    clustering: ClusterMethod = "average",
    explain_method: str | None = "occlusion",
    review: dict[str, int] | None = None,
    labels: pd.DataFrame | None = None,
    chunk_size: int = 4096,
    batch_size: int | None = None,
    source: str = "records",
    seed: int = 0,
    progress: bool = True,
) -> PipelineResult:
    """Find the duplicates inside one table.

    Args:
        records: the table, indexed by record id.
        matcher: a fitted :class:`matcher.Matcher`.
        candidates: pairs to score; blocked with a fuzzy key when ``None``.
        key: blocking key attributes (default: a name-like column).
        top_k: candidates per record from the fuzzy blocker.
        threshold: decision threshold (default: the matcher's).
        clustering: ``"average"`` (no chaining through one weak link) or
            ``"components"``.
        explain_method: explanation method for the reviewed pairs; ``None`` skips it.
        review: counts for :func:`select_for_review`.
        labels: optional true labels (``ltable_id, rtable_id, label``) shown in the report.
    """
    return _run(
        records,
        None,
        matcher,
        sources=(source, source),
        candidates=candidates,
        key=key,
        top_k=top_k,
        threshold=threshold,
        clustering=clustering,
        one_to_one_links=False,
        explain_method=explain_method,
        review=review or {},
        labels=labels,
        chunk_size=chunk_size,
        batch_size=batch_size,
        seed=seed,
        progress=progress,
    )


def link(
    left: pd.DataFrame,
    right: pd.DataFrame,
    matcher: Matcher,
    *,
    candidates: pd.DataFrame | None = None,
    key: Sequence[str] | None = None,
    top_k: int = 10,
    threshold: float | None = None,
    clustering: ClusterMethod = "average",
    one_to_one: bool = False,
    explain_method: str | None = "occlusion",
    review: dict[str, int] | None = None,
    labels: pd.DataFrame | None = None,
    chunk_size: int = 4096,
    batch_size: int | None = None,
    sources: tuple[str, str] = ("left", "right"),
    seed: int = 0,
    progress: bool = True,
) -> PipelineResult:
    """Link the records of two tables; see :func:`dedup` for the arguments.

    ``one_to_one`` matches each record at most once (best score first), for two
    sources that are each free of duplicates. Its default threshold is the
    matcher's ``link_threshold_`` when one was tuned (``bem train --one-to-one``,
    :func:`tune_one_to_one_threshold`), else the matcher's own.
    """
    return _run(
        left,
        right,
        matcher,
        sources=sources,
        candidates=candidates,
        key=key,
        top_k=top_k,
        threshold=threshold,
        clustering=clustering,
        one_to_one_links=one_to_one,
        explain_method=explain_method,
        review=review or {},
        labels=labels,
        chunk_size=chunk_size,
        batch_size=batch_size,
        seed=seed,
        progress=progress,
    )
