"""The versioned JSON Schema of an explanation document.

:meth:`explain.Explanation.to_dict` writes, and ``bem explain --json`` /
:func:`explain.write_jsonl` store (one document per line), documents that
validate against :data:`EXPLANATION_SCHEMA` (JSON Schema draft 2020-12).

Version history:

- ``1.0``: first version.
- ``1.1``: adds ``decision_rule``, ``review_reason``, ``counterfactual``,
  ``counterfactual_calls``, ``top_field_check`` and ``check_seconds``
  (optional: a 1.0 document still validates and reads, with their defaults);
  ``decision`` may be set by the caller (see ``decision_rule``), and
  ``seconds``/``model_calls`` count the attribution only.
- ``1.2``: adds ``stage`` (which pipeline stage decided the pair) and
  ``cascade`` (the first stage's exact contributions, for a pair it decided;
  ``method`` is then ``"cascade"``).

Reading rules: a reader accepts any ``1.x`` document and ignores keys it does
not know; ``schema_version`` changes its major number when a key is removed or
changes meaning and its minor number when a key is added.
"""

from __future__ import annotations

import copy
from typing import Any

__all__ = ["EXPLANATION_SCHEMA", "SCHEMA_VERSION", "load_schema"]

SCHEMA_VERSION = "1.2"
"""Version of the document written by :meth:`explain.Explanation.to_dict`."""

_NUMBER = {"type": "number"}
_PROBABILITY = {"type": "number", "minimum": 0, "maximum": 1}
_DECISION = {"type": "integer", "enum": [0, 1]}
_TEXT_OR_NULL = {"type": ["string", "null"]}
_EDIT = {
    "type": "object",
    "required": ["attribute", "action", "side", "value"],
    "properties": {
        "attribute": {"type": "string"},
        "action": {
            "type": "string",
            "enum": ["blank", "copy"],
            "description": "blank: the value is removed; copy: the side gets the other "
            "record's value.",
        },
        "side": {"type": "string", "enum": ["left", "right", "both"]},
        "value": {**_TEXT_OR_NULL, "description": "The new value (null for a blank)."},
    },
}
_RECORD = {
    "type": "object",
    "description": "The record as the matcher saw it: attribute -> value (null when missing).",
    "additionalProperties": {"type": ["string", "null"]},
}

EXPLANATION_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "BEM explanation of one matching decision",
    "type": "object",
    "required": [
        "schema_version",
        "left_id",
        "right_id",
        "left",
        "right",
        "label",
        "probability",
        "threshold",
        "decision",
        "method",
        "settings",
        "model_calls",
        "seconds",
        "delta",
        "fields",
        "tokens",
    ],
    "properties": {
        "schema_version": {"type": "string", "pattern": r"^1\.[0-9]+$"},
        "left_id": {"type": "string", "description": "Id of the left record."},
        "right_id": {"type": "string", "description": "Id of the right record."},
        "left": _RECORD,
        "right": _RECORD,
        "label": {
            "type": ["integer", "null"],
            "enum": [0, 1, None],
            "description": "True label (1 = match) when known.",
        },
        "probability": {
            "type": "number",
            "minimum": 0,
            "maximum": 1,
            "description": "The matcher's probability of match.",
        },
        "threshold": {"type": "number", "minimum": 0, "maximum": 1},
        "decision": {
            **_DECISION,
            "description": "1 = match, 0 = no match: probability >= threshold unless "
            "decision_rule says otherwise.",
        },
        "method": {
            "type": "string",
            "description": "The attribution method (one of explain.METHODS).",
        },
        "settings": {"type": "object", "description": "The method's settings."},
        "model_calls": {
            "type": "integer",
            "minimum": 0,
            "description": "Pairs scored by the model to build this explanation.",
        },
        "seconds": {"type": "number", "minimum": 0},
        "delta": {
            "type": ["number", "null"],
            "description": "Integrated gradients' convergence delta; null for other methods.",
        },
        "decision_rule": {
            **_TEXT_OR_NULL,
            "description": "How the decision was made, e.g. 'one-to-one linkage at "
            "threshold 0.032' (added in 1.1).",
        },
        "review_reason": {
            **_TEXT_OR_NULL,
            "description": "Why the pair was chosen for review, e.g. 'lowest-confidence "
            "merge' (added in 1.1).",
        },
        "counterfactual": {
            "type": ["object", "null"],
            "description": "The fewest field edits found that flip the decision; null when "
            "none was found within the budget (added in 1.1).",
            "required": ["edits", "probability", "decision", "model_calls"],
            "properties": {
                "edits": {"type": "array", "items": _EDIT},
                "probability": {**_PROBABILITY, "description": "P(match) after the edits."},
                "decision": _DECISION,
                "model_calls": {"type": "integer", "minimum": 0},
            },
        },
        "counterfactual_calls": {
            "type": "integer",
            "minimum": 0,
            "description": "Pairs the counterfactual search scored (added in 1.1).",
        },
        "top_field_check": {
            "type": ["object", "null"],
            "description": "P(match) with the top field blanked on both sides, one model "
            "call (added in 1.1).",
            "required": ["attribute", "probability_without"],
            "properties": {
                "attribute": {"type": "string"},
                "probability_without": _PROBABILITY,
            },
        },
        "check_seconds": {"type": "number", "minimum": 0},
        "stage": {
            "type": ["string", "null"],
            "enum": ["cascade", "cross_encoder", None],
            "description": "The pipeline stage that decided the pair: the cheap first "
            "stage or the cross-encoder; null outside a pipeline (added in 1.2).",
        },
        "cascade": {
            "type": ["object", "null"],
            "description": "For a pair the cascade decided: its logit split exactly over "
            "its similarity features (coefficient x standardised value) and its band; the "
            "fields then hold the per-attribute sums (added in 1.2).",
            "required": ["features", "by_attribute", "intercept", "logit", "probability"],
            "properties": {
                "features": {"type": "object", "additionalProperties": _NUMBER},
                "by_attribute": {"type": "object", "additionalProperties": _NUMBER},
                "intercept": _NUMBER,
                "logit": _NUMBER,
                "probability": _PROBABILITY,
                "low": _PROBABILITY,
                "high": _PROBABILITY,
            },
        },
        "fields": {
            "type": "array",
            "description": "One entry per attribute; positive scores push towards match.",
            "items": {
                "type": "object",
                "required": ["attribute", "left", "right", "combined"],
                "properties": {
                    "attribute": {"type": "string"},
                    "left": _NUMBER,
                    "right": _NUMBER,
                    "combined": {"type": "number", "description": "left + right."},
                },
            },
        },
        "tokens": {
            "type": "array",
            "description": "One entry per value token the matcher read.",
            "items": {
                "type": "object",
                "required": ["text", "side", "attribute", "start", "end", "score"],
                "properties": {
                    "text": {"type": "string", "description": "The tokenizer's token."},
                    "side": {"type": "string", "enum": ["left", "right"]},
                    "attribute": {"type": "string"},
                    "start": {
                        "type": "integer",
                        "minimum": 0,
                        "description": "First character inside the original value.",
                    },
                    "end": {
                        "type": "integer",
                        "minimum": 0,
                        "description": "One past the last character inside the original value.",
                    },
                    "score": _NUMBER,
                },
            },
        },
    },
}
"""JSON Schema (draft 2020-12) of :meth:`explain.Explanation.to_dict` documents."""


def load_schema() -> dict[str, Any]:
    """A copy of :data:`EXPLANATION_SCHEMA` (safe to modify)."""
    return copy.deepcopy(EXPLANATION_SCHEMA)
