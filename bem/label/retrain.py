"""Retraining during a labelling session, in a separate process.

A retrain fine-tunes the session's *starting* model (saved once as a directory)
on every labelled answer so far, keeps the fine-tune or the start by the
few-label rule, then rescores the session's pool of candidate
pairs, and writes the new model and the scores into a folder of its own. It
runs in a child process (``spawn``) with few torch threads, so the questions
the session keeps asking meanwhile are not slowed by it; the session loads the
result and swaps it in when the child is done (:class:`Retrainer`).

The fine-tuning rule (:func:`retrain_fit`) is the few-label rule of the label
efficiency benchmark: about 3,200 pair presentations in all (4 to 20 epochs),
half the full-label learning rate, swap augmentation; a fifth of the labels are
held out for early stopping and the threshold once there are enough of them
(:data:`MIN_PER_CLASS_FOR_VALID` per class), and the fine-tune replaces a trained
start only where it does better on them (:func:`bem.training.fine_tune_on_labels`).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bem.training import MIN_PER_CLASS_FOR_VALID, few_label_fit, fine_tune_on_labels

__all__ = ["MIN_PER_CLASS_FOR_VALID", "RetrainResult", "Retrainer", "retrain", "retrain_fit"]

logger = logging.getLogger(__name__)

retrain_fit = few_label_fit
"""The fine-tuning settings of a retrain: :func:`bem.training.few_label_fit`."""


@dataclass(frozen=True)
class RetrainResult:
    """A finished retrain: the model folder, the pool's new scores and figures."""

    model_dir: Path
    probabilities: np.ndarray
    threshold: float
    seconds: float
    n_train: int
    n_valid: int
    kept: str = "fine-tuned"
    reason: str = ""


def retrain(
    start_dir: str | Path,
    left: pd.DataFrame,
    right: pd.DataFrame,
    labels: pd.DataFrame,
    pool: pd.DataFrame,
    out_dir: str | Path,
    *,
    fit_kwargs: dict[str, Any] | None = None,
    seed: int = 0,
    guard: bool = True,
) -> RetrainResult:
    """Fine-tune the model in ``start_dir`` on ``labels`` and rescore ``pool``.

    ``labels`` holds ``ltable_id, rtable_id, label`` (0/1); ``pool`` the pairs
    to rescore. The model is saved to ``out_dir/model`` and the scores to
    ``out_dir/probabilities.npy``. With ``guard`` the fine-tune replaces a trained
    start only where held-out labels prefer it (:func:`bem.training.fine_tune_on_labels`;
    the result's ``kept`` and ``reason`` say which).
    """
    from bem.pipeline import score_pairs
    from data import RecordPairs
    from matcher import Matcher

    start = time.perf_counter()
    out = Path(out_dir)
    matcher = Matcher.from_pretrained(start_dir)
    pairs = RecordPairs(left, right, labels[["ltable_id", "rtable_id", "label"]])
    (out / "fitting").touch()  # set up and loaded: the fine-tuning starts now
    fit = fine_tune_on_labels(
        matcher, pairs, seed=seed, progress=False, fit_kwargs=fit_kwargs, guard=guard
    )
    matcher = fit.matcher
    probabilities = score_pairs(matcher, left, right, pool, progress=False)
    if fit.kept == "fine-tuned":
        matcher.train_info_["data"] = f"{len(pairs)} pairs labelled in a bem label session"
    matcher.save_pretrained(out / "model", overwrite=True)
    np.save(out / "probabilities.npy", probabilities)
    result = RetrainResult(
        model_dir=out / "model",
        probabilities=probabilities,
        threshold=float(matcher.threshold_),
        seconds=time.perf_counter() - start,
        n_train=len(fit.train),
        n_valid=0 if fit.valid is None else len(fit.valid),
        kept=fit.kept,
        reason=fit.reason,
    )
    info = {k: v for k, v in result.__dict__.items() if k not in ("probabilities", "model_dir")}
    (out / "result.json").write_text(json.dumps(info), encoding="utf-8")
    return result


ID = "__bem_id__"
"""The index name the tables are written with for the child process."""


def _write_inputs(work: Path, left: pd.DataFrame, right: pd.DataFrame, pool: pd.DataFrame) -> None:
    from data import write_table

    write_table(left.rename_axis(ID), work / "left.parquet")
    if right is not left:
        write_table(right.rename_axis(ID), work / "right.parquet")
    write_table(pool[["ltable_id", "rtable_id"]].reset_index(drop=True), work / "pool.csv")


def main(out_dir: str) -> None:
    """The child process: ``python -m bem.label.retrain OUT_DIR`` (see :class:`Retrainer`)."""
    import torch

    from data import load_table, read_csv_strings

    out = Path(out_dir)
    job = json.loads((out / "job.json").read_text(encoding="utf-8"))
    torch.set_num_threads(job["threads"])
    work = out.parent
    left = load_table(work / "left.parquet", id_column=ID)
    right_file = work / "right.parquet"
    right = load_table(right_file, id_column=ID) if right_file.is_file() else left
    labels = read_csv_strings(out / "labels.csv")
    labels["label"] = labels["label"].astype(int)
    retrain(
        job["start_dir"],
        left,
        right,
        labels,
        read_csv_strings(work / "pool.csv"),
        out,
        fit_kwargs=job["fit_kwargs"],
        seed=job["seed"],
        guard=job["guard"],
    )


def _read_result(out: Path) -> RetrainResult:
    info = json.loads((out / "result.json").read_text(encoding="utf-8"))
    return RetrainResult(
        model_dir=out / "model",
        probabilities=np.load(out / "probabilities.npy"),
        **info,
    )


class Retrainer:
    """Runs one retrain at a time, in a child process or (``background=False``) inline.

    Args:
        start_dir: the starting model's folder.
        left, right: the tables (``right`` is ``left`` in deduplication).
        pool: the pairs every retrain rescores.
        work_dir: where each retrain writes its folder (``round-<n>``).
        background: retrain in a child process; ``False`` retrains inside
            :meth:`submit` (deterministic; for benchmarks).
        threads: torch threads of the child process.
        fit_kwargs: overrides of :func:`retrain_fit`.
        seed: the validation split's seed.
        guard: keep the start where held-out labels do not prefer the fine-tune
            (see :func:`bem.training.fine_tune_on_labels`).
    """

    def __init__(
        self,
        start_dir: Path,
        left: pd.DataFrame,
        right: pd.DataFrame,
        pool: pd.DataFrame,
        work_dir: Path,
        *,
        background: bool = True,
        threads: int = 1,
        fit_kwargs: dict[str, Any] | None = None,
        seed: int = 0,
        guard: bool = True,
    ) -> None:
        self.start_dir = start_dir
        self.left, self.right, self.pool = left, right, pool
        self.work_dir = work_dir
        self.background = background
        self.threads = threads
        self.fit_kwargs = fit_kwargs
        self.seed, self.guard = seed, guard
        self._process: Any = None
        self._watcher: threading.Thread | None = None
        self._busy = False
        self._closed = False
        self._inputs_written = False
        self.out_dir: Path | None = None  # the folder of the latest retrain

    @property
    def running(self) -> bool:
        """A background retrain is under way (false again once its result is handed over)."""
        return self._busy

    def submit(
        self,
        labels: pd.DataFrame,
        round_: int,
        done: Callable[[RetrainResult | None], None],
    ) -> None:
        """Start retrain number ``round_`` on ``labels``; ``done`` gets its result
        (``None`` when it failed) from the watcher thread (or at once, inline)."""
        if self.running:
            raise RuntimeError("a retrain is already running")
        out = self.work_dir / f"round-{round_}"
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        self.out_dir = out
        if not self.background:
            result = retrain(
                self.start_dir,
                self.left,
                self.right,
                labels,
                self.pool,
                out,
                fit_kwargs=self.fit_kwargs,
                seed=self.seed,
                guard=self.guard,
            )
            done(result)
            return
        from data import write_table

        if not self._inputs_written:
            _write_inputs(self.work_dir, self.left, self.right, self.pool)
            self._inputs_written = True
        write_table(labels[["ltable_id", "rtable_id", "label"]], out / "labels.csv")
        job = {
            "start_dir": str(self.start_dir),
            "threads": self.threads,
            "fit_kwargs": self.fit_kwargs,
            "seed": self.seed,
            "guard": self.guard,
        }
        (out / "job.json").write_text(json.dumps(job), encoding="utf-8")
        # a fresh interpreter, not multiprocessing: it must not re-run the caller's script
        root = str(Path(__file__).resolve().parents[2])
        env = {**os.environ, "OMP_NUM_THREADS": str(self.threads)}
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
        log = (out / "child.log").open("wb")
        process = subprocess.Popen(
            [sys.executable, "-m", "bem.label.retrain", str(out)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        log.close()
        self._process = process
        self._busy = True

        def watch() -> None:
            code = process.wait()
            if self._closed:
                self._busy = False
                return
            result = None
            if code == 0:
                result = _read_result(out)
            else:
                text = (out / "child.log").read_text(encoding="utf-8", errors="replace")
                logger.warning("retrain %d failed (exit %s): %s", round_, code, text[-2000:])
            self._busy = False
            done(result)

        self._watcher = threading.Thread(target=watch, name="bem-label-watch", daemon=True)
        self._watcher.start()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the running retrain's result to be handed over; ``False`` on timeout."""
        watcher = self._watcher
        if watcher is None:
            return True
        watcher.join(timeout)
        return not watcher.is_alive()

    def close(self) -> None:
        """Stop a running retrain (its child process is terminated)."""
        self._closed = True
        self._busy = False
        process = self._process
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()
        if self._watcher is not None:
            self._watcher.join(5)


if __name__ == "__main__":
    main(sys.argv[1])
