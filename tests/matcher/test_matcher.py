from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from data import BemError, RecordPairs
from matcher import Matcher, best_threshold, match_metrics
from matcher.model import INT8_KEEP_FLOAT

FIT = {"epochs": 4, "learning_rate": 3e-3, "batch_size": 16, "progress": False}


@pytest.fixture(scope="module")
def data(toy_pairs):
    return toy_pairs(192, 0), toy_pairs(60, 1)


@pytest.fixture(scope="module")
def fitted(tiny_model_dir, data):
    train, valid = data
    return Matcher(model=tiny_model_dir, max_length=32, seed=0).fit(train, valid, **FIT)


def test_fit_lowers_loss_and_raises_f1(tiny_model_dir, data, fitted):
    _, valid = data
    untrained = Matcher(model=tiny_model_dir, max_length=32, seed=0)
    before = untrained.evaluate(valid)
    history = fitted.history_
    assert history[-1]["loss"] < history[0]["loss"]
    after = fitted.evaluate(valid)
    assert after.f1 > before.f1
    assert after.f1 >= 0.9
    assert after.tp + after.fp + after.fn + after.tn == after.n == len(valid)
    assert fitted.threshold_ == pytest.approx(fitted.config_.threshold)
    assert fitted.train_info_["best_epoch"] == 1 + int(np.argmax([h["valid_f1"] for h in history]))


def test_threshold_is_tuned_on_validation(fitted, data):
    _, valid = data
    proba = fitted.predict_proba(valid)
    t, f1 = best_threshold(valid.labels, proba)
    assert fitted.threshold_ == pytest.approx(t)
    assert fitted.evaluate(valid).f1 == pytest.approx(f1)
    np.testing.assert_array_equal(fitted.predict(valid), (proba >= t).astype(int))


def test_best_threshold_maximises_f1():
    labels = np.array([1, 1, 0, 1, 0, 0])
    proba = np.array([0.9, 0.8, 0.7, 0.6, 0.2, 0.1])
    t, f1 = best_threshold(labels, proba)
    assert 0.2 < t < 0.6
    assert f1 == pytest.approx(match_metrics(labels, proba, t).f1) == pytest.approx(6 / 7)
    for other in np.linspace(0, 1, 41):
        assert match_metrics(labels, proba, other).f1 <= f1 + 1e-12
    assert best_threshold(np.zeros(3), np.ones(3)) == (0.5, 0.0)


def test_deterministic_by_seed(tiny_model_dir, data, fitted):
    train, valid = data
    again = Matcher(model=tiny_model_dir, max_length=32, seed=0).fit(train, valid, **FIT)
    np.testing.assert_array_equal(again.predict_proba(valid), fitted.predict_proba(valid))
    other = Matcher(model=tiny_model_dir, max_length=32, seed=1).fit(train, valid, **FIT)
    assert not np.array_equal(other.predict_proba(valid), fitted.predict_proba(valid))


def test_augmentation_and_class_weight_run(tiny_model_dir, data):
    train, valid = data
    m = Matcher(model=tiny_model_dir, max_length=32, seed=0, summarize=True)
    m.fit(
        train,
        valid,
        epochs=1,
        batch_size=32,
        class_weight="balanced",
        progress=False,
        augment=("swap", "shuffle", "span_del", "attr_del"),
    )
    assert m.encoder_.summarizer is not None
    assert len(m.history_) == 1
    with pytest.raises(ValueError, match="unknown augmentation"):
        m.fit(train, valid, augment=("mixup",), progress=False)
    with pytest.raises(ValueError, match="class_weight"):
        m.fit(train, valid, epochs=1, class_weight="heavy", progress=False)


def test_fit_needs_labels(tiny_model_dir, data):
    train, _ = data
    unlabelled = RecordPairs(train.left, train.right, train.pairs.drop(columns="label"))
    m = Matcher(model=tiny_model_dir, max_length=32)
    with pytest.raises(BemError, match="need labels"):
        m.fit(unlabelled)
    with pytest.raises(BemError, match="labelled RecordPairs"):
        m.evaluate(unlabelled)


def test_optimized_and_naive_scoring_agree(fitted, data):
    _, valid = data
    fast = fitted.predict_proba(valid, batch_size=7)
    naive = fitted.score_naive(valid, batch_size=16)
    np.testing.assert_allclose(fast, naive, atol=1e-5)
    records = list(valid.records())
    np.testing.assert_allclose(fitted.predict_proba(records), fast, atol=1e-6)


def test_quantized_scoring_keeps_output_projections_in_fp32(fitted, data, tmp_path):
    _, valid = data
    path = fitted.save_pretrained(tmp_path / "m")
    q = Matcher.from_pretrained(path, quantize=True)
    proba = q.predict_proba(valid)
    assert proba.shape == (len(valid),)
    assert np.all((proba >= 0) & (proba <= 1))
    np.testing.assert_allclose(proba, fitted.predict_proba(valid), atol=0.1)
    kinds = {
        name: type(module).__module__.startswith("torch.ao.nn.quantized")
        for name, module in q.scoring_model().named_modules()
        if isinstance(module, torch.nn.Linear) or "quantized" in type(module).__module__
    }
    kept = [n for n in kinds if n.endswith(INT8_KEEP_FLOAT)]
    assert kept and not any(kinds[n] for n in kept)  # output projections stay fp32
    assert any(kinds[n] for n in kinds if n not in kept)  # the rest is int8
    assert q.model_ is not q.scoring_model()  # the fp32 model is untouched


def test_save_load_round_trip(fitted, data, tmp_path):
    _, valid = data
    path = fitted.save_pretrained(tmp_path / "model")
    names = {p.name for p in path.iterdir()}
    assert {"config.json", "model.safetensors", "README.md", "tokenizer.json"} <= names
    assert not any(n.endswith((".bin", ".pkl", ".pt")) for n in names)
    loaded = Matcher.from_pretrained(path)
    np.testing.assert_array_equal(loaded.predict_proba(valid), fitted.predict_proba(valid))
    assert loaded.threshold_ == fitted.threshold_
    assert loaded.max_length == 32
    card = (path / "README.md").read_text()
    assert "192 labelled pairs" in card and "f1" in card
    with pytest.raises(FileExistsError, match="overwrite=True"):
        fitted.save_pretrained(path)
    fitted.save_pretrained(path, overwrite=True)


def test_link_threshold_round_trips(fitted, tmp_path):
    assert Matcher.from_pretrained(fitted.save_pretrained(tmp_path / "a")).link_threshold_ is None
    fitted.link_threshold_ = 0.125
    try:
        loaded = Matcher.from_pretrained(fitted.save_pretrained(tmp_path / "b"))
    finally:
        fitted.link_threshold_ = None
    assert loaded.link_threshold_ == 0.125
    assert loaded.threshold_ == fitted.threshold_


def test_not_a_bem_directory(tiny_model_dir, tmp_path):
    with pytest.raises(BemError, match="not a BEM matcher directory"):
        Matcher.from_pretrained(tiny_model_dir)
    with pytest.raises(BemError, match=r"no config\.json"):
        Matcher.from_pretrained(tmp_path)


def test_trained_directory_refused_as_base_model(fitted, tmp_path):
    path = fitted.save_pretrained(tmp_path / "m")
    with pytest.raises(ValueError, match="from_pretrained"):
        Matcher(model=path).encode([({"a": "1"}, {"a": "1"})])


def test_forward_proba_is_differentiable(fitted, data):
    _, valid = data
    encoded = fitted.encode(valid[:3])
    batch = fitted.collate(encoded)
    assert set(batch) == {"input_ids", "attention_mask", "token_type_ids"}
    embeds = fitted.embedding_layer()(batch["input_ids"]).detach().requires_grad_(True)
    p = fitted.forward_proba(
        attention_mask=batch["attention_mask"],
        token_type_ids=batch["token_type_ids"],
        inputs_embeds=embeds,
    )
    assert p.shape == (3,)
    p.sum().backward()
    assert embeds.grad is not None and embeds.grad.abs().sum() > 0
    direct = fitted.forward_proba(**batch).detach().numpy()
    np.testing.assert_allclose(direct, fitted.predict_proba(valid[:3]), atol=1e-5)


def test_encode_is_cached(fitted, data):
    _, valid = data
    first = fitted.encode(valid)
    assert fitted.encode(valid)[0] is first[0]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"threshold": 2.0}, "threshold"),
        ({"max_length": 4}, "max_length"),
        ({"batch_size": 0}, "batch_size"),
        ({"pooling": "max"}, "pooling"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Matcher(**kwargs)


def test_import_is_light():
    import subprocess
    import sys

    code = "import sys, matcher; print('torch' in sys.modules, 'transformers' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_early_stopping_keeps_the_best_epoch(tiny_model_dir, data):
    train, valid = data
    m = Matcher(model=tiny_model_dir, max_length=32, seed=0)
    m.fit(
        train, valid, epochs=6, learning_rate=1e-9, batch_size=64, early_stopping=1, progress=False
    )
    f1s = [h["valid_f1"] for h in m.history_]
    assert len(m.history_) < 6
    assert m.train_info_["best_epoch"] == 1 + int(np.argmax(f1s))
    assert m.evaluate(valid).f1 == pytest.approx(max(f1s))


def test_summarizer_is_saved_with_the_model(tiny_model_dir, data, tmp_path):
    train, valid = data
    m = Matcher(model=tiny_model_dir, max_length=20, seed=0, summarize=True)
    m.fit(train, valid, epochs=1, progress=False)
    assert any(e.truncated for e in m.encode(valid))
    path = m.save_pretrained(tmp_path / "m")
    assert (path / "summarizer.json").is_file()
    loaded = Matcher.from_pretrained(path)
    assert loaded.encoder_.summarizer.idf_ == m.encoder_.summarizer.idf_
    np.testing.assert_array_equal(loaded.predict_proba(valid), m.predict_proba(valid))


def test_negative_sampling_trains_on_fewer_pairs(tiny_model_dir, data):
    train, valid = data
    m = Matcher(model=tiny_model_dir, max_length=32, seed=0)
    m.fit(train, valid, epochs=1, batch_size=8, negatives_per_positive=1.0, progress=False)
    n_pos = int(train.labels.sum())
    full = Matcher(model=tiny_model_dir, max_length=32, seed=0)
    full.fit(train, valid, epochs=1, batch_size=8, blank_augment=0.0, progress=False)
    assert m.history_[0]["pairs"] == 2 * n_pos
    assert m.history_[0]["blank_pairs"] == math.ceil(0.1 * 2 * n_pos)  # on by default
    assert full.history_[0]["pairs"] == len(train)
    assert full.history_[0]["blank_pairs"] == 0
    assert full.train_info_["hyperparameters"]["blank_augment"] == 0.0
    assert m.train_info_["hyperparameters"]["negatives_per_positive"] == 1.0
    assert 2 * n_pos < len(train)
    with pytest.raises(ValueError, match="negatives_per_positive"):
        m.fit(train, valid, negatives_per_positive=0, progress=False)


def test_cls_head_trains_saves_and_loads(tiny_model_dir, data, tmp_path):
    train, valid = data
    cls = Matcher(model=tiny_model_dir, max_length=32, seed=0, pooling="cls")
    cls.fit(train, valid, **FIT)
    assert cls.evaluate(valid).f1 >= 0.9
    assert type(cls.model_).__name__ == "BertForSequenceClassification"
    loaded = Matcher.from_pretrained(cls.save_pretrained(tmp_path / "cls"))
    assert loaded.pooling == "cls" and loaded.config_.pooling == "cls"
    np.testing.assert_array_equal(loaded.predict_proba(valid), cls.predict_proba(valid))


def test_mean_head_is_the_default_and_is_saved(fitted, tmp_path):
    import json

    assert fitted.pooling == "mean"
    assert type(fitted.model_).__name__ == "MeanPoolClassifier"
    path = fitted.save_pretrained(tmp_path / "mean")
    assert json.loads((path / "config.json").read_text())["pooling"] == "mean"
    assert "mean of all token states" in (path / "README.md").read_text()


def test_mean_head_ignores_padding(fitted, data):
    """The pooled mean counts real tokens only: padding a pair wider changes nothing."""
    import torch

    _, valid = data
    encoded = fitted.encode(valid)[:4]
    with torch.inference_mode():
        tight = fitted.logits(fitted.collate(encoded))
        wide = fitted.logits(fitted.collate(encoded, pad_to=64))
    torch.testing.assert_close(tight, wide, rtol=1e-5, atol=1e-5)


def test_files_without_pooling_load_the_cls_head(tiny_model_dir, data, tmp_path):
    """config.json written before pooling was recorded describes a [CLS] head."""
    import json

    _, valid = data
    cls = Matcher(model=tiny_model_dir, max_length=32, seed=0, pooling="cls")
    path = cls.save_pretrained(tmp_path / "old")
    raw = json.loads((path / "config.json").read_text())
    del raw["pooling"]
    (path / "config.json").write_text(json.dumps(raw))
    loaded = Matcher.from_pretrained(path)
    assert loaded.pooling == "cls"
    np.testing.assert_array_equal(loaded.predict_proba(valid), cls.predict_proba(valid))
    raw["pooling"] = "max"
    (path / "config.json").write_text(json.dumps(raw))
    with pytest.raises(BemError, match="pooling 'max'"):
        Matcher.from_pretrained(path)


def test_blank_pairs_teach_that_missing_evidence_is_no_match(fitted, data, tmp_path):
    """Trained with the default blank augmentation, two all-empty records are no match
    (without it this model scores them 0.58 against a threshold of 0.40)."""
    blank = {"title": None, "price": None}
    assert fitted.train_info_["hyperparameters"]["blank_augment"] == 0.1
    assert all(h["blank_pairs"] == math.ceil(0.1 * 192) for h in fitted.history_)
    assert fitted.predict_proba([(blank, dict(blank))])[0] < fitted.threshold_
    loaded = Matcher.from_pretrained(fitted.save_pretrained(tmp_path / "m"))
    assert loaded.train_info_["hyperparameters"]["blank_augment"] == 0.1
    assert loaded.config_.training["hyperparameters"]["blank_augment"] == 0.1
    with pytest.raises(ValueError, match="blank_augment"):
        fitted.fit(data[0], blank_augment=1.5, progress=False)
