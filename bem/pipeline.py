"""The dedup and linkage pipeline: block, score, cluster, explain.

The Python entry points are :func:`dedup` and :func:`link`, which take tables
and a fitted matcher and return a :class:`PipelineResult`; :func:`run_pipeline`
does the same from a :class:`PipelineConfig` (what the CLI and ``run.json``
hold) and writes the outputs. Blocking, scoring and clustering run on an
engine (:mod:`bem.engines`: ``engine="local"``, ``"spark"`` or an
:class:`~bem.engines.Engine`); scoring sends each pair to the model's cascade
first when it has one (:mod:`bem.scoring`). The stages live in their own
modules: :mod:`bem.inputs` (checks at the boundary), :mod:`bem.scoring` (the
cascade and the cross-encoder), :mod:`bem.entities` (clustering into
entities), :mod:`bem.linkage` (one-to-one linkage and its threshold) and
:mod:`bem.review` (the pairs to review and their explanations); their public
names are importable from here too.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from bem.cluster import ClusterMethod
from bem.decide import evidence_mask
from bem.engines import Engine, EngineName, make_engine
from bem.entities import resolve_entities
from bem.inputs import (
    apply_schema,
    check_threshold,
    default_key,
    prepare_candidates,
    prepare_table,
    stored_blocker,
)
from bem.labels import prepare_labels
from bem.linkage import one_to_one, tune_one_to_one_threshold
from bem.review import explain_review, review_entities, select_for_review
from bem.scoring import pair_decisions, score_pairs

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


@dataclass
class PipelineResult:
    """What a pipeline run produced.

    Attributes:
        entities: one row per input record: ``source``, ``id``, ``entity_id``,
            ``cluster_size``, ``min_probability``, ``max_probability`` (the
            weakest and strongest scored pair inside its cluster; empty for
            singletons).
        pairs: every scored candidate pair: ids, ``probability`` (of the stage
            that decided it), ``decision`` (that stage's: probability >=
            threshold for the cross-encoder, the band for the cascade; and the
            pair shares evidence), ``same_entity`` (the final clusters put the
            two records together), ``evidence`` (some attribute is non-empty in
            both records; a pair without is never decided a match:
            :mod:`bem.decide`), ``stage`` (``cascade`` or ``cross_encoder``),
            ``blocker`` and ``block_score``.
        explanations: explanations of the pairs chosen for review.
        review: the reviewed pairs with the reason each was chosen and the
            rule that decided them (``decision_rule``).
        entity_views: :class:`explain.EntityView` per entity holding a reviewed
            merge (the report's entity view).
        timings: seconds per stage.
        counts: records, candidates, matches, entities, explained pairs, the
            pairs each stage decided (``decided_by_cascade``,
            ``decided_by_cross_encoder``), and the pairs without shared
            evidence (all, and those decided a match that the rule overruled).
        blocking: what made the candidates (run.json's ``blocking``).
        outputs: the names of the files :func:`bem.run.run_pipeline` wrote
            (``run.json`` included); empty for :func:`dedup` and :func:`link`.
    """

    entities: pd.DataFrame
    pairs: pd.DataFrame
    threshold: float
    explanations: list[Any] = field(default_factory=list)
    review: pd.DataFrame = field(default_factory=pd.DataFrame)
    entity_views: list[Any] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    outputs: tuple[str, ...] = ()
    blocking: str = ""


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


def _run(
    left: pd.DataFrame,
    right: pd.DataFrame | None,
    matcher: Matcher,
    *,
    engine: EngineName | Engine,
    cascade: bool,
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
    rename: Mapping[str, str] | None,
    chunk_size: int,
    batch_size: int | None,
    seed: int,
    progress: bool,
) -> PipelineResult:
    check_threshold(threshold)
    left, right = apply_schema(matcher, left, right, rename=rename)
    left = prepare_table(left, sources[0], key)
    if right is not None:
        right = prepare_table(right, sources[1], key)
    truth = None if labels is None else prepare_labels(labels, unordered=right is None)
    link_threshold = getattr(matcher, "link_threshold_", None) if one_to_one_links else None
    if threshold is None and link_threshold is not None:
        thr = float(link_threshold)
        logger.info("one-to-one linkage: using the model's linkage threshold %.4f", thr)
    else:
        thr = float(matcher.threshold_ if threshold is None else threshold)
    timings: dict[str, float] = {}
    runner = make_engine(engine)  # built here, closed here; one passed in is left open
    try:
        t0 = time.perf_counter()
        stored, blocking = stored_blocker(matcher, key, given=candidates is not None)
        if candidates is None:
            candidates = runner.block(
                left, right, key=key, top_k=top_k, blocker_config=stored, progress=progress
            )
        else:
            candidates = prepare_candidates(candidates, left, right, sources=sources)
        timings["block"] = time.perf_counter() - t0
        logger.info("%d candidate pairs to score", len(candidates))

        right_table = left if right is None else right
        t0 = time.perf_counter()
        options = dict(chunk_size=chunk_size, batch_size=batch_size, progress=progress)
        scored = runner.predict(
            matcher, left, right_table, candidates, cascade=cascade, threshold=thr, **options
        )
        timings["score"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        lids = candidates["ltable_id"].astype(str).to_numpy()
        rids = candidates["rtable_id"].astype(str).to_numpy()
        attributes = getattr(matcher, "attributes_", None)
        evidence = evidence_mask(left, right_table, candidates, attributes)
        decided = pair_decisions(scored, evidence)
        entities, same = runner.cluster(
            left,
            right,
            lids,
            rids,
            decided.cluster_probability,
            threshold=thr,
            method=clustering,
            one_to_one_links=one_to_one_links,
            sources=sources,
        )
    finally:
        if runner is not engine:
            runner.close()
    pairs = pd.DataFrame(
        {
            "ltable_id": lids,
            "rtable_id": rids,
            "probability": scored.proba,
            "decision": decided.decision,
            "same_entity": same,
            "evidence": evidence.astype(int),
            "stage": scored.stage,
            "blocker": candidates["blocker"].to_numpy() if "blocker" in candidates else "",
            "block_score": candidates["score"].to_numpy() if "score" in candidates else np.nan,
        }
    )
    timings["cluster"] = time.perf_counter() - t0

    explanations: list[Any] = []
    views: list[Any] = []
    chosen = pd.DataFrame()
    t0 = time.perf_counter()
    if explain_method and len(pairs):
        chosen, explanations = explain_review(
            pairs,
            matcher,
            left,
            right_table,
            method=explain_method,
            review=review,
            truth=truth,
            unordered=right is None,
            threshold=thr,
            clustering=clustering,
            one_to_one=one_to_one_links and right is not None,
            seed=seed,
            progress=progress,
        )
        views = review_entities(chosen, pairs, entities, left, right, sources=sources)
    timings["explain"] = time.perf_counter() - t0

    counts = {
        "records": len(entities),
        "candidates": len(pairs),
        "match_decisions": int(decided.decision.sum()),
        "pairs_in_same_entity": int(pairs["same_entity"].sum()) if len(pairs) else 0,
        "entities": int(entities["entity_id"].nunique()),
        "explained": len(explanations),
        "decided_by_cascade": int((scored.stage == "cascade").sum()),
        "decided_by_cross_encoder": int((scored.stage == "cross_encoder").sum()),
        "no_evidence_pairs": int((~evidence).sum()),
        "no_evidence_above_threshold": int(decided.overruled.sum()),
    }
    return PipelineResult(
        entities=entities,
        pairs=pairs,
        threshold=thr,
        explanations=explanations,
        review=chosen,
        entity_views=views,
        timings=timings,
        counts=counts,
        blocking=blocking,
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
    rename: Mapping[str, str] | None = None,
    chunk_size: int = 4096,
    batch_size: int | None = None,
    source: str = "records",
    engine: EngineName | Engine = "local",
    cascade: bool = True,
    seed: int = 0,
    progress: bool = True,
) -> PipelineResult:
    """Find the duplicates inside one table.

    Args:
        records: the table, indexed by record id.
        matcher: a fitted :class:`matcher.Matcher`.
        candidates: pairs to score (``ltable_id, rtable_id``, optionally ``score``
            and ``blocker``); blocked with a fuzzy key when ``None``. Each
            unordered pair is scored once, written ``ltable_id < rtable_id``;
            self-pairs are dropped (see :func:`bem.inputs.prepare_candidates`).
        key: blocking key attributes (default: a name-like column).
        top_k: candidates per record from the fuzzy blocker.
        threshold: decision threshold (default: the matcher's).
        clustering: ``"average"`` (no chaining through one weak link) or
            ``"components"``.
        explain_method: explanation method for the reviewed pairs; ``None`` skips it.
        review: counts for :func:`select_for_review`.
        labels: optional true labels (``ltable_id, rtable_id, label``) shown in the
            report and ``review``; they may cover only some pairs (the others are
            unknown) and are matched to the candidates on the unordered pair.
        rename: model attribute -> table column, for a table whose columns are
            named differently from the model's attributes (``--rename``); the
            table is then checked against the model's attributes
            (:func:`bem.inputs.apply_schema`: an error when it has none of
            them, a warning naming those it lacks).
        engine: where blocking, scoring and clustering run: ``"local"``,
            ``"spark"`` (a ``local[*]`` session; ``pip install 'bem[spark]'``)
            or an :class:`~bem.engines.Engine` such as ``SparkEngine(spark)``.
            An engine built from a name is closed after the run, one passed in
            is not.
        cascade: let the model's first stage (:attr:`matcher.Matcher.cascade_`,
            when it has an enabled one) decide the pairs it is sure about, so
            that only the rest go to the cross-encoder; ``False`` sends every
            pair to the cross-encoder.
    """
    return _run(
        records,
        None,
        matcher,
        engine=engine,
        cascade=cascade,
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
        rename=rename,
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
    rename: Mapping[str, str] | None = None,
    chunk_size: int = 4096,
    batch_size: int | None = None,
    sources: tuple[str, str] = ("left", "right"),
    engine: EngineName | Engine = "local",
    cascade: bool = True,
    seed: int = 0,
    progress: bool = True,
) -> PipelineResult:
    """Link the records of two tables; see :func:`dedup` for the arguments.

    ``one_to_one`` matches each record at most once (best score first), for two
    sources that are each free of duplicates. Its default threshold is the
    matcher's ``link_threshold_`` when one was tuned (``bem train --one-to-one``,
    :func:`tune_one_to_one_threshold`), else the matcher's own. ``labels`` are
    matched to the candidates on the ordered pair (left id, right id), and a
    repeated candidate pair is scored once.
    """
    return _run(
        left,
        right,
        matcher,
        engine=engine,
        cascade=cascade,
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
        rename=rename,
        chunk_size=chunk_size,
        batch_size=batch_size,
        seed=seed,
        progress=progress,
    )
