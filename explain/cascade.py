"""Explanations of the pairs the cascade decided: its exact per-feature contributions.

The cascade (:class:`matcher.Cascade`) is a logistic regression on similarity
features, so its logit splits exactly into one contribution per feature
(coefficient times standardised value) plus the intercept
(:meth:`matcher.Cascade.contributions`). A pair it decided is explained by
that split, not by attributing the cross-encoder, which never scored it:
:func:`explain_cascade` gives one :class:`~explain.Explanation` per pair with
``method="cascade"`` and ``stage="cascade"``, the cheap model's probability,
one :class:`~explain.FieldScore` per attribute holding the sum of that
attribute's contributions (in logit units, split evenly between the two sides:
the features compare the two values, they do not belong to one side), and the
whole split under ``cascade``. No model is called.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from data import RecordPairs
from explain.explainer import _given_decisions, _texts
from explain.explanation import Explanation, FieldScore

if TYPE_CHECKING:
    from matcher import Cascade

__all__ = ["CASCADE_METHOD", "explain_cascade"]

CASCADE_METHOD = "cascade"
"""The ``method`` of an explanation made by :func:`explain_cascade`."""


def explain_cascade(cascade: Cascade, pairs: RecordPairs, *, threshold: float) -> list[Explanation]:
    """Explain the cascade's decision on every pair, in order.

    ``threshold`` is the pipeline's (the cross-encoder's) threshold, kept for
    the record; the decision is the cascade's (``decision`` = 1 when its cheap
    probability is above the band and the pair shares evidence, 0 below it)
    unless ``pairs.pairs`` gives one, as :meth:`explain.Explainer.explain`
    reads ``decision``, ``decision_rule``, ``review_reason`` and ``label``.
    """
    if not isinstance(pairs, RecordPairs):
        raise TypeError(f"explain_cascade takes data.RecordPairs, got {type(pairs).__name__}")
    given = _given_decisions(pairs.pairs)
    rules = _texts(pairs.pairs, "decision_rule")
    reasons = _texts(pairs.pairs, "review_reason")
    labels = pairs.labels
    attributes = list(cascade.features_.attributes)
    band = {"low": float(cascade.low_), "high": float(cascade.high_)}
    out = []
    for i, (left, right) in enumerate(pairs.records()):
        start = time.perf_counter()
        c = cascade.contributions(pairs, i)
        by_attribute = c.by_attribute
        decision = c.decision if given[i] is None else given[i]
        if decision < 0:  # the band leaves the pair to the cross-encoder
            decision = int(c.probability >= threshold)
        where = {1: "above its band", 0: "below its band"}.get(c.decision, "inside its band")
        out.append(
            Explanation(
                left_id=str(pairs.pairs["ltable_id"].iloc[i]),
                right_id=str(pairs.pairs["rtable_id"].iloc[i]),
                left={a: left.get(a) for a in attributes},
                right={a: right.get(a) for a in attributes},
                probability=c.probability,
                threshold=float(threshold),
                decision=int(decision),
                tokens=(),
                fields=tuple(
                    FieldScore(a, by_attribute.get(a, 0.0) / 2, by_attribute.get(a, 0.0) / 2)
                    for a in attributes
                ),
                method=CASCADE_METHOD,
                settings={**band, "units": "logit"},
                seconds=time.perf_counter() - start,
                label=None if labels is None else int(labels[i]),
                decision_rule=rules[i] or f"the cascade: cheap P(match) {where}",
                review_reason=reasons[i],
                stage="cascade",
                cascade={**c.to_dict(), **band},
            )
        )
    return out
