from __future__ import annotations

import json
import math
import re
from typing import Any

import pytest

from explain import (
    METHODS,
    SCHEMA_VERSION,
    Counterfactual,
    Explainer,
    Explanation,
    FieldEdit,
    FieldScore,
    TokenScore,
    TopFieldCheck,
    load_schema,
    read_jsonl,
    write_jsonl,
)

_TYPES = {
    "object": dict,
    "array": list,
    "string": str,
    "number": (int, float),
    "integer": int,
    "null": type(None),
    "boolean": bool,
}


def schema_errors(doc: Any, schema: dict[str, Any], path: str = "$") -> list[str]:
    """The JSON Schema keywords the explanation schema uses, checked by hand.

    (jsonschema is not a dependency; when it is installed the test uses it too.)
    """
    errors = []
    types = schema.get("type")
    if types is not None:
        names = [types] if isinstance(types, str) else types
        ok = any(
            isinstance(doc, _TYPES[n])
            and not (n in ("number", "integer") and isinstance(doc, bool))
            for n in names
        )
        if not ok:
            return [f"{path}: {doc!r} is not of type {names}"]
    if "enum" in schema and doc not in schema["enum"]:
        errors.append(f"{path}: {doc!r} not in {schema['enum']}")
    if "pattern" in schema and not re.search(schema["pattern"], doc):
        errors.append(f"{path}: {doc!r} does not match {schema['pattern']}")
    if "minimum" in schema and doc < schema["minimum"]:
        errors.append(f"{path}: {doc} < {schema['minimum']}")
    if "maximum" in schema and doc > schema["maximum"]:
        errors.append(f"{path}: {doc} > {schema['maximum']}")
    if isinstance(doc, dict):
        for key in schema.get("required", []):
            if key not in doc:
                errors.append(f"{path}: missing {key!r}")
        props = schema.get("properties", {})
        for key, value in doc.items():
            sub = props.get(key, schema.get("additionalProperties"))
            if isinstance(sub, dict):
                errors += schema_errors(value, sub, f"{path}.{key}")
    if isinstance(doc, list) and "items" in schema:
        for i, item in enumerate(doc):
            errors += schema_errors(item, schema["items"], f"{path}[{i}]")
    return errors


def validate(doc: dict[str, Any]) -> None:
    schema = load_schema()
    assert schema_errors(doc, schema) == []
    try:
        import jsonschema
    except ImportError:
        return
    jsonschema.validate(doc, schema)


def make_explanation(**changes: Any) -> Explanation:
    base = dict(
        left_id="a1",
        right_id="b7",
        left={"title": "sony tv", "price": None},
        right={"title": "sony television", "price": "10"},
        probability=0.8,
        threshold=0.5,
        decision=1,
        tokens=(
            TokenScore("sony", "left", "title", 0, 4, 0.25),
            TokenScore("tv", "left", "title", 5, 7, -0.05),
            TokenScore("sony", "right", "title", 0, 4, 0.2),
            TokenScore("television", "right", "title", 5, 15, 0.1),
            TokenScore("10", "right", "price", 0, 2, -0.02),
        ),
        fields=(FieldScore("title", 0.2, 0.3), FieldScore("price", 0.0, -0.02)),
        method="lime",
        settings={"n_samples": 64, "seed": 0},
        model_calls=65,
        seconds=0.12,
        label=0,
    )
    base.update(changes)
    return Explanation(**base)


def test_schema_checker_rejects_bad_documents():
    doc = make_explanation().to_dict()
    validate(doc)
    schema = load_schema()
    bad = json.loads(json.dumps(doc))
    del bad["fields"][0]["combined"]
    bad["tokens"][0]["side"] = "middle"
    bad["probability"] = 1.5
    bad["schema_version"] = "2.0"
    errors = schema_errors(bad, schema)
    assert any("combined" in e for e in errors)
    assert any("middle" in e for e in errors)
    assert any("1.5" in e for e in errors)
    assert any("2.0" in e for e in errors)


@pytest.mark.parametrize("method", METHODS)
def test_every_method_writes_valid_documents(tiny_matcher, product_pairs, method):
    explanations = Explainer(tiny_matcher, method=method, n_samples=16).explain(
        product_pairs, progress=False
    )
    for e in explanations:
        doc = e.to_dict()
        validate(doc)
        assert doc["schema_version"] == SCHEMA_VERSION
        assert doc["method"] == method
        assert json.loads(json.dumps(doc)) == doc
        assert Explanation.from_dict(doc) == e


def test_combined_is_left_plus_right_and_outcome():
    e = make_explanation()
    doc = e.to_dict()
    assert [f["combined"] for f in doc["fields"]] == pytest.approx([0.5, -0.02])
    assert e.outcome == "FP"
    assert make_explanation(label=None).outcome is None
    assert make_explanation(decision=0, label=1).outcome == "FN"
    assert e.get_field("price").right == -0.02
    with pytest.raises(KeyError, match="no attribute 'brand'"):
        e.get_field("brand")


def test_to_frame_has_one_row_per_field():
    frame = make_explanation().to_frame()
    assert list(frame["attribute"]) == ["title", "price"]
    assert list(frame["combined"]) == pytest.approx([0.5, -0.02])
    assert list(frame["left_value"]) == ["sony tv", None]
    assert set(frame["method"]) == {"lime"}
    assert (frame["left_id"] == "a1").all() and (frame["right_id"] == "b7").all()


def test_round_trip_through_jsonl(tmp_path):
    explanations = [make_explanation(), make_explanation(left_id="a2", delta=1e-3, label=None)]
    path = write_jsonl(explanations, tmp_path / "out.jsonl")
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2
    for line in lines:
        validate(json.loads(line))
    assert read_jsonl(path) == explanations


def test_reading_rejects_other_versions_and_broken_lines(tmp_path):
    doc = make_explanation().to_dict()
    with pytest.raises(ValueError, match=r"schema_version '2\.0'"):
        Explanation.from_dict({**doc, "schema_version": "2.0"})
    partial = dict(doc)
    del partial["tokens"]
    with pytest.raises(ValueError, match="lacks the key 'tokens'"):
        Explanation.from_dict(partial)
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(doc) + "\n" + json.dumps(partial) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad\.jsonl, line 2"):
        read_jsonl(path)


def test_non_finite_scores_are_refused():
    e = make_explanation(fields=(FieldScore("title", math.nan, 0.0),))
    with pytest.raises(ValueError, match="not finite"):
        e.to_dict()


def test_checks_and_decision_fields_round_trip_and_validate():
    e = make_explanation(
        decision_rule="one-to-one linkage at threshold 0.032",
        review_reason="lowest-confidence merge",
        counterfactual=Counterfactual(
            (FieldEdit("price", "copy", "left", "10"), FieldEdit("title", "blank", "both")),
            0.21,
            0,
            17,
        ),
        counterfactual_calls=17,
        top_field_check=TopFieldCheck("title", 0.3),
        check_seconds=0.05,
    )
    doc = e.to_dict()
    validate(doc)
    assert doc["counterfactual"]["edits"][0] == {
        "attribute": "price",
        "action": "copy",
        "side": "left",
        "value": "10",
    }
    assert doc["top_field_check"] == {"attribute": "title", "probability_without": 0.3}
    assert Explanation.from_dict(json.loads(json.dumps(doc))) == e
    frame = e.to_frame()
    assert set(frame["review_reason"]) == {"lowest-confidence merge"}
    bad = json.loads(json.dumps(doc))
    bad["counterfactual"]["edits"][0]["action"] = "swap"
    assert any("swap" in err for err in schema_errors(bad, load_schema()))


def test_version_1_0_documents_still_read():
    doc = make_explanation().to_dict()
    for key in (
        "decision_rule",
        "review_reason",
        "counterfactual",
        "counterfactual_calls",
        "top_field_check",
        "check_seconds",
    ):
        del doc[key]
    doc["schema_version"] = "1.0"
    validate(doc)
    e = Explanation.from_dict(doc)
    assert e == make_explanation()
    assert e.counterfactual is None and e.top_field_check is None and e.decision_rule is None
