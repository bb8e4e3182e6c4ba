"""run.json's hashes of the inputs and the model, and `bem run`'s check of them."""

from __future__ import annotations

import hashlib
import json

import pytest

from bem.provenance import changed_files, file_hashes, model_hashes, verify_hashes
from data import BemError


@pytest.fixture()
def files(tmp_path):
    (tmp_path / "a.csv").write_text("id,name\n1,x\n", encoding="utf-8")
    model = tmp_path / "model"
    (model / "sub").mkdir(parents=True)
    (model / "config.json").write_text("{}", encoding="utf-8")
    (model / "sub" / "vocab.txt").write_text("a\nb\n", encoding="utf-8")
    return tmp_path


def test_hashes_are_the_sha256_of_every_file(files):
    a = str(files / "a.csv")
    assert file_hashes([a]) == {a: hashlib.sha256(b"id,name\n1,x\n").hexdigest()}
    model = model_hashes(str(files / "model"))
    assert model["hashed"] is True
    assert set(model["files"]) == {"config.json", "sub/vocab.txt"}
    assert model["files"]["config.json"] == hashlib.sha256(b"{}").hexdigest()


def test_a_model_that_is_not_a_local_directory_records_its_name_and_no_hash():
    model = model_hashes("sentence-transformers/all-MiniLM-L6-v2")
    assert model == {
        "name": "sentence-transformers/all-MiniLM-L6-v2",
        "hashed": False,
        "reason": "not a local directory; no hash was possible",
    }


def _record(files):
    return {
        "inputs": file_hashes([str(files / "a.csv")]),
        "labels": {},
        "model": model_hashes(str(files / "model")),
    }


def test_nothing_changed_means_no_changed_files(files):
    assert changed_files(_record(files)) == []


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (lambda d: (d / "a.csv").write_text("id,name\n1,y\n"), "a.csv: its contents changed"),
        (lambda d: (d / "a.csv").unlink(), "a.csv: no longer exists"),
        (lambda d: (d / "model" / "sub" / "vocab.txt").write_text("c\n"), "sub/vocab.txt"),
        (lambda d: (d / "model" / "new.bin").write_text("x"), "new.bin: not in the recorded"),
        (lambda d: (d / "model" / "config.json").unlink(), "config.json: no longer exists"),
    ],
)
def test_a_changed_file_is_named(files, change, named):
    record = _record(files)
    change(files)
    changed = changed_files(record)
    assert len(changed) == 1 and named in changed[0]


def test_verify_stops_naming_the_file_and_force_runs_with_a_warning(files, caplog):
    record = _record(files)
    (files / "a.csv").write_text("id,name\n2,z\n")
    with pytest.raises(BemError, match=r"a\.csv: its contents changed.*pass --force") as err:
        verify_hashes(record, source="out/run.json", force=False)
    assert "\n" not in str(err.value)
    with caplog.at_level("WARNING", logger="bem"):
        verify_hashes(record, source="out/run.json", force=True)
    assert "a.csv" in caplog.text and "--force" in caplog.text


def test_an_old_run_json_without_hashes_runs_with_a_warning(caplog):
    with caplog.at_level("WARNING", logger="bem"):
        verify_hashes(None, source="old/run.json", force=False)
    assert "old/run.json" in caplog.text and "no hashes" in caplog.text


def test_run_json_records_the_hashes(files):
    # the payload written by bem.run holds what file_hashes/model_hashes give
    from bem.run import PipelineConfig, input_record

    config = PipelineConfig(
        mode="dedup",
        inputs=(str(files / "a.csv"),),
        model=str(files / "model"),
        output=str(files / "out"),
        labels=str(files / "a.csv"),
    )
    record = input_record(config)
    assert json.loads(json.dumps(record)) == record
    assert record["inputs"] == file_hashes([str(files / "a.csv")])
    assert record["labels"] == file_hashes([str(files / "a.csv")])
    assert record["model"]["files"]["config.json"] == hashlib.sha256(b"{}").hexdigest()
