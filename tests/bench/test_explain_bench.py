"""bench/explain.py's counterfactual figures on explanations whose searches are known."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from explain.counterfactual import Counterfactual, FieldEdit


@pytest.fixture(scope="module")
def bench_explain():
    # bench/explain.py shares its name with the explain package: load it by path
    root = Path(__file__).resolve().parents[2]
    spec = importlib.util.spec_from_file_location("bench_explain", root / "bench" / "explain.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_explain"] = module
    spec.loader.exec_module(module)
    return module


def _explanation(edits: list[str] | None, calls: int, decision: int = 0) -> SimpleNamespace:
    cf = None
    if edits is not None:
        cf = Counterfactual(
            edits=tuple(FieldEdit(a, "blank", "both") for a in edits),
            probability=0.9,
            decision=1,
            model_calls=calls,
        )
    return SimpleNamespace(counterfactual=cf, counterfactual_calls=calls, decision=decision)


def test_counterfactual_block_counts_coverage_edits_calls_and_planted(bench_explain):
    explanations = [
        _explanation(["model"], 4),  # hard negative, planted model: hit
        _explanation(["title", "brand"], 10),  # hard negative, planted colour: miss
        _explanation(None, 30),  # nothing found within the budget
        _explanation(["title"], 2),  # not a hard negative
        _explanation(["title"], 3, decision=1),  # hard negative the matcher accepts: miss
    ]
    planted = ["model", "colour", "capacity", "", "brand"]
    row = bench_explain.counterfactual_block(explanations, planted)
    assert row["coverage"] == pytest.approx(4 / 5)
    assert row["mean_edits"] == pytest.approx(5 / 4)
    assert row["calls_per_pair"] == pytest.approx(49 / 5)
    # of the two rejected hard negatives with one found; the accepted one only in _all
    assert row["planted_hit"] == pytest.approx(1 / 2)
    assert row["planted_pairs"] == 2
    assert row["planted_hit_all"] == pytest.approx(1 / 3)
    assert (row["planted_pairs_all"], row["hard_negatives"]) == (3, 4)
    plain = bench_explain.counterfactual_block(explanations, None)
    assert "planted_hit" not in plain


def test_method_at_samples_sets_n_samples(bench_explain):
    assert bench_explain._settings("lime@500") == ("lime", {"n_samples": 500})
    assert bench_explain._settings("occlusion") == ("occlusion", {})


def _row(auc: float, degradation: float, calls: float) -> dict[str, float]:
    return {
        "field_removal_auc": auc,
        "field_removal_degradation": degradation,
        "model_calls_per_pair": calls,
    }


def test_the_bar_needs_a_win_over_every_baseline_setting(bench_explain):
    from bench import explain_tables

    methods = {
        "occlusion": _row(0.20, 0.40, 9.0),
        "lime": _row(0.25, 0.30, 101.0),
        "kernel_shap": _row(0.30, 0.10, 100.0),
        "kernel_shap@500": _row(0.22, 0.35, 500.0),
    }
    lines = explain_tables.faithfulness_checks({"dblp_acm": {"methods": methods}})
    assert "vs kernel_shap@500: CERTA better, CREW better, 55.6x fewer calls" in lines[0]
    assert lines[-1].endswith("met by occlusion")
    # LIME at 500 samples better on CERTA: the bar is no longer met
    methods["lime@500"] = _row(0.15, 0.30, 501.0)
    lines = explain_tables.faithfulness_checks({"dblp_acm": {"methods": methods}})
    assert "vs lime@500: CERTA NOT better" in lines[0] and lines[-1].endswith("NOT met")
    # the same figure is a tie, and a tie is no win
    methods["lime@500"] = _row(0.20, 0.45, 501.0)
    lines = explain_tables.faithfulness_checks({"dblp_acm": {"methods": methods}})
    assert "vs lime@500: CERTA tied, CREW NOT better" in lines[0] and lines[-1].endswith("NOT met")
    # too few calls saved counts as a miss too
    methods.pop("lime@500")
    methods["occlusion"] = _row(0.20, 0.40, 20.0)
    assert explain_tables.faithfulness_checks({"x": {"methods": methods}})[-1].endswith("NOT met")
    missing = explain_tables.faithfulness_checks({"x": {"methods": {"lime": methods["lime"]}}})
    assert missing == ["- x: LIME and KernelSHAP not both measured"]


def test_counterfactual_check_quotes_the_bound_of_the_same_matcher_only(tmp_path, monkeypatch):
    import json

    from bench import explain_tables

    monkeypatch.setattr(explain_tables, "RESULTS", tmp_path)
    cf = {"coverage": 0.87, "calls_per_pair": 13.0}
    block = {"matcher": "dblp_acm-abc (threshold 0.7)", "n_pairs": 100, "counterfactual": cf}
    bound = {"matcher": block["matcher"], "pairs": 100, "bound_within_3_edits": 0.97}
    bound |= {"missed_by_search": 13, "missed_with_a_flip": 10, "date": "d"}
    (tmp_path / "counterfactual_bound-dblp_acm.json").write_text(json.dumps(bound))
    (line,) = [t for t in explain_tables.checks({"models": {"dblp_acm": block}}) if "found" in t]
    assert "NOT met; any budget could reach 0.97" in line and "10 have a flip" in line
    block["matcher"] = "dblp_acm-other (threshold 0.6)"  # another matcher's bound is not quoted
    (line,) = [t for t in explain_tables.checks({"models": {"dblp_acm": block}}) if "found" in t]
    assert "any budget" not in line
