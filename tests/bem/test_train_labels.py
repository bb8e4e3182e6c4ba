"""`bem train --labels`: a labelling session's answers to a model with a tuned blocker."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from bem.cli import main
from bem.label import LabelLog
from blocking import (
    FuzzyBlocker,
    Key,
    UnionBlocker,
    blocker_from_config,
    blocker_to_config,
    tune_blocker,
)
from data import RecordPairs, make_linkage
from matcher import Matcher

COLUMNS = ["title", "brand", "model", "price"]  # what the tiny model's 64 tokens hold


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    """Two tables and a session's labels file: matches, non-matches, unsure, an undo."""
    root = tmp_path_factory.mktemp("labels")
    syn = make_linkage(n_entities=40, seed=3)
    left, right = syn.left[COLUMNS], syn.right[COLUMNS]
    left.to_csv(root / "left.csv", index_label="id")
    right.to_csv(root / "right.csv", index_label="id")
    matches = syn.matches[["ltable_id", "rtable_id"]].astype(str).head(14)
    rng = np.random.default_rng(0)
    log = LabelLog(root / "labels.csv")
    for a, b in matches.itertuples(index=False):
        log.append((a, b), "1")
        c = right.index[rng.integers(len(right))]
        if (a, c) not in set(matches.itertuples(index=False, name=None)):
            log.append((a, c), "0")
    log.append(("a0", "b9"), "unsure")
    log.append(("a1", "b8"), "1")
    log.append(("a1", "b8"), "undo")  # retracted: neither class
    log.close()
    return root, len(matches)


def test_train_from_a_session_tunes_and_stores_the_blocker(session, tiny_model_dir, capsys):
    root, n_matches = session
    out = root / "model"
    args = ["-q", "train", "--labels", str(root / "labels.csv")]
    args += ["--left", str(root / "left.csv"), "--right", str(root / "right.csv")]
    args += ["--model", str(tiny_model_dir), "--epochs", "1", "-o", str(out)]
    assert main(args) == 0, capsys.readouterr().err
    printed = capsys.readouterr().out
    assert f"{n_matches} match and" in printed and "blocker tuned on" in printed
    cfg = json.loads((out / "config.json").read_text())
    tuned = cfg["blocking"]["tuned_on"]
    assert tuned["matches"] == n_matches  # the unsure and the undone answer are not matches
    assert 0.0 < tuned["recall"] <= 1.0
    assert "blocking:" in (out / "README.md").read_text()
    matcher = Matcher.from_pretrained(out)
    assert matcher.blocking_ == cfg["blocking"]
    assert "bem label session" in matcher.train_info_["data"]
    # the stored blocker is the one tuning chose: same candidates
    left = pd.read_csv(root / "left.csv", index_col="id", dtype=str)
    right = pd.read_csv(root / "right.csv", index_col="id", dtype=str)
    stored = blocker_from_config(matcher.blocking_, progress=False)
    assert stored.candidates(left, right)["ltable_id"].size > 0


def test_a_session_start_model_beside_the_labels_is_the_start(session, tiny_model_dir, capsys):
    root, _ = session
    start = root / "labels.csv.start-model"
    Matcher(tiny_model_dir, max_length=64).save_pretrained(start)
    out = root / "model2"
    args = ["-q", "train", "--labels", str(root / "labels.csv")]
    args += ["--left", str(root / "left.csv"), "--right", str(root / "right.csv")]
    args += ["--epochs", "1", "-o", str(out)]
    try:
        assert main(args) == 0, capsys.readouterr().err
    finally:
        import shutil

        shutil.rmtree(start)
    assert "the session's" in capsys.readouterr().out


def test_too_few_labels_keep_a_trained_start_unless_told(session, tiny_model_dir, capsys):
    """14 matches cannot check a fine-tune: the trained start is saved as it was (its
    training data kept on the card); --always-fine-tune fine-tunes it anyway."""
    root, _ = session
    syn = make_linkage(n_entities=12, seed=4)
    start = Matcher(tiny_model_dir, max_length=64)
    own = syn.pairs[["ltable_id", "rtable_id", "label"]]
    start.fit(RecordPairs(syn.left[COLUMNS], syn.right[COLUMNS], own), epochs=1, progress=False)
    start.train_info_["data"] = "the start's own pairs"
    start.save_pretrained(root / "trained-start")
    base = [
        "-q",
        "train",
        "--labels",
        str(root / "labels.csv"),
        "--model",
        str(root / "trained-start"),
    ]
    base += ["--left", str(root / "left.csv"), "--right", str(root / "right.csv"), "--epochs", "1"]
    assert main([*base, "-o", str(root / "kept")]) == 0, capsys.readouterr().err
    assert "weights and threshold are kept: 14 match" in capsys.readouterr().out
    kept = Matcher.from_pretrained(root / "kept")
    assert kept.train_info_["data"] == "the start's own pairs"
    assert kept.train_info_["few_label"]["kept"] == "start"
    assert main([*base, "--always-fine-tune", "-o", str(root / "tuned")]) == 0
    assert "--always-fine-tune: not compared" in capsys.readouterr().out
    tuned = Matcher.from_pretrained(root / "tuned")
    assert "bem label session" in tuned.train_info_["data"]


def test_too_few_matches_leave_the_blocker_untuned(tmp_path, tiny_model_dir, capsys):
    syn = make_linkage(n_entities=8, seed=1)
    syn.left[COLUMNS].to_csv(tmp_path / "l.csv", index_label="id")
    syn.right[COLUMNS].to_csv(tmp_path / "r.csv", index_label="id")
    log = LabelLog(tmp_path / "labels.csv")
    log.append(("a0", "b0"), "1")
    log.append(("a0", "b1"), "0")
    log.close()
    args = ["-q", "train", "--labels", str(tmp_path / "labels.csv"), "--left"]
    args += [str(tmp_path / "l.csv"), "--right", str(tmp_path / "r.csv")]
    args += ["--model", str(tiny_model_dir), "--epochs", "1", "-o", str(tmp_path / "m")]
    assert main(args) == 0, capsys.readouterr().err
    assert "blocker not tuned: 1 labelled matches, 10 needed" in capsys.readouterr().out
    assert json.loads((tmp_path / "m" / "config.json").read_text())["blocking"] is None


def test_labels_need_tables_and_both_classes(session, tmp_path, tiny_model_dir, capsys):
    root, _ = session
    assert main(["-q", "train", "--labels", str(root / "labels.csv"), "-o", str(tmp_path)]) == 2
    assert "--left A.csv" in capsys.readouterr().err
    log = LabelLog(tmp_path / "only.csv")
    log.append(("a0", "b0"), "1")
    log.close()
    args = ["-q", "train", "--labels", str(tmp_path / "only.csv"), "--left"]
    args += [str(root / "left.csv"), "--right", str(root / "right.csv")]
    args += ["--model", str(tiny_model_dir), "-o", str(tmp_path / "m")]
    assert main(args) == 2
    assert "no no-match pair" in capsys.readouterr().err


def test_blocker_config_round_trip():
    syn = make_linkage(n_entities=30, seed=2)
    a = FuzzyBlocker("title", top_k=3, progress=False)
    b = FuzzyBlocker(
        Key(["brand", "model"], normalizers=("case", "codes")),
        top_k=2,
        scorer="ratio",
        index="tokens",
        max_postings=6,  # tight enough that word pairs are indexed ("auto")
        progress=False,
        name="codes",
    )
    plain = FuzzyBlocker("title", top_k=3, max_postings=6, word_pairs=False, progress=False)
    for blocker in (a, UnionBlocker([a, b]), plain):
        config = json.loads(json.dumps(blocker_to_config(blocker)))
        again = blocker_from_config(config, progress=False)
        parts = getattr(blocker, "blockers", [blocker])
        for want, got in zip(parts, getattr(again, "blockers", [again])):
            assert (got.max_postings, got.word_pairs) == (want.max_postings, want.word_pairs)
        pd.testing.assert_frame_equal(
            blocker.candidates(syn.left, syn.right), again.candidates(syn.left, syn.right)
        )
    tuned = tune_blocker(syn.left, syn.right, syn.matches, ks=(2, 5), progress=False)
    config = blocker_to_config(tuned.blocker)
    pd.testing.assert_frame_equal(
        tuned.blocker.candidates(syn.left, syn.right),
        blocker_from_config(config, progress=False).candidates(syn.left, syn.right),
    )


def test_a_blocker_with_an_unnamed_normalizer_is_not_stored():
    blocker = FuzzyBlocker(Key("title", normalizers=(str.lower,)), progress=False)
    with pytest.raises(ValueError, match="only named normalizers"):
        blocker_to_config(blocker)
    with pytest.raises(Exception, match="version"):
        blocker_from_config({"version": 99, "blockers": []})


def _with_blocker(tiny_model_dir, left, right):
    from bem.training import tune_blocking
    from data import RecordPairs

    syn_pairs = RecordPairs(left, right, _matches(left, right))
    matcher = Matcher(tiny_model_dir, max_length=48, batch_size=16)
    assert tune_blocking(matcher, left, right, syn_pairs, progress=False) is not None
    return matcher


def _matches(left, right) -> pd.DataFrame:
    # the synthetic tables pair a<i> with b<i> for the entities both sides hold
    common = sorted(set(left.index.str[1:]) & set(right.index.str[1:]), key=int)[:15]
    return pd.DataFrame(
        {"ltable_id": [f"a{i}" for i in common], "rtable_id": [f"b{i}" for i in common], "label": 1}
    )


def test_the_pipeline_blocks_with_the_models_blocker_unless_given_a_key(tiny_model_dir):
    from bem.pipeline import link

    syn = make_linkage(n_entities=30, seed=6)
    left, right = syn.left[COLUMNS], syn.right[COLUMNS]
    matcher = _with_blocker(tiny_model_dir, left, right)
    expected = blocker_from_config(matcher.blocking_, progress=False).candidates(left, right)
    result = link(left, right, matcher, explain_method=None, progress=False)
    assert result.blocking.startswith("the model's tuned blocker")
    got = result.pairs[["ltable_id", "rtable_id", "blocker"]].reset_index(drop=True)
    pd.testing.assert_frame_equal(got, expected[["ltable_id", "rtable_id", "blocker"]])
    keyed = link(left, right, matcher, key=["brand"], top_k=2, explain_method=None, progress=False)
    assert keyed.blocking == "fuzzy key ['brand']"
    assert set(keyed.pairs["blocker"]) == {"fuzzy[brand]"}
