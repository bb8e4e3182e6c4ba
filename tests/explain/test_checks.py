"""The explainer's tests of its own explanations, caller decisions, and the scoring path."""

from __future__ import annotations

import numpy as np
import pytest

from data import RecordPairs
from explain import Explainer


def _proba(matcher, records) -> float:
    return float(matcher.predict_proba(RecordPairs.from_records([records]))[0])


def test_counterfactuals_flip_the_toy_decision_through_its_title(toy_matcher, product_pairs):
    # the toy reads the title only: a match flips by removing a title, a
    # non-match by giving both records the same title
    explanations = Explainer(toy_matcher).explain(product_pairs, progress=False)
    for i, e in enumerate(explanations):
        cf = e.counterfactual
        assert cf is not None, i
        assert [x.attribute for x in cf.edits] == ["title"]
        assert cf.decision == 1 - e.decision
        assert 0 < e.counterfactual_calls == cf.model_calls <= 30
        # the stated probability is a real call on the edited records
        assert cf.probability == pytest.approx(_proba(toy_matcher, cf.apply(e.left, e.right)))
        if e.decision:
            assert cf.edits[0].action == "blank"
            assert cf.describe().startswith("would not be a match without")
        else:
            assert cf.edits[0].action == "copy"
            assert cf.describe() == 'would be a match if the "title" values agreed'
        check = e.top_field_check
        assert check is not None and check.attribute == "title"
        blanked = ({**e.left, "title": None}, {**e.right, "title": None})
        assert check.probability_without == pytest.approx(_proba(toy_matcher, blanked))
        assert e.check_seconds > 0


def test_counterfactual_calls_are_counted_apart_and_can_be_turned_off(toy_matcher, product_pairs):
    on = Explainer(toy_matcher).explain(product_pairs[:2], progress=False)
    off = Explainer(toy_matcher, counterfactuals=False).explain(product_pairs[:2], progress=False)
    for a, b in zip(on, off):
        assert a.model_calls == b.model_calls  # the attribution's calls only
        assert a.counterfactual is not None and a.counterfactual_calls > 0
        assert b.counterfactual is None and b.counterfactual_calls == 0
        assert b.top_field_check == a.top_field_check  # the check stays on
        assert a.fields == b.fields


def test_decisions_rules_and_reasons_come_from_the_pair_table(toy_matcher, product_pairs):
    table = product_pairs.pairs.assign(
        decision=[1, 0, 1, np.nan],
        decision_rule=["one-to-one linkage at threshold 0.032", None, "average linkage", None],
        review_reason=["lowest-confidence merge", "strongest rejection", "", "random sample"],
    )
    pairs = RecordPairs(product_pairs.left, product_pairs.right, table)
    explanations = Explainer(toy_matcher, threshold=0.4).explain(pairs, progress=False)
    scored = [int(e.probability >= 0.4) for e in explanations]
    assert scored == [1, 1, 0, 0]
    assert [e.decision for e in explanations] == [1, 0, 1, 0]
    assert [e.threshold for e in explanations] == [0.4] * 4
    assert [e.decision_rule for e in explanations] == [
        "one-to-one linkage at threshold 0.032",
        "set by the caller",
        "average linkage",
        "single pair at threshold 0.400",
    ]
    assert [e.review_reason for e in explanations] == [
        "lowest-confidence merge",
        "strongest rejection",
        None,
        "random sample",
    ]
    assert [e.outcome for e in explanations] == ["TP", "FN", "FP", "TN"]
    # a decision the score does not make cannot be flipped by editing this pair alone
    assert explanations[1].counterfactual is None and explanations[1].counterfactual_calls == 0
    assert explanations[2].counterfactual is None
    assert explanations[0].counterfactual is not None
    assert explanations[3].counterfactual is not None


def test_bad_decisions_and_thresholds_are_refused(toy_matcher, product_pairs):
    table = product_pairs.pairs.assign(decision=[1, 2, 0, "yes"])
    pairs = RecordPairs(product_pairs.left, product_pairs.right, table)
    with pytest.raises(ValueError, match=r"column 'decision'.*row\(s\) 1 \(2\), 3 \('yes'\)"):
        Explainer(toy_matcher).explain(pairs, progress=False)
    with pytest.raises(ValueError, match="threshold must be in"):
        Explainer(toy_matcher, threshold=1.5)
    with pytest.raises(ValueError, match="counterfactual_budget must be >= 1"):
        Explainer(toy_matcher, counterfactual_budget=0)


@pytest.fixture(scope="module")
def int8_matcher(tiny_model_dir):
    from matcher import Matcher

    return Matcher(model=tiny_model_dir, max_length=64, batch_size=16, quantize=True)


def test_a_quantized_matcher_is_explained_with_its_int8_scores(
    int8_matcher, tiny_matcher, product_pairs
):
    pairs = product_pairs[:2]
    explanations = Explainer(int8_matcher, counterfactuals=False).explain(pairs, progress=False)
    fp32 = tiny_matcher.predict_proba(pairs)
    for i, e in enumerate(explanations):
        alone = int8_matcher.predict_proba(pairs[[i]])[0]
        assert e.probability == alone  # exactly the pipeline's score of the pair
        assert e.decision == int(alone >= int8_matcher.threshold_)
        assert "attribution_weights" not in e.settings
        blanked = (
            {**e.left, e.top_field_check.attribute: None},
            {**e.right, e.top_field_check.attribute: None},
        )
        assert e.top_field_check.probability_without == _proba(int8_matcher, blanked)
    # the int8 path is really another model (else the test above would prove nothing)
    assert not np.allclose([e.probability for e in explanations], fp32, atol=1e-7, rtol=0)


def test_gradient_methods_report_int8_scores_and_say_they_read_fp32(int8_matcher, product_pairs):
    pairs = product_pairs[:1]
    e = Explainer(int8_matcher, method="gradient_x_input", counterfactuals=False).explain(
        pairs, progress=False
    )[0]
    assert e.probability == int8_matcher.predict_proba(pairs)[0]
    assert e.settings["attribution_weights"].startswith("fp32")
