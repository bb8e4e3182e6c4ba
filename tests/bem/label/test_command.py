"""``bem label``: the parser and the command, through the console mode."""

from __future__ import annotations

import argparse
import io
import json

import pytest

from bem.label import read_labels
from bem.label.command import add_label_parser, cmd_label
from data import BemError, write_table


def _parse(argv):
    parser = argparse.ArgumentParser(prog="bem")
    add_label_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["label", *argv])
    args.quiet = True
    return args


def test_the_parser_takes_the_documented_flags(tmp_path):
    args = _parse(
        [
            "a.csv",
            "b.csv",
            "--labels",
            "l.csv",
            "--serve",
            "--port",
            "8123",
            "--key",
            "title",
            "--key",
            "brand",
            "--retrain-every",
            "5",
            "--seed",
            "3",
        ]
    )
    assert args.tables == ["a.csv", "b.csv"] and args.serve and not args.console
    assert (args.host, args.port, args.key, args.retrain_every, args.seed) == (
        "127.0.0.1",
        8123,
        ["title", "brand"],
        5,
        3,
    )
    assert (args.top_k, args.id_column, args.model, args.review) == (10, None, None, None)
    with pytest.raises(SystemExit):
        _parse(["a.csv", "--labels", "l.csv"])  # --serve or --console is required
    with pytest.raises(SystemExit):
        _parse(["a.csv", "--labels", "l.csv", "--serve", "--console"])


def test_console_mode_labels_from_stdin(records, model_dir, tmp_path, monkeypatch, capsys):
    table = write_table(records, tmp_path / "records.csv")
    labels = tmp_path / "labels.csv"
    monkeypatch.setattr("sys.stdin", io.StringIO("y\nn\nq\n"))
    args = _parse(
        [
            str(table),
            "--labels",
            str(labels),
            "--console",
            "--model",
            str(model_dir),
            "--top-k",
            "3",
            "--retrain-every",
            "0",
        ]
    )
    assert cmd_label(args) == 0
    out = capsys.readouterr().out
    assert "pairs to ask; 0 answers already in" in out
    assert f"{labels}: 1 match, 1 no match, 0 unsure" in out
    assert f"bem train --labels {labels}" in out
    assert read_labels(labels, unordered=True)["label"].tolist() == ["1", "0"]
    # again: resumed
    monkeypatch.setattr("sys.stdin", io.StringIO("u\n"))
    assert cmd_label(args) == 0
    out = capsys.readouterr().out
    assert "2 answers already in" in out and "1 match, 1 no match, 1 unsure" in out


def test_without_a_model_the_label_free_one_is_trained_and_kept(
    records, tiny_matcher, tmp_path, monkeypatch, capsys
):
    calls = []

    def fake_fit(left, right=None, **kwargs):  # never a real MiniLM in the tests
        calls.append((len(left), right, kwargs["key"]))
        return tiny_matcher

    monkeypatch.setattr("bem.labelfree.fit_label_free", fake_fit)
    monkeypatch.setattr("sys.stdin", io.StringIO("q\n"))
    table = write_table(records, tmp_path / "records.csv")
    labels = tmp_path / "labels.csv"
    args = _parse([str(table), "--labels", str(labels), "--console", "--top-k", "2"])
    assert cmd_label(args) == 0
    out = capsys.readouterr().out
    assert "no --model: training the label-free first model" in out
    assert calls == [(len(records), None, None)]
    assert (tmp_path / "labels.csv.start-model" / "config.json").is_file()
    assert f"--model {labels}.start-model" in out


def test_bad_input_raises_a_bem_error(records, link_data, model_dir, tmp_path):
    table = str(write_table(records, tmp_path / "records.csv"))
    with pytest.raises(BemError, match=r"one table \(dedup\) or two \(link\), got 3"):
        cmd_label(_parse([table, table, table, "--labels", "l.csv", "--console"]))
    with pytest.raises(BemError, match="--retrain-every must be >= 0"):
        cmd_label(_parse([table, "--labels", "l.csv", "--console", "--retrain-every", "-1"]))
    with pytest.raises(BemError, match="no such folder"):
        cmd_label(_parse([table, "--labels", "l.csv", "--console", "--review", "nowhere"]))
    with pytest.raises(BemError, match=r"key column\(s\) \['nope'\] not found"):
        cmd_label(_parse([table, "--labels", "l.csv", "--console", "--key", "nope"]))
    out = tmp_path / "run"
    out.mkdir()
    (out / "review.csv").write_text("ltable_id,rtable_id,review_reason\na0,b0,random sample\n")
    config = {"mode": "dedup", "inputs": ["x.csv"], "model": str(model_dir), "output": str(out)}
    (out / "run.json").write_text(json.dumps({"config": config}))
    left, right = link_data
    a = str(write_table(left, tmp_path / "a.csv"))
    b = str(write_table(right, tmp_path / "b.csv"))
    with pytest.raises(BemError, match="a dedup run; give its 1 input table"):
        cmd_label(_parse([a, b, "--labels", "l.csv", "--console", "--review", str(out)]))
