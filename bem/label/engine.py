"""The labelling session: which pair to ask, the answers, retraining, the estimate.

A :class:`LabelSession` holds no user interface: the console
(:mod:`bem.label.console`), the web page (:mod:`bem.label.web`) and a benchmark's
oracle all drive it the same way::

    session = LabelSession(records, None, matcher, labels="labels.csv").start()
    while (q := session.next_question()) is not None:
        session.answer(ask_someone(q))      # 1, 0 or "unsure"; session.undo() goes back
    session.close()

:meth:`LabelSession.start` blocks the tables (or takes the given candidates, or
a finished run's review pairs), scores the pool and replays the labels file, so
a session started on the file of a killed one resumes where it stopped and never
asks an answered pair again. Every answer is appended to the file and flushed
at once (:mod:`bem.label.store`). Every ``retrain_every`` labels the starting
model is fine-tuned on all labels in a child process (:mod:`bem.label.retrain`)
while the questions go on; the model the few-label rule keeps (the fine-tune, or
the start where held-out labels do not prefer it) and its scores are swapped in
when it is done. A trained start is not retrained before each class has
:data:`~bem.training.MIN_PER_CLASS_FOR_VALID` labels (``retrain_guard``).
Picks follow :mod:`bem.label.picking`; every ``audit_every``-th question
is an audit pair for the estimate of :mod:`bem.label.estimate`.
"""

from __future__ import annotations

import collections
import logging
import shutil
import tempfile
import threading
import weakref
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from bem.label.asking import AskingMixin
from bem.label.estimate import Estimate, estimate_quality
from bem.label.question import Question, Status
from bem.label.retraining import RetrainingMixin
from bem.label.store import UNDO, Answer, LabelLog, pair_key, replay
from bem.training import MIN_PER_CLASS_FOR_VALID, is_trained
from data import BemError

if TYPE_CHECKING:
    from bem.label.retrain import Retrainer
    from matcher import Matcher

__all__ = ["LabelSession", "parse_answer"]

logger = logging.getLogger(__name__)

AnswerValue = int | str
"""An answer: ``1``/``0``/``"unsure"`` or a word :func:`parse_answer` reads."""
_WORDS = {"1": "1", "y": "1", "yes": "1", "match": "1", "0": "0", "n": "0", "no": "0"}
_WORDS |= {"no match": "0", "u": "unsure", "unsure": "unsure", "?": "unsure"}


def parse_answer(value: AnswerValue) -> str:
    """``1``/``"y"``/``"match"`` -> ``"1"``, ``0``/``"n"`` -> ``"0"``, ``"u"``/``"unsure"``
    -> ``"unsure"``; raises :class:`ValueError` for anything else."""
    if isinstance(value, bool) or not isinstance(value, int | str | np.integer):
        raise ValueError(f"an answer is 1 (match), 0 (no match) or 'unsure'; got {value!r}")
    word = _WORDS.get(str(value).strip().lower())
    if word is None:
        raise ValueError(f"an answer is 1 (match), 0 (no match) or 'unsure'; got {value!r}")
    return word


class LabelSession(AskingMixin, RetrainingMixin):
    """An active-learning (or review) labelling session over one or two tables.

    Args:
        left: the table to deduplicate, or the left table to link; indexed by id.
        right: the right table to link, ``None`` to deduplicate ``left``.
        matcher: the fitted starting model (e.g. from
            :func:`bem.labelfree.fit_label_free`); it is never modified.
        labels: the labels CSV; created if absent, resumed if present.
        candidates: the pairs to ask from (``ltable_id, rtable_id``); blocked
            from ``key``/``top_k`` when ``None``.
        review: a finished run's review pairs (:func:`bem.label.read_review`):
            asked in their order instead of active-learning picks, with no retrain.
        key, top_k: the fuzzy blocker's key (default: a name-like column) and
            candidates per record.
        pool_size: at most this many candidates are scored and asked from (a
            uniform sample, by ``seed``); ``None`` keeps them all.
        retrain_every: retrain after this many new 1/0 labels; 0 never retrains.
        background: retrain in a child process while questions go on; ``False``
            retrains inline before the next question (deterministic: for benchmarks).
        retrain_threads: torch threads of the retraining child process.
        threads: torch threads of this process from :meth:`start` on (for
            scoring and explaining next to a retrain); ``None`` leaves them.
        audit_every: every this-many-th question is an audit pair (module
            :mod:`bem.label.estimate`); 0 asks none (and estimates nothing).
        recent: how many recent questions the diversity and class rules look at.
        explain: attach the model's explanation (occlusion) to every question.
        prefetch: explain the next pair in a thread while the user reads the current
            one, so that the answer is followed by the next question at once.
        fit_kwargs: overrides of :func:`bem.label.retrain.retrain_fit`.
        retrain_guard: a retrain replaces a trained starting model only where the
            held-out labels prefer it, and not before each class has
            :data:`bem.training.MIN_PER_CLASS_FOR_VALID` labels
            (:func:`bem.training.fine_tune_on_labels`); ``False`` always fine-tunes.
        seed: seeds the pool sample, the audit draws and the validation split.
        progress: progress bars while blocking and scoring the pool.
    """

    def __init__(
        self,
        left: pd.DataFrame,
        right: pd.DataFrame | None,
        matcher: Matcher,
        *,
        labels: str | Path,
        candidates: pd.DataFrame | None = None,
        review: pd.DataFrame | None = None,
        key: Sequence[str] | None = None,
        top_k: int = 10,
        pool_size: int | None = 4000,
        retrain_every: int = 20,
        background: bool = True,
        retrain_threads: int = 1,
        threads: int | None = None,
        audit_every: int = 5,
        recent: int = 10,
        explain: bool = True,
        prefetch: bool = True,
        fit_kwargs: dict[str, Any] | None = None,
        retrain_guard: bool = True,
        seed: int = 0,
        progress: bool = False,
    ) -> None:
        for name, value in (("retrain_every", retrain_every), ("audit_every", audit_every)):
            if value < 0:
                raise ValueError(f"{name} must be >= 0 (0 turns it off), got {value}")
        for name, value in (("top_k", top_k), ("retrain_threads", retrain_threads)):
            if value < 1:
                raise ValueError(f"{name} must be >= 1, got {value}")
        for name, value in (("pool_size", pool_size), ("threads", threads)):
            if value is not None and value < 1:
                raise ValueError(f"{name} must be >= 1 or None, got {value}")
        if candidates is not None and review is not None:
            raise ValueError("give candidates or review pairs, not both")
        self.left, self.right, self.matcher = left, right, matcher
        self.labels = Path(labels)
        self.candidates, self.review = candidates, review
        self.key, self.top_k, self.pool_size = key, top_k, pool_size
        self.retrain_every = 0 if review is not None else retrain_every
        self.background, self.retrain_threads, self.threads = background, retrain_threads, threads
        self.audit_every = 0 if review is not None else audit_every
        self.recent, self.explain, self.prefetch = recent, explain, prefetch
        self.fit_kwargs, self.retrain_guard = fit_kwargs, retrain_guard
        self.model_note_ = ""  # what the current model is, in words (Status.model_note)
        self.seed, self.progress = seed, progress
        self._lock = threading.RLock()
        self._explain_lock = threading.Lock()
        self._explained: dict[tuple[int, int], Any] = {}
        self._version, self._started, self._closed = 0, False, False

    # -- set-up ------------------------------------------------------------------
    def start(self) -> LabelSession:
        """Build and score the pool, replay the labels file; returns ``self``.

        Raises:
            BemError: bad tables or candidates, a labels file that is not one, or
                answers naming ids the tables do not have.
        """
        from bem.inputs import prepare_candidates, prepare_table
        from bem.pipeline import block, score_pairs

        if self._started:
            return self
        self.left = prepare_table(self.left, "left", self.key)
        if self.right is not None:
            self.right = prepare_table(self.right, "right", self.key)
        self._unordered = self.right is None
        self._right_table = self.left if self.right is None else self.right
        if self.review is not None:
            pool = prepare_candidates(self.review, self.left, self.right)
        elif self.candidates is not None:
            pool = prepare_candidates(self.candidates, self.left, self.right)
        else:
            raw = block(
                self.left, self.right, key=self.key, top_k=self.top_k, progress=self.progress
            )
            pool = prepare_candidates(raw, self.left, self.right)
        if self.review is None and self.pool_size is not None and len(pool) > self.pool_size:
            rng = np.random.default_rng(self.seed)
            keep = np.sort(rng.choice(len(pool), size=self.pool_size, replace=False))
            logger.info("pool: %d of %d candidate pairs, at random", self.pool_size, len(pool))
            pool = pool.iloc[keep].reset_index(drop=True)
        if pool.empty:
            raise BemError("no candidate pairs to label; check the tables and the blocking key")
        self.pool_ = pool[["ltable_id", "rtable_id"]].astype(str).reset_index(drop=True)
        self._run_decision = (
            pool["same_entity"].to_numpy() if "same_entity" in pool.columns else None
        )
        self._reasons = pool["review_reason"].tolist() if "review_reason" in pool else None
        self._lids = self.pool_["ltable_id"].to_numpy(dtype=object)
        self._rids = self.pool_["rtable_id"].to_numpy(dtype=object)
        self._index = {
            pair_key(a, b, unordered=self._unordered): i
            for i, (a, b) in enumerate(zip(self._lids, self._rids))
        }
        self._start_trained = is_trained(self.matcher)
        if self.retrain_every and self.retrain_guard and self._start_trained:
            self.model_note_ = (
                f"the starting model: a retrain needs {MIN_PER_CLASS_FOR_VALID} match and "
                f"{MIN_PER_CLASS_FOR_VALID} no-match labels to be checked against it"
            )
        self.log_ = LabelLog(self.labels)
        try:
            self._replay()
            self.probabilities_ = score_pairs(
                self.matcher, self.left, self._right_table, self.pool_, progress=self.progress
            )
        except BaseException:
            self.log_.close()
            raise
        self.threshold_ = float(self.matcher.threshold_)
        self.round_ = 0
        self.retrain_seconds_: list[float] = []
        self._current: Question | None = None
        self._labels_at_retrain, self._retraining = 0, False
        self._work = Path(tempfile.mkdtemp(prefix="bem-label-"))
        # removed by close(), else when the session is collected or Python exits
        self._cleanup = weakref.finalize(self, shutil.rmtree, self._work, ignore_errors=True)
        self._retrainer: Retrainer | None = None
        if self.explain:
            import explain  # noqa: F401  (its import takes seconds: not at the first question)
        if self.threads is not None:
            import torch

            self._threads_before = torch.get_num_threads()
            torch.set_num_threads(self.threads)
        self._started = True
        logger.info(
            "label session: %d pairs in the pool, %d answers in %s",
            len(self.pool_),
            len(self._answers),
            self.labels,
        )
        self._maybe_retrain()
        return self

    def _replay(self) -> None:
        self._answers: dict[tuple[str, str], Answer] = replay(
            self.log_.answers, unordered=self._unordered
        )
        for a in self._answers.values():
            for record, table, side in (
                (a.ltable_id, self.left, "left"),
                (a.rtable_id, self._right_table, "right"),
            ):
                if record not in table.index:
                    name = table.attrs.get("source", f"the {side} table")
                    raise BemError(
                        f"{self.labels}, line {a.line}: id {record!r} is not in {name}; "
                        "this labels file belongs to other tables (give a new --labels path)"
                    )
        self._answered = np.zeros(len(self.pool_), dtype=bool)
        for k in self._answers:
            if k in self._index:
                self._answered[self._index[k]] = True
        recent = sorted(self._answers.values(), key=lambda a: a.line)[-self.recent :]
        self._recent: collections.deque[tuple[tuple[str, str], int]] = collections.deque(
            ((a.pair, a.predicted) for a in recent), maxlen=max(self.recent, 1)
        )
        # a session killed right after an undo asks the undone pair first
        self._pending: tuple[int, Answer] | None = None
        rows = self.log_.answers
        if rows and rows[-1].label == UNDO:
            k = pair_key(rows[-1].ltable_id, rows[-1].rtable_id, unordered=self._unordered)
            undone = [a for a in rows if a.label != UNDO and a.pair == rows[-1].pair]
            if k in self._index and k not in self._answers and undone:
                self._pending = (self._index[k], undone[-1])

    # -- questions and answers ----------------------------------------------------
    def _check_open(self) -> None:
        if not self._started:
            raise RuntimeError("call start() first")
        if self._closed:
            raise RuntimeError("the session is closed")

    def answer(self, value: AnswerValue, *, pair: tuple[str, str] | None = None) -> Answer:
        """Answer the current question: ``1`` (match), ``0`` (no match) or ``"unsure"``.

        The answer is appended to the labels file and flushed before this
        returns. ``pair``, when given, must be the current question's pair (a
        page answering a question it showed earlier gets a :class:`ValueError`).
        """
        label = parse_answer(value)
        with self._lock:
            self._check_open()
            q = self._current
            if q is None:
                raise ValueError("no question is open: call next_question() first")
            if pair is not None and tuple(str(p) for p in pair) != q.pair:
                raise ValueError(f"the open question is the pair {q.pair}, not {tuple(pair)}")
            answer = self.log_.append(
                q.pair,
                label,
                probability=q.probability,
                threshold=q.threshold,
                reason=q.reason,
                weight=q.weight,
                model_round=q.model_round,
            )
            k = pair_key(*q.pair, unordered=self._unordered)
            self._answers[k] = answer
            self._answered[self._index[k]] = True
            self._recent.append((q.pair, q.predicted))
            self._current = None
            self._version += 1
            if self.background:  # inline, it waits for the next question
                self._maybe_retrain()
            return answer

    def undo(self) -> Answer | None:
        """Retract the latest answer (an ``undo`` row is appended); its pair is asked
        next. Returns the retracted answer, ``None`` when there is none."""
        with self._lock:
            self._check_open()
            if not self._answers:
                return None
            latest = max(self._answers.values(), key=lambda a: a.line)
            self.log_.append(latest.pair, UNDO, reason=latest.reason)
            self._answers = replay(self.log_.answers, unordered=self._unordered)
            k = pair_key(*latest.pair, unordered=self._unordered)
            if self._recent and self._recent[-1][0] == latest.pair:
                self._recent.pop()
            self._current = None
            self._version += 1
            if k in self._index and k not in self._answers:
                self._answered[self._index[k]] = False
                self._pending = (self._index[k], latest)
            return latest

    # -- reporting ----------------------------------------------------------------
    def estimate(self, *, n_draws: int = 2000) -> Estimate:
        """Precision, recall and F1 of the current model (see :mod:`bem.label.estimate`)."""
        with self._lock:
            labels, decisions, strata, weights = [], [], [], []
            for k, a in self._answers.items():
                if a.reason != "audit" or a.label not in ("0", "1") or k not in self._index:
                    continue
                labels.append(int(a.label))
                decisions.append(int(self.probabilities_[self._index[k]] >= self.threshold_))
                strata.append(a.predicted)
                weights.append(a.weight if a.weight is not None else 1.0)
            return estimate_quality(
                labels, decisions, strata, weights, n_draws=n_draws, seed=self.seed
            )

    def status(self) -> Status:
        """Counts of the answers, the pool, the model round and the estimate."""
        with self._lock:
            values = [a.label for a in self._answers.values()]
            return Status(
                answered=len(values),
                matches=values.count("1"),
                non_matches=values.count("0"),
                unsure=values.count("unsure"),
                undone=sum(a.label == UNDO for a in self.log_.answers),
                pool=len(self.pool_),
                remaining=int((~self._answered).sum()),
                model_round=self.round_,
                retraining=self.retraining,
                estimate=self.estimate(),
                retrain_seconds=tuple(self.retrain_seconds_),
                mode="review" if self.review is not None else "active",
                model_note=self.model_note_,
            )

    # -- closing ----------------------------------------------------------------------
    def close(self) -> None:
        """Stop a running retrain, close the labels file and remove the session's
        temporary models. Every answer is already on disk."""
        with self._lock:
            was_open, self._closed = self._started and not self._closed, True
            if not was_open:
                return
        if self._retrainer is not None:
            self._retrainer.close()
        self.log_.close()
        self._cleanup()
        if self.threads is not None:
            import torch

            torch.set_num_threads(self._threads_before)

    def __enter__(self) -> LabelSession:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
