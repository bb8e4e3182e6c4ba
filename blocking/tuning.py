"""Choosing a blocker from labels: the cheapest configuration that reaches a recall.

:func:`tune_blocker` runs one :class:`~blocking.fuzzy.FuzzyBlocker` per
(key attributes, scorer) at the largest ``k`` tried, keeps the rank each pair got,
and so evaluates every smaller ``k``, and every union of two such blockers, from
that single run. It returns the configuration with the fewest candidates whose
recall reaches the target (or, if none does, the one with the highest recall),
and says what it chose.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from blocking.base import Blocker, table_ids
from blocking.fuzzy import FuzzyBlocker
from blocking.metrics import BlockingMetrics, _pair_frame, evaluate_blocking
from blocking.normalize import DEFAULT_NORMALIZERS, Key
from blocking.union import UnionBlocker
from data.errors import BemError

__all__ = ["TuningResult", "tune_blocker"]

logger = logging.getLogger(__name__)

DEFAULT_SCORERS = ("token_set_ratio", "partial_token_set_ratio", "token_sort_ratio")
DEFAULT_KS = (1, 2, 3, 4, 5, 7, 10, 15, 20)


@dataclass(frozen=True)
class TuningResult:
    """What :func:`tune_blocker` chose and why.

    Attributes:
        blocker: the chosen blocker, ready to use (a :class:`FuzzyBlocker` or a
            :class:`UnionBlocker` of two).
        metrics: the chosen blocker's metrics on the tuning data (from running it).
        target_recall: the recall asked for.
        met: whether ``metrics.recall`` reaches ``target_recall``.
        trials: every configuration evaluated (``config``, ``n_blockers``,
            ``recall``, ``n_candidates``, ``candidates_per_record``, ``n_found``,
            ``chosen``), sorted by candidates.
    """

    blocker: Blocker
    metrics: BlockingMetrics
    target_recall: float
    met: bool
    trials: pd.DataFrame = field(repr=False, compare=False)

    def summary(self) -> str:
        """One paragraph: the configuration chosen and what it costs."""
        m = self.metrics
        verdict = "reaches" if self.met else "does NOT reach"
        return (
            f"chose {_describe(self.blocker)}: recall {m.recall:.4f} ({verdict} the target "
            f"{self.target_recall}), {m.n_candidates} candidate pairs "
            f"({m.candidates_per_record:.2f} per record, reduction ratio "
            f"{m.reduction_ratio:.4f}); {len(self.trials)} configurations tried"
        )

    def to_dict(self) -> dict[str, object]:
        return {
            "blocker": _describe(self.blocker),
            "target_recall": self.target_recall,
            "met": self.met,
            **self.metrics.to_dict(),
        }


def _describe(blocker: Blocker) -> str:
    if isinstance(blocker, UnionBlocker):
        return " | ".join(_describe(b) for b in blocker.blockers)
    if isinstance(blocker, FuzzyBlocker):
        return (
            f"FuzzyBlocker(key={list(blocker.key.attributes)}, scorer={blocker.scorer!r}, "
            f"top_k={blocker.top_k})"
        )
    return repr(blocker)


def _default_attributes(left: pd.DataFrame, right: pd.DataFrame) -> list[tuple[str, ...]]:
    common = [c for c in left.columns if c in right.columns]
    filled = [c for c in common if left[c].notna().mean() >= 0.5 and right[c].notna().mean() >= 0.5]
    singles = [(c,) for c in filled or common]
    return singles + ([tuple(c for (c,) in singles)] if len(singles) > 1 else [])


def tune_blocker(
    left: pd.DataFrame,
    right: pd.DataFrame | None,
    matches: pd.DataFrame,
    *,
    target_recall: float = 0.99,
    attributes: Sequence[str | Sequence[str]] | None = None,
    scorers: Sequence[str] = DEFAULT_SCORERS,
    ks: Sequence[int] = DEFAULT_KS,
    unions: bool = True,
    normalizers: Sequence = DEFAULT_NORMALIZERS,
    index: Literal["tokens", "qgrams"] = "qgrams",
    symmetric: bool = True,
    progress: bool = True,
) -> TuningResult:
    """Choose key attributes, scorer and ``k`` that reach ``target_recall`` with fewest pairs.

    Args:
        left, right: the tables (``right=None`` to deduplicate ``left``).
        matches: true pairs (``ltable_id, rtable_id``), or labelled pairs whose
            ``label == 1`` rows are used.
        target_recall: the recall (pair completeness) to reach.
        attributes: candidate keys, each an attribute or a list of attributes;
            default: every attribute filled in at least half of the records, alone,
            and all of them together.
        scorers: rapidfuzz scorer names to try.
        ks: values of ``top_k`` to try.
        unions: also try unions of two (key, scorer, k) configurations.
        normalizers, index, symmetric: passed to every :class:`FuzzyBlocker`.
        progress: progress bars.

    Raises:
        BemError: no true match to tune on, or an attribute is missing.
    """
    if not 0.0 < target_recall <= 1.0:
        raise ValueError(f"target_recall must be in (0, 1], got {target_recall!r}")
    ks = sorted({int(k) for k in ks})
    if not ks or ks[0] < 1:
        raise ValueError(f"ks must be positive integers, got {ks!r}")
    dedup = right is None
    rtable = left if dedup else right
    lids, rids = table_ids(left, "left"), table_ids(rtable, "right")
    true = _pair_frame(matches, "matches", dedup)
    lpos = pd.Index(lids).get_indexer(true["ltable_id"])
    rpos = pd.Index(rids).get_indexer(true["rtable_id"])
    known = (lpos >= 0) & (rpos >= 0)
    if not known.any():
        raise BemError("matches: no true match whose ids are in the tables; nothing to tune on")
    if dedup:
        lpos, rpos = np.minimum(lpos, rpos), np.maximum(lpos, rpos)
    m = max(len(rids), 1)
    true_codes = np.unique(lpos[known] * m + rpos[known])
    n_true = len(true)
    per = len(lids) if dedup else min(len(lids), len(rids))
    keys = [(a,) if isinstance(a, str) else tuple(a) for a in attributes or ()]
    keys = keys or _default_attributes(left, rtable)
    prefilter_k = max(4 * ks[-1], 40)

    def make(attrs: tuple[str, ...], scorer: str, k: int) -> FuzzyBlocker:
        suffix = "" if scorer == "token_set_ratio" else f"~{scorer}"
        return FuzzyBlocker(
            Key(attrs, normalizers=normalizers),
            top_k=k,
            scorer=scorer,
            index=index,
            symmetric=symmetric,
            prefilter_k=prefilter_k,
            progress=progress,
            name=f"fuzzy[{','.join(attrs)}]{suffix}",
        )

    runs: dict[tuple[tuple[str, ...], str], tuple[np.ndarray, np.ndarray]] = {}
    for attrs, scorer in itertools.product(keys, scorers):
        li, ri, _, rank = make(attrs, scorer, ks[-1]).ranked(left, None if dedup else right)
        runs[attrs, scorer] = (li * m + ri, rank)

    rows = []
    for (attrs, scorer), (codes, rank) in runs.items():
        hit = np.isin(codes, true_codes)
        for k in ks:
            sel = rank <= k
            rows.append((((attrs, scorer, k),), int(sel.sum()), int((sel & hit).sum())))
    if unions:
        for (c1, (codes1, rank1)), (c2, (codes2, rank2)) in itertools.combinations(runs.items(), 2):
            codes = np.union1d(codes1, codes2)
            r1 = np.full(len(codes), np.iinfo(np.int32).max)
            r2 = r1.copy()
            r1[np.searchsorted(codes, codes1)] = rank1
            r2[np.searchsorted(codes, codes2)] = rank2
            hit = np.isin(codes, true_codes)
            for k1, k2 in itertools.product(ks, ks):
                sel = (r1 <= k1) | (r2 <= k2)
                rows.append((((*c1, k1), (*c2, k2)), int(sel.sum()), int((sel & hit).sum())))
    trials = pd.DataFrame(rows, columns=["configs", "n_candidates", "n_found"])
    trials["recall"] = trials["n_found"] / n_true
    trials["candidates_per_record"] = trials["n_candidates"] / max(per, 1)
    trials["n_blockers"] = trials["configs"].map(len)
    trials["config"] = trials["configs"].map(
        lambda cs: " | ".join(f"{list(a)} {s} k={k}" for a, s, k in cs)
    )
    trials = trials.sort_values(["n_candidates", "n_blockers", "config"], ignore_index=True)
    ok = trials[trials["recall"] >= target_recall]
    best = (
        ok.iloc[0]
        if len(ok)
        else trials.sort_values(["recall", "n_candidates"], ascending=[False, True]).iloc[0]
    )
    trials["chosen"] = trials.index == best.name
    chosen = [make(a, s, k) for a, s, k in best["configs"]]
    blocker: Blocker = chosen[0] if len(chosen) == 1 else UnionBlocker(chosen)
    for b in chosen:
        b.progress = progress
    cands = blocker.candidates(left, None if dedup else right)
    metrics = evaluate_blocking(
        cands, matches, n_left=len(lids), n_right=None if dedup else len(rids)
    )
    result = TuningResult(
        blocker=blocker,
        metrics=metrics,
        target_recall=target_recall,
        met=metrics.recall >= target_recall,
        trials=trials.drop(columns=["configs"])[
            [
                "config",
                "n_blockers",
                "recall",
                "n_candidates",
                "candidates_per_record",
                "n_found",
                "chosen",
            ]
        ],
    )
    (logger.info if result.met else logger.warning)("tune_blocker: %s", result.summary())
    return result
