"""What an explanation holds: per-token and per-field scores of one decision.

An :class:`Explanation` is a small frozen dataclass. ``to_dict()`` returns a
plain-JSON document that follows the versioned JSON Schema in
:mod:`explain.schema` (:data:`SCHEMA_VERSION`); :meth:`Explanation.from_dict`
reads it back. Scores are signed: a positive score pushes the pair towards
"match", a negative one towards "no match".
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import pandas as pd

__all__ = [
    "Explanation",
    "FieldScore",
    "TokenScore",
]

from explain.counterfactual import Counterfactual, TopFieldCheck
from explain.schema import SCHEMA_VERSION

Side = Literal["left", "right"]


@dataclass(frozen=True)
class TokenScore:
    """The score of one value token.

    Attributes:
        text: the token as the tokenizer wrote it (e.g. ``"##ing"``).
        side: ``"left"`` or ``"right"`` record.
        attribute: the attribute whose value the token comes from.
        start: first character of the token inside the original value.
        end: one past the last character inside the original value, so that
            ``record[attribute][start:end]`` is the token's text.
        score: signed attribution (positive pushes towards "match").
    """

    text: str
    side: Side
    attribute: str
    start: int
    end: int
    score: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "side": self.side,
            "attribute": self.attribute,
            "start": self.start,
            "end": self.end,
            "score": _finite(self.score),
        }


@dataclass(frozen=True)
class FieldScore:
    """The scores of one attribute on both sides of the pair.

    Attributes:
        attribute: the attribute name.
        left: score of the left record's value of this attribute.
        right: score of the right record's value.
    """

    attribute: str
    left: float
    right: float

    @property
    def combined(self) -> float:
        """``left + right``: the attribute's total push towards "match"."""
        return self.left + self.right

    def to_dict(self) -> dict[str, Any]:
        return {
            "attribute": self.attribute,
            "left": _finite(self.left),
            "right": _finite(self.right),
            "combined": _finite(self.combined),
        }


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _finite(x: float) -> float:
    x = float(x)
    if not math.isfinite(x):
        raise ValueError(f"score {x} is not finite; an attribution method returned NaN/inf")
    return x


@dataclass(frozen=True)
class Explanation:
    """Why the matcher decided what it decided for one pair of records.

    Attributes:
        left_id, right_id: the pair's record ids.
        left, right: the two records as the matcher saw them (attribute -> value).
        probability: the matcher's probability of "match", by the pipeline's
            scoring path (the int8 model of a ``quantize=True`` matcher).
        threshold: the decision threshold in effect.
        decision: 1 for "match", 0 for "no match": ``probability >= threshold``
            unless the caller set it (a pipeline decides by linkage or
            clustering; see :meth:`explain.Explainer.explain`).
        label: the true label when known, else ``None``.
        tokens: one :class:`TokenScore` per value token the matcher read (tokens
            removed by truncation are absent).
        fields: one :class:`FieldScore` per attribute, in record order. For
            token-level methods a field's score is the sum of its tokens' scores;
            for field-level methods a token's score is its field's score split
            evenly over the field's tokens, so the sum holds for every method.
        method: the attribution method's name.
        settings: the method's settings (JSON values).
        model_calls: number of pairs the model scored to build the attribution
            (a forward pass over a batch of n perturbed inputs counts n).
        seconds: wall-clock time spent on the attribution.
        delta: the convergence delta of integrated gradients (completeness
            error: sum of attributions minus ``f(x) - f(baseline)``), else ``None``.
        decision_rule: how the decision was made, in words (e.g. ``"one-to-one
            linkage at threshold 0.032"``); ``None`` in documents older than 1.1.
        review_reason: why the pair was chosen for review (e.g.
            ``"lowest-confidence merge"``), when it was.
        counterfactual: the fewest field edits found that flip the decision,
            ``None`` when none was found within the budget, the search was
            off, or the decision is not the pair's score against the threshold.
        counterfactual_calls: pairs the counterfactual search scored (found or
            not), not counted in ``model_calls``.
        top_field_check: P(match) with the top field removed on both sides
            (one model call, not counted in ``model_calls``).
        check_seconds: wall-clock time of the top-field check and the
            counterfactual search.
        stage: the pipeline stage that decided the pair, ``"cascade"`` (the
            cheap first stage) or ``"cross_encoder"``; ``None`` outside a
            pipeline and in documents older than 1.2.
        cascade: for a pair the cascade decided, its exact logit split
            (:meth:`matcher.CascadeContributions.to_dict`: per feature, per
            attribute, intercept, logit, probability) and its band
            (``low``, ``high``); the fields then hold the per-attribute sums
            (see :mod:`explain.cascade`).
    """

    left_id: str
    right_id: str
    left: Mapping[str, str | None]
    right: Mapping[str, str | None]
    probability: float
    threshold: float
    decision: int
    tokens: tuple[TokenScore, ...]
    fields: tuple[FieldScore, ...]
    method: str
    settings: Mapping[str, Any] = field(default_factory=dict)
    model_calls: int = 0
    seconds: float = 0.0
    label: int | None = None
    delta: float | None = None
    decision_rule: str | None = None
    review_reason: str | None = None
    counterfactual: Counterfactual | None = None
    counterfactual_calls: int = 0
    top_field_check: TopFieldCheck | None = None
    check_seconds: float = 0.0
    stage: str | None = None
    cascade: Mapping[str, Any] | None = None

    @property
    def score_decision(self) -> int:
        """``probability >= threshold``: the decision of the pair's score alone."""
        return int(self.probability >= self.threshold)

    @property
    def top_field(self) -> FieldScore | None:
        """The field with the highest ``|combined|`` score (``None`` without fields)."""
        return max(self.fields, key=lambda f: abs(f.combined), default=None)

    @property
    def outcome(self) -> str | None:
        """``"TP"``, ``"FP"``, ``"FN"`` or ``"TN"`` when the label is known."""
        if self.label is None:
            return None
        return {(1, 1): "TP", (1, 0): "FP", (0, 1): "FN", (0, 0): "TN"}[
            (int(self.decision), int(self.label))
        ]

    def get_field(self, attribute: str) -> FieldScore:
        """The :class:`FieldScore` of ``attribute``."""
        for f in self.fields:
            if f.attribute == attribute:
                return f
        known = [f.attribute for f in self.fields]
        raise KeyError(f"no attribute {attribute!r} in this explanation (attributes: {known})")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready document following :data:`explain.schema.EXPLANATION_SCHEMA`."""
        return {
            "schema_version": SCHEMA_VERSION,
            "left_id": str(self.left_id),
            "right_id": str(self.right_id),
            "left": {k: (None if v is None else str(v)) for k, v in self.left.items()},
            "right": {k: (None if v is None else str(v)) for k, v in self.right.items()},
            "label": None if self.label is None else int(self.label),
            "probability": _finite(self.probability),
            "threshold": _finite(self.threshold),
            "decision": int(self.decision),
            "method": self.method,
            "settings": json.loads(json.dumps(dict(self.settings))),
            "model_calls": int(self.model_calls),
            "seconds": float(self.seconds),
            "delta": None if self.delta is None else float(self.delta),
            "decision_rule": self.decision_rule,
            "review_reason": self.review_reason,
            "counterfactual": None
            if self.counterfactual is None
            else self.counterfactual.to_dict(),
            "counterfactual_calls": int(self.counterfactual_calls),
            "top_field_check": (
                None if self.top_field_check is None else self.top_field_check.to_dict()
            ),
            "check_seconds": float(self.check_seconds),
            "stage": self.stage,
            "cascade": None if self.cascade is None else json.loads(json.dumps(self.cascade)),
            "fields": [f.to_dict() for f in self.fields],
            "tokens": [t.to_dict() for t in self.tokens],
        }

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> Explanation:
        """Read a document written by :meth:`to_dict` (any 1.x version; keys
        added after 1.0 take their defaults when absent).

        Raises:
            ValueError: the document has another major schema version or lacks
                a required key.
        """
        version = str(doc.get("schema_version", ""))
        if version.split(".")[0] != SCHEMA_VERSION.split(".")[0]:
            raise ValueError(
                f"explanation has schema_version {version!r}; this BEM reads "
                f"{SCHEMA_VERSION.split('.')[0]}.x; re-run `bem explain` to regenerate it"
            )
        try:
            return cls(
                left_id=str(doc["left_id"]),
                right_id=str(doc["right_id"]),
                left=dict(doc["left"]),
                right=dict(doc["right"]),
                probability=float(doc["probability"]),
                threshold=float(doc["threshold"]),
                decision=int(doc["decision"]),
                tokens=tuple(
                    TokenScore(
                        t["text"],
                        t["side"],
                        t["attribute"],
                        int(t["start"]),
                        int(t["end"]),
                        float(t["score"]),
                    )
                    for t in doc["tokens"]
                ),
                fields=tuple(
                    FieldScore(f["attribute"], float(f["left"]), float(f["right"]))
                    for f in doc["fields"]
                ),
                method=str(doc["method"]),
                settings=dict(doc.get("settings", {})),
                model_calls=int(doc.get("model_calls", 0)),
                seconds=float(doc.get("seconds", 0.0)),
                label=None if doc.get("label") is None else int(doc["label"]),
                delta=None if doc.get("delta") is None else float(doc["delta"]),
                decision_rule=_text(doc.get("decision_rule")),
                review_reason=_text(doc.get("review_reason")),
                counterfactual=(
                    None
                    if doc.get("counterfactual") is None
                    else Counterfactual.from_dict(doc["counterfactual"])
                ),
                counterfactual_calls=int(doc.get("counterfactual_calls", 0)),
                top_field_check=(
                    None
                    if doc.get("top_field_check") is None
                    else TopFieldCheck.from_dict(doc["top_field_check"])
                ),
                check_seconds=float(doc.get("check_seconds", 0.0)),
                stage=_text(doc.get("stage")),
                cascade=None if doc.get("cascade") is None else dict(doc["cascade"]),
            )
        except KeyError as err:
            raise ValueError(f"explanation document lacks the key {err}") from None

    def to_frame(self) -> pd.DataFrame:
        """One row per field: ids, attribute, left/right/combined scores, method."""
        rows = [
            {
                "left_id": self.left_id,
                "right_id": self.right_id,
                "attribute": f.attribute,
                "left_value": self.left.get(f.attribute),
                "right_value": self.right.get(f.attribute),
                "left": f.left,
                "right": f.right,
                "combined": f.combined,
                "probability": self.probability,
                "decision": self.decision,
                "method": self.method,
                "decision_rule": self.decision_rule,
                "review_reason": self.review_reason,
            }
            for f in self.fields
        ]
        return pd.DataFrame(rows, columns=list(_FRAME_COLUMNS))


_FRAME_COLUMNS = (
    "left_id",
    "right_id",
    "attribute",
    "left_value",
    "right_value",
    "left",
    "right",
    "combined",
    "probability",
    "decision",
    "method",
    "decision_rule",
    "review_reason",
)
