"""`bem demo` end to end on a tiny random BERT (the real run uses MiniLM)."""

from __future__ import annotations

import json

from bem.demo import run_demo


def test_demo_runs_end_to_end_and_reports_against_truth(tmp_path, tiny_model_dir):
    lines: list[str] = []
    result = run_demo(
        tmp_path / "demo",
        n_entities=40,
        epochs=2,
        max_minutes=1e-4,  # the budget cuts the fine-tune after its first epoch
        model=str(tiny_model_dir),
        progress=False,
        echo=lines.append,
    )
    out = tmp_path / "demo"
    for name in ("report.html", "entities.csv", "pairs.csv", "explanations.jsonl", "run.json"):
        assert (out / name).is_file(), name
    assert (out / "model" / "config.json").is_file()
    m = result.metrics
    assert 0.0 <= m.precision <= 1.0 and 0.0 <= m.recall <= 1.0
    assert m.tp + m.fn == m.true_pairs > 0
    assert any("F1" in line for line in lines)
    trained = next(line for line in lines if "trained in" in line)
    assert "(1 of 2 epochs, all that fit the 0.0001-minute budget on this machine)" in trained
    run = json.loads((out / "run.json").read_text())
    assert run["config"]["one_to_one"] is True
    # the one-to-one link runs at the threshold tuned for it, reported in the output
    tuned = next(line for line in lines if "one-to-one linkage" in line)
    assert f"{run['config']['threshold']:.3f} for one-to-one" in tuned
    assert run["threshold_used"] == run["config"]["threshold"]


def test_demo_cli_rejects_a_negative_budget(capsys):
    from bem.cli import main

    assert main(["demo", "--max-minutes", "-1"]) != 0
    assert "--max-minutes must be 0 (no budget) or more, got -1" in capsys.readouterr().err


def test_demo_cli_budget_default_and_none(monkeypatch, tmp_path):
    import bem.demo
    from bem.cli import main

    seen: list[float | None] = []
    monkeypatch.setattr(bem.demo, "run_demo", lambda out, **kw: seen.append(kw["max_minutes"]))
    for flags in ([], ["--max-minutes", "0"], ["--max-minutes", "2.5"]):
        assert main(["demo", "-o", str(tmp_path / "d"), *flags]) == 0
    assert seen == [bem.demo.DEMO_TRAIN_MINUTES, None, 2.5]
    assert main(["demo", "--max-minutes", "nan"]) != 0
