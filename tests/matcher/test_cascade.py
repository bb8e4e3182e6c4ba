"""The cascade: band tuning, routing, contributions, saving, and the matcher's hooks."""

from __future__ import annotations

import json
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from data import BemError, RecordPairs
from matcher import (
    Band,
    Cascade,
    Matcher,
    fit_cascade,
    match_metrics,
    predict_with_cascade,
    shared_evidence_mask,
    tune_band,
)
from matcher import band as band_module
from matcher.cascade import CASCADE_FILE

FIT = {"epochs": 3, "learning_rate": 3e-3, "batch_size": 16, "progress": False}
WORDS = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india"]


def products(n: int, seed: int) -> RecordPairs:
    """Matches (a noisy copy), siblings (another model number) and unrelated pairs."""
    rng = np.random.default_rng(seed)
    records, labels = [], []
    for i in range(n):
        words = list(rng.choice(WORDS, 3, replace=False))
        code = f"{rng.choice(['kx', 'tv', 'ab'])}-{rng.integers(100, 999)}"
        price = None if rng.random() < 0.2 else str(rng.integers(10, 99))
        left = {"title": f"{' '.join(words)} {code}", "price": price}
        kind = i % 3
        if kind == 0:  # a match: a word dropped, the code spelled otherwise
            right = {"title": f"{' '.join(words[:2])} {code.upper().replace('-', ' ')}"}
        elif kind == 1:  # a sibling: the same words, another model number
            right = {"title": f"{' '.join(words)} {code[:-1]}{(int(code[-1]) + 1) % 10}"}
        else:
            other = list(rng.choice(WORDS, 3, replace=False))
            right = {"title": f"{' '.join(other)} ab-{rng.integers(100, 999)}"}
        right["price"] = price if rng.random() < 0.7 else None
        records.append((left, right))
        labels.append(int(kind == 0))
    return RecordPairs.from_records(records, labels)


class StubScorer:
    """A cross-encoder stand-in: a fixed score per pair, from its ids; counts calls."""

    attributes_ = ("title", "price")
    threshold_ = 0.5

    def __init__(self) -> None:
        self.scored: list[int] = []

    def predict_proba(self, pairs, *, batch_size=None, progress=False):
        self.scored.append(len(pairs))
        keys = pairs.pairs["ltable_id"] + "|" + pairs.pairs["rtable_id"]
        return np.array([zlib.crc32(k.encode()) / 2**32 for k in keys])


@pytest.fixture(scope="module")
def data():
    return products(150, 0), products(90, 1)


@pytest.fixture(scope="module")
def stub_cascade(data):
    train, valid = data
    return fit_cascade(StubScorer(), train, valid)


@pytest.fixture(scope="module")
def fitted(tiny_model_dir, data):
    train, valid = data
    return Matcher(model=tiny_model_dir, max_length=48, seed=0).fit(train, valid, **FIT)


def combined_f1(band: Band, labels, cheap, cross, threshold, evidence) -> float:
    decided, decision = band.decide(cheap, evidence)
    final = np.where(decided, decision, cross >= threshold)
    return match_metrics(labels, final.astype(float), 0.5).f1


def synthetic(n: int, seed: int):
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.3).astype(int)
    cross = np.where(y == 1, rng.uniform(0.4, 1.0, n), rng.uniform(0.0, 0.6, n))
    cheap = np.clip(0.6 * y + rng.normal(0.2, 0.25, n), 0.0, 1.0)
    evidence = rng.random(n) < 0.9
    return y, cheap, cross, evidence


@pytest.mark.parametrize("tolerance", [0.0, 0.005, 0.02])
def test_band_keeps_validation_f1_within_tolerance(tolerance):
    y, cheap, cross, evidence = synthetic(400, 0)
    band = tune_band(y, cheap, cross, 0.5, evidence=evidence, tolerance=tolerance)
    base = match_metrics(y, cross, 0.5).f1
    assert band.f1_cross_encoder == pytest.approx(base)
    assert band.enabled and band.decided_share > 0
    assert band.f1 >= base - tolerance - 1e-12
    assert combined_f1(band, y, cheap, cross, 0.5, evidence) == pytest.approx(band.f1)
    decided, decision = band.decide(cheap, evidence)
    assert decided.sum() == band.decided_match + band.decided_non_match
    assert band.decided_share == pytest.approx(decided.mean())
    assert evidence[decision == 1].all()  # no evidence, no merge


def test_band_is_the_widest_that_keeps_f1():
    # the single fit's property; the cross-fitted band is narrower by design (below)
    y, cheap, cross, evidence = synthetic(40, 3)
    tolerance = 0.01
    band = tune_band(y, cheap, cross, 0.5, evidence=evidence, tolerance=tolerance, cross_fit=False)
    assert not band.cross_fitted
    base = match_metrics(y, cross, 0.5).f1
    values = np.unique(cheap)
    cuts = np.r_[0.0, (values[1:] + values[:-1]) / 2, 1.0 + 1e-9]
    best = 0
    for low in cuts:
        for high in cuts[cuts >= low]:
            trial = Band(low, min(high, 1.0), 0, 0, 0, 0, 0, 40)
            if combined_f1(trial, y, cheap, cross, 0.5, evidence) >= base - tolerance - 1e-12:
                best = max(best, int(trial.decide(cheap, evidence)[0].sum()))
    assert band.decided_match + band.decided_non_match == best > 0


def stray_matches(n: int, seed: int):
    """The cheap model ranks most matches high, but 8% of them anywhere among the
    non-matches: a run of low scores without a match is then chance, not safety."""
    rng = np.random.default_rng(seed)
    y = rng.random(n) < 0.2
    stray = rng.random(n) < 0.08
    cheap = np.where(y & ~stray, rng.uniform(0.5, 1.0, n), rng.uniform(0.0, 0.6, n))
    return y.astype(int), cheap, np.where(y, 0.9, 0.1)  # the cross-encoder is right


def f1_loss(band: Band, labels, cheap, cross) -> float:
    evidence = np.ones(len(labels), bool)
    return match_metrics(labels, cross, 0.5).f1 - combined_f1(
        band, labels, cheap, cross, 0.5, evidence
    )


def test_cross_fitted_band_is_narrower_where_the_widest_overfits():
    y, cheap, cross = stray_matches(800, 6)
    fresh = stray_matches(50_000, 99)  # more pairs from the same source
    single = tune_band(y, cheap, cross, 0.5, tolerance=0.01, cross_fit=False)
    band = tune_band(y, cheap, cross, 0.5, tolerance=0.01)
    assert f1_loss(single, y, cheap, cross) <= 0.01 < f1_loss(single, *fresh)  # overfits
    assert band.enabled and band.cross_fitted and len(band.folds) == 2
    assert band.low == min(low for low, _ in band.folds)
    assert band.high == max(high for _, high in band.folds)
    assert band.low < single.low and band.high >= single.high
    assert band.decided_share < single.decided_share
    assert f1_loss(band, y, cheap, cross) <= 0.01
    assert band.f1 == pytest.approx(1.0 - f1_loss(band, y, cheap, cross))
    assert f1_loss(band, *fresh) <= 0.01  # holds on the pairs it was not tuned on
    decided, _ = band.decide(cheap, np.ones(len(y), bool))
    assert band.decided_share == pytest.approx(decided.mean())
    assert decided.sum() == band.decided_match + band.decided_non_match


def test_cross_fit_is_deterministic_given_the_seed():
    y, cheap, cross, evidence = synthetic(400, 1)
    runs = [tune_band(y, cheap, cross, 0.5, evidence=evidence, seed=s) for s in (0, 0, 7)]
    assert runs[0] == runs[1]
    assert runs[0].folds != runs[2].folds  # another split
    fold = band_module._split(y.astype(bool), 3)
    np.testing.assert_array_equal(fold, band_module._split(y.astype(bool), 3))
    for cls in (0, 1):  # stratified: each half holds half of each class
        assert abs(int((fold[y == cls] == 1).sum()) - int((y == cls).sum()) / 2) <= 0.5


def test_cross_fitted_band_failing_on_all_pairs_decides_nothing(monkeypatch):
    y, cheap, cross, evidence = synthetic(400, 0)
    # fold bands that decide every pair "no match": F1 0 on all the pairs
    monkeypatch.setattr(
        band_module, "_fit", lambda *args, **kwargs: Band(1.0, 1.0, 0, 0, 1, 0, 0, 0)
    )
    band = tune_band(y, cheap, cross, 0.5, evidence=evidence)
    assert not band.enabled and "cross-fitted band [1.0000, 1.0000]" in band.reason
    assert band.folds == ((1.0, 1.0), (1.0, 1.0)) and band.decided_share == 0


def test_no_band_keeps_f1_decides_nothing():
    y = np.array([1, 0, 1, 0, 1, 0])
    cross = y.astype(float)  # the cross-encoder is right everywhere
    cheap = np.array([0.1, 0.2, 0.3, 0.7, 0.8, 0.9])  # wrong at both ends
    band = tune_band(y, cheap, cross, 0.5, tolerance=0.0)
    assert not band.enabled and (band.low, band.high) == (0.0, 1.0)
    assert "no band keeps" in band.reason
    assert not band.decide(cheap, np.ones(6, bool))[0].any()
    nothing = tune_band(np.zeros(4), cheap[:4], cross[:4], 0.5)
    assert not nothing.enabled and "no match" in nothing.reason
    with pytest.raises(ValueError, match="labels"):
        tune_band(y, cheap[:3], cross, 0.5)


def test_fit_cascade_on_features(stub_cascade, data):
    _, valid = data
    c = stub_cascade
    assert c.enabled and c.features_.attributes == ["title", "price"]
    assert len(c.coef_) == len(c.features_.names) == len(c.mean_) == len(c.scale_)
    routing = c.route(valid)
    assert routing.n_decided / len(valid) == pytest.approx(c.band_.decided_share)
    cheap = c.predict_proba(valid)
    np.testing.assert_array_equal(routing.proba, cheap)
    y = valid.labels
    cross = StubScorer().predict_proba(valid)
    ev = shared_evidence_mask(valid, ["title", "price"])
    assert combined_f1(c.band_, y, cheap, cross, 0.5, ev) == pytest.approx(c.band_.f1)
    summary = c.summary()
    assert {"low", "high", "decided_share", "f1", "f1_cross_encoder", "tolerance"} <= set(summary)
    json.dumps(summary)


def test_fit_cascade_errors(data):
    train, valid = data
    with pytest.raises(ValueError, match="tolerance"):
        Cascade(tolerance=2.0)
    with pytest.raises(ValueError, match="C must be positive"):
        Cascade(C=0)
    unlabelled = RecordPairs(valid.left, valid.right, valid.pairs.drop(columns="label"))
    with pytest.raises(BemError, match="valid pairs need labels"):
        fit_cascade(StubScorer(), train, unlabelled)
    with pytest.raises(BemError, match="both matches"):
        fit_cascade(StubScorer(), train[np.flatnonzero(train.labels == 0)], valid)


def test_contributions_sum_to_the_logit(stub_cascade, data):
    _, valid = data
    logits = stub_cascade.decision_function(valid)
    routing = stub_cascade.route(valid)
    for i in (0, 1, 2, 17):
        c = stub_cascade.contributions(valid, i)
        assert c.intercept + c.contributions.sum() == pytest.approx(c.logit, abs=1e-12)
        assert c.logit == pytest.approx(logits[i], abs=1e-9)
        assert c.probability == pytest.approx(routing.proba[i], abs=1e-12)
        assert sum(c.by_attribute.values()) == pytest.approx(c.contributions.sum(), abs=1e-12)
        assert list(c.by_attribute) == ["title", "price", "(record)"]
        assert c.decided == routing.decided[i] and c.decision == routing.decision[i]
        frame = c.to_frame()
        np.testing.assert_array_equal(frame["contribution"], c.contributions)
        json.dumps(c.to_dict())
    with pytest.raises(IndexError):
        stub_cascade.contributions(valid, len(valid))


def test_save_load_round_trip(stub_cascade, data, tmp_path):
    _, valid = data
    file = stub_cascade.save(tmp_path)
    assert file.name == CASCADE_FILE
    back = Cascade.load(tmp_path)
    a, b = stub_cascade.route(valid), back.route(valid)
    np.testing.assert_array_equal(a.proba, b.proba)
    np.testing.assert_array_equal(a.decided, b.decided)
    np.testing.assert_array_equal(a.decision, b.decision)
    assert back.to_dict() == stub_cascade.to_dict()
    assert back.band_ == stub_cascade.band_ and back.band_.cross_fitted
    older = {k: v for k, v in stub_cascade.band_.to_dict().items() if k != "folds"}
    assert Band.from_dict(older).folds == ()  # saved before cross-fitting
    file.write_text("{not json", encoding="utf-8")
    with pytest.raises(BemError, match="damaged"):
        Cascade.load(tmp_path)
    with pytest.raises(BemError, match=r"no cascade\.json"):
        Cascade.load(tmp_path / "nowhere")


@settings(max_examples=30, deadline=None)
@given(st.floats(0.0, 1.0), st.floats(0.0, 1.0), st.integers(0, 89), st.integers(1, 90))
def test_undecided_pairs_keep_the_cross_encoders_decisions(stub_cascade, data, a, b, start, size):
    _, valid = data
    pairs = valid[np.arange(start, min(start + size, len(valid)))]
    cascade = Cascade.from_dict(stub_cascade.to_dict())
    cascade.band_ = Band(min(a, b), max(a, b), 0, 0, 0, 0, 0, 0)
    scorer = StubScorer()
    out = predict_with_cascade(scorer, cascade, pairs)
    alone = StubScorer().predict_proba(pairs)
    rest = out.stage == "cross_encoder"
    np.testing.assert_array_equal(out.proba[rest], alone[rest])
    np.testing.assert_array_equal(out.decision[rest], (alone[rest] >= 0.5).astype(np.int8))
    routing = cascade.route(pairs)
    np.testing.assert_array_equal(out.stage == "cascade", routing.decided)
    np.testing.assert_array_equal(out.decision[~rest], routing.decision[~rest])
    assert scorer.scored == ([int(rest.sum())] if rest.any() else [])  # only the rest is scored
    assert shared_evidence_mask(pairs, ["title", "price"])[out.decision.astype(bool) & ~rest].all()
    assert out.counts == {"cascade": int((~rest).sum()), "cross_encoder": int(rest.sum())}


def test_predict_without_a_cascade_scores_everything(data):
    _, valid = data
    scorer = StubScorer()
    out = predict_with_cascade(scorer, None, valid)
    assert out.counts == {"cascade": 0, "cross_encoder": len(valid)}
    np.testing.assert_array_equal(out.proba, scorer.predict_proba(valid))
    assert np.isnan(out.cheap_proba).all()
    with pytest.raises(ValueError, match="threshold"):
        predict_with_cascade(scorer, None, valid, threshold=1.5)
    with pytest.raises(TypeError, match="RecordPairs"):
        predict_with_cascade(scorer, None, list(valid.records()))


# -- the matcher's hooks ------------------------------------------------------------
def test_fit_records_the_cascade(fitted, data):
    _, valid = data
    c = fitted.cascade_
    assert isinstance(c, Cascade) and c.threshold_ == fitted.threshold_
    info = fitted.train_info_["cascade"]
    assert info == fitted.config_.training["cascade"] == c.summary()
    assert info["f1_cross_encoder"] == pytest.approx(fitted.evaluate(valid).f1, abs=1e-9)
    assert info["f1"] >= info["f1_cross_encoder"] - 0.005 - 1e-12
    assert 0.0 <= info["decided_share"] <= 1.0


def test_real_matcher_keeps_its_decisions_on_undecided_pairs(fitted, data):
    _, valid = data
    out = predict_with_cascade(fitted, fitted.cascade_, valid)
    alone = fitted.predict_proba(valid)
    rest = out.stage == "cross_encoder"
    np.testing.assert_allclose(out.proba[rest], alone[rest], atol=1e-5)
    clear = rest & (np.abs(alone - fitted.threshold_) > 1e-5)
    np.testing.assert_array_equal(out.decision[clear], alone[clear] >= fitted.threshold_)


def test_matcher_round_trip_keeps_the_cascade(fitted, data, tmp_path):
    _, valid = data
    path = fitted.save_pretrained(tmp_path / "m")
    assert (path / CASCADE_FILE).is_file()
    assert "cascade" in (path / "README.md").read_text()
    loaded = Matcher.from_pretrained(path)
    a, b = fitted.cascade_.route(valid), loaded.cascade_.route(valid)
    np.testing.assert_array_equal(a.proba, b.proba)
    np.testing.assert_array_equal(a.decision, b.decision)
    assert loaded.train_info_["cascade"] == fitted.train_info_["cascade"]
    (path / CASCADE_FILE).unlink()  # as a model saved before the cascade
    assert Matcher.from_pretrained(path).cascade_ is None


def test_fit_without_cascade_and_overwrite_removes_it(tiny_model_dir, fitted, data, tmp_path):
    train, valid = data
    path = fitted.save_pretrained(tmp_path / "m")
    plain = Matcher(model=tiny_model_dir, max_length=48, seed=0)
    plain.fit(train, valid, cascade=False, **{**FIT, "epochs": 1})
    assert plain.cascade_ is None
    assert plain.train_info_["cascade"] == {"enabled": False, "reason": "cascade=False"}
    plain.save_pretrained(path, overwrite=True)
    assert not (path / CASCADE_FILE).exists()
    assert Matcher.from_pretrained(path).cascade_ is None
    assert "cascade: off" in (path / "README.md").read_text()
    with pytest.raises(ValueError, match="cascade_tolerance"):
        plain.fit(train, valid, cascade_tolerance=-1, **FIT)


def test_label_free_model_card(fitted, tmp_path):
    fitted.train_info_["label_free"] = True
    try:
        path = fitted.save_pretrained(tmp_path / "lf")
    finally:
        del fitted.train_info_["label_free"]
    card = (path / "README.md").read_text()
    assert "Trained without labels" in card and "self-supervised pairs" in card
    assert "labelled pairs" not in card
    assert "chosen without labels: the best F1 on the held-out self-supervised pairs" in card
    assert Matcher.from_pretrained(path).train_info_["label_free"] is True
    plain = (fitted.save_pretrained(tmp_path / "plain")).joinpath("README.md").read_text()
    assert "150 labelled pairs" in plain and "tuned on validation F1" in plain
