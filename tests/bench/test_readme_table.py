"""The README's results table is generated from bench/results and cannot drift."""

from __future__ import annotations

from bench import label_tables, readme_table


def test_readme_table_matches_the_results_files():
    text = readme_table.README.read_text(encoding="utf-8")
    assert readme_table.render(text) == text, "run: python bench/readme_table.py"
    assert readme_table.main(["--check"]) == 0


def test_every_row_names_its_command():
    body = readme_table.table().split("|---|---|---|---|")[1]
    rows = [line for line in body.splitlines() if line.startswith("| ")]
    assert rows
    for line in rows:
        assert "`python bench/" in line.split(" | ")[-1], line


def test_in_sample_pipeline_rows_are_never_quoted():
    old = {"dblp_acm": {"f1": 0.995, "baseline_f1": 0.953, "seconds": 200}}
    assert readme_table.pipeline_rows(old) == []
    new = {
        "dblp_acm": {
            "f1": 0.97,
            "baseline_f1": 0.9,
            "clustering": "one-to-one",
            "baseline_clustering": "one-to-one",
            "train_overlap_pairs": 0,
            "train_overlap_records": 0,
            "command": "python bench/pipeline.py --no-scale",
        }
    }
    (row,) = readme_table.pipeline_rows(new)
    assert "0.970 vs 0.900" in row[1] and "seen in training: 0" in row[2]


def test_the_million_record_row_cites_the_runs_it_compares():
    def run(records, recall, command):
        return {
            "engine": "local",
            "records": records,
            "seconds": 600.0,
            "peak_mb": 4096.0,
            "f1": 0.6,
            "blocking_recall": recall,
            "command": command,
        }

    res = {
        "runs": [
            run(10**5, 0.70, "python bench/scale.py --sizes 100000"),
            run(10**6, 0.69, "python bench/scale.py --sizes 1000000"),
        ],
        "runs_run": {"command": "python bench/scale.py --sizes 100000"},
    }
    (row,) = readme_table.scale_run_rows(res)
    assert row[3] == (
        "`python bench/scale.py --sizes 100000`; `python bench/scale.py --sizes 1000000`"
    )
    assert "within 0.02 of 100,000 records' (0.700): met" in row[2]


def test_label_rows_need_every_set_and_beating_dedupe():
    def p(f1, dedupe=None):
        out = {"random_f1": f1, "command": "python bench/label_efficiency.py"}
        return out if dedupe is None else {**out, "dedupe_f1": dedupe}

    res = {
        "abt_buy": {"0": p(0.7), "500": p(0.7, 0.2)},
        "amazon_google": {"0": p(0.6), "500": p(0.62, 0.63)},  # below dedupe
    }
    zero, five = readme_table.label_efficiency_rows(res)
    assert "**not met**" in zero[2]  # dblp_acm not measured
    res["dblp_acm"] = {"0": p(0.97), "500": p(0.98, 0.5)}
    zero, five = readme_table.label_efficiency_rows(res)
    assert "met" in zero[2] and "not" not in zero[2]
    assert "**not met**" in five[2] and "amazon_google 62.0 (dedupe 63.0)" in five[1]


def test_the_active_row_needs_every_set_its_target_and_two_sets_above_random():
    def p(active, random):
        return {"f1": active, "random_f1": random, "command": "python bench/label_efficiency.py"}

    res = {
        "abt_buy": {"500": p(0.70, 0.71)},  # below random
        "amazon_google": {"500": p(0.67, 0.645), "50": p(0.60, 0.62)},
    }
    five, curve = label_tables.active_rows(res)
    assert "**not met** (not measured: dblp_acm)" in five[2]
    assert "amazon_google 67.0 (random 64.5; DIAL 69.2, gap 2.2)" in five[1]
    assert curve[0].startswith("50 active labels") and "amazon_google 60.0 (62.0)" in curve[1]
    res["dblp_acm"] = {"500": p(0.975, 0.975)}  # equal is not above: 1 of 3
    assert "(above on 1 of 3): **not met**" in label_tables.active_rows(res)[0][2]
    res["dblp_acm"] = {"500": p(0.98, 0.975)}
    assert label_tables.active_rows(res)[0][2].endswith("(above on 2 of 3): met")
    res["dblp_acm"] = {"500": p(0.96, 0.95)}  # above random, below 0.97
    assert label_tables.active_rows(res)[0][2].endswith("**not met**")
    assert label_tables.active_rows({"abt_buy": {"500": {"random_f1": 0.7}}}) == []


def test_the_label_curve_row_names_each_budget_below_the_label_free_start():
    def p(f1):
        return {"random_f1": f1, "command": "python bench/label_efficiency.py"}

    res = {
        "amazon_google": {"0": p(0.6), "50": p(0.5), "1000": p(0.7)},
        "dblp_acm": {"0": p(0.97), "50": p(0.98)},
    }
    curve = readme_table.label_efficiency_rows(res)[-1]
    assert curve[0] == "50 / 1000 random labels, test F1"
    assert "amazon_google 50.0 / 70.0 (start 60.0)" in curve[1]
    assert curve[2] == "at or above the label-free start: below the start at amazon_google @ 50"
    res["amazon_google"]["50"] = p(0.65)
    assert readme_table.label_efficiency_rows(res)[-1][2] == "at or above the label-free start: met"
    res["dblp_acm"]["50"] = {**p(0.97), "kept": "start"}  # the rule kept the start: equal
    curve = readme_table.label_efficiency_rows(res)[-1]
    assert curve[2].endswith(": met") and "dblp_acm 97.0 (start 97.0; start kept at 50)" in curve[1]


def test_random_rows_cite_the_command_that_measured_the_random_figure():
    kept = {
        "random_f1": 0.71,
        "command": "python bench/label_efficiency.py --no-random",
        "random_command": "python bench/label_efficiency.py --no-active",
    }
    res = {"abt_buy": {"0": {"random_f1": 0.7, "command": "python bench/x0"}, "50": kept}}
    curve = readme_table.label_efficiency_rows(res)[-1]
    assert curve[3] == "`python bench/label_efficiency.py --no-active`"


def _method(auc: float, degradation: float, calls: float, **extra: float) -> dict[str, float]:
    return {
        "field_removal_auc": auc,
        "field_removal_degradation": degradation,
        "model_calls_per_pair": calls,
        "median_seconds_per_pair": 0.1,
        **extra,
    }


def test_explain_rows_judge_every_matcher_against_every_sample_count():
    run = {"command": "flock /tmp/bem-cpu.lock .venv/bin/python bench/explain.py --pairs 100"}
    winning = {
        "occlusion": _method(0.1, 0.5, 9.0, planted_cause_accuracy=0.95),
        "lime": _method(0.2, 0.4, 101.0),
        "kernel_shap": _method(0.3, 0.3, 100.0),
        "lime@500": _method(0.15, 0.45, 501.0),
    }
    models = {"synthetic": {"methods": winning, "run": run}}
    rows = {row[0]: row for row in readme_table.explain_rows({"models": models})}
    (faith,) = [row for what, row in rows.items() if what.startswith("field methods")]
    assert "best baseline lime@500 0.150" in faith[1] and "bar met by occlusion" in faith[1]
    assert faith[2].endswith(": met") and faith[3] == "`python bench/explain.py --pairs 100`"
    # a second matcher where LIME at 500 samples wins on CERTA: not met overall
    losing = dict(winning, **{"lime@500": _method(0.05, 0.45, 501.0)})
    models["dblp_acm"] = {"methods": losing, "run": run}
    rows = readme_table.explain_rows({"models": models})
    (faith,) = [row for row in rows if row[0].startswith("field methods")]
    assert "dblp_acm: occlusion removal AUC 0.100 (best baseline lime@500 0.050)" in faith[1]
    assert faith[2].endswith("**not met**")
    # a matcher without KernelSHAP cannot be judged, and is no pass either
    models["dblp_acm"] = {"methods": {"occlusion": winning["occlusion"], "lime": winning["lime"]}}
    rows = readme_table.explain_rows({"models": models})
    (faith,) = [row for row in rows if row[0].startswith("field methods")]
    assert "dblp_acm: LIME and KernelSHAP not both measured" in faith[1]
    assert faith[2].endswith("**not met**")


def test_planted_counterfactual_row_reads_the_rejected_hard_negatives():
    cf = {"coverage": 0.97, "calls_per_pair": 8.0, "planted_hit": 0.95, "planted_pairs": 40}
    cf |= {"planted_hit_all": 0.8, "planted_pairs_all": 47}
    run = {"command": "python bench/explain.py --pairs 100"}
    res = {"models": {"synthetic": {"counterfactual": cf, "run": run}}}
    found, planted = readme_table.counterfactual_rows(res)
    assert found[2].endswith(": met") and found[3] == "`python bench/explain.py --pairs 100`"
    assert planted[1].startswith("0.95 of 40 (0.80 of all 47") and planted[2] == ">= 0.9: met"
    assert "the matcher rejects" in planted[0]
    # an older block (no planted_hit_all) counted every hard negative: labelled so
    for key in ("planted_hit_all", "planted_pairs_all"):
        cf.pop(key)
    _, planted = readme_table.counterfactual_rows(res)
    assert "the matcher rejects" not in planted[0] and "false positives included" in planted[0]
