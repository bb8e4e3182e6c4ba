"""End-to-end tests of the ``bem`` command line on a tiny random BERT."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from bem.cli import main
from data import make_linkage

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory, tiny_model_dir):
    """Synthetic tables and labelled pairs on disk, and a model trained by `bem train`."""
    root = tmp_path_factory.mktemp("cli")
    syn = make_linkage(n_entities=40, seed=3)
    syn.left.to_csv(root / "left.csv", index_label="id")
    syn.right.to_csv(root / "right.csv", index_label="id")
    syn.pairs[["ltable_id", "rtable_id", "label"]].to_csv(root / "pairs.csv", index=False)
    syn.matches.to_csv(root / "matches.csv", index=False)
    code = main(
        [
            "-q",
            "train",
            "--model",
            str(tiny_model_dir),
            "--left",
            str(root / "left.csv"),
            "--right",
            str(root / "right.csv"),
            "--train",
            str(root / "pairs.csv"),
            "--epochs",
            "1",
            "--max-minutes",
            "30",
            "--max-length",
            "96",
            "--summarize",
            "--join-codes",
            "--pooling",
            "cls",
            "--augment",
            "swap",
            "-o",
            str(root / "model"),
        ]
    )
    assert code == 0
    return root


def test_train_passes_its_time_budget_to_fit(workspace):
    info = json.loads((workspace / "model" / "config.json").read_text())["training"]
    assert info["hyperparameters"]["max_minutes"] == 30.0
    assert info["stopped_by"] is None  # one epoch: nothing to cut


def run_cli(*args: str) -> subprocess.CompletedProcess:
    """``bem`` in a separate process."""
    return subprocess.run(
        [sys.executable, "-m", "bem.cli", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )


def test_help_lists_every_command(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for command in ("demo", "block", "train", "match", "explain", "dedup", "link", "run"):
        assert command in out


@pytest.mark.parametrize("command", [[], ["dedup"], ["link"]])
def test_help_explains_the_spreadsheet_escaping(capsys, command):
    with pytest.raises(SystemExit):
        main([*command, "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "starts with =, +, -, @, a tab or a carriage return gets a leading single quote" in out


def test_version(capsys):
    with pytest.raises(SystemExit):
        main(["--version"])
    assert capsys.readouterr().out.startswith("bem ")


def test_train_writes_a_bem_model(workspace):
    model = workspace / "model"
    for name in ("config.json", "model.safetensors", "README.md"):
        assert (model / name).is_file(), name
    assert not list(model.glob("*.bin")) and not list(model.glob("*.pkl"))
    config = json.loads((model / "config.json").read_text())
    assert config["pooling"] == "cls" and config["summarize"] is True
    assert config["serializer"]["join_codes"] is True


def test_refuses_to_overwrite_a_model_without_flag(workspace, capsys):
    code = main(
        [
            "train",
            "--left",
            str(workspace / "left.csv"),
            "--train",
            str(workspace / "pairs.csv"),
            "-o",
            str(workspace / "model"),
        ]
    )
    assert code == 2
    assert "--overwrite" in capsys.readouterr().err


def test_match_in_another_process_gives_identical_scores(workspace):
    from data import RecordPairs, load_pairs, load_table
    from matcher import Matcher

    out = workspace / "scores.csv"
    proc = run_cli(
        "-q",
        "match",
        "--model",
        str(workspace / "model"),
        "--left",
        str(workspace / "left.csv"),
        "--right",
        str(workspace / "right.csv"),
        "--pairs",
        str(workspace / "pairs.csv"),
        "-o",
        str(out),
    )
    assert proc.returncode == 0, proc.stderr
    scores = pd.read_csv(
        out, dtype={"ltable_id": str, "rtable_id": str}, float_precision="round_trip"
    )
    assert list(scores.columns) == ["ltable_id", "rtable_id", "probability", "decision", "evidence"]
    left = load_table(workspace / "left.csv")
    right = load_table(workspace / "right.csv")
    pairs = RecordPairs(left, right, load_pairs(workspace / "pairs.csv", left, right))
    here = Matcher.from_pretrained(workspace / "model").predict_proba(pairs)
    assert scores["probability"].tolist() == here.tolist()


def test_link_writes_all_outputs_and_run_repeats_it(workspace, capsys):
    out = workspace / "link"
    code = main(
        [
            "-q",
            "link",
            str(workspace / "left.csv"),
            str(workspace / "right.csv"),
            "--model",
            str(workspace / "model"),
            "--key",
            "title",
            "--top-k",
            "3",
            "--review",
            "2",
            "-o",
            str(out),
        ]
    )
    assert code == 0
    assert "%|" not in capsys.readouterr().err  # -q: no progress bars, explanations included
    for name in (
        "entities.csv",
        "pairs.csv",
        "review.csv",
        "report.html",
        "explanations.jsonl",
        "run.json",
    ):
        assert (out / name).is_file(), name
    review = pd.read_csv(out / "review.csv")
    n_expl = len((out / "explanations.jsonl").read_text().strip().splitlines())
    assert len(review) == n_expl
    assert set(review["review_reason"]) <= {
        "lowest-confidence merge",
        "strongest rejection",
        "random sample",
    }
    entities = pd.read_csv(out / "entities.csv", dtype=str)
    left = pd.read_csv(workspace / "left.csv", dtype=str)
    right = pd.read_csv(workspace / "right.csv", dtype=str)
    assert len(entities) == len(left) + len(right)
    assert not entities.duplicated(["source", "id"]).any()
    run = json.loads((out / "run.json").read_text())
    assert run["config"]["mode"] == "link"
    assert run["counts"]["records"] == len(entities)
    assert set(run["timings_seconds"]) >= {"block", "score", "cluster", "explain"}
    again = workspace / "again"
    assert main(["-q", "run", str(out / "run.json"), "-o", str(again)]) == 0
    pd.testing.assert_frame_equal(
        pd.read_csv(out / "entities.csv", dtype=str), pd.read_csv(again / "entities.csv", dtype=str)
    )
    pd.testing.assert_frame_equal(pd.read_csv(out / "pairs.csv"), pd.read_csv(again / "pairs.csv"))


def test_train_one_to_one_stores_a_linkage_threshold_that_link_uses(workspace, tiny_model_dir):
    model = workspace / "model-121"
    args = ["--left", str(workspace / "left.csv"), "--right", str(workspace / "right.csv")]
    train = ["-q", "train", "--model", str(tiny_model_dir), *args, "--train"]
    train += [str(workspace / "pairs.csv"), "--epochs", "1", "--max-length", "96"]
    assert main([*train, "--one-to-one", "-o", str(model)]) == 0
    config = json.loads((model / "config.json").read_text())
    link_threshold = config["link_threshold"]
    assert 0.0 <= link_threshold <= 1.0 and link_threshold != config["threshold"]
    assert "for one-to-one linkage" in (model / "README.md").read_text()

    def threshold_used(*extra: str) -> float:
        out = workspace / f"link-121{len(extra)}"
        link = ["-q", "link", *[str(workspace / n) for n in ("left.csv", "right.csv")]]
        link += ["--model", str(model), "--key", "title", "--top-k", "3", "--review", "0"]
        assert main([*link, "-o", str(out), *extra]) == 0
        return json.loads((out / "run.json").read_text())["threshold_used"]

    assert threshold_used("--one-to-one") == pytest.approx(link_threshold)
    assert threshold_used() == pytest.approx(config["threshold"])  # not one-to-one
    assert threshold_used("--one-to-one", "--threshold", "0.7") == pytest.approx(0.7)
    # a model trained without --one-to-one stores none
    plain = json.loads((workspace / "model" / "config.json").read_text())
    assert plain["link_threshold"] is None


def test_dedup_of_one_table(workspace):
    both = pd.concat(
        [
            pd.read_csv(workspace / "left.csv", dtype=str),
            pd.read_csv(workspace / "right.csv", dtype=str),
        ]
    )
    both.to_csv(workspace / "both.csv", index=False)
    out = workspace / "dedup"
    code = main(
        [
            "-q",
            "dedup",
            str(workspace / "both.csv"),
            "--model",
            str(workspace / "model"),
            "--no-explain",
            "-o",
            str(out),
        ]
    )
    assert code == 0
    entities = pd.read_csv(out / "entities.csv", dtype=str)
    assert sorted(entities["id"]) == sorted(both["id"])
    pairs = pd.read_csv(out / "pairs.csv", dtype=str)
    assert (pairs["ltable_id"] != pairs["rtable_id"]).all()


def test_block_prints_recall(workspace, capsys):
    code = main(
        [
            "block",
            str(workspace / "left.csv"),
            str(workspace / "right.csv"),
            "--key",
            "title",
            "-o",
            str(workspace / "cands.csv"),
            "--matches",
            str(workspace / "matches.csv"),
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "recall" in out and "reduction ratio" in out
    cands = pd.read_csv(workspace / "cands.csv")
    assert {"ltable_id", "rtable_id", "score", "blocker"} <= set(cands.columns)


def test_explain_writes_html_and_json(workspace, capsys):
    pd.read_csv(workspace / "pairs.csv").head(3).to_csv(workspace / "few.csv", index=False)
    code = main(
        [
            "-q",
            "explain",
            "--model",
            str(workspace / "model"),
            "--left",
            str(workspace / "left.csv"),
            "--right",
            str(workspace / "right.csv"),
            "--pairs",
            str(workspace / "few.csv"),
            "-o",
            str(workspace / "report.html"),
            "--json",
            str(workspace / "expl.jsonl"),
        ]
    )
    assert code == 0
    assert "%|" not in capsys.readouterr().err  # -q: no progress bars
    assert "<html" in (workspace / "report.html").read_text().lower()
    lines = (workspace / "expl.jsonl").read_text().strip().splitlines()
    assert len(lines) == 3
    assert "fields" in json.loads(lines[0])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--key", "nope"], r"key column\(s\) \['nope'\] not found"),
        (["--threshold", "1.5"], "threshold must be between 0 and 1"),
    ],
)
def test_pipeline_input_errors_are_one_line(workspace, args, message):
    proc = run_cli(
        "link",
        str(workspace / "left.csv"),
        str(workspace / "right.csv"),
        "--model",
        str(workspace / "model"),
        "-o",
        str(workspace / "bad"),
        *args,
    )
    assert proc.returncode == 2
    err = proc.stderr.strip().splitlines()
    assert len(err) == 1, proc.stderr
    assert pytest.importorskip("re").search(message, err[0])


def test_empty_table_and_non_model_dir_are_one_line(workspace, tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("id,title\n", encoding="utf-8")
    proc = run_cli("dedup", str(empty), "--model", str(workspace / "model"), "-o", str(tmp_path))
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "empty.csv" in proc.stderr
    not_model = tmp_path / "not-a-model"
    not_model.mkdir()
    proc = run_cli(
        "dedup", str(workspace / "left.csv"), "--model", str(not_model), "-o", str(tmp_path)
    )
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "not a BEM model" in proc.stderr


def test_conflicting_labels_are_one_line_naming_the_pair(workspace, tmp_path, capsys):
    left = pd.read_csv(workspace / "left.csv", dtype=str)
    a, b = left["id"].iloc[0], left["id"].iloc[1]
    labels = tmp_path / "labels.csv"
    labels.write_text(f"ltable_id,rtable_id,label\n{a},{b},1\n{b},{a},0\n", encoding="utf-8")
    args = ["dedup", str(workspace / "left.csv"), "--model", str(workspace / "model")]
    code = main([*args, "--labels", str(labels), "-o", str(tmp_path / "out")])
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    lo, hi = sorted((a, b))
    assert "labels.csv: conflicting labels for the pair" in err[0]
    assert f"({lo!r}, {hi!r})" in err[0]


def test_a_rerun_into_the_same_folder_leaves_no_stale_outputs(workspace, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    # what an earlier run with explanations left, and a file of the user's
    for name in ("report.html", "review.csv", "explanations.jsonl", "entities.csv", "run.json"):
        (out / name).write_text("stale\n", encoding="utf-8")
    (out / "notes.txt").write_text("mine\n", encoding="utf-8")
    (out / "model").mkdir()
    args = ["-q", "dedup", str(workspace / "left.csv"), "--model", str(workspace / "model")]
    assert main([*args, "--no-explain", "-o", str(out)]) == 0
    assert not (out / "report.html").exists() and not (out / "review.csv").exists()
    assert (out / "explanations.jsonl").read_text() == ""
    assert (out / "entities.csv").read_text() != "stale\n"
    assert (out / "notes.txt").read_text() == "mine\n" and (out / "model").is_dir()
    run = json.loads((out / "run.json").read_text())
    assert run["outputs"] == ["entities.csv", "explanations.jsonl", "pairs.csv"]


def test_bem_run_stops_when_an_input_changed_and_force_runs_anyway(workspace, tmp_path, caplog):
    import shutil

    records = tmp_path / "records.csv"
    shutil.copy(workspace / "left.csv", records)
    out = tmp_path / "out"
    args = ["-q", "dedup", str(records), "--model", str(workspace / "model"), "--no-explain"]
    assert main([*args, "-o", str(out)]) == 0
    run = json.loads((out / "run.json").read_text())
    assert run["hashes"]["inputs"] == {
        str(records.resolve()): hashlib.sha256(records.read_bytes()).hexdigest()
    }
    assert "config.json" in run["hashes"]["model"]["files"]
    header = records.read_text().splitlines()[0].split(",")
    row = ["zz-new" if c == "id" else "extra title" if c == "title" else "" for c in header]
    records.write_text(records.read_text() + ",".join(row) + "\n", encoding="utf-8")
    proc = run_cli("run", str(out / "run.json"))
    assert proc.returncode == 2
    err = proc.stderr.strip().splitlines()
    assert len(err) == 1, proc.stderr
    assert "records.csv" in err[0] and "--force" in err[0]
    with caplog.at_level("WARNING", logger="bem"):
        assert main(["-q", "run", "--force", str(out / "run.json")]) == 0
    assert "records.csv" in caplog.text
    assert (
        json.loads((out / "run.json").read_text())["counts"]["records"]
        == run["counts"]["records"] + 1
    )
    # a run.json from before the hashes: runs, with a warning
    old = json.loads((out / "run.json").read_text())
    del old["hashes"]
    (out / "run.json").write_text(json.dumps(old), encoding="utf-8")
    caplog.clear()
    with caplog.at_level("WARNING", logger="bem"):
        assert main(["-q", "run", str(out / "run.json")]) == 0
    assert "no hashes" in caplog.text


def test_a_model_refuses_a_table_it_does_not_fit_until_renamed(workspace, tmp_path, capsys):
    people = tmp_path / "people.csv"
    people.write_text("id,name,city\n1,John Smith,Boston\n2,Jon Smith,Boston\n3,Mary Jones,NYC\n")
    args = ["-q", "dedup", str(people), "--model", str(workspace / "model"), "--no-explain"]
    assert main([*args, "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "has none of the model's attributes" in err and "--rename" in err
    assert not (tmp_path / "out" / "entities.csv").exists()
    renamed = [*args, "--rename", "title=name", "--rename", "colour=city"]
    assert main([*renamed, "-o", str(tmp_path / "renamed")]) == 0
    run = json.loads((tmp_path / "renamed" / "run.json").read_text())
    assert run["config"]["rename"] == {"title": "name", "colour": "city"}
    assert main([*args, "--rename", "title", "-o", str(tmp_path / "bad")]) == 2
    assert "expected model_attribute=table_column" in capsys.readouterr().err


def _report_decisions(out: Path) -> list[tuple[str, str, int, str]]:
    rows = [json.loads(line) for line in (out / "explanations.jsonl").read_text().splitlines()]
    return [(r["left_id"], r["right_id"], r["decision"], r["decision_rule"]) for r in rows]


@pytest.mark.parametrize(
    "extra",
    [[], ["--one-to-one"], ["--threshold", "0.2"], ["--clustering", "components"]],
    ids=["link", "one-to-one", "threshold", "components"],
)
def test_report_decisions_equal_the_pipelines(workspace, tmp_path, extra):
    out = tmp_path / "out"
    code = main(
        [
            "-q",
            "link",
            str(workspace / "left.csv"),
            str(workspace / "right.csv"),
            "--model",
            str(workspace / "model"),
            "--top-k",
            "3",
            "--review",
            "4",
            *extra,
            "-o",
            str(out),
        ]
    )
    assert code == 0
    pairs = pd.read_csv(out / "pairs.csv", dtype={"ltable_id": str, "rtable_id": str})
    same = pairs.set_index(["ltable_id", "rtable_id"])["same_entity"]
    decisions = _report_decisions(out)
    assert decisions
    threshold = json.loads((out / "run.json").read_text())["threshold_used"]
    for left_id, right_id, decision, rule in decisions:
        assert decision == same[(left_id, right_id)], (left_id, right_id)
        assert f"{threshold:.3f}" in rule or rule.startswith("no evidence")
    html = (out / "report.html").read_text()
    review = pd.read_csv(out / "review.csv")
    for reason in set(review["review_reason"]):
        assert reason in html
    if (pairs["same_entity"] == 1).any() and (review["same_entity"] == 1).any():
        assert "entity-0" in html  # the entity view


def test_report_decisions_equal_the_pipelines_with_int8_scoring(workspace):
    from bem.pipeline import link
    from data import load_table
    from matcher import Matcher

    matcher = Matcher.from_pretrained(workspace / "model", quantize=True)
    left = load_table(workspace / "left.csv")
    right = load_table(workspace / "right.csv")
    result = link(left, right, matcher, top_k=3, review={"sample": 4}, progress=False)
    same = result.pairs.set_index(["ltable_id", "rtable_id"])
    for e in result.explanations:
        row = same.loc[(e.left_id, e.right_id)]
        assert e.decision == row["same_entity"]
        # int8 activation scales depend on the batch (explain/scoring.py): third decimal
        assert e.probability == pytest.approx(row["probability"], abs=5e-3)


def test_explain_uses_the_given_threshold(workspace, tmp_path):
    out = tmp_path / "report.html"
    args = [
        "-q",
        "explain",
        "--model",
        str(workspace / "model"),
        "--left",
        str(workspace / "left.csv"),
        "--right",
        str(workspace / "right.csv"),
        "--pairs",
        str(workspace / "pairs.csv"),
        "--limit",
        "3",
        "-o",
        str(out),
    ]
    for threshold in ("0", "1"):
        assert main([*args, "--threshold", threshold, "--json", str(tmp_path / "e.jsonl")]) == 0
        rows = [json.loads(x) for x in (tmp_path / "e.jsonl").read_text().splitlines()]
        assert {r["decision"] for r in rows} == {1 if threshold == "0" else 0}
        assert all(r["threshold"] == float(threshold) for r in rows)
