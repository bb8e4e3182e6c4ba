"""From scores to decisions: the no-evidence rule and the rule behind each decision.

"No evidence, no merge": a candidate pair whose two records share no attribute
that is non-empty on both sides gives the matcher nothing to compare, so the
pipeline decides it "no match" whatever the model scored (two blank records,
or a record with only a title next to one with only a price).
:func:`evidence_mask` finds such pairs over the model's attributes
(:func:`matcher.shared_evidence_mask`); the pipeline keeps their score in
``pairs.csv`` but clusters them at probability 0, sets their ``decision`` to 0
and counts them in ``run.json``. Connected components can still put the two
records in one entity through a third record with evidence to both; average
linkage (the default) counts the no-evidence pair against such a merge.

:func:`decision_rules` says in words which rule made each final decision
(``same_entity``), so the report shows the pipeline's decision and why: the
threshold, the clustering or one-to-one assignment, and where the final
decision differs from the pair's own score (merged through other links, kept
apart by the clustering or by a better one-to-one partner). A pair the
cascade decided (``stage`` ``"cascade"``, :mod:`bem.scoring`) is judged by the
cascade's decision instead of its score, and its rule says so.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd

from data import RecordPairs

__all__ = ["CASCADE_RULE", "NO_EVIDENCE_RULE", "decision_rules", "evidence_mask"]

logger = logging.getLogger(__name__)

NO_EVIDENCE_RULE = "no evidence, no merge: no attribute is non-empty in both records"
"""The decision rule of a pair decided "no match" for want of shared evidence."""
CASCADE_RULE = (
    "the pair's own decision ({}) made by the cascade (first stage), not the cross-encoder"
)
"""Added to the rule of a pair the cascade decided (``{}`` is ``match`` or ``no match``)."""


def evidence_mask(
    left: pd.DataFrame,
    right: pd.DataFrame,
    candidates: pd.DataFrame,
    attributes: Sequence[str] | None,
) -> np.ndarray:
    """Per candidate pair: some attribute is non-empty in both records.

    ``attributes`` are the model's (``None``: every column of either table).
    """
    from matcher import shared_evidence_mask

    ids = candidates[["ltable_id", "rtable_id"]].reset_index(drop=True)
    return shared_evidence_mask(RecordPairs(left, right, ids), attributes)


def _base_rule(*, threshold: float, clustering: str, one_to_one: bool) -> str:
    if one_to_one:
        return f"one-to-one linkage at threshold {threshold:.3f}"
    if clustering == "average":
        return f"average-linkage clustering at threshold {threshold:.3f}"
    return f"connected components of pairs at threshold {threshold:.3f}"


def decision_rules(
    pairs: pd.DataFrame, *, threshold: float, clustering: str, one_to_one: bool
) -> pd.Series:
    """The rule behind each pair's final decision (``same_entity``), in words.

    ``pairs`` needs ``probability``, ``same_entity`` and ``evidence`` columns;
    with ``stage`` and ``decision``, a pair the cascade decided counts as
    above the threshold when the cascade decided "match".
    """
    base = _base_rule(threshold=threshold, clustering=clustering, one_to_one=one_to_one)
    above = pairs["probability"].to_numpy() >= threshold
    by_cascade = np.zeros(len(pairs), dtype=bool)
    if "stage" in pairs.columns and "decision" in pairs.columns:
        by_cascade = pairs["stage"].to_numpy() == "cascade"
        above = np.where(by_cascade, pairs["decision"].to_numpy() == 1, above)
    same = pairs["same_entity"].to_numpy() == 1
    evidence = pairs["evidence"].to_numpy().astype(bool)
    if one_to_one:
        apart = "not linked: a record of the pair has a better partner"
        through = "linked"  # one-to-one merges only pairs it keeps
    elif clustering == "average":
        apart = "kept apart: the average of the links between their clusters is below it"
        through = "merged through other links of their entity"
    else:
        apart = "kept apart"  # components never split a pair above threshold
        through = "merged through other links of their entity"
    rules = np.full(len(pairs), base, dtype=object)
    rules[same & ~above] = f"{base}; {through}, though this pair scored below it"
    rules[~same & above & evidence] = f"{base}; {apart}"
    for decided, word in ((True, "match"), (False, "no match")):
        mine = by_cascade & evidence & (above == decided)
        rules[mine] = [f"{r}; {CASCADE_RULE.format(word)}" for r in rules[mine]]
    no_evidence = ~evidence
    rules[no_evidence & ~same] = NO_EVIDENCE_RULE
    rules[no_evidence & same] = f"{NO_EVIDENCE_RULE}; {base}: merged through other links"
    return pd.Series(rules, index=pairs.index, name="decision_rule")
