"""Counterfactual explanations and the top-field check, both from real model calls.

A counterfactual is the smallest set of field edits that flips the decision.
An edit changes one attribute: ``"blank"`` removes its value on one side or
both, ``"copy"`` gives one side the other record's value (so the two agree).
:func:`search_counterfactual` tries 1 edit, then 2, then 3 (``max_edits``),
each candidate scored by the model, within ``budget`` model calls:

- single edits are ranked by the pair's field attributions: blanking a field is
  expected to move P(match) by minus its score, copying a value to remove a
  disagreement (a field that pushes towards "no match") by minus its negative
  score, and the edits expected to move P(match) furthest towards the other
  decision are tried first;
- effects add up in log-odds, not in probability: far from the threshold
  (P(match) 0.0006 for a random non-match) every edit moves P(match) by almost
  nothing, but its log-odds still tell the edits apart;
- sets of 2 and 3 edits (on different attributes, drawn from the :data:`POOL`
  best-ranked single edits) are ranked by the log-odds expected from what was
  measured already: a measured subset's log-odds plus the measured (else
  attributed) effect of the edit added to it. To turn a non-match into a
  match, sets whose every edit makes an attribute agree (a copy, or a blank on
  both sides) come first: a saturated non-match seldom flips otherwise, and
  single edits do not say which
  (``bench/studies/counterfactual_bound.py``);
- each size gets an equal share of the calls left (unused calls roll over), and
  candidates go to the model in batches of 2, 4, 8, ... (up to ``batch_size``),
  so a flip found by the first candidates costs few calls; the search stops at
  the first batch holding a flip and keeps its flip furthest past the threshold.

:func:`top_field_check` scores the pair with its highest-``|score|`` attribute
removed on both sides: one model call that tests the explanation.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

if TYPE_CHECKING:
    from explain.explanation import FieldScore

__all__ = [
    "Counterfactual",
    "FieldEdit",
    "TopFieldCheck",
    "candidate_edits",
    "search_counterfactual",
    "top_field_check",
]

EditAction = Literal["blank", "copy"]
EditSide = Literal["left", "right", "both"]
Record = Mapping[str, "str | None"]
_EPS = 1e-7  # P(match) clipped before log-odds
POOL = 20
"""Sets of 2 and 3 edits are drawn from the best-ranked this many single edits."""
ScoreFn = Callable[[list[tuple[dict[str, Any], dict[str, Any]]]], np.ndarray]


def _present(value: Any) -> bool:
    return value is not None and str(value).strip() != ""


@dataclass(frozen=True)
class FieldEdit:
    """One edit of one attribute of a pair.

    Attributes:
        attribute: the attribute edited.
        action: ``"blank"`` (the value is removed) or ``"copy"`` (the side gets
            the other record's value).
        side: the record(s) changed: ``"left"``, ``"right"`` or, for a blank,
            ``"both"``.
        value: the value the changed side gets (``None`` for a blank).
    """

    attribute: str
    action: EditAction
    side: EditSide
    value: str | None = None

    def __post_init__(self) -> None:
        if self.action not in ("blank", "copy"):
            raise ValueError(f"edit action must be 'blank' or 'copy', got {self.action!r}")
        if self.side not in ("left", "right", "both"):
            raise ValueError(f"edit side must be 'left', 'right' or 'both', got {self.side!r}")
        if self.action == "copy" and (self.side == "both" or self.value is None):
            raise ValueError(
                f"a copy edit of {self.attribute!r} needs side 'left' or 'right' and the "
                f"value copied; got side={self.side!r}, value={self.value!r}"
            )

    def apply(self, left: dict[str, Any], right: dict[str, Any]) -> None:
        """Apply the edit to ``left``/``right`` in place."""
        for side, record in (("left", left), ("right", right)):
            if self.side in (side, "both"):
                record[self.attribute] = self.value if self.action == "copy" else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "attribute": self.attribute,
            "action": self.action,
            "side": self.side,
            "value": self.value,
        }

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> FieldEdit:
        value = doc.get("value")
        return cls(str(doc["attribute"]), doc["action"], doc["side"], value)


@dataclass(frozen=True)
class Counterfactual:
    """The fewest field edits found that flip a decision.

    Attributes:
        edits: the edits, applied together.
        probability: P(match) of the edited pair (a real model call).
        decision: the decision of the edited pair (the flipped one).
        model_calls: pairs the search scored up to and including this one.
    """

    edits: tuple[FieldEdit, ...]
    probability: float
    decision: int
    model_calls: int

    def apply(self, left: Record, right: Record) -> tuple[dict[str, Any], dict[str, Any]]:
        """Copies of the two records with every edit applied."""
        a, b = dict(left), dict(right)
        for edit in self.edits:
            edit.apply(a, b)
        return a, b

    def describe(self) -> str:
        """The counterfactual in words, e.g. ``would be a match if the "model" values agreed``."""
        copies = [f'"{e.attribute}"' for e in self.edits if e.action == "copy"]
        blanks = [
            f'the "{e.attribute}"'
            if e.side == "both"
            else f'the {e.side} record\'s "{e.attribute}"'
            for e in self.edits
            if e.action == "blank"
        ]
        parts = ["would be a match" if self.decision else "would not be a match"]
        if copies:
            parts.append(f"if the {_join(copies)} values agreed")
        if copies and blanks:
            parts.append("and")
        if blanks:
            parts.append(f"without {_join(blanks)}")
        return " ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "edits": [e.to_dict() for e in self.edits],
            "probability": float(self.probability),
            "decision": int(self.decision),
            "model_calls": int(self.model_calls),
        }

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> Counterfactual:
        return cls(
            edits=tuple(FieldEdit.from_dict(e) for e in doc["edits"]),
            probability=float(doc["probability"]),
            decision=int(doc["decision"]),
            model_calls=int(doc["model_calls"]),
        )


@dataclass(frozen=True)
class TopFieldCheck:
    """P(match) with the explanation's top field removed: the explanation, tested.

    Attributes:
        attribute: the attribute with the highest ``|combined|`` score.
        probability_without: P(match) with its value blanked on both sides
            (one real model call, by the pipeline's scoring path).
    """

    attribute: str
    probability_without: float

    def to_dict(self) -> dict[str, Any]:
        return {"attribute": self.attribute, "probability_without": float(self.probability_without)}

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> TopFieldCheck:
        return cls(str(doc["attribute"]), float(doc["probability_without"]))


def _join(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def candidate_edits(
    left: Record, right: Record, fields: Sequence[FieldScore]
) -> list[tuple[FieldEdit, float]]:
    """Every single edit of the pair with the change of P(match) its attribution predicts.

    Per attribute: blank the left, the right and (when both have one) both
    values; copy a value to the other side when the two differ. A blank is
    expected to move P(match) by minus the blanked score; a copy by
    ``max(-combined, 0)`` (a disagreement that turns into agreement).
    """
    out: list[tuple[FieldEdit, float]] = []
    for f in fields:
        a = f.attribute
        lv, rv = left.get(a), right.get(a)
        if _present(lv):
            out.append((FieldEdit(a, "blank", "left"), -f.left))
        if _present(rv):
            out.append((FieldEdit(a, "blank", "right"), -f.right))
        if _present(lv) and _present(rv):
            out.append((FieldEdit(a, "blank", "both"), -f.combined))
        if lv != rv:
            agree = max(-f.combined, 0.0)
            if _present(lv):
                out.append((FieldEdit(a, "copy", "right", str(lv)), agree))
            if _present(rv):
                out.append((FieldEdit(a, "copy", "left", str(rv)), agree))
    return out


def _log_odds(p: float) -> float:
    p = min(max(p, _EPS), 1.0 - _EPS)
    return math.log(p) - math.log1p(-p)


def _edited(left: Record, right: Record, edits: Sequence[FieldEdit]) -> tuple[dict, dict]:
    a, b = dict(left), dict(right)
    for e in edits:
        e.apply(a, b)
    return a, b


def search_counterfactual(
    left: Record,
    right: Record,
    fields: Sequence[FieldScore],
    *,
    probability: float,
    threshold: float,
    score: ScoreFn,
    max_edits: int = 3,
    budget: int = 30,
    batch_size: int = 8,
) -> tuple[Counterfactual | None, int]:
    """The fewest edits found that move P(match) across ``threshold`` (module doc).

    Args:
        left, right: the records as the matcher saw them.
        fields: the pair's field attributions (rank the single edits).
        probability: the pair's P(match); the decision to flip is
            ``probability >= threshold``.
        threshold: the decision threshold.
        score: scores a list of ``(left, right)`` records, one model call each.
        max_edits: the most edits in a counterfactual.
        budget: the most pairs scored.
        batch_size: candidates per call of ``score``.

    Returns:
        ``(counterfactual or None, model calls used)``.
    """
    for name, value in (("max_edits", max_edits), ("budget", budget), ("batch_size", batch_size)):
        if value < 1:
            raise ValueError(f"{name} must be >= 1, got {value}")
    target = 0 if probability >= threshold else 1
    sign = 1.0 if target else -1.0
    prefer = "copy" if target else "blank"  # on ties: agreement to match, removal to reject
    singles = candidate_edits(left, right, fields)
    start = _log_odds(probability)
    prior = [_log_odds(probability + change) - start for _, change in singles]
    position = {f.attribute: n for n, f in enumerate(fields)}
    order = [position[e.attribute] for e, _ in singles]  # edits read in record order
    agrees = [e.action == "copy" or e.side == "both" for e, _ in singles]
    measured: dict[frozenset[int], float] = {}  # log-odds of each set scored
    calls = 0

    def effect(j: int) -> float:
        got = measured.get(frozenset((j,)))
        return prior[j] if got is None else got - start

    def expected(combo: frozenset[int]) -> float:
        known = [measured[combo - {j}] + effect(j) for j in combo if combo - {j} in measured]
        return max(known, key=lambda z: sign * z) if known else start + sum(map(effect, combo))

    def rank(combo: frozenset[int]) -> tuple[bool, float]:
        agreeing = bool(target) and all(agrees[j] for j in combo)
        return (not agreeing, -sign * expected(combo))

    for size in range(1, max_edits + 1):
        left_over = budget - calls
        if left_over <= 0:
            break
        share = math.ceil(left_over / (max_edits - size + 1))
        ranked = sorted(
            range(len(singles)),
            key=lambda j: (-sign * effect(j), singles[j][0].action != prefer),
        )
        if size == 1:
            todo = [frozenset((j,)) for j in ranked]
        else:
            combos = [
                frozenset(c)
                for c in itertools.combinations(ranked[: max(POOL, size)], size)
                if len({singles[j][0].attribute for j in c}) == size
            ]
            todo = sorted((c for c in combos if c not in measured), key=rank)
        todo = todo[:share]
        begin, width = 0, min(2, batch_size)
        while begin < len(todo):
            chunk = todo[begin : begin + width]
            begin, width = begin + width, min(2 * width, batch_size)
            edits = [[singles[j][0] for j in sorted(c, key=order.__getitem__)] for c in chunk]
            proba = np.asarray(score([_edited(left, right, e) for e in edits]), dtype=float)
            calls += len(chunk)
            for c, p in zip(chunk, proba):
                measured[c] = _log_odds(float(p))
            flipped = [k for k, p in enumerate(proba) if int(p >= threshold) == target]
            if flipped:
                best = max(flipped, key=lambda k: sign * proba[k])
                found = Counterfactual(tuple(edits[best]), float(proba[best]), target, calls)
                return found, calls
    return None, calls


def top_field_check(
    left: Record, right: Record, fields: Sequence[FieldScore], *, score: ScoreFn
) -> TopFieldCheck | None:
    """P(match) with the highest-``|combined|`` attribute blanked on both sides.

    ``None`` when no attribute has a non-zero score and a value to remove.
    """
    usable = [
        f
        for f in fields
        if f.combined != 0 and (_present(left.get(f.attribute)) or _present(right.get(f.attribute)))
    ]
    if not usable:
        return None
    top = max(usable, key=lambda f: abs(f.combined))
    records = _edited(left, right, [FieldEdit(top.attribute, "blank", "both")])
    return TopFieldCheck(top.attribute, float(score([records])[0]))
