"""What a labelling session shows: a :class:`Question` and the session's :class:`Status`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bem.label.estimate import Estimate

if TYPE_CHECKING:
    from explain import Explanation

__all__ = ["REASONS", "FieldRow", "Question", "Status", "signed"]

REASONS = {
    "uncertain": "the model is least sure of this pair (closest to its threshold)",
    "audit": "a random pair, held out of training, for the precision/recall estimate",
}
"""Why a pair was asked, in words, by ``reason`` (review pairs say their own)."""


def signed(score: float | None) -> str:
    """A score as the page and the console show it: ``+0.31``, ``-0.05``, ``0.00``
    (never ``-0.00``), ``""`` for none."""
    if score is None:
        return ""
    return "0.00" if abs(score) < 0.005 else f"{score:+.2f}"


@dataclass(frozen=True)
class FieldRow:
    """One attribute of the pair: both values and their explanation scores.

    A score is ``None`` for a column the model does not read.
    """

    attribute: str
    left: str | None
    right: str | None
    left_score: float | None
    right_score: float | None

    @property
    def combined(self) -> float | None:
        """``left_score + right_score``: the attribute's push towards "match"."""
        if self.left_score is None or self.right_score is None:
            return None
        return self.left_score + self.right_score


@dataclass(frozen=True)
class Question:
    """One pair to label, with what the model currently thinks of it.

    Attributes:
        number: the question's number (answers so far + 1).
        left_id, right_id: the pair.
        left, right: the two records (every column of their tables).
        probability: the current model's P(match).
        threshold: its decision threshold.
        reason: why the pair is asked: ``"uncertain"``, ``"audit"`` or
            ``"review: <the run's review reason>"``.
        model_round: the model's round (0 = the starting model).
        explanation: the model's explanation of the pair (occlusion, per field),
            ``None`` when the session explains nothing.
        weight: an audit pair's stratum size (see :mod:`bem.label.estimate`).
        run_decision: in a review, 1 when the run put the two records in one
            entity, 0 when it kept them apart.
    """

    number: int
    left_id: str
    right_id: str
    left: Mapping[str, str | None]
    right: Mapping[str, str | None]
    probability: float
    threshold: float
    reason: str
    model_round: int
    explanation: Explanation | None = None
    weight: float | None = None
    run_decision: int | None = None

    @property
    def pair(self) -> tuple[str, str]:
        return (self.left_id, self.right_id)

    @property
    def predicted(self) -> int:
        """The current model's decision: 1 for match."""
        return int(self.probability >= self.threshold)

    @property
    def reason_text(self) -> str:
        """:attr:`reason` in words."""
        return REASONS.get(self.reason, self.reason)

    def fields(self) -> list[FieldRow]:
        """One row per column of the two records (left's columns first), with scores."""
        scores = {}
        if self.explanation is not None:
            scores = {f.attribute: f for f in self.explanation.fields}
        names = list(self.left) + [c for c in self.right if c not in self.left]
        rows = []
        for name in names:
            score = scores.get(name)
            rows.append(
                FieldRow(
                    attribute=name,
                    left=self.left.get(name),
                    right=self.right.get(name),
                    left_score=None if score is None else float(score.left),
                    right_score=None if score is None else float(score.right),
                )
            )
        return rows

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view (what the web page's API returns)."""
        return {
            "number": self.number,
            "left_id": self.left_id,
            "right_id": self.right_id,
            "probability": self.probability,
            "threshold": self.threshold,
            "predicted": self.predicted,
            "reason": self.reason,
            "reason_text": self.reason_text,
            "model_round": self.model_round,
            "run_decision": self.run_decision,
            "fields": [{**row.__dict__, "combined": row.combined} for row in self.fields()],
        }


@dataclass(frozen=True)
class Status:
    """Where a session stands: answers by class, the pool and the estimate.

    Attributes:
        answered: pairs with a current answer (``matches + non_matches + unsure``).
        undone: ``undo`` rows in the labels file.
        pool: pairs the session can ask; ``remaining`` of them are unanswered.
        model_round: retrains swapped in so far; ``retraining``: one is running.
        retrain_seconds: how long each finished retrain took.
        estimate: precision, recall and F1 of the current model.
        mode: ``"active"`` (active learning) or ``"review"``.
        model_note: what the current model is, in words: the starting model and
            what a retrain waits for, or the last retrain's decision (fine-tuned,
            or the start kept, and why); empty when there is nothing to say.
    """

    answered: int
    matches: int
    non_matches: int
    unsure: int
    undone: int
    pool: int
    remaining: int
    model_round: int
    retraining: bool
    estimate: Estimate
    retrain_seconds: tuple[float, ...] = field(default_factory=tuple)
    mode: str = "active"
    model_note: str = ""

    def to_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        out["estimate"] = self.estimate.to_dict()
        out["retrain_seconds"] = list(self.retrain_seconds)
        return out
