"""Faithfulness of explanations: do the tokens and fields they rank high matter to the model?

All perturbations remove value tokens from the encoded pair (see
:mod:`explain.perturb`) and re-score it with the same matcher, batched across
pairs. "Support" of a token or field is its score towards the *predicted* class:
the score itself for a "match" decision, its negation for "no match".

- :func:`eraser` - ERASER comprehensiveness and sufficiency (DeYoung et al.,
  ACL 2020) at token level, as AOPC over the top-k% bins {1, 5, 10, 20, 50}:
  with ``c`` the predicted class, comprehensiveness is the mean over bins of
  ``p_c(x) - p_c(x without its top-k% tokens)`` (higher is better) and
  sufficiency of ``p_c(x) - p_c(only the top-k% tokens)`` (lower is better).
  A bin keeps ``ceil(k * n_tokens)`` tokens, so at least one.
- :func:`field_removal_auc` - field-removal AUC, after CERTA's attribute
  faithfulness (Teofili et al., ICDE 2022): for t in {0.1, 0.2, 0.33, 0.5,
  0.7, 0.9} remove the values of the ``floor(t * n_fields)`` most supporting
  fields of every pair, recompute F1 against the true labels; the area under
  the (t, F1) curve (trapezoids; lower is better). Deviation from CERTA's
  released code: ``n_fields`` counts the pair's non-empty (side, attribute)
  fields, where CERTA counts all attribute columns.
- :func:`field_removal_degradation` - field-removal degradation, after CREW's
  degradation score: the mean over removal fractions {0.1, 0.3, 0.5, 0.7, 0.9}
  of F1 after removing the ``floor(f * n_fields)`` least supporting fields minus
  F1 after removing the most supporting ones, F1 measured against the model's
  own unperturbed decisions (higher is better). Deviation from CREW's released
  code: whole fields are removed at these five fractions, where CREW removes
  words at levels 0.1-1.0.

Both are field-level variants, so their figures are not comparable with the
numbers the CERTA and CREW papers publish.
- :func:`planted_cause_accuracy` - on hard negatives with a planted differing
  attribute: how often that attribute has the strictly lowest combined score
  (strongest push towards "no match"); :func:`planted_token_accuracy` - in the
  manner of Stevens & Su (BlackboxNLP 2021), how often one of the planted
  tokens (tokens of the planted attribute whose text the other side's value
  lacks) is among the top-3 tokens pushing towards "no match".

Token-level methods' field scores are sums of token scores, so every method is
comparable on the field-level metrics.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from data import RecordPairs
from explain.explanation import Explanation
from explain.perturb import RemovalScorer

__all__ = [
    "CERTA_THRESHOLDS",
    "CREW_FRACTIONS",
    "ERASER_BINS",
    "Faithfulness",
    "eraser",
    "evaluate_faithfulness",
    "field_removal_auc",
    "field_removal_degradation",
    "planted_cause_accuracy",
    "planted_token_accuracy",
]

ERASER_BINS = (0.01, 0.05, 0.10, 0.20, 0.50)
CERTA_THRESHOLDS = (0.1, 0.2, 0.33, 0.5, 0.7, 0.9)
CREW_FRACTIONS = (0.1, 0.3, 0.5, 0.7, 0.9)


def _sign(e: Explanation) -> float:
    return 1.0 if e.decision else -1.0


def _f1(pred: np.ndarray, truth: np.ndarray) -> float:
    tp = float(np.sum((pred == 1) & (truth == 1)))
    fp = float(np.sum((pred == 1) & (truth == 0)))
    fn = float(np.sum((pred == 0) & (truth == 1)))
    return 0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn)


def _trapezoid(y: Sequence[float], x: Sequence[float]) -> float:
    y, x = np.asarray(y, float), np.asarray(x, float)
    return float(np.sum((x[1:] - x[:-1]) * (y[1:] + y[:-1]) / 2))


def _scorer(
    matcher: Any, pairs: RecordPairs, explanations: Sequence[Explanation], batch_size: int
) -> RemovalScorer:
    if len(pairs) != len(explanations):
        raise ValueError(f"got {len(explanations)} explanations for {len(pairs)} pairs")
    scorer = RemovalScorer(matcher, matcher.encode(pairs), batch_size=batch_size)
    for i, (e, enc, pf) in enumerate(zip(explanations, scorer.encoded, scorer.fields)):
        keys = [(t.side, t.attribute, t.start, t.end) for t in e.tokens]
        expected = [
            (enc.labels[p].side, enc.labels[p].attribute, enc.labels[p].start, enc.labels[p].end)
            for p in pf.positions
        ]
        if keys != expected:
            raise ValueError(
                f"explanation {i} ({e.left_id}, {e.right_id}) does not match this matcher's "
                f"encoding of pair {i}; explain the same pairs with the same matcher"
            )
    return scorer


def _class_proba(p: np.ndarray | float, decision: int) -> np.ndarray | float:
    return p if decision else 1.0 - p


def eraser(
    matcher: Any,
    pairs: RecordPairs,
    explanations: Sequence[Explanation],
    *,
    bins: Sequence[float] = ERASER_BINS,
    batch_size: int = 64,
) -> tuple[float, float]:
    """ERASER ``(comprehensiveness, sufficiency)`` as AOPC, averaged over pairs."""
    return _eraser(_scorer(matcher, pairs, explanations, batch_size), explanations, bins)


def _eraser(
    scorer: RemovalScorer, explanations: Sequence[Explanation], bins: Sequence[float]
) -> tuple[float, float]:
    items, owners = [], []
    for i, e in enumerate(explanations):
        n = len(e.tokens)
        if n == 0:
            continue
        support = _sign(e) * np.array([t.score for t in e.tokens])
        order = np.argsort(-support, kind="stable")
        for b in bins:
            top = order[: max(1, math.ceil(b * n))]
            without = np.ones(n)
            without[top] = 0
            items += [(i, without), (i, 1 - without)]
            owners.append(i)
    if not items:
        return 0.0, 0.0
    p = scorer.score(items)
    comp = np.zeros(len(explanations))
    suff = np.zeros(len(explanations))
    for j, i in enumerate(owners):
        e = explanations[i]
        base = _class_proba(e.probability, e.decision)
        comp[i] += (base - _class_proba(p[2 * j], e.decision)) / len(bins)
        suff[i] += (base - _class_proba(p[2 * j + 1], e.decision)) / len(bins)
    counted = [i for i, e in enumerate(explanations) if e.tokens]
    return float(comp[counted].mean()), float(suff[counted].mean())


def _field_support(e: Explanation) -> tuple[list[tuple[str, str]], np.ndarray]:
    """Non-empty fields of ``e`` and their support for the predicted class."""
    present = {(t.side, t.attribute) for t in e.tokens}
    keys, scores = [], []
    for f in e.fields:
        for side, score in (("left", f.left), ("right", f.right)):
            if (side, f.attribute) in present:
                keys.append((side, f.attribute))
                scores.append(score)
    return keys, _sign(e) * np.asarray(scores, dtype=np.float64)


def _removal_predictions(
    scorer: RemovalScorer,
    explanations: Sequence[Explanation],
    removals: list[list[frozenset[tuple[str, str]]]],
) -> list[np.ndarray]:
    """Decisions of every pair with each set of fields removed (deduplicated calls)."""
    unique: dict[tuple[int, frozenset], int] = {}
    items = []
    for i, per_pair in enumerate(removals):
        e = explanations[i]
        for fields in per_pair:
            key = (i, fields)
            if not fields or key in unique:
                continue
            keep = np.array([(t.side, t.attribute) not in fields for t in e.tokens], dtype=float)
            unique[key] = len(items)
            items.append((i, keep))
    p = scorer.score(items) if items else np.zeros(0)
    threshold = [e.threshold for e in explanations]
    out = []
    n_sets = len(removals[0]) if removals else 0
    for s in range(n_sets):
        pred = np.empty(len(explanations), dtype=int)
        for i, e in enumerate(explanations):
            fields = removals[i][s]
            prob = e.probability if not fields else p[unique[(i, fields)]]
            pred[i] = int(prob >= threshold[i])
        out.append(pred)
    return out


def field_removal_auc(
    matcher: Any,
    pairs: RecordPairs,
    explanations: Sequence[Explanation],
    *,
    thresholds: Sequence[float] = CERTA_THRESHOLDS,
    batch_size: int = 64,
) -> float:
    """CERTA attribute faithfulness: area under (t, F1) removing top fields; lower is better.

    Raises:
        ValueError: ``pairs`` has no labels (F1 needs them).
    """
    truth = pairs.labels
    if truth is None:
        raise ValueError("field_removal_auc needs labelled pairs (a 'label' column)")
    scorer = _scorer(matcher, pairs, explanations, batch_size)
    return _certa(scorer, explanations, truth, thresholds)


def _certa(
    scorer: RemovalScorer,
    explanations: Sequence[Explanation],
    truth: np.ndarray,
    thresholds: Sequence[float],
) -> float:
    removals = []
    for e in explanations:
        keys, support = _field_support(e)
        order = np.argsort(-support, kind="stable")
        removals.append(
            [frozenset(keys[j] for j in order[: math.floor(t * len(keys))]) for t in thresholds]
        )
    preds = _removal_predictions(scorer, explanations, removals)
    return _trapezoid([_f1(p, truth) for p in preds], thresholds)


def field_removal_degradation(
    matcher: Any,
    pairs: RecordPairs,
    explanations: Sequence[Explanation],
    *,
    fractions: Sequence[float] = CREW_FRACTIONS,
    batch_size: int = 64,
) -> float:
    """CREW degradation: mean of F1(least relevant removed) - F1(most relevant removed)."""
    return _crew(_scorer(matcher, pairs, explanations, batch_size), explanations, fractions)


def _crew(
    scorer: RemovalScorer, explanations: Sequence[Explanation], fractions: Sequence[float]
) -> float:
    own = np.array([e.decision for e in explanations], dtype=int)
    removals = []
    for e in explanations:
        keys, support = _field_support(e)
        most = np.argsort(-support, kind="stable")
        least = np.argsort(support, kind="stable")
        ks = [math.floor(f * len(keys)) for f in fractions]
        removals.append(
            [frozenset(keys[j] for j in least[:k]) for k in ks]
            + [frozenset(keys[j] for j in most[:k]) for k in ks]
        )
    preds = _removal_predictions(scorer, explanations, removals)
    n = len(fractions)
    gaps = [_f1(preds[s], own) - _f1(preds[n + s], own) for s in range(n)]
    return float(np.mean(gaps))


def _hard_negatives(
    explanations: Sequence[Explanation], planted: Sequence[str | None]
) -> list[tuple[Explanation, str]]:
    if len(planted) != len(explanations):
        raise ValueError(f"got {len(planted)} planted attributes for {len(explanations)} pairs")
    return [(e, str(p)) for e, p in zip(explanations, planted) if isinstance(p, str) and p]


def planted_cause_accuracy(
    explanations: Sequence[Explanation], planted: Sequence[str | None]
) -> float:
    """Share of hard negatives whose planted attribute has the strictly lowest combined score.

    ``planted[i]`` is the planted attribute of pair ``i`` (``""``/``None`` for
    pairs without one, which are skipped). Returns NaN when there are none.
    """
    chosen = _hard_negatives(explanations, planted)
    if not chosen:
        return float("nan")
    hits = 0
    for e, attribute in chosen:
        scores = {f.attribute: f.combined for f in e.fields}
        if attribute not in scores:
            continue
        others = [s for a, s in scores.items() if a != attribute]
        hits += all(scores[attribute] < s for s in others)
    return hits / len(chosen)


def _norm(text: str) -> str:
    return text.lower().removeprefix("##")


def planted_tokens(e: Explanation, attribute: str) -> set[int]:
    """Indices (into ``e.tokens``) of the planted attribute's tokens the other side lacks."""
    texts = {
        side: {_norm(t.text) for t in e.tokens if t.side == side and t.attribute == attribute}
        for side in ("left", "right")
    }
    other = {"left": "right", "right": "left"}
    chosen = {
        j
        for j, t in enumerate(e.tokens)
        if t.attribute == attribute and _norm(t.text) not in texts[other[t.side]]
    }
    if not chosen:  # same tokens, e.g. reordered: every token of the attribute
        chosen = {j for j, t in enumerate(e.tokens) if t.attribute == attribute}
    return chosen


def planted_token_accuracy(
    explanations: Sequence[Explanation], planted: Sequence[str | None], *, k: int = 3
) -> float:
    """Share of hard negatives with a planted token among the top-``k`` "no match" tokens."""
    chosen = _hard_negatives(explanations, planted)
    if not chosen:
        return float("nan")
    hits = 0
    for e, attribute in chosen:
        target = planted_tokens(e, attribute)
        scores = np.array([t.score for t in e.tokens])
        top = [j for j in np.argsort(scores, kind="stable")[:k] if scores[j] < 0]
        hits += any(j in target for j in top)
    return hits / len(chosen)


@dataclass(frozen=True)
class Faithfulness:
    """Every faithfulness metric of one method on one set of pairs."""

    comprehensiveness: float
    sufficiency: float
    field_removal_auc: float
    field_removal_degradation: float
    planted_cause_accuracy: float | None
    planted_token_accuracy: float | None
    model_calls_per_pair: float
    seconds_per_pair: float
    n_pairs: int

    def to_dict(self) -> dict[str, float | int | None]:
        return asdict(self)


def evaluate_faithfulness(
    matcher: Any,
    pairs: RecordPairs,
    explanations: Sequence[Explanation],
    *,
    planted: Sequence[str | None] | None = None,
    batch_size: int = 64,
) -> Faithfulness:
    """All metrics; the planted-cause ones only when ``planted`` is given.

    Raises:
        ValueError: ``pairs`` has no labels (CERTA's F1 needs them).
    """
    truth = pairs.labels
    if truth is None:
        raise ValueError("evaluate_faithfulness needs labelled pairs (a 'label' column)")
    scorer = _scorer(matcher, pairs, explanations, batch_size)
    comp, suff = _eraser(scorer, explanations, ERASER_BINS)
    return Faithfulness(
        comprehensiveness=comp,
        sufficiency=suff,
        field_removal_auc=_certa(scorer, explanations, truth, CERTA_THRESHOLDS),
        field_removal_degradation=_crew(scorer, explanations, CREW_FRACTIONS),
        planted_cause_accuracy=None
        if planted is None
        else planted_cause_accuracy(explanations, planted),
        planted_token_accuracy=None
        if planted is None
        else planted_token_accuracy(explanations, planted),
        model_calls_per_pair=float(np.mean([e.model_calls for e in explanations])),
        seconds_per_pair=float(np.mean([e.seconds for e in explanations])),
        n_pairs=len(explanations),
    )
