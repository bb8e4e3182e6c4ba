"""bench/ablation.py: variants trained with their settings, verdicts from validation only."""

from __future__ import annotations

from types import SimpleNamespace

from bench import ablation, common
from data import RecordPairs, make_linkage
from matcher import Matcher


def _ds():
    syn = make_linkage(n_entities=30, seed=4)
    cols = ["title", "brand", "model"]
    pairs = RecordPairs(syn.left[cols], syn.right[cols], syn.pairs.reset_index(drop=True))
    half = len(pairs) // 2
    import numpy as np

    return SimpleNamespace(
        train=pairs[np.arange(half)], valid=pairs[np.arange(half, len(pairs))], test=pairs
    )


def test_a_point_trains_the_variant_settings_and_measures_it(monkeypatch, tiny_model_dir):
    ds = _ds()
    seen = {}

    def fake_cached(name, *, train, valid, config, fit_kwargs, progress=True):
        seen.update(config=config, fit=fit_kwargs)
        m = Matcher(model=tiny_model_dir, **config).fit(train, valid, progress=False, epochs=1)
        return m, {"train_seconds": 90.0, "best_epoch": 1, "path": "/x/model-abc"}

    recipe = {"config": {"max_length": 64, "seed": 0}, "fit": {"blank_augment": 0.0}}
    monkeypatch.setattr(common, "load_magellan", lambda name: ds)
    monkeypatch.setattr(common, "MAGELLAN", {"abt_buy": recipe})
    monkeypatch.setattr(common, "cached_matcher", fake_cached)
    p = ablation.point("abt_buy", "join_codes")
    assert seen["config"] == {"max_length": 64, "seed": 0, "join_codes": True}
    assert seen["fit"]["blank_augment"] == 0.1
    assert 0.0 <= p["valid_f1"] <= 1.0 and 0.0 <= p["test_f1"] <= 1.0
    assert p["train_minutes"] == 1.5 and p["pairs_per_second"] > 0 and p["model"] == "model-abc"


def test_verdicts_use_validation_f1_only():
    def pt(valid, test):
        return {"valid_f1": valid, "test_f1": test, "train_minutes": 10.0,
                "pairs_per_second": 5.0, "best_epoch": 2}  # fmt: skip

    results = {
        "abt_buy": {
            "base": pt(0.80, 0.80),
            "join_codes": pt(0.82, 0.70),
            "no_blank": pt(0.79, 0.9),
        },
        "dblp_acm": {"base": pt(0.98, 0.98), "join_codes": pt(0.98, 0.97)},
    }
    v = ablation.verdicts(results)
    assert v["join_codes"].startswith("helps")  # despite its lower test F1
    assert v["no_blank"].startswith("does not help") and "not measured on dblp_acm" in v["no_blank"]
    text = ablation.markdown(results, {"command": "c", "date": "d", "machine": "m"})
    assert "| abt_buy | join_codes | 82.00 | 70.00 | 10.0 | yes |" in text


def test_markdown_names_each_points_own_run():
    point = {"valid_f1": 0.8, "test_f1": 0.8, "train_minutes": 1.0, "pairs_per_second": 5.0,
             "best_epoch": 1, "command": "python bench/ablation.py --datasets abt_buy",
             "date": "2026-12-03 11:16 UTC"}  # fmt: skip
    text = ablation.markdown({"abt_buy": {"base": point}}, {"command": "later", "date": "d"})
    own_run = "`python bench/ablation.py --datasets abt_buy`, 2026-12-03 11:16 UTC"
    assert f"- abt_buy / base: {own_run}" in text
