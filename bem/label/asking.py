"""Asking: the next question, its explanation, and the one after it prepared ahead.

:class:`AskingMixin` is the question half of :class:`bem.label.LabelSession`
(whose state it reads): it picks the next pair under the session's lock (cheap,
:mod:`bem.label.picking`), explains it outside the lock (the slow part; cached
per pair and model round), and, once a question is shown, explains in a thread
the pair that will follow it, so that the answer is followed at once by the
next question.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from bem.label.picking import pick_audit, pick_uncertain
from bem.label.question import Question
from bem.label.store import pair_key
from data import RecordPairs

if TYPE_CHECKING:
    from matcher import Matcher

__all__ = ["AskingMixin"]

logger = logging.getLogger("bem.label.engine")

EXPLAINED_CACHE = 16
"""Explanations kept (per pair and model round)."""


def _records(table: pd.DataFrame, record_id: str) -> dict[str, str | None]:
    row = table.loc[record_id]
    return {str(k): (None if pd.isna(v) else str(v)) for k, v in row.items()}


class AskingMixin:
    """The question half of :class:`~bem.label.engine.LabelSession` (see module docstring)."""

    def next_question(self) -> Question | None:
        """The pair to label now (the same one until it is answered); ``None`` when
        every pair of the pool is answered."""
        while True:
            with self._lock:
                self._check_open()
                if self._current is not None:
                    return self._current
                if not self.background:
                    self._maybe_retrain()  # what the last answers call for, before picking
                pick = self._pick()
                if pick is None:
                    return None
                version, model = self._version, (self.matcher, self.round_, self.threshold_)
            explanation = self._explain(pick[0], *model)  # outside the lock: the slow part
            with self._lock:
                self._check_open()
                if self._current is not None:
                    return self._current
                if self._version != version:  # answered, undone or retrained meanwhile
                    continue
                if self._pending is not None and self._pending[0] == pick[0]:
                    self._pending = None
                self._current = self._question(*pick, explanation)
                self._prefetch(self._current)
                return self._current

    def _pick(self, ahead: Question | None = None) -> tuple[int, str, float | None] | None:
        """The next pair to ask, its reason and audit weight (cheap: under the lock).

        With ``ahead``, the pick that follows once ``ahead`` is answered (to explain
        that pair while the user reads ``ahead``).
        """
        if ahead is None and self._pending is not None:
            i, undone = self._pending
            return i, undone.reason, undone.weight
        available = ~self._answered
        recent = list(self._recent)
        answers, rows = len(self._answers), len(self.log_.answers)
        audited = self._audited()
        if ahead is not None:
            available[self._index[pair_key(*ahead.pair, unordered=self._unordered)]] = False
            recent = [*recent, (ahead.pair, ahead.predicted)][-max(self.recent, 1) :]
            answers, rows = answers + 1, rows + 1
            if ahead.reason == "audit":
                audited = tuple(n + (c == ahead.predicted) for c, n in enumerate(audited))
        if not available.any():
            return None
        number = answers + 1
        if self.review is not None:
            i = int(np.flatnonzero(available)[0])
            return i, f"review: {self._reasons[i]}", None
        if self.audit_every and number % self.audit_every == 0:
            rng = np.random.default_rng([self.seed, number, rows])
            picked = pick_audit(
                self.probabilities_, self.threshold_, available, audited=audited, rng=rng
            )
            if picked is not None:
                return picked[0], "audit", float(picked[2])
        records = [r for pair, _ in recent for r in pair]
        i = pick_uncertain(
            self.probabilities_,
            self.threshold_,
            available,
            left_ids=self._lids,
            right_ids=self._rids,
            recent_left=records if self._unordered else [p[0] for p, _ in recent],
            recent_right=records if self._unordered else [p[1] for p, _ in recent],
            recent_classes=[c for _, c in recent],
        )
        return None if i is None else (i, "uncertain", None)

    def _audited(self) -> tuple[int, int]:
        counts = [0, 0]
        for a in self._answers.values():
            if a.reason == "audit" and a.label in ("0", "1"):
                counts[a.predicted] += 1
        return counts[0], counts[1]

    def _explain(self, i: int, matcher: Matcher, round_: int, threshold: float) -> Any:
        """The explanation of pool pair ``i`` by the model of ``round_`` (cached)."""
        if not self.explain:
            return None
        with self._explain_lock:
            cached = self._explained.get((i, round_))
            if cached is None:
                from explain import Explainer

                one = RecordPairs(self.left, self._right_table, self.pool_.iloc[[i]])
                explainer = Explainer(
                    matcher, method="occlusion", counterfactuals=False, threshold=threshold
                )
                cached = explainer.explain(one, progress=False)[0]
                self._explained[(i, round_)] = cached
                while len(self._explained) > EXPLAINED_CACHE:
                    self._explained.pop(next(iter(self._explained)))
            return cached

    def _prefetch(self, shown: Question) -> None:
        """Explain the pair that follows ``shown`` in a thread, while the user reads."""
        if not (self.explain and self.prefetch):
            return

        def warm() -> None:
            try:
                with self._lock:
                    if self._closed:
                        return
                    pick = self._pick(ahead=shown)
                    model = (self.matcher, self.round_, self.threshold_)
                if pick is not None:
                    self._explain(pick[0], *model)
            except Exception:  # only a cache warmer: the question explains itself anyway
                logger.debug("prefetching the next explanation failed", exc_info=True)

        threading.Thread(target=warm, name="bem-label-prefetch", daemon=True).start()

    def _question(
        self, i: int, reason: str, weight: float | None, explanation: Any = None
    ) -> Question:
        lid, rid = str(self._lids[i]), str(self._rids[i])
        decision = None if self._run_decision is None else self._run_decision[i]
        return Question(
            number=len(self._answers) + 1,
            left_id=lid,
            right_id=rid,
            left=_records(self.left, lid),
            right=_records(self._right_table, rid),
            probability=float(self.probabilities_[i]),
            threshold=self.threshold_,
            reason=reason,
            model_round=self.round_,
            explanation=explanation,
            weight=weight,
            run_decision=None if decision is None or pd.isna(decision) else int(decision),
        )
