from __future__ import annotations

import numpy as np
import pytest
import torch

from data import RecordPairs
from explain import METHODS, Explainer, pair_fields
from explain.attention import rollout
from explain.gradients import baseline_ids
from explain.perturb import RemovalScorer

EXACT_ZERO = ("occlusion", "shapley", "integrated_gradients", "gradient_x_input")


@pytest.mark.parametrize("method", METHODS)
def test_every_method_explains_every_value_token(tiny_matcher, product_pairs, method):
    explainer = Explainer(tiny_matcher, method=method, n_samples=16, n_steps=8)
    explanations = explainer.explain(product_pairs, progress=False)
    assert len(explanations) == len(product_pairs)
    encoded = tiny_matcher.encode(product_pairs)
    proba = tiny_matcher.predict_proba(product_pairs)
    for i, (e, enc) in enumerate(zip(explanations, encoded)):
        left, right = product_pairs.record_pair(i)
        assert (e.left_id, e.right_id) == (str(i), str(i))
        assert e.label == product_pairs.labels[i]
        assert e.probability == pytest.approx(proba[i], abs=1e-5)
        assert e.decision == int(e.probability >= tiny_matcher.threshold_)
        assert e.method == method and e.model_calls > 0 and e.seconds > 0
        n_value = sum(lab.role == "value" for lab in enc.labels)
        assert len(e.tokens) == n_value
        for t in e.tokens:
            value = (left if t.side == "left" else right)[t.attribute]
            assert value[t.start : t.end].lower() == t.text.removeprefix("##")
        for f in e.fields:
            for side, score in (("left", f.left), ("right", f.right)):
                mine = [t.score for t in e.tokens if (t.side, t.attribute) == (side, f.attribute)]
                assert score == pytest.approx(sum(mine), abs=1e-9)
        assert [f.attribute for f in e.fields] == ["title", "brand", "price"]


@pytest.mark.parametrize("method", METHODS)
def test_explanations_are_deterministic(tiny_matcher, product_pairs, method):
    first = Explainer(tiny_matcher, method=method, n_samples=16, n_steps=8).explain(
        product_pairs[:2], progress=False
    )
    again = Explainer(tiny_matcher, method=method, n_samples=16, n_steps=8).explain(
        product_pairs[:2], progress=False
    )
    assert [t.score for e in first for t in e.tokens] == [t.score for e in again for t in e.tokens]
    # a pair's explanation does not depend on the pairs explained with it
    alone = Explainer(tiny_matcher, method=method, n_samples=16, n_steps=8).explain(
        product_pairs[[1]], progress=False
    )
    assert [t.score for t in alone[0].tokens] == [t.score for t in first[1].tokens]


@pytest.mark.parametrize("method", EXACT_ZERO)
def test_fields_the_model_ignores_get_zero(toy_matcher, product_pairs, method):
    # the toy's probability depends on the title only, so every other field's
    # true attribution is exactly zero
    explanations = Explainer(toy_matcher, method=method).explain(product_pairs, progress=False)
    for e in explanations:
        for f in e.fields:
            if f.attribute != "title":
                assert f.left == pytest.approx(0, abs=1e-7)
                assert f.right == pytest.approx(0, abs=1e-7)


@pytest.mark.parametrize("method", ["occlusion", "shapley"])
def test_field_methods_credit_the_title_of_a_match(toy_matcher, product_pairs, method):
    e = Explainer(toy_matcher, method=method).explain(product_pairs[:1], progress=False)[0]
    assert e.decision == 1
    title = e.get_field("title")
    assert title.left > 0.4 and title.right > 0.4


@pytest.mark.parametrize("method", ["lime", "kernel_shap"])
def test_sampling_methods_rank_the_title_first(toy_matcher, product_pairs, method):
    e = Explainer(toy_matcher, method=method, n_samples=200).explain(
        product_pairs[:1], progress=False
    )[0]
    # n samples + the unperturbed pair (KernelSHAP samples it too: scored once)
    assert e.model_calls in (200, 201)
    top = max(e.fields, key=lambda f: abs(f.combined))
    assert top.attribute == "title"


def test_occlusion_calls_once_per_field(toy_matcher, product_pairs):
    explanations = Explainer(toy_matcher).explain(product_pairs, progress=False)
    encoded = toy_matcher.encode(product_pairs)
    for e, enc in zip(explanations, encoded):
        # one unperturbed score (for the probability and captum's reference), one per field
        assert e.model_calls == pair_fields(enc).n_fields + 1
    # the score is exactly the drop in probability when the field is removed
    e, enc = explanations[0], encoded[0]
    pf = pair_fields(enc)
    scorer = RemovalScorer(toy_matcher, [enc])
    for j, (side, attribute) in enumerate(pf.fields):
        keep = (pf.field_index != j).astype(float)
        p = scorer.score([(0, keep)])[0]
        field = e.get_field(attribute)
        assert (field.left if side == "left" else field.right) == pytest.approx(
            e.probability - p, abs=1e-6
        )


@pytest.mark.parametrize("max_exact_fields", [8, 1])
def test_shapley_values_add_up_to_the_full_effect(toy_matcher, product_pairs, max_exact_fields):
    explainer = Explainer(toy_matcher, method="shapley", max_exact_fields=max_exact_fields)
    for e, enc in zip(
        explainer.explain(product_pairs, progress=False), toy_matcher.encode(product_pairs)
    ):
        pf = pair_fields(enc)
        empty = RemovalScorer(toy_matcher, [enc]).score([(0, np.zeros(pf.n_tokens))])[0]
        total = sum(f.combined for f in e.fields)
        # efficiency: exact Shapley values and every sampled permutation sum to v(all) - v(none)
        assert total == pytest.approx(e.probability - empty, abs=1e-5)
        assert e.settings["exact"] is (pf.n_fields <= max_exact_fields)
        if e.settings["exact"]:
            assert e.model_calls == 2**pf.n_fields  # the full coalition is the probability


def test_shapley_exact_matches_the_permutation_definition(toy_matcher):
    import itertools

    from explain.perturbation import _exact_shapley

    pairs = RecordPairs.from_records(
        [({"title": "sony tv black", "brand": "sony"}, {"title": "sony tv", "brand": "sony"})]
    )
    enc = toy_matcher.encode(pairs)[0]
    pf = pair_fields(enc)
    scorer = RemovalScorer(toy_matcher, [enc])
    phi = _exact_shapley(scorer, 0)
    n = pf.n_fields

    def value(coalition):
        keep = np.isin(np.arange(n), list(coalition)).astype(float)
        return scorer.score([(0, pf.keep_tokens(keep[None])[0])])[0]

    expected = np.zeros(n)
    perms = list(itertools.permutations(range(n)))
    for perm in perms:
        for k, j in enumerate(perm):
            expected[j] += value(perm[: k + 1]) - value(perm[:k])
    np.testing.assert_allclose(phi, expected / len(perms), atol=1e-6)


def test_integrated_gradients_is_complete(toy_matcher, product_pairs):
    e = Explainer(toy_matcher, method="integrated_gradients", n_steps=64).explain(
        product_pairs[2:3], progress=False
    )[0]
    enc = toy_matcher.encode(product_pairs[2:3])[0]
    pf = pair_fields(enc)
    batch = toy_matcher.collate([enc])
    base = baseline_ids(toy_matcher, batch["input_ids"], pf, "pad")
    with torch.no_grad():
        p_base = float(toy_matcher.forward_proba(base, batch["attention_mask"]))
    total = sum(t.score for t in e.tokens)
    assert abs(e.delta) < 1e-3
    assert total == pytest.approx(e.probability - p_base, abs=1e-3)
    assert e.settings == {"baseline": "pad", "n_steps": 64, "internal_batch_size": 16}


@pytest.mark.parametrize("kind", ["pad", "mask"])
def test_ig_baseline_keeps_structure_and_replaces_values(tiny_matcher, product_pairs, kind):
    enc = tiny_matcher.encode(product_pairs[:1])[0]
    pf = pair_fields(enc)
    ids = tiny_matcher.collate([enc])["input_ids"]
    base = baseline_ids(tiny_matcher, ids, pf, kind)
    token = {
        "pad": tiny_matcher.tokenizer_.pad_token_id,
        "mask": tiny_matcher.tokenizer_.mask_token_id,
    }
    for p, label in enumerate(enc.labels):
        if label.role == "value":
            assert int(base[0, p]) == token[kind]
        else:
            assert int(base[0, p]) == int(ids[0, p])
            assert enc.tokens[p] in ("[CLS]", "[SEP]", "col", "val") or label.attribute
    # structure tokens are the same in input and baseline: zero attribution
    e = Explainer(tiny_matcher, method="integrated_gradients", baseline=kind, n_steps=8).explain(
        product_pairs[:1], progress=False
    )[0]
    assert e.delta is not None and abs(e.delta) < 0.05


def test_attention_rollout(tiny_matcher, product_pairs):
    layers = [np.full((2, 4, 4), 0.25), np.eye(4)[None].repeat(2, 0)]
    result = rollout(layers)
    np.testing.assert_allclose(result.sum(axis=1), 1.0)
    np.testing.assert_allclose(rollout([np.eye(3)[None]]), np.eye(3))
    before = tiny_matcher.model_.config._attn_implementation
    explanations = Explainer(tiny_matcher, method="attention").explain(
        product_pairs, progress=False
    )
    for e in explanations:
        scores = np.array([t.score for t in e.tokens])
        assert (np.sign(scores) == (1 if e.decision else -1)).all()
    # the attention kernel is switched to eager only while explaining
    assert tiny_matcher.model_.config._attn_implementation == before


def test_attention_needs_a_transformer(toy_matcher, product_pairs):
    with pytest.raises(ValueError, match="cannot be called like a Hugging Face transformer"):
        Explainer(toy_matcher, method="attention").explain(product_pairs, progress=False)


def test_arguments_are_checked(tiny_matcher, product_pairs):
    with pytest.raises(ValueError, match="unknown method 'smart'"):
        Explainer(tiny_matcher, method="smart")
    with pytest.raises(ValueError, match="baseline must be 'pad' or 'mask'"):
        Explainer(tiny_matcher, baseline="zeros")
    with pytest.raises(ValueError, match="n_steps must be >= 1"):
        Explainer(tiny_matcher, n_steps=0)
    with pytest.raises(ValueError, match="n_samples must be >= 1"):
        Explainer(tiny_matcher, n_samples=0)
    with pytest.raises(TypeError, match=r"takes a data\.RecordPairs"):
        Explainer(tiny_matcher).explain([({"a": "b"}, {"a": "c"})])


def test_missing_values_have_no_tokens_and_zero_scores(toy_matcher):
    pairs = RecordPairs.from_records(
        [({"title": "sony tv", "brand": None}, {"title": "sony tv", "brand": ""})]
    )
    e = Explainer(toy_matcher).explain(pairs, progress=False)[0]
    assert e.get_field("brand").left == 0 and e.get_field("brand").right == 0
    assert {t.attribute for t in e.tokens} == {"title"}


@pytest.mark.parametrize("method", METHODS)
def test_a_pair_without_values_gets_an_empty_explanation(tiny_matcher, method):
    pairs = RecordPairs.from_records(
        [({"title": None, "brand": ""}, {"title": None, "brand": None})]
    )
    e = Explainer(tiny_matcher, method=method, n_samples=8, n_steps=4).explain(
        pairs, progress=False
    )[0]
    assert e.tokens == ()
    assert [(f.attribute, f.left, f.right) for f in e.fields] == [
        ("title", 0.0, 0.0),
        ("brand", 0.0, 0.0),
    ]


def test_attention_reads_the_row_the_head_reads(tiny_model_dir, product_pairs, monkeypatch):
    """[CLS] head: the [CLS] row of the rollout; mean head: the mean of all rows."""
    import explain.attention as attention
    from matcher import Matcher

    def fake_rollout(layers):
        n = layers[0].shape[-1]
        m = np.eye(n)
        m[0] = 0.0  # the [CLS] row reads nothing, every other token reads itself
        return m

    monkeypatch.setattr(attention, "rollout", fake_rollout)
    for pooling in ("cls", "mean"):
        m = Matcher(model=tiny_model_dir, max_length=64, pooling=pooling)
        e = Explainer(m, method="attention").explain(product_pairs[:1], progress=False)[0]
        scores = np.abs([t.score for t in e.tokens])
        if pooling == "cls":
            np.testing.assert_allclose(scores, 0.0)
        else:
            n = len(m.encode(product_pairs[:1])[0])
            np.testing.assert_allclose(scores, 1.0 / n)
