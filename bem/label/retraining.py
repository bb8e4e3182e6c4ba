"""Retraining hooks of the labelling session: when to retrain, and the swap.

:class:`RetrainingMixin` is the retraining half of
:class:`bem.label.LabelSession`: after every answer (inline, with
``background=False``: before the next question) it checks whether
``retrain_every`` new labels came in (both classes present, no retrain
running; with ``retrain_guard`` and a trained start, at least
:data:`~bem.training.MIN_PER_CLASS_FOR_VALID` labels of each class, since the
few-label rule would keep the start on fewer), hands them to a
:class:`~bem.label.retrain.Retrainer`, and when the
retrain is done loads its model outside the session's lock and swaps model,
scores and threshold in under it. A retrain that fails or cannot be loaded is
logged and the session keeps its model.
"""

from __future__ import annotations

import logging
import shutil
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from bem.training import MIN_PER_CLASS_FOR_VALID, enough_to_check

if TYPE_CHECKING:
    from bem.label.retrain import RetrainResult

__all__ = ["RetrainingMixin"]

logger = logging.getLogger("bem.label.engine")


class RetrainingMixin:
    """The retraining half of :class:`~bem.label.engine.LabelSession`."""

    def training_labels(self) -> pd.DataFrame:
        """The labels a retrain learns from: current 1/0 answers, audit pairs left out."""
        rows = [
            (a.ltable_id, a.rtable_id, int(a.label))
            for a in sorted(self._answers.values(), key=lambda a: a.line)
            if a.label in ("0", "1") and a.reason != "audit"
        ]
        return pd.DataFrame(rows, columns=["ltable_id", "rtable_id", "label"])

    def _maybe_retrain(self) -> None:
        if not self.retrain_every or self._closed:
            return
        # a retrain counts as running until its model is swapped in: the watcher marks the
        # child done before the swap, and a new round started in between would reuse the
        # finished round's number and delete its folder before the swap loads it
        if self._retraining or (self._retrainer is not None and self._retrainer.running):
            return
        labels = self.training_labels()
        if len(labels) - self._labels_at_retrain < self.retrain_every:
            return
        if labels["label"].nunique() < 2:
            logger.info("retrain waits for both classes among the %d labels", len(labels))
            return
        counts = np.bincount(labels["label"].to_numpy(dtype=int), minlength=2)
        if self.retrain_guard and self._start_trained and not enough_to_check(counts):
            # the rule would keep the start: no child process, no rescoring for nothing
            logger.info(
                "retrain waits for %d labels of each class (%d of the rarer so far): a trained "
                "start is not fine-tuned on fewer",
                MIN_PER_CLASS_FOR_VALID,
                counts.min(),
            )
            return
        if self._retrainer is None:
            from bem.label.retrain import Retrainer

            start_dir = self._work / "start"
            self.matcher.save_pretrained(start_dir)
            self._retrainer = Retrainer(
                start_dir,
                self.left,
                self._right_table,
                self.pool_,
                self._work,
                background=self.background,
                threads=self.retrain_threads,
                fit_kwargs=self.fit_kwargs,
                seed=self.seed,
                guard=self.retrain_guard,
            )
        before = self._labels_at_retrain
        self._labels_at_retrain = len(labels)
        logger.info("retrain %d on %d labels started", self.round_ + 1, len(labels))
        self._retraining = True
        try:
            self._retrainer.submit(labels, self.round_ + 1, self._swap)
        except BaseException:
            # nothing runs: the next answer tries again
            self._retraining, self._labels_at_retrain = False, before
            raise

    def _swap(self, result: RetrainResult | None) -> None:
        """Put a finished retrain's model and scores in place (from the watcher thread)."""
        try:
            if result is not None and not self._closed:
                from matcher import Matcher

                matcher = Matcher.from_pretrained(result.model_dir)  # outside the lock
                with self._lock:
                    old = self._work / f"round-{self.round_}"
                    self.matcher = matcher
                    self.probabilities_ = result.probabilities
                    self.threshold_ = result.threshold
                    self.round_ += 1
                    self._version += 1
                    self.retrain_seconds_.append(result.seconds)
                    self.model_note_ = result.reason
                    shutil.rmtree(old, ignore_errors=True)
                logger.info(
                    "model round %d swapped in: %d training labels, %.1f s, threshold %.3f; %s",
                    self.round_,
                    result.n_train,
                    result.seconds,
                    result.threshold,
                    result.reason,
                )
        except Exception:  # a bad retrain must not end the session: keep the old model
            logger.exception("the retrained model could not be loaded; keeping the old one")
        finally:
            with self._lock:
                self._retraining = False
                self._maybe_retrain()

    @property
    def retraining(self) -> bool:
        """A retrain is running or its model is being swapped in."""
        return self._retraining

    def wait_for_retrain(self, timeout: float | None = None) -> bool:
        """Wait until no retrain runs (the last one swapped in); ``False`` on timeout."""
        while self._retrainer is not None:
            if not self._retrainer.wait(timeout):
                return False
            if not self._retraining:
                return True
        return True
