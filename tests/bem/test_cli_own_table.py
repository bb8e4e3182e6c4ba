"""A user's own table: no id column, no labels, no model; Parquet in and out."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from bem.cli import main
from data import make_linkage


@pytest.fixture(scope="module")
def export(tmp_path_factory):
    """A CSV export without an id column (as most exports are)."""
    root = tmp_path_factory.mktemp("own")
    syn = make_linkage(n_entities=12, seed=5)
    both = pd.concat([syn.left, syn.right]).reset_index(drop=True)
    both.to_csv(root / "records.csv", index=False)
    return root, both


def test_dedup_without_model_labels_or_ids(export, tiny_model_dir, capsys):
    root, both = export
    out = root / "out"
    code = main(
        [
            "-q",
            "dedup",
            str(root / "records.csv"),
            "--base-model",
            str(tiny_model_dir),
            "--review",
            "2",
            "-o",
            str(out),
        ]
    )
    assert code == 0, capsys.readouterr().err
    printed = capsys.readouterr().out
    assert "label-free" in printed and "reuse it with --model" in printed
    entities = pd.read_csv(out / "entities.csv", dtype=str)
    # ids are the records' line numbers in the file (header = line 1)
    assert sorted(entities["id"], key=int) == [str(n) for n in range(2, len(both) + 2)]
    run = json.loads((out / "run.json").read_text())
    assert run["trained_model"]["label_free"] is True
    assert run["config"]["model"] == str(out / "model")
    assert (out / "model" / "config.json").is_file()
    assert "train_label_free" in run["timings_seconds"]
    assert (out / "report.html").is_file()
    # the run repeats with the model it trained, without training again
    assert main(["-q", "run", str(out / "run.json"), "-o", str(root / "again")]) == 0
    again = json.loads((root / "again" / "run.json").read_text())
    assert again["trained_model"] is None
    pd.testing.assert_frame_equal(entities, pd.read_csv(root / "again" / "entities.csv", dtype=str))


def test_a_named_id_column_that_is_missing_names_the_flag(export, capsys):
    root, _ = export
    code = main(["-q", "block", str(root / "records.csv"), "--id-column", "sku", "-o", "x.csv"])
    assert code == 2
    err = capsys.readouterr().err
    assert "--id-column" in err and "id_column=" not in err


def test_self_supervised_training_then_parquet_in_and_out(export, tiny_model_dir, capsys):
    root, both = export
    # the tiny test model reads 64 tokens: four attributes fit
    table = both[["title", "brand", "model", "price"]].assign(
        sku=[f"s{i}" for i in range(len(both))]
    )
    table.to_parquet(root / "records.parquet", index=False)
    model = root / "start"
    code = main(
        [
            "-q",
            "train",
            "--self-supervised",
            "--left",
            str(root / "records.parquet"),
            "--id-column",
            "sku",
            "--model",
            str(tiny_model_dir),
            "--max-length",
            "64",
            "--max-minutes",
            "20",
            "-o",
            str(model),
        ]
    )
    assert code == 0, capsys.readouterr().err
    assert "no labels used" in capsys.readouterr().out
    info = json.loads((model / "config.json").read_text())
    assert info["training"]["label_free"] is True
    assert info["training"]["hyperparameters"]["max_minutes"] == 20.0  # the flag reached fit
    out = root / "pq"
    args = ["-q", "dedup", str(root / "records.parquet"), "--id-column", "sku"]
    assert main([*args, "--model", str(model), "--no-explain", "-o", str(out)]) == 0
    entities = pd.read_parquet(out / "entities.parquet")
    assert sorted(entities["id"]) == sorted(table["sku"])
    assert not (out / "entities.csv").exists()
    pairs = pd.read_parquet(out / "pairs.parquet")
    assert pairs["probability"].dtype == float
    # and back to CSV when asked
    csv = root / "csv"
    assert (
        main(
            [*args, "--model", str(model), "--no-explain", "--output-format", "csv", "-o", str(csv)]
        )
        == 0
    )
    assert (csv / "entities.csv").is_file()
