"""Explanations of matching decisions: attributions, fields, reports and faithfulness.

``Explainer(matcher, method=...).explain(pairs)`` attributes every decision to
the value tokens of the serialized pair, maps each token to its record side and
attribute with the encoder's span map, and aggregates per field; every
explanation is then tested by model calls: the top field removed
(:class:`TopFieldCheck`) and the fewest field edits that flip the decision
(:class:`Counterfactual`). Reports go to
JSON lines (:func:`write_jsonl`) and one offline HTML file (:func:`write_html`);
:mod:`explain.faithfulness` measures how faithful the attributions are. A pair
the cascade decided is explained by its exact per-feature contributions
(:func:`explain_cascade`).
"""

from explain.cascade import CASCADE_METHOD, explain_cascade
from explain.counterfactual import (
    Counterfactual,
    FieldEdit,
    TopFieldCheck,
    search_counterfactual,
    top_field_check,
)
from explain.entities import EntityLink, EntityView
from explain.explainer import DEFAULT_METHOD, METHODS, Explainer, Method
from explain.explanation import Explanation, FieldScore, TokenScore
from explain.faithfulness import (
    Faithfulness,
    eraser,
    evaluate_faithfulness,
    field_removal_auc,
    field_removal_degradation,
    planted_cause_accuracy,
    planted_token_accuracy,
)
from explain.fields import PairFields, pair_fields
from explain.report import read_jsonl, render_html, write_html, write_jsonl
from explain.schema import EXPLANATION_SCHEMA, SCHEMA_VERSION, load_schema

__all__ = [
    "CASCADE_METHOD",
    "DEFAULT_METHOD",
    "EXPLANATION_SCHEMA",
    "METHODS",
    "SCHEMA_VERSION",
    "Counterfactual",
    "EntityLink",
    "EntityView",
    "Explainer",
    "Explanation",
    "Faithfulness",
    "FieldEdit",
    "FieldScore",
    "Method",
    "PairFields",
    "TokenScore",
    "TopFieldCheck",
    "eraser",
    "evaluate_faithfulness",
    "explain_cascade",
    "field_removal_auc",
    "field_removal_degradation",
    "load_schema",
    "pair_fields",
    "planted_cause_accuracy",
    "planted_token_accuracy",
    "read_jsonl",
    "render_html",
    "search_counterfactual",
    "top_field_check",
    "write_html",
    "write_jsonl",
]
